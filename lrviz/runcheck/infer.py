"""Infer the schedule behind a log: scheduler type, peak, floor, warmup and total updates.

The fit is exact or nothing: estimates (the warmup slope, a least-squares fit of the decay for each possible
warmup length) only *propose* settings; a proposal is kept when lrviz's exact schedule reproduces the logged
values within the tolerance. Settings the log cannot pin down (the run length of a constant schedule, the warmup
of a log that never leaves it) are reported as ranges.

Families tried: HF ``constant``, ``constant_with_warmup``, ``linear``, ``cosine``, ``cosine_with_min_lr``,
``cosine_warmup_with_min_lr``; DeepSpeed ``WarmupLR``, ``WarmupDecayLR``, ``WarmupCosineLR`` (log or linear warmup).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..logs import CONVENTIONS, LoggedRun
from .align import EXACT, Alignment, align, close
from .candidates import hf_model, peaks_above, short_decimals
from .models import DeepSpeedModel, HFModel, Model

RATIO_TOL = 1e-9  # two warmup points lie on one line through the origin
MAX_WARMUP_CANDIDATES = 400
FIT_POINTS = 160  # points a decay fit looks at
QUICK_POINTS = 256  # points a candidate is first checked on
FINALISTS = 12
HF_ORDER = ("constant", "constant_with_warmup", "linear", "cosine", "cosine_with_min_lr", "cosine_warmup_with_min_lr")
DS_ORDER = ("WarmupLR", "WarmupDecayLR", "WarmupCosineLR")


@dataclass(frozen=True)
class Inference:
    """The schedule that reproduces a log, with what the log could not determine."""

    model: Model
    convention: str
    alignment: Alignment
    ranges: dict[str, tuple[float, float | None]] = field(default_factory=dict)  # setting -> (low, high or None)
    notes: tuple[str, ...] = ()
    alternatives: tuple[tuple[Model, str], ...] = ()  # other schedules (and conventions) that reproduce it as exactly
    deciding: str = ""  # what would decide between the winner and the alternatives

    @property
    def exact(self) -> bool:
        return self.alignment.perfect


# ---------------------------------------------------------------------------------------------- helpers


def decimal_digits(value: float) -> int:
    """Significant digits of the shortest repr: 1e-05 -> 1, 0.00025 -> 2."""
    mantissa = repr(float(value)).lower().split("e")[0]
    return max(1, len(mantissa.replace("-", "").replace(".", "").lstrip("0").rstrip("0")))


def _spread(count: int, limit: int) -> np.ndarray:
    """Up to ``limit`` indices spread over range(count), always with the first few and the last."""
    if count <= limit:
        return np.arange(count)
    head = np.arange(min(16, count))
    rest = np.linspace(0, count - 1, limit - len(head)).round().astype(np.int64)
    return np.unique(np.concatenate([head, rest]))


def _windows(count: int) -> list[np.ndarray]:
    """Subsets of the decay points to fit on: a drift (a skipped step, a resume) spoils a fit that spans it, so fit
    on the first few points, the first half, the second half and all of them, and let exactness decide."""
    chosen = _spread(count, FIT_POINTS)
    windows = [chosen, chosen[: max(len(chosen) // 2, 3)], chosen[len(chosen) // 2:]]
    for size in (4, 8):
        if count > size:
            windows.append(np.arange(size))
    return [window for window in windows if len(window) >= 2]


@dataclass(frozen=True)
class _Warmup:
    """What the first logged points say about the warmup."""

    shape: str  # "hf" (k/W), "hf+1" ((k+1)/W), "ds-log" (ln k / ln W), "ds-linear" ((k-1)/W)
    slope: float | None  # peak per unit of x; None when no point is inside the warmup
    count: int  # points inside the warmup (x > 0)
    first_post: int  # index of the first point after the warmup points


def _x(shape: str, k: np.ndarray) -> np.ndarray:
    if shape == "hf":
        return k
    if shape == "hf+1":
        return k + 1.0
    if shape == "ds-log":
        with np.errstate(divide="ignore"):
            return np.where(k >= 1, np.log(np.maximum(k, 1.0)), -1.0)
    return k - 1.0


def _warmup(shape: str, k: np.ndarray, y: np.ndarray, tol: float = EXACT) -> _Warmup | None:
    x = _x(shape, k)
    ratio_tol = max(RATIO_TOL, 4 * tol)
    index = 0
    while index < len(k) and x[index] <= 0:  # before the ramp: LR 0
        if y[index] != 0:
            return _Warmup(shape, None, 0, 0) if shape == "hf" and index == 0 else None  # HF: no warmup (W = 0)
        index += 1
    start = index
    slope = None
    while index < len(k) and y[index] > 0:
        ratio = y[index] / x[index]
        if slope is None:
            slope = ratio
        elif abs(ratio - slope) > ratio_tol * slope:
            break
        index += 1
    return _Warmup(shape, slope, index - start, index)


# ---------------------------------------------------------------------------------------------- decay fit


def _shape_values(shape: str, t: np.ndarray, length: np.ndarray) -> np.ndarray:
    progress = t[None, :] / length[:, None]
    if shape == "cosine":
        return 0.5 * (1.0 + np.cos(math.pi * progress))
    return np.maximum(0.0, 1.0 - progress)


def _lsq(g: np.ndarray, y: np.ndarray, weight: np.ndarray, peak: float | None, floor: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``g``: y ≈ u + v·g (u = peak·r, v = peak·(1 - r)); with a known peak, u + v = peak. Without a
    floor (a straight line cannot tell a floor from a longer decay), u = 0."""
    w2 = weight**2
    if not floor:
        v = peak * np.ones(g.shape[0]) if peak is not None else (w2 * g * y).sum(axis=1) / np.maximum((w2 * g * g).sum(axis=1), 1e-300)
        u = np.zeros(g.shape[0])
    elif peak is not None:
        one_minus = 1.0 - g
        denominator = (w2 * one_minus**2).sum(axis=1)
        v = np.where(denominator > 0, (w2 * (peak - y) * one_minus).sum(axis=1) / np.where(denominator > 0, denominator, 1), 0.0)
        u = peak - v
    else:
        s0 = w2.sum()
        s1 = (w2 * g).sum(axis=1)
        s2 = (w2 * g * g).sum(axis=1)
        sy = (w2 * y).sum()
        sgy = (w2 * g * y).sum(axis=1)
        det = s0 * s2 - s1 * s1
        safe = np.where(np.abs(det) > 0, det, 1.0)
        v = np.where(np.abs(det) > 0, (s0 * sgy - s1 * sy) / safe, 0.0)
        u = (sy - v * s1) / s0
    residual = ((weight * (y - (u[:, None] + v[:, None] * g))) ** 2).sum(axis=1)
    return u, v, residual


