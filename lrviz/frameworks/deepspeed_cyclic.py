"""DeepSpeed's ``OneCycle`` and ``LRRangeTest``, exact.

Source: DeepSpeed 0.19.8 ``deepspeed/runtime/lr_schedules.py`` (classes ``OneCycle`` and ``LRRangeTest``), stepped
as ``deepspeed/runtime/engine.py`` steps every DeepSpeed scheduler: the constructor sets the LR for
``last_batch_iteration = -1`` and the engine calls ``step()`` after each ``optimizer.step()``, so update ``s``
runs at ``last_batch_iteration = s - 1``. Both set absolute LRs (the optimizer's own ``lr`` is overwritten).

* ``LRRangeTest``: ``min_lr * (1 + step_rate * interval)``, ``interval = (last_batch_iteration + 1) / step_size``
  (``floor`` of it with ``lr_range_test_staircase``). Update ``s``: ``interval = s / step_size``.
* ``OneCycle``: while ``last_batch_iteration < total_size`` (``total_size = first + second step size``), the
  cycle: ``batch_iteration = last_batch_iteration + 1``, ``cycle = floor(1 + b / total)``,
  ``x = 1 + b / total - cycle``; ``x <= step_ratio``: ``scale = x / step_ratio``, else
  ``(x - 1) / (step_ratio - 1)``; ``lr = min + (max - min) * scale``. After the cycle,
  ``min / (1 + decay_lr_rate * (d / decay_step_size))`` with ``d = last_batch_iteration - total_size + 1``, or
  ``min`` when ``decay_step_size`` or ``decay_lr_rate`` is (close to) 0. Update ``s`` (``s >= 1``) therefore uses
  ``b = s`` in the cycle (``s - 1 < total``) and ``d = s - total`` after it; update 0 is the constructor's
  ``cycle_min_lr`` (the cycle formula gives the same at ``b = 0``).
* Stair counts (``cycle_first_stair_count``, ``cycle_second_stair_count``; 0.19.4 and later, ``STAIRS_SINCE``):
  ``scale = floor(stair_position) / stair_count`` with ``cycle_iteration = b % total`` and
  ``stair_position = cycle_iteration * count / first`` (``cycle_iteration <= first``) or
  ``(total - cycle_iteration) * count / second``. Releases before 0.19.4 ignore the stair counts (read in the
  PyPI sdists 0.18.0, 0.19.3, 0.19.4, 0.19.5, 0.19.6, 0.19.7).

OneCycle also cycles Adam's ``beta1`` between ``cycle_min_mom`` and ``cycle_max_mom``; lrviz draws the LR only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import SpecError
from .versions import at_least

STAIRS_SINCE = "0.19.4"
NAMES = ("OneCycle", "LRRangeTest")


def _cycle_sizes(spec: Any) -> tuple[float, float, float]:
    first = float(spec.kwarg("cycle_first_step_size"))
    second = spec.kwarg("cycle_second_step_size")
    second = float(second) if second is not None else first
    return first, second, first + second


def _one_cycle_lr(k: np.ndarray, spec: Any, base_lr: float) -> np.ndarray:
    del base_lr  # absolute LRs: every group gets cycle_min_lr .. cycle_max_lr
    first, second, total = _cycle_sizes(spec)
    step_ratio = first / total
    min_lr, max_lr = float(spec.kwarg("cycle_min_lr")), float(spec.kwarg("cycle_max_lr"))
    b = k  # batch_iteration = last_batch_iteration + 1 = s
    cycle = np.floor(1 + b / total)
    x = 1.0 + b / total - cycle
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(x <= step_ratio, x / step_ratio, (x - 1) / (step_ratio - 1))
    if at_least(spec.framework_version, STAIRS_SINCE):
        first_count = int(spec.kwarg("cycle_first_stair_count") or 0)
        second_count = spec.kwarg("cycle_second_stair_count")
        second_count = first_count if second_count is None else int(second_count)
        iteration = np.mod(b, total)  # Python's % on floats, as np.mod (same sign convention for b >= 0)
        rising = iteration <= first
        with np.errstate(divide="ignore", invalid="ignore"):
            position = np.where(rising, iteration * first_count / first, (total - iteration) * second_count / second)
        count = np.where(rising, first_count, second_count)
        with np.errstate(divide="ignore", invalid="ignore"):
            stairs = np.floor(position) / count
        scale = np.where(count > 0, stairs, scale)
    cycle_lr = min_lr + (max_lr - min_lr) * scale
    decay_rate = float(spec.kwarg("decay_lr_rate"))
    decay_size = spec.kwarg("decay_step_size")
    if math.isclose(decay_size, 0) or math.isclose(decay_rate, 0):
        decay_lr = np.full_like(k, min_lr)
    else:
        d = (k - 1.0) - total + 1  # last_batch_iteration - total_size + 1, last_batch_iteration = s - 1
        with np.errstate(divide="ignore", invalid="ignore"):  # only updates past the cycle (d >= 0) are used
            decay_lr = min_lr / (1 + decay_rate * (d / decay_size))
    return np.where(k - 1 < total, cycle_lr, decay_lr)


def _lr_range_test_lr(k: np.ndarray, spec: Any, base_lr: float) -> np.ndarray:
    del base_lr
    min_lr = float(spec.kwarg("lr_range_test_min_lr"))
    size = spec.kwarg("lr_range_test_step_size")
    rate = float(spec.kwarg("lr_range_test_step_rate"))
    interval = k / float(size)  # float(last_batch_iteration + 1) / step_size
    if spec.kwarg("lr_range_test_staircase"):
        interval = np.floor(interval)
    return min_lr * (1 + rate * interval)


def lr_functions() -> dict[str, Any]:
    return {"OneCycle": _one_cycle_lr, "LRRangeTest": _lr_range_test_lr}


def critical(spec: Any, lo: int, hi: int) -> np.ndarray:
    if spec.scheduler == "LRRangeTest":
        return np.array([0, 1], dtype=np.float64)  # rises (or stays) monotonically
    first, _, total = _cycle_sizes(spec)
    return np.array([0, 1, math.floor(first) - 1, math.floor(first), math.ceil(first), math.ceil(first) + 1,
                     math.floor(total) - 1, math.floor(total), math.ceil(total), math.ceil(total) + 1], dtype=np.float64)


def check_spec(spec: Any, kwargs: dict[str, Any]) -> None:
    name = f"DeepSpeed {spec.framework_version} {spec.scheduler}"
    if spec.warmup_steps:
        raise SpecError(f"--warmup-steps {spec.warmup_steps}: {name} has no warmup (its first half-cycle rises); drop the flag")
    if spec.scheduler == "LRRangeTest":
        size = kwargs.get("lr_range_test_step_size", 2000)
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise SpecError(f"lr_range_test_step_size = {size!r}: {name} raises ValueError (must be a positive integer)")
        return
    for key in ("cycle_min_lr", "cycle_max_lr"):
        if kwargs.get(key) is None:
            raise SpecError(f"{key} is missing: {name} requires it (TypeError without it); add it to scheduler.params")
    first = kwargs.get("cycle_first_step_size", 2000)
    second = kwargs.get("cycle_second_step_size")
    if first <= 0:
        raise SpecError(f"cycle_first_step_size = {first}: {name} raises ValueError (must be positive)")
    if second is not None and second < 0:
        raise SpecError(f"cycle_second_step_size = {second}: {name} raises ValueError (must be non-negative)")


def describe(spec: Any) -> str:
    if spec.scheduler == "LRRangeTest":
        kind = "in stairs" if spec.kwarg("lr_range_test_staircase") else "linearly"
        return (f"an LR range test: from {spec.kwarg('lr_range_test_min_lr'):g}, rising {kind} by "
                f"{spec.kwarg('lr_range_test_step_rate'):g}× of it every {spec.kwarg('lr_range_test_step_size')} updates")
    first, second, total = _cycle_sizes(spec)
    return (f"one cycle: {spec.kwarg('cycle_min_lr'):g} up to {spec.kwarg('cycle_max_lr'):g} over {first:g} updates, "
            f"back down over {second:g}, then {'a decay' if spec.kwarg('decay_step_size') else 'flat'} after update {total:g}")
