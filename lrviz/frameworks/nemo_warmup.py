"""NVIDIA NeMo's ``WarmupPolicy`` schedulers, exact: ``WarmupAnnealing`` (the T5 / UL2 configs), ``SquareAnnealing``,
``SquareRootAnnealing``, ``InverseSquareRootAnnealing``.

Source: nemo-toolkit 3.0.0 (PyPI wheel) ``nemo/core/optim/lr_scheduler.py``; torch ``_LRScheduler`` with a
closed-form ``get_lr``, so update ``s`` uses ``step = last_epoch = s``. ``WarmupPolicy.get_lr``:

* ``W = warmup_steps``, or ``int(warmup_ratio * max_steps)`` (floor), or 0.
* ``step <= W and W > 0``: ``base * (step + 1) / (W + 1)`` (update 0 is not 0; the peak at ``step == W``).
* ``step > max_steps``: ``min_lr``.
* else ``_get_lr(step)``:
  ``WarmupAnnealing``: ``min_lr + (1 - (step - W) / (max_steps - W)) * (base_lrs[0] - min_lr)`` (every group
  follows group 0's LR); ``SquareAnnealing``: ``max(base * ((M - t) / M) ** 2, min_lr)`` with ``t = step - W``,
  ``M = max_steps - W`` (default ``min_lr`` 1e-5); ``SquareRootAnnealing``:
  ``max(base * ((max_steps - step) / max_steps) ** 0.5, min_lr)`` (not shifted by the warmup);
  ``InverseSquareRootAnnealing``: ``base / ((step + 1) / (W + 1)) ** 0.5`` (no floor inside the run).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import SpecError

from .catalog import NEMO_WARMUP_MIN_LR

NAMES = tuple(NEMO_WARMUP_MIN_LR)


def warmup(spec: Any) -> int:
    ratio = spec.kwarg("warmup_ratio")
    return int(ratio * spec.total_steps) if ratio is not None else spec.warmup_steps


def _lr(k: np.ndarray, spec: Any, base_lr: float) -> np.ndarray:
    W, T = warmup(spec), spec.total_steps
    min_lr = float(spec.kwarg("min_lr"))
    step = k
    with np.errstate(divide="ignore", invalid="ignore"):
        warm = base_lr * ((step + 1) / (W + 1))
        name = spec.scheduler
        if name == "WarmupAnnealing":
            mult = (step - W) / (T - W)
            after = min_lr + (1 - mult) * (float(spec.peak_lr) - min_lr)
        elif name == "SquareAnnealing":
            t, M = step - W, T - W  # _square_annealing(initial_lr, step - W, max_steps - W, min_lr)
            after = np.maximum(base_lr * ((M - t) / M) ** 2, min_lr)
        elif name == "SquareRootAnnealing":
            after = np.maximum(base_lr * ((T - step) / T) ** 0.5, min_lr)
        else:
            after = base_lr / ((step + 1) / (W + 1)) ** 0.5
        lr = np.where((W > 0) & (step <= W), warm, after)
        return np.where(step > T, min_lr, lr)


def check_spec(spec: Any, kwargs: dict[str, Any]) -> None:
    if kwargs.get("warmup_ratio") is not None and spec.warmup_steps:
        raise SpecError("warmup_ratio and warmup_steps are both set: NeMo asserts \"Either use particular number of step or "
                        "ratio\"; keep one")
    W = warmup(spec)
    if spec.scheduler in ("WarmupAnnealing", "SquareAnnealing") and W >= spec.total_steps:
        raise SpecError(f"warmup {W} is not shorter than max_steps {spec.total_steps}: NeMo's {spec.scheduler} divides by "
                        "max_steps - warmup; use a shorter warmup")


def critical(spec: Any, lo: int, hi: int) -> np.ndarray:
    W, T = warmup(spec), spec.total_steps
    return np.array([0, 1, W - 1, W, W + 1, T - 1, T, T + 1], dtype=np.float64)


def schedule_defs() -> dict[tuple[str, str], Any]:
    from ..schedule_math import ScheduleDef

    def factor(k, spec):
        return _lr(k, spec, spec.peak_lr) / spec.peak_lr

    return {("nemo", name): ScheduleDef(factor, critical, _lr, last_warmup=warmup) for name in NAMES}