def fit_decay(t: np.ndarray, y: np.ndarray, shape: str, peak: float | None) -> list[tuple[float, float, float]]:
    """Fit y = P·(r + (1 - r)·g(t / L)) over the updates ``t`` since the decay began; returns (L, P, r) proposals."""
    if len(t) < (2 if peak is not None else 3) or t.max() <= 0:
        return []
    weight = 1.0 / np.maximum(np.abs(y), 1e-6 * np.abs(y).max())
    positive = y > 0
    if shape == "linear":
        low = max(float(t[positive].max()) if positive.any() else 0.5, 0.5) * (1 + 1e-12)
        zero_t = t[~positive]
        high = float(zero_t.min()) if len(zero_t) else max(float(t.max()), 1.0) * 4000
    else:
        low = max(float(t.max()) * 0.3, 0.5)
        high = max(float(t.max()), 1.0) * 4000
    if high <= low:
        return []
    grid = np.geomspace(low, high, 200)
    for _ in range(6):  # coarse grid, then finer ones around the best
        residual = _lsq(_shape_values(shape, t, grid), y, weight, peak, shape != "linear")[2]
        best = int(np.argmin(residual))
        a, b = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
        grid = np.linspace(a, b, 25)
    length = float(grid[int(np.argmin(_lsq(_shape_values(shape, t, grid), y, weight, peak, shape != "linear")[2]))])
    u1, v1, _ = _lsq(_shape_values(shape, t, np.array([length])), y, weight, peak, shape != "linear")
    fitted_peak = float(u1[0] + v1[0])
    if not fitted_peak > 0:
        return []
    rate = float(u1[0]) / fitted_peak
    return [(length, fitted_peak, rate)]


