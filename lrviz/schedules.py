"""Vectorized LR schedules, exact to each framework's own code: the registry of every framework's math and the
functions that evaluate a spec with it (``lr_at``, ``factors``, ``floor_lr``, ``critical_steps``).

The math itself lives in each framework's module (``lrviz/frameworks/``: ``hf`` for transformers 5.24.0
``optimization.py``, and the others), listed once in ``lrviz.frameworks.FRAMEWORKS``; a schedule maps update
indices ``k`` (float64 whole numbers) to the multiplier the framework's ``LambdaLR`` applies to a param group's
initial LR (``base_lr * factor``), or to the absolute LR where the framework sets one. Pure: no I/O, no torch, no
printing. ``min_lr_rate``, ``wsd_phases`` and the shared helpers stay importable from here.
"""

from __future__ import annotations

import numpy as np

from .signatures import FLOOR_ABSOLUTE, FLOOR_LR_END, FLOOR_NONE, FLOOR_ZERO
from .schedule_math import (  # noqa: F401  (re-exported: the names schedules.py has always had)
    min_lr_rate,
    MAX_EXTREMA,
    CriticalFn,
    FactorFn,
    LrFn,
    ScheduleDef,
    _boundaries,
    _cosine_extrema,
    _hf_cosine_decay,
)
from .spec import ScheduleSpec

from .frameworks.hf import wsd_phases  # noqa: E402,F401  (transformers' WSD phases, re-exported)

def floor_lr(spec: ScheduleSpec, base_lr: float | None = None) -> float | None:
    """The LR the decay ends at for a group whose initial LR is ``base_lr``; None if it does not decay."""
    base = spec.peak_lr if base_lr is None else base_lr
    floor = spec.signature.floor
    if floor == FLOOR_NONE:
        return None
    if floor == FLOOR_ZERO:
        return 0.0
    if floor == FLOOR_LR_END:
        # LambdaLR multiplies base_lr by lr_end / lr_init
        return base * (spec.kwarg("lr_end") / spec.peak_lr)
    if floor == FLOOR_ABSOLUTE:
        return float(spec.kwarg(spec.signature.floor_kwarg))  # the same absolute LR in every group
    return base * min_lr_rate(spec)


# Every framework's math, hf included, from its module in lrviz/frameworks/ (the registry lists them).
from .frameworks import schedule_defs as _framework_schedule_defs  # noqa: E402

SCHEDULES: dict[tuple[str, str], ScheduleDef] = dict(_framework_schedule_defs())


def schedule_def(spec: ScheduleSpec) -> ScheduleDef:
    return SCHEDULES[(spec.framework, spec.scheduler)]


def factors(spec: ScheduleSpec, steps: np.ndarray) -> np.ndarray:
    """The LambdaLR multiplier at each update index in ``steps``."""
    k = np.asarray(steps, dtype=np.float64)
    return np.asarray(schedule_def(spec).factor(k, spec), dtype=np.float64)


def lr_at(spec: ScheduleSpec, steps: np.ndarray, *, base_lr: float | None = None) -> np.ndarray:
    """The LR a param group with initial LR ``base_lr`` (default: the peak) uses at each update index."""
    base = spec.peak_lr if base_lr is None else float(base_lr)
    absolute = schedule_def(spec).lr
    if absolute is not None:
        return np.asarray(absolute(np.asarray(steps, dtype=np.float64), spec, base), dtype=np.float64)
    return base * factors(spec, steps)


def warmup_updates(spec: ScheduleSpec) -> int:
    """Warmup length in updates as the framework counts it, also where the spec gives it as a ratio
    of another span (Megatron ``lr_warmup_fraction``, NeMo ``warmup_ratio``) and ``warmup_steps`` is 0."""
    last_warmup = schedule_def(spec).last_warmup
    if spec.warmup_steps or last_warmup is None:
        return spec.warmup_steps
    return int(last_warmup(spec))


def critical_steps(spec: ScheduleSpec, lo: int, hi: int) -> tuple[np.ndarray, bool]:
    """Sorted whole update indices in [lo, hi) next to every breakpoint or extremum of the schedule.

    Between two consecutive indices returned here (and ``lo``, ``hi - 1``) the schedule is monotone,
    so the minimum and maximum over any range are found among them. The second value is False when the
    schedule turns more than ``MAX_EXTREMA`` times in the range and only the first turns are listed.
    """
    points = schedule_def(spec).critical(spec, lo, hi)
    points = points[np.isfinite(points)]
    complete = len(points) < MAX_EXTREMA
    near = np.concatenate([np.floor(points) - 1, np.floor(points), np.ceil(points), np.ceil(points) + 1])
    near = near[(near >= lo) & (near < hi)]
    return np.unique(np.concatenate([near, [lo, hi - 1]]).astype(np.int64)), complete

