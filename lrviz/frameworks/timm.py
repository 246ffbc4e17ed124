"""timm's ``CosineLRScheduler``, exact, stepped per update (``--sched-on-updates``).

Source: timm 1.0.31 ``timm/scheduler/cosine_lr.py`` and ``timm/scheduler/scheduler.py``; the stepping of
``train.py``: after each optimizer update ``num_updates += 1; lr_scheduler.step_update(num_updates)``, so update ``s``
(s >= 1) uses ``t = s``; update 0 uses what the constructor set: ``warmup_lr_init`` when there is a warmup, else
each group's own LR.

``_get_lr(t)``: ``t < warmup_t``: ``warmup_lr_init + t * (base - warmup_lr_init) / warmup_t``; else (``t -= warmup_t``
with ``warmup_prefix``) cycle ``i`` (``t // t_initial``, or geometric with ``cycle_mul != 1``),
``lr_min + 0.5 * (base * cycle_decay**i - lr_min) * (1 + cos(pi * t_curr**k / t_i**k))`` while ``i < cycle_limit``,
then ``lr_min`` held. ``lr_min`` and ``warmup_lr_init`` are absolute. Without ``warmup_prefix`` (the default) the
warmup eats into ``t_initial``: at ``t = warmup_t`` the cosine is already ``warmup_t / t_initial`` along, so the peak
is never reached.

lrviz's ``t_initial`` defaults to the run: ``T`` without a warmup prefix, ``T - warmup`` with one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import SpecError


def t_initial(spec: Any) -> int:
    value = spec.kwarg("t_initial")
    if value is not None:
        return int(value)
    return spec.total_steps - (spec.warmup_steps if spec.kwarg("warmup_prefix") else 0)


def _get_lr(t: np.ndarray, spec: Any, base: float) -> np.ndarray:
    W = spec.warmup_steps
    init = float(spec.kwarg("warmup_lr_init"))
    lr_min = float(spec.kwarg("lr_min"))
    mul, decay = float(spec.kwarg("cycle_mul")), float(spec.kwarg("cycle_decay"))
    limit, k = spec.kwarg("cycle_limit"), float(spec.kwarg("k_decay"))
    T0 = t_initial(spec)
    warm = init + t * ((base - init) / W) if W else t
    tc = t - W if spec.kwarg("warmup_prefix") else t
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if mul != 1:
            i = np.floor(np.log(1 - tc / T0 * (1 - mul)) / math.log(mul))
            t_i = mul**i * T0
            t_curr = tc - (1 - mul**i) / (1 - mul) * T0
        else:
            i = tc // T0
            t_i = float(T0)
            t_curr = tc - (T0 * i)
        gamma = decay**i
        lr_max = base * gamma
        cosine = lr_min + 0.5 * (lr_max - lr_min) * (1 + np.cos(math.pi * t_curr**k / t_i**k))
    decayed = np.where(i < limit, cosine, lr_min)
    return np.where(t < W, warm, decayed)


def _cosine_lr(k: np.ndarray, spec: Any, base_lr: float) -> np.ndarray:
    # update 0 runs at what the constructor set: warmup_lr_init with a warmup, else the group's own LR
    first = float(spec.kwarg("warmup_lr_init")) if spec.warmup_steps else base_lr
    return np.where(k == 0, first, _get_lr(k, spec, base_lr))


def check_spec(spec: Any, kwargs: dict[str, Any]) -> None:
    T0 = t_initial(spec)
    if T0 <= 0:
        raise SpecError(f"--scheduler-kwargs: t_initial = {T0} must be > 0 (timm asserts t_initial > 0); give more --steps "
                        "or fewer warmup updates")
    if kwargs.get("lr_min", 0.0) < 0:
        raise SpecError(f"--scheduler-kwargs: lr_min = {kwargs['lr_min']} must be >= 0 (timm asserts lr_min >= 0)")
    if kwargs.get("cycle_mul", 1.0) <= 0:
        raise SpecError(f"--scheduler-kwargs: cycle_mul = {kwargs['cycle_mul']} must be > 0")
    if kwargs.get("k_decay", 1.0) <= 0:
        raise SpecError(f"--scheduler-kwargs: k_decay = {kwargs['k_decay']} must be > 0")


def spec_notes(spec: Any) -> tuple[str, ...]:
    if spec.warmup_steps and not spec.kwarg("warmup_prefix"):
        return (f"timm without warmup_prefix: the warmup eats into t_initial = {t_initial(spec)}, so at update "
                f"{spec.warmup_steps} the cosine is already {spec.warmup_steps}/{t_initial(spec)} along and the peak "
                "is never reached; set warmup_prefix true (and t_initial = steps - warmup) to reach it",)
    return ()


def _cycle_starts(spec: Any, lo: int, hi: int) -> np.ndarray:
    from ..schedule_math import MAX_EXTREMA

    W, T0 = spec.warmup_steps, t_initial(spec)
    shift = W if spec.kwarg("warmup_prefix") else 0
    mul, limit = float(spec.kwarg("cycle_mul")), spec.kwarg("cycle_limit")
    starts = []
    if mul == 1:
        first = max(0, (lo - shift) // T0)
        last = min(limit, (hi - shift) // T0 + 1, first + MAX_EXTREMA)
        return shift + np.arange(first, last + 1, dtype=np.float64) * T0
    j, start = 0, 0.0
    while j <= limit and shift + start < hi and len(starts) < MAX_EXTREMA:
        starts.append(shift + start)
        j += 1
        start = T0 * (mul**j - 1) / (mul - 1)
        if not math.isfinite(start) or start > 2**60:
            break
    starts.append(shift + start)
    return np.array(starts, dtype=np.float64)


def _critical(spec: Any, lo: int, hi: int) -> np.ndarray:
    W, T = spec.warmup_steps, spec.total_steps
    points = [np.array([0, 1, W - 1, W, W + 1, T - 1, T, T + 1], dtype=np.float64), _cycle_starts(spec, lo, hi)]
    starts = points[1]
    return np.concatenate(points + [starts - 1])


def schedule_defs() -> dict[tuple[str, str], Any]:
    from ..schedule_math import ScheduleDef

    def factor(k, spec):
        return _cosine_lr(k, spec, spec.peak_lr) / spec.peak_lr

    return {("timm", "CosineLRScheduler"): ScheduleDef(factor, _critical, _cosine_lr)}