# ---------------------------------------------------------------------------------------------- proposals


def _rates(rate: float) -> list[float]:
    """Floor ratios to try for a fitted one: 0 when it is within fitting noise of 0 (a rounded log, e.g. float32)."""
    if abs(rate) < 1e-7:
        return [0.0]
    small = [0.0] if abs(rate) < 1e-4 else []
    if rate < 0:
        return small
    return small + short_decimals(rate)


def _hf_proposals(k: np.ndarray, y: np.ndarray, warm: _Warmup, hint: int | None, tol: float = EXACT) -> Iterator[Model]:
    plus_one = warm.shape == "hf+1"
    k_first = float(k[0])
    hypotheses: list[tuple[int, int, float | None]] = []  # (W low, W high, slope)
    if warm.count >= 1:
        last = float(k[warm.first_post - 1])
        high = float(k[warm.first_post]) if warm.first_post < len(k) else last + MAX_WARMUP_CANDIDATES
        # HF reaches the peak at k = W, which still lies on the warmup line; (k + 1) / W peaks at k = W - 1
        hypotheses.append((int(last) + (1 if plus_one else 0), int(high), warm.slope))
        if warm.first_post == len(k):  # the log never leaves the warmup
            yield from _inside_warmup(k, warm, plus_one, hint)
            return
    if warm.count <= 1:
        start = 1 if (k_first == 0 and y[0] == 0 and not plus_one) else 0
        hypotheses.append((start, int(k_first), None))
    for low, high, slope in hypotheses:
        if high - low > MAX_WARMUP_CANDIDATES:
            low = max(low, high - MAX_WARMUP_CANDIDATES)
        for W in range(max(low, 0), high + 1):
            peak = slope * W if slope is not None and W > 0 else None
            if slope is not None and W == 0:
                continue
            if peak is None and W == 0 and k_first == 0 and not plus_one:
                peak = float(y[0])
            post = k >= W
            if not post.any():
                continue
            kk, yy = k[post], y[post]
            peaks = short_decimals(peak) if peak is not None else None
            # constant after warmup
            if peaks is not None and np.all(close(yy, np.full_like(yy, peaks[0]), max(1e-9, 4 * tol))):
                for P in peaks:
                    name = "constant_with_warmup" if W > 0 else "constant"
                    model = hf_model(name, P, W, max(hint or 0, int(k.max()) + 1))
                    if model:
                        yield model
            elif peak is None and np.all(yy == yy[0]) and W == 0:
                for P in short_decimals(float(yy[0])):
                    model = hf_model("constant", P, 0, max(hint or 0, int(k.max()) + 1))
                    if model:
                        yield model
            origin = W - 1 if plus_one else W
            t = kk - origin
            subsets = _windows(len(t))
            shapes = ("cosine",) if plus_one else ("linear", "cosine")
            for shape in shapes:
                seen: set[tuple[int, float, float]] = set()
                for subset in subsets:
                    for length, fitted_peak, rate in fit_decay(t[subset], yy[subset], shape, peak):
                        peak_options = peaks if peaks is not None else short_decimals(fitted_peak)[:2] + [fitted_peak]
                        centre = int(round(length)) + W
                        for T in sorted({centre - 1, centre, centre + 1}, key=lambda n: (n != hint, abs(n - centre))):
                            if T <= W and not (shape == "linear" and T == W):
                                continue
                            rough = next(_hf_models(shape, plus_one, peak_options[-1], W, T, rate, raw=True), None)
                            if rough is None or not _plausible(rough, kk[subset], yy[subset]):
                                continue
                            for P in peak_options:
                                for r in _rates(rate):
                                    if (T, P, r) in seen:
                                        continue
                                    seen.add((T, P, r))
                                    yield from _hf_models(shape, plus_one, P, W, T, r)


