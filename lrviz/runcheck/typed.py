"""Proposals for the HF scheduler types whose extra settings a decay fit cannot estimate directly:
``cosine`` with ``num_cycles`` other than 0.5, ``cosine_with_restarts``, ``polynomial`` (``power``, ``lr_end``),
``inverse_sqrt`` (``timescale``), ``warmup_stable_decay`` (stable and decay lengths, shapes, ``min_lr_ratio``) and
``cosine_warmup_with_min_lr`` with ``warmup_lr_rate``.

They lean on the run length the file records (``max_steps``; one more for the older logging convention) and on
the warmup line the first logged points draw: ``y = P·(r + (1 − r)·s / W)`` gives W (and the start ratio r) for
each peak P people type. Each proposal is kept only if lrviz's exact schedule reproduces the log (``infer``).
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from .align import close
from .candidates import hf_model, peaks_above, short_decimals
from .models import Model

CYCLES = (1.5, 1.0, 0.25, 0.75, 2.0, 2.5, 3.0)
RESTARTS = (1, 2, 3, 4, 5, 6, 8, 10)
POWERS = (1.0, 2.0, 0.5, 3.0)
SHAPES = ("cosine", "linear", "1-sqrt")
MAX_DECAY_STARTS = 48


def _short(value: float) -> list[float]:

    return short_decimals(value)[:2]


def _whole(value: float) -> int | None:
    if not math.isfinite(value) or value < 0:
        return None
    rounded = round(value)
    return int(rounded) if abs(value - rounded) <= 1e-6 * max(1.0, abs(value)) else None


def _warmup_line(k: np.ndarray, y: np.ndarray, peak: float) -> tuple[list[int], float]:
    """Warmup lengths (HF form s / W) the first two points allow, and the start ratio r (0 for plain HF)."""
    if len(k) < 2 or not (y[1] > y[0]) or y[1] >= peak * (1 - 1e-12):
        return [0], 0.0
    slope = (y[1] - y[0]) / (k[1] - k[0])
    start = y[0] - slope * k[0]
    ratio = 0.0 if abs(start) <= 1e-9 * peak else start / peak
    W = _whole((1.0 - ratio) * peak / slope)
    return ([0, W] if W else [0]), ratio


def typed_proposals(k: np.ndarray, y: np.ndarray, hint: int | None, legacy: bool) -> Iterator[Model]:

    if not hint or len(y) < 3 or y.max() <= 0:
        return
    totals = [hint, hint + 1] if legacy else [hint]
    for peak in peaks_above(float(y.max()))[:3]:
        warmups, ratio = _warmup_line(k, y, peak)
        for T in totals:
            for W in warmups:
                if W >= T:
                    continue
                post = k >= W
                kk, yy = k[post], y[post]
                if ratio == 0.0:
                    for cycles in CYCLES:
                        yield from _some(hf_model("cosine", peak, W, T, {"num_cycles": cycles}))
                    for cycles in RESTARTS:
                        yield from _some(hf_model("cosine_with_restarts", peak, W, T, {"num_cycles": cycles}))
                    yield from _polynomial(peak, W, T, kk, yy)
                    yield from _inverse_sqrt(peak, W, T, kk, yy)
                    yield from _wsd(peak, W, T, kk, yy, 0.0)
                else:
                    yield from _wsd(peak, W, T, kk, yy, ratio)
                    yield from _warmup_lr_rate(peak, W + 1, T, kk, yy, ratio)


def _some(model: Model | None) -> Iterator[Model]:
    if model is not None:
        yield model


def _polynomial(peak: float, W: int, T: int, kk: np.ndarray, yy: np.ndarray) -> Iterator[Model]:

    decaying = (kk > W) & (kk < T)
    for power in POWERS:
        ends = [1e-7, 0.0]
        if decaying.any():  # lr_end from the last decaying point: y = end + (P - end)·(1 - p)^power
            s, v = float(kk[decaying][-1]), float(yy[decaying][-1])
            left = (1.0 - (s - W) / (T - W)) ** power
            if left < 1:
                ends += [e for e in _short((v - peak * left) / (1.0 - left)) if 0 <= e < peak]
        for end in dict.fromkeys(ends):
            yield from _some(hf_model("polynomial", peak, W, T, {"power": power, "lr_end": end}))


def _inverse_sqrt(peak: float, W: int, T: int, kk: np.ndarray, yy: np.ndarray) -> Iterator[Model]:

    yield from _some(hf_model("inverse_sqrt", peak, W, T))
    after = (kk > W) & (yy > 0) & (yy < peak * (1 - 1e-9))
    if after.any():  # y = P / sqrt((s + ts - W) / ts)  =>  ts = (s - W) / ((P / y)^2 - 1)
        s, v = float(kk[after][-1]), float(yy[after][-1])
        timescale = _whole((s - W) / ((peak / v) ** 2 - 1.0))
        if timescale:
            yield from _some(hf_model("inverse_sqrt", peak, W, T, {"timescale": timescale}))


def _wsd(peak: float, W: int, T: int, kk: np.ndarray, yy: np.ndarray, start_ratio: float) -> Iterator[Model]:
    """Warmup (linear from min_lr_ratio), a stable phase at the peak, a decay over num_decay_steps to the floor."""

    at_peak = np.nonzero(close(yy, np.full_like(yy, peak), 1e-12))[0]
    below = np.nonzero(yy < peak * (1 - 1e-12))[0]
    below = below[kk[below] > W] if len(below) else below
    if not len(below):
        return
    first_low = int(below[0])
    low = int(kk[at_peak[-1]]) if len(at_peak) and at_peak[-1] < first_low else W  # decay progress 0 is the peak too
    high = int(kk[first_low])
    starts = range(max(low, W), min(high, max(low, W) + MAX_DECAY_STARTS) + 1)
    floors = {start_ratio} if start_ratio else {0.0}
    last = float(yy[-1])
    if not start_ratio and last > 0 and float(kk[-1]) >= T - 1:
        floors.update(_short(last / peak))
    flat_end = len(yy) - 1  # a decay that ended before the run did: the log ends on a flat floor
    while flat_end > 0 and yy[flat_end - 1] == yy[-1]:
        flat_end -= 1
    ends = [T] + ([int(kk[flat_end])] if len(yy) - flat_end > 1 else [])
    for decay_start, end in ((start, end) for start in starts for end in ends):
        D = end - decay_start
        if D < 1:
            continue
        for shape in SHAPES:
            options = set(floors)
            if not start_ratio and float(kk[-1]) < T:  # the floor from the last point, for this shape
                progress = (float(kk[-1]) - decay_start) / D
                factor = {"linear": 1.0 - progress, "cosine": 0.5 * (1.0 + math.cos(math.pi * progress)),
                          "1-sqrt": 1.0 - math.sqrt(max(progress, 0.0))}[shape]
                if 0 < progress < 1 and factor < 1:
                    options.update(r for r in _short((last / peak - factor) / (1.0 - factor)) if 0 <= r < 1)
            for floor in options:
                kwargs = {"num_decay_steps": D, "num_stable_steps": decay_start - W, "decay_type": shape,
                          "min_lr_ratio": floor}
                yield from _some(hf_model("warmup_stable_decay", peak, W, T, kwargs))


def _warmup_lr_rate(peak: float, W: int, T: int, kk: np.ndarray, yy: np.ndarray, rate: float) -> Iterator[Model]:
    """cosine_warmup_with_min_lr with warmup_lr_rate r: update s < W runs at r + (1 − r)·s / (W − 1)."""

    floors = [0.0]
    if float(kk[-1]) >= T - 1:
        floors += _short(float(yy[-1]) / peak)
    for r in _short(rate):
        for floor in floors:
            yield from _some(hf_model("cosine_warmup_with_min_lr", peak, W, T, {"warmup_lr_rate": r, "min_lr_rate": floor}))
