"""Axolotl's ``lr_scheduler: cosine``, exact: the three routes ``SchedulerMixin.create_scheduler`` takes.

Source: axolotl 0.19.0 (PyPI wheel) ``core/trainers/mixins/scheduler.py`` and ``utils/schedulers.py``. All are
``LambdaLR``s (update ``s`` uses ``current_step = s``):

* ``cosine_min_lr_ratio`` unset or 0 (falsy): transformers' own ``cosine`` (to 0, rises again after T).
* ``cosine_min_lr_ratio`` only: ``get_cosine_schedule_with_min_lr``:
  ``(1 - r) * 0.5 * (1 + cos(pi * progress)) + r``, no clamp (rises again after T).
* both ``cosine_min_lr_ratio`` and ``cosine_constant_lr_ratio``: ``get_cosine_schedule_with_warmup_decay_constant``:
  ``C = int(T * constant_ratio)``, ``k = min(k, C)``, ``progress = (k - W) / max(1, C - W)``,
  ``max(0, (1 - r) * 0.5 * (1 + cos(pi * progress))) + r``: the floor is reached at update ``C`` and held.
  (``cosine_constant_lr_ratio`` without a min ratio is ignored: plain ``cosine`` runs.)

Warmup is ``float(k) / float(max(1, W))`` in all three. The run length and warmup arithmetic are in
``lrviz/readers/axolotl.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import SpecError


def route(spec: Any) -> str:
    """Which of Axolotl's functions runs: ``cosine`` (HF), ``min_lr`` or ``decay_constant``."""
    ratio, constant = spec.kwarg("cosine_min_lr_ratio"), spec.kwarg("cosine_constant_lr_ratio")
    if ratio and constant:
        return "decay_constant"
    if ratio:
        return "min_lr"
    return "cosine"


def constant_step(spec: Any) -> int:
    return int(spec.total_steps * spec.kwarg("cosine_constant_lr_ratio"))


def _factor(k: np.ndarray, spec: Any) -> np.ndarray:
    from ..schedule_math import _hf_cosine_decay

    W, T = spec.warmup_steps, spec.total_steps
    warm = k / float(max(1, W))
    which = route(spec)
    if which == "cosine":  # transformers' get_cosine_schedule_with_warmup, num_cycles 0.5
        decay = _hf_cosine_decay(k, W, T, 0.5, 0.0)
    elif which == "min_lr":
        r = spec.kwarg("cosine_min_lr_ratio")
        progress = (k - W) / float(max(1, T - W))
        scaling = 0.5 * (1.0 + np.cos(math.pi * progress))
        decay = (1 - r) * scaling + r
    else:
        r = spec.kwarg("cosine_min_lr_ratio")
        C = constant_step(spec)
        current = np.minimum(k, C)
        progress = (current - W) / float(max(1, C - W))
        decay = np.maximum(0, (1 - r) * 0.5 * (1.0 + np.cos(math.pi * 0.5 * 2.0 * progress))) + r
    return np.where(k < W, warm, decay)


def check_spec(spec: Any, kwargs: dict[str, Any]) -> None:
    for key in ("cosine_min_lr_ratio", "cosine_constant_lr_ratio"):
        value = kwargs.get(key)
        if value is not None and not 0 <= value <= 1:
            raise SpecError(f"{key} = {value} must be between 0.0 and 1.0 (Axolotl asserts it); it is a fraction "
                            f"{'of the peak' if key == 'cosine_min_lr_ratio' else 'of the run'}")


def spec_notes(spec: Any) -> tuple[str, ...]:
    if spec.kwarg("cosine_constant_lr_ratio") and not spec.kwarg("cosine_min_lr_ratio"):
        return ("cosine_constant_lr_ratio has no effect without cosine_min_lr_ratio: Axolotl runs transformers' plain "
                "cosine to 0; set cosine_min_lr_ratio too",)
    if route(spec) == "decay_constant":
        C = constant_step(spec)
        return (f"cosine_constant_lr_ratio {spec.kwarg('cosine_constant_lr_ratio')}: the cosine ends at update "
                f"int({spec.total_steps} × {spec.kwarg('cosine_constant_lr_ratio')}) = {C:,} and the floor is held after",)
    return ()


def _critical(spec: Any, lo: int, hi: int) -> np.ndarray:
    from ..schedule_math import _cosine_extrema

    W, T = spec.warmup_steps, spec.total_steps
    points = [np.array([0, 1, W - 1, W, W + 1, T - 1, T, T + 1], dtype=np.float64)]
    if route(spec) == "decay_constant":
        C = constant_step(spec)
        points.append(np.array([C - 1, C, C + 1], dtype=np.float64))
    else:  # no clamp: the cosine turns every T - W updates
        span = max(1, T - W)
        points.append(_cosine_extrema(W, span, 0.5, lo, hi, float(span)))
    return np.concatenate(points)


def schedule_defs() -> dict[tuple[str, str], Any]:
    from ..schedule_math import ScheduleDef

    return {("axolotl", "cosine"): ScheduleDef(_factor, _critical)}