def _inside_warmup(k: np.ndarray, warm: _Warmup, plus_one: bool, hint: int | None) -> Iterator[Model]:
    """Every warmup longer than the log reproduces it; propose the one whose peak is the shortest decimal."""
    first = int(k.max()) + 1
    lengths = np.arange(first, first + 1_000_000, dtype=np.float64)
    peaks = warm.slope * lengths
    best_W, best_digits = first, 99
    for digits in range(1, 4):
        rounded = np.array([float(f"{p:.{digits - 1}e}") for p in peaks[:20000]])
        hit = np.nonzero(np.abs(rounded - peaks[:20000]) <= 1e-9 * peaks[:20000])[0]
        if len(hit):
            best_W, best_digits = int(lengths[hit[0]]), digits
            break
    del best_digits
    for P in short_decimals(warm.slope * best_W):
        name = "cosine_warmup_with_min_lr" if plus_one else "constant_with_warmup"
        kwargs = {"min_lr_rate": 0.0} if plus_one else None
        model = hf_model(name, P, best_W, max(hint or 0, best_W + 1), kwargs)
        if model:
            yield model


def _near_hits(model: Model, k: np.ndarray, y: np.ndarray, tol: float, window: int = 40) -> float:
    """The share of points that equal the model at an update within ``window`` before or after their own."""
    offsets = np.arange(-window, window + 1, dtype=np.float64)
    grid = np.maximum(k[:, None] + offsets[None, :], 0.0)
    values = model.lr(grid.ravel()).reshape(grid.shape)
    return float(close(y[:, None], values, tol).any(axis=1).mean())


def _plausible_reading(alignment: Alignment, convention: str, version_hint: str | None) -> tuple:
    """Higher is better: points explained, fewer offset changes, the logging convention the file's transformers
    version implies, a log that starts on schedule, points at offset 0."""
    explained, changes, first, matched = alignment.plausibility()
    return (explained, changes, version_hint is None or convention == version_hint, first, matched)


def _plausible(model: Model, k: np.ndarray, y: np.ndarray) -> bool:
    """A rough fit (unrounded numbers) is worth refining when it is within 1e-6 on the points it was fitted to."""
    chosen = _spread(len(k), 64)
    return bool(close(y[chosen], model.lr(k[chosen]), 1e-6).mean() >= 0.9)


def _hf_models(shape: str, plus_one: bool, peak: float, W: int, T: int, rate: float, raw: bool = False) -> Iterator[Model]:
    if raw:
        rate = 0.0 if abs(rate) < 1e-4 else rate
        if plus_one:
            model = hf_model("cosine_warmup_with_min_lr", peak, W, T, {"min_lr_rate": max(rate, 0.0)})
        elif shape == "linear":
            model = hf_model("linear", peak, W, T)
        else:
            model = hf_model("cosine_with_min_lr", peak, W, T, {"min_lr_rate": max(rate, 0.0)})
        if model:
            yield model
        return
    if plus_one:
        for kwargs in _floor_kwargs(peak, rate):
            model = hf_model("cosine_warmup_with_min_lr", peak, W, T, kwargs)
            if model:
                yield model
        return
    if shape == "linear":
        if rate == 0:
            model = hf_model("linear", peak, W, T)
            if model:
                yield model
        return
    if rate == 0:
        model = hf_model("cosine", peak, W, T)
        if model:
            yield model
        return
    for kwargs in _floor_kwargs(peak, rate):
        model = hf_model("cosine_with_min_lr", peak, W, T, kwargs)
        if model:
            yield model


def _floor_kwargs(peak: float, rate: float) -> list[dict]:
    options = [{"min_lr_rate": r} for r in _rates(rate)] if rate else [{"min_lr_rate": 0.0}]
    if rate:
        options += [{"min_lr": m} for m in short_decimals(rate * peak)[:2]]
    return options


