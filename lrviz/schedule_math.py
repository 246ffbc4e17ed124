"""The building blocks of every framework's schedule math: ``ScheduleDef`` and the shared numeric helpers.

A leaf module (numpy only): ``lrviz.schedules`` and the framework modules in ``lrviz.frameworks`` import it,
it imports neither, so the layers below the registry hold no import loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from .signature_types import FLOOR_ABSOLUTE, FLOOR_LR_END, FLOOR_MIN_LR_OR_RATE, FLOOR_MIN_LR_RATIO, FLOOR_RATIO

if TYPE_CHECKING:  # annotations only
    from .spec import ScheduleSpec

FactorFn = Callable[[np.ndarray, "ScheduleSpec"], np.ndarray]
CriticalFn = Callable[["ScheduleSpec", int, int], np.ndarray]
LrFn = Callable[[np.ndarray, "ScheduleSpec", float], np.ndarray]

# Cap on the turning points a schedule lists for one range (a cosine with 10^9 cycles has 2·10^9).
MAX_EXTREMA = 2_000_000


@dataclass(frozen=True)
class ScheduleDef:
    """A schedule's math: the factor over update indices, and where its shape can turn."""

    factor: FactorFn
    critical: CriticalFn  # real-valued update indices of breakpoints and extrema within [lo, hi)
    # For schedules that are not base_lr * factor (absolute LRs, as in DeepSpeed's WarmupLR or timm's lr_min):
    # the LR of a group with initial LR base_lr at update indices k. None: base_lr * factor(k).
    lr: LrFn | None = None
    # The last update of the warmup, where it is not W - 1 (DeepSpeed: update max(2, W), one step behind).
    last_warmup: Callable[[ScheduleSpec], int] | None = None


def _hf_cosine_decay(k: np.ndarray, W: int, T: int, num_cycles: float, rate: float) -> np.ndarray:
    # progress = float(current_step - W) / float(max(1, T - W))
    progress = (k - W) / float(max(1, T - W))
    factor = 0.5 * (1.0 + np.cos(math.pi * float(num_cycles) * 2.0 * progress))
    factor = factor * (1 - rate) + rate
    return np.maximum(0, factor)


def _boundaries(*points: float) -> np.ndarray:
    return np.array(points, dtype=np.float64)


def _cosine_extrema(start: float, span: float, num_cycles: float, lo: int, hi: int, period_steps: float) -> np.ndarray:
    """Update indices ``start + j * period_steps`` inside [lo, hi): where a cosine turns or restarts."""
    if not num_cycles or span <= 0 or period_steps <= 0 or not math.isfinite(period_steps):
        return _boundaries()
    first = max(0, math.floor((lo - start) / period_steps))
    last = math.ceil((hi - start) / period_steps)
    if last < first:
        return _boundaries()
    last = min(last, first + MAX_EXTREMA)  # past the cap the list is cut; critical_steps reports it
    return start + np.arange(first, last + 1, dtype=np.float64) * period_steps


def min_lr_rate(spec: "ScheduleSpec") -> float:
    """The floor as a ratio of the peak, the way the framework derives it."""
    floor = spec.signature.floor
    if floor == FLOOR_MIN_LR_OR_RATE:
        min_lr = spec.kwarg("min_lr")
        # transformers: min_lr_rate = min_lr / optimizer.defaults["lr"]
        return min_lr / spec.peak_lr if min_lr is not None else spec.kwarg("min_lr_rate")
    if floor == FLOOR_MIN_LR_RATIO:
        return spec.kwarg("min_lr_ratio")
    if floor == FLOOR_LR_END:
        return spec.kwarg("lr_end") / spec.peak_lr
    if floor == FLOOR_RATIO:
        return spec.kwarg(spec.signature.floor_kwarg) or 0.0  # unset (Axolotl's None): no floor above 0
    if floor == FLOOR_ABSOLUTE:
        return spec.kwarg(spec.signature.floor_kwarg) / spec.peak_lr
    return 0.0