def _ds_proposals(k: np.ndarray, y: np.ndarray, warm: _Warmup, hint: int | None) -> Iterator[Model]:
    if warm.slope is None or warm.count < 1:
        return
    warmup_type = "log" if warm.shape == "ds-log" else "linear"
    top = float(y.max())
    if warm.first_post == len(y):  # the log never leaves the warmup: peak and length trade off
        yield from _ds_inside_warmup(k, warm, warmup_type)
        return
    peaks = short_decimals(top)
    estimates: set[int] = set()
    for peak in peaks[:2]:
        raw = math.exp(peak / warm.slope) if warmup_type == "log" else peak / warm.slope
        if math.isfinite(raw) and raw < 1e12:
            estimates.update(int(round(raw)) + d for d in (-1, 0, 1))
    for W in sorted(w for w in estimates if w >= 1):
        for peak in peaks:
            yield DeepSpeedModel("WarmupLR", peak, W, warmup_type=warmup_type)
            W_eff = max(2, W)
            post = k >= W_eff + 1
            if post.sum() < 2:
                continue
            kk, yy = k[post], y[post]
            for shape, origin, name in (("linear", W_eff + 1, "WarmupDecayLR"), ("cosine", W_eff, "WarmupCosineLR")):
                chosen = _spread(len(kk), FIT_POINTS)
                for length, _, rate in fit_decay(kk[chosen] - origin, yy[chosen], shape, peak):
                    for T in {int(round(length)) + W_eff + d for d in (-1, 0, 1)}:
                        if T <= W_eff:
                            continue
                        if name == "WarmupDecayLR":
                            if rate == 0 or abs(rate) < 1e-9:
                                yield DeepSpeedModel(name, peak, W, 0.0, warmup_type, T)
                            else:
                                for floor in short_decimals(rate * peak):
                                    yield DeepSpeedModel(name, peak, W, floor, warmup_type, T)
                        else:
                            for ratio in _rates(rate) or [0.0]:
                                yield DeepSpeedModel(name, peak, W, 0.0, warmup_type, T, cos_min_ratio=ratio)


def _ds_inside_warmup(k: np.ndarray, warm: _Warmup, warmup_type: str) -> Iterator[Model]:
    """A log that ends inside a DeepSpeed warmup: any warmup_num_steps >= the last update fits, with the peak scaled
    to match; propose the length whose peak is the shortest decimal (1e-5 rather than 1.0000123e-5)."""
    first = max(2, int(k.max()))
    lengths = np.arange(first, first + 200_000, dtype=np.float64)
    peaks = warm.slope * (np.log(lengths) if warmup_type == "log" else lengths)
    for digits in range(1, 4):
        scale = 10.0 ** (np.floor(np.log10(peaks)) - (digits - 1))
        hit = np.nonzero(np.abs(np.round(peaks / scale) * scale - peaks) <= 1e-9 * peaks)[0]
        if len(hit):
            W = int(lengths[hit[0]])
            yield DeepSpeedModel("WarmupLR", float(f"{peaks[hit[0]]:.{digits - 1}e}"), W, warmup_type=warmup_type)
            return
    yield DeepSpeedModel("WarmupLR", float(peaks[0]), first, warmup_type=warmup_type)


MAX_ALTERNATIVES = 3
MAX_SKIPS = 32  # skipped scheduler steps looked for inside the warmup


def _skipped_warmups(k: np.ndarray, y: np.ndarray, peak: float) -> list[int]:
    """Warmup lengths W that put the rising points on the HF warmup line with a few scheduler steps lost: point
    (k, y) with d steps lost is y = peak * (k - d) / W, so W = peak * (k - d) / y must be a whole number, with d
    growing along the warmup. Fewest lost steps first; 0 (no warmup) always."""
    rising = 0
    while rising + 1 < len(y) and y[rising + 1] >= y[rising] and y[rising + 1] < peak * (1 - 1e-12):
        rising += 1  # a skipped step logs the same LR twice
    if rising == 0 or not (0 <= y[0] < peak) or y[rising] <= 0:
        return [0]
    found: list[tuple[int, int]] = []
    for end in range(rising, max(rising - 3, 0), -1):  # the last rising points may already be in the decay
        last_k, last_y = float(k[end]), float(y[end])
        if last_y <= 0:
            break
        for lost in range(0, MAX_SKIPS + 1):
            W = peak * (last_k - lost) / last_y
            if W < 1 or abs(W - round(W)) > 1e-7 * W or last_k - lost > W:
                continue
            W = int(round(W))
            ok = True
            for index in range(end):  # earlier points lost no more steps than the last one
                d = float(k[index]) - y[index] * W / peak
                if not (-1e-6 <= d <= lost + 1e-6 and abs(d - round(d)) <= 1e-6 * max(1.0, float(k[index]))):
                    ok = False
                    break
            if ok and (lost, W) not in found:
                found.append((lost, W))
    return [0] + [W for _, W in sorted(found)]


def skip_tolerant(k: np.ndarray, y: np.ndarray, hint: int | None, legacy: bool) -> Iterator[Model]:
    """Schedules that reproduce a log whose run lost scheduler steps early (fp16 loss-scale overflows, common in
    the first updates): the exact fit of the warmup and decay cannot start from points that are already shifted,
    so take the run length the file records, peaks just above the largest LR, and the warmups that a few lost steps
    explain; alignment then finds every skip."""
    if not hint or len(y) < 3 or y.max() <= 0:
        return
    totals = [hint, hint + 1] if legacy else [hint]
    for peak in peaks_above(float(y.max())):
        for W in _skipped_warmups(k, y, peak)[:4]:
            for T in totals:
                if T <= W:
                    continue
                for name in ("linear", "cosine", "constant_with_warmup" if W else "constant"):
                    model = hf_model(name, peak, W, T)
                    if model:
                        yield model


def proposals(k: np.ndarray, y: np.ndarray, hint: int | None, families: Iterable[str] = ("hf", "deepspeed"),
              tol: float = EXACT) -> Iterator[Model]:
    families = tuple(families)
    if "hf" in families:
        for shape in ("hf", "hf+1"):
            warm = _warmup(shape, k, y, tol)
            if warm is not None:
                yield from _hf_proposals(k, y, warm, hint, tol)
    if "deepspeed" in families:
        for shape in ("ds-log", "ds-linear"):
            warm = _warmup(shape, k, y, tol)
            if warm is not None and warm.count >= 2:
                yield from _ds_proposals(k, y, warm, hint)


# ---------------------------------------------------------------------------------------------- choosing


def _preference(model: Model, convention: str, hint: int | None) -> tuple:
    """Among equally good fits: HF before DeepSpeed, simpler types, the recorded run length, shorter numbers."""
    if isinstance(model, HFModel):
        family = (0, HF_ORDER.index(model.scheduler) if model.scheduler in HF_ORDER else 9)
        kwargs = model.spec.scheduler_kwargs
        floor_digits = sum(decimal_digits(v) for v in kwargs.values() if isinstance(v, float) and v)
    else:
        family = (1, DS_ORDER.index(model.scheduler))
        floor_digits = 0
    return (
        convention != "hf",
        family,
        hint is not None and model.total_steps != hint,
        decimal_digits(model.peak_lr) + floor_digits,
        "min_lr" in getattr(getattr(model, "spec", None), "scheduler_kwargs", {}),
    )


def infer(run: LoggedRun, conventions: Sequence[str] = ("hf", "hf-legacy"), tol: float = EXACT,
          families: Iterable[str] = ("hf", "deepspeed")) -> Inference | None:
    """The best schedule for the log, or None if nothing proposed reproduces a single point."""
    families = tuple(families)
    hint = run.total_steps
    version_hint = run.settings.get("convention_hint")
    scored: list[tuple[tuple, tuple, Model, str, Alignment]] = []
    exacts: list[tuple[Model, str, Alignment]] = []
    for convention in conventions:
        k = run.updates(convention).astype(np.float64)
        if (k < 0).any():
            continue
        y = run.lr
        quick = _spread(len(k), QUICK_POINTS)
        pool: dict[tuple, tuple[int, Model]] = {}
        exact: tuple[Model, Alignment] | None = None
        for model in proposals(k, y, hint, families, tol):
            key = (model.label, repr(model.settings()))
            if key in pool:
                continue
            hits = int(close(y[quick], model.lr(k[quick]), tol).sum())
            pool[key] = (hits, model)
            if hits == len(quick) and isinstance(model, HFModel):
                alignment = align(model, run.updates(convention), y, tol)
                if alignment.perfect:  # proposals come simplest and shortest first: the first exact one is it
                    exact = (model, alignment)
                    break
        if exact is not None:
            exacts.append((exact[0], convention, exact[1]))
        if "hf" in families:  # the types whose extra settings need the recorded run length
            from .typed import typed_proposals

            for model in typed_proposals(k, y, hint, convention != "hf"):
                if not close(y[quick], model.lr(k[quick]), tol).all():
                    continue
                alignment = align(model, run.updates(convention), y, tol)
                if alignment.perfect:
                    exacts.append((model, convention, alignment))
        if exact is not None:
            continue
        if exacts:
            continue  # an exact reading exists: inexact ones cannot win
        ranked = sorted(pool.values(), key=lambda item: (-item[0], _preference(item[1], convention, hint)))
        for hits, model in ranked[:FINALISTS]:
            if hits == 0:
                break
            alignment = align(model, run.updates(convention), y, tol)
            scored.append((_plausible_reading(alignment, convention, version_hint), _preference(model, convention, hint), model, convention, alignment))
        if "hf" in families:
            for model in skip_tolerant(k, y, hint, convention != "hf"):
                if _near_hits(model, k[quick], y[quick], tol) < 0.5:
                    continue  # most points match no update near their own: not this schedule
                alignment = align(model, run.updates(convention), y, tol)
                if alignment.n_explained:
                    scored.append((_plausible_reading(alignment, convention, version_hint), _preference(model, convention, hint), model, convention, alignment))
    if exacts:
        return _ranked_exact(run, exacts, hint, tol)
    if not scored:
        return None
    best_score = max(item[0] for item in scored)
    best = [item for item in scored if item[0] == best_score]
    best.sort(key=lambda item: item[1])
    _, _, model, convention, alignment = best[0]
    if alignment.n_explained == 0:
        return None
    ranges, notes = _ranges(model, convention, alignment, run, tol)
    return Inference(model, convention, alignment, ranges, tuple(notes))


COMMON = ("constant", "constant_with_warmup", "linear", "cosine", "cosine_with_min_lr", "warmup_stable_decay",
          "polynomial", "cosine_with_restarts", "inverse_sqrt", "cosine_warmup_with_min_lr")


def _evidence(model: Model, convention: str, hint: int | None, ranges: dict, version_hint: str | None = None) -> tuple:
    """Lower is more likely: the run length the file records, the logging convention the file's transformers
    version implies, how common the type is, the logging convention of current transformers, numbers people type
    (short peaks)."""
    total = model.total_steps
    low_high = ranges.get("total_steps")
    # the older convention logs, at the last step, the LR of one update past the end: T = max_steps + 1 reads it
    lengths = (hint,) if hint is None or convention == "hf" else (hint, hint + 1)
    length_matches = hint is None or total in lengths or any(
        low_high is not None and low_high[0] <= n and (low_high[1] is None or n <= low_high[1]) for n in lengths)
    common = COMMON.index(model.scheduler) if model.scheduler in COMMON else len(COMMON)
    typed = decimal_digits(model.peak_lr) + (0 if _round_warmup(model.warmup_steps, total) else 1)
    return (not length_matches, version_hint is not None and convention != version_hint, common, typed,
            convention != "hf")


def _round_warmup(warmup: int, total: int | None) -> bool:
    """A warmup people type: none, a round count, or ceil(r × T) for a ratio r of at most two decimals."""
    if warmup == 0 or warmup % 5 == 0:
        return True
    return bool(total) and any(math.ceil(total * n / 100) == warmup for n in range(1, 51))


def _ranked_exact(run: LoggedRun, exacts: list[tuple[Model, str, Alignment]], hint: int | None, tol: float) -> Inference:
    """Every exact hypothesis, ranked by evidence; the winner carries the others and what would decide."""
    scored = []
    seen: set[tuple] = set()
    for model, convention, alignment in exacts:
        key = (model.label, repr(model.settings()), convention)
        if key in seen:
            continue
        seen.add(key)
        lengths = (hint,) if convention == "hf" else (hint, None if hint is None else hint + 1)
        if hint is None or model.total_steps in lengths:
            ranges, notes = None, None  # the recorded length matches: the ranges only matter for the winner
        else:
            ranges, notes = _ranges(model, convention, alignment, run, tol)
        evidence = _evidence(model, convention, hint, ranges or {}, run.settings.get("convention_hint"))
        scored.append((evidence, model, convention, alignment, ranges, notes))
    scored.sort(key=lambda item: item[0])
    described: set[tuple[str, str]] = set()
    unique = []
    for item in scored:  # the same schedule reached twice (a floor printed 1e-5 and fitted 1.0000000000000003e-5)
        if (item[1].describe(), item[2]) not in described:
            described.add((item[1].describe(), item[2]))
            unique.append(item)
    scored = unique
    best, model, convention, alignment, ranges, notes = scored[0]
    if ranges is None:
        ranges, notes = _ranges(model, convention, alignment, run, tol)
    # equal alternatives: as exact, and as consistent with the recorded run length and version as the winner
    rivals = [item for item in scored[1:] if item[0][:2] == best[:2]][:MAX_ALTERNATIVES]
    alternatives = tuple((item[1], item[2]) for item in rivals)
    reasons = []
    for evidence, other, other_convention, *_ in rivals:
        if other_convention != convention:
            reasons.append("the transformers version that wrote the log decides how its steps read (4.5x and later: "
                           "step s+1 carries update s; older: step s carries update s)")
        if other.warmup_steps != model.warmup_steps:
            reasons.append("a config with warmup_steps decides")
        if other.scheduler != model.scheduler:
            reasons.append("a config with lr_scheduler_type decides")
        elif other.settings() != model.settings():
            reasons.append("a config with lr_scheduler_kwargs decides")
    if any(item[0][0] for item in scored[1:]) and hint:
        reasons.append(f"the run length the file records ({hint:,} updates) rules out other exact fits")
    deciding = "; ".join(dict.fromkeys(reasons))
    return Inference(model, convention, alignment, ranges, tuple(notes), alternatives, deciding)


def _same(model: Model, run: LoggedRun, convention: str, alignment: Alignment, tol: float) -> bool:
    if alignment.perfect:  # cheap: does the variant also put every point at its own update?
        k = run.updates(convention).astype(np.float64)
        some = _spread(len(k), QUICK_POINTS)
        if not close(run.lr[some], model.lr(k[some]), tol).all():
            return False
        return bool(close(run.lr, model.lr(k), tol).all())
    other = align(model, run.updates(convention), run.lr, tol)
    return other.offsets == alignment.offsets


def _ranges(model: Model, convention: str, alignment: Alignment, run: LoggedRun, tol: float) -> tuple[dict, list[str]]:
    """Which run lengths reproduce the log just as well: a log that ends before the decay says where it ends."""
    ranges: dict[str, tuple[float, float | None]] = {}
    notes: list[str] = []
    if isinstance(model, HFModel) and model.total_steps is not None:
        T = model.total_steps

        def variant(total: int) -> Model | None:
            return hf_model(model.scheduler, model.peak_lr, model.warmup_steps, total, dict(model.spec.scheduler_kwargs))

        low = high = T
        last_update = int(run.updates(convention).max())
        while low - 1 > max(model.warmup_steps, last_update) and low - T > -64:
            candidate = variant(low - 1)
            if candidate is None or not _same(candidate, run, convention, alignment, tol):
                break
            low -= 1
        step = 1
        unbounded = False
        while True:
            candidate = variant(high + step)
            if candidate is None or not _same(candidate, run, convention, alignment, tol):
                break
            high += step
            step *= 2
            if high > 2**40:
                unbounded = True
                break
        if low != T or high != T:
            ranges["total_steps"] = (low, None if unbounded or step > 64 else high)
    if isinstance(model, DeepSpeedModel) and model.scheduler == "WarmupLR":
        last = int(run.updates(convention).max())
        if float(run.lr.max()) < model.peak_lr * (1 - 1e-9):
            ranges["warmup_steps"] = (last, None)
            ranges["peak_lr"] = (float(run.lr.max()), None)
            notes.append("the log ends inside the warmup: the peak and warmup_num_steps trade off "
                         f"(peak = {model.peak_lr / math.log(max(2, model.warmup_steps)):.6g} × ln(warmup_num_steps))")
    return ranges, notes


def warmup_ratio_for(warmup: int, total: int) -> float | None:
    """The shortest ratio r (two significant digits at most) with ceil(total × r) == warmup, as HF rounds it."""
    if warmup <= 0 or total <= 0 or warmup > total:
        return None
    for scale in (100, 1000, 10000):
        for numerator in range(1, scale + 1):
            r = numerator / scale
            if math.ceil(total * r) == warmup:
                return r
            if total * r > warmup:
                break
    return None


def conventions_for(choice: str) -> tuple[str, ...]:
    if choice == "auto":
        return ("hf", "hf-legacy")
    if choice not in CONVENTIONS:
        raise ValueError(choice)
    return (choice,)
