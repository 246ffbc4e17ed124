"""transformers (``hf``): its schedulers' settings and their math, exact. Also what TRL and LLaMA-Factory run.

Source: transformers 5.24.0 ``src/transformers/optimization.py``: the keyword arguments of each ``get_*_schedule*``
function that ``get_scheduler`` forwards from ``lr_scheduler_kwargs`` (``HF_SIGNATURES``), and the
``_get_*_lr_lambda`` functions, whose operations the factors below repeat in the same order so that they agree bit
for bit. Every function maps update indices ``k`` (float64 whole numbers) to the multiplier ``LambdaLR`` applies
to a param group's initial LR.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..schedule_math import ScheduleDef, _boundaries, _cosine_extrema, _hf_cosine_decay, min_lr_rate

if TYPE_CHECKING:  # annotations only
    from ..spec import ScheduleSpec

DEFAULT_SCHEDULER = "cosine_with_min_lr"  # lrviz's default without a config (transformers' own is linear)
RELEASE = "transformers 5.24.0"

def _hf_linear_warmup(k: np.ndarray, warmup: int) -> np.ndarray:
    # float(current_step) / float(max(1, num_warmup_steps))
    return k / float(max(1, warmup))


def _hf_linear(k: np.ndarray, spec: ScheduleSpec) -> np.ndarray:
    W, T = spec.warmup_steps, spec.total_steps
    decay = np.maximum(0.0, (T - k) / float(max(1, T - W)))
    return np.where(k < W, _hf_linear_warmup(k, W), decay)


def _hf_cosine(k: np.ndarray, spec: ScheduleSpec) -> np.ndarray:
    # `cosine` runs the min-LR lambda with min_lr_rate=0.0 (the later definition shadows the first).
    W = spec.warmup_steps
    decay = _hf_cosine_decay(k, W, spec.total_steps, spec.kwarg("num_cycles"), 0.0)
    return np.where(k < W, _hf_linear_warmup(k, W), decay)


def _hf_cosine_with_min_lr(k: np.ndarray, spec: ScheduleSpec) -> np.ndarray:
    W = spec.warmup_steps
    decay = _hf_cosine_decay(k, W, spec.total_steps, spec.kwarg("num_cycles"), min_lr_rate(spec))
    return np.where(k < W, _hf_linear_warmup(k, W), decay)


def _hf_cosine_warmup_with_min_lr(k: np.ndarray, spec: ScheduleSpec) -> np.ndarray:
    W, T = float(spec.warmup_steps), float(spec.total_steps)
    warmup_lr_rate = spec.kwarg("warmup_lr_rate")
    if warmup_lr_rate is None:
        warmup = (k + 1.0) / max(1.0, W)
    else:
        r = float(warmup_lr_rate)
        warmup = r + (1.0 - r) * k / max(1, W - 1)
    progress = (k - W + 1.0) / max(1.0, T - W)
    factor = 0.5 * (1.0 + np.cos(math.pi * spec.kwarg("num_cycles") * 2.0 * progress))
    rate = min_lr_rate(spec)
    factor = np.maximum(0, factor * (1 - rate) + rate)
    return np.where(k < W, warmup, factor)


def _hf_cosine_with_restarts(k: np.ndarray, spec: ScheduleSpec) -> np.ndarray:
    W, T = spec.warmup_steps, spec.total_steps
    progress = (k - W) / float(max(1, T - W))
    wave = np.maximum(0.0, 0.5 * (1.0 + np.cos(math.pi * np.remainder(float(spec.kwarg("num_cycles")) * progress, 1.0))))
    decay = np.where(progress >= 1.0, 0.0, wave)
    return np.where(k < W, _hf_linear_warmup(k, W), decay)


def _hf_polynomial(k: np.ndarray, spec: ScheduleSpec) -> np.ndarray:
    W, T = spec.warmup_steps, spec.total_steps
    lr_init, lr_end, power = spec.peak_lr, spec.kwarg("lr_end"), spec.kwarg("power")
    lr_range = lr_init - lr_end
    decay_steps = T - W
    with np.errstate(divide="ignore", invalid="ignore"):
        pct_remaining = 1 - (k - W) / decay_steps
        decay = (lr_range * np.power(pct_remaining, power) + lr_end) / lr_init
    after = np.where(k > T, lr_end / lr_init, decay)
    return np.where(k < W, _hf_linear_warmup(k, W), after)


def _hf_constant(k: np.ndarray, spec: ScheduleSpec) -> np.ndarray:
    return np.ones_like(k)


def _hf_constant_with_warmup(k: np.ndarray, spec: ScheduleSpec) -> np.ndarray:
    W = spec.warmup_steps
    # float(current_step) / float(max(1.0, num_warmup_steps))
    return np.where(k < W, k / float(max(1.0, W)), 1.0)


def _inverse_sqrt_timescale(spec: ScheduleSpec) -> int:
    timescale = spec.kwarg("timescale")
    return (spec.warmup_steps or 10_000) if timescale is None else timescale


def _hf_inverse_sqrt(k: np.ndarray, spec: ScheduleSpec) -> np.ndarray:
    W = spec.warmup_steps
    timescale = _inverse_sqrt_timescale(spec)
    shift = timescale - W
    with np.errstate(divide="ignore", invalid="ignore"):
        decay = 1.0 / np.sqrt((k + shift) / timescale)
    return np.where(k < W, _hf_linear_warmup(k, W), decay)


def wsd_phases(spec: ScheduleSpec) -> tuple[int, int, int]:
    """(warmup, stable, decay) update counts of a warmup_stable_decay schedule."""
    W, D = spec.warmup_steps, spec.kwarg("num_decay_steps")
    S = spec.kwarg("num_stable_steps")
    if S is None:
        S = spec.total_steps - W - D
    return W, S, D


def _wsd_shape(progress: np.ndarray, shape: str, rising: bool, num_cycles: float) -> np.ndarray:
    if rising:
        if shape == "linear":
            return progress
        if shape == "cosine":
            return 0.5 * (1.0 - np.cos(math.pi * progress))
        return 1.0 - np.sqrt(1.0 - progress)
    if shape == "linear":
        return 1.0 - progress
    if shape == "cosine":
        return 0.5 * (1.0 + np.cos(math.pi * float(num_cycles) * 2.0 * progress))
    return 1.0 - np.sqrt(progress)


def _hf_warmup_stable_decay(k: np.ndarray, spec: ScheduleSpec) -> np.ndarray:
    W, S, D = wsd_phases(spec)
    ratio = spec.kwarg("min_lr_ratio")
    num_cycles = spec.kwarg("num_cycles")
    with np.errstate(invalid="ignore"):
        up = _wsd_shape(k / float(max(1, W)), spec.kwarg("warmup_type"), True, num_cycles)
        down = _wsd_shape((k - W - S) / float(max(1, D)), spec.kwarg("decay_type"), False, num_cycles)
    up = np.maximum(0.0, up * (1.0 - ratio) + ratio)
    down = np.maximum(0.0, down * (1.0 - ratio) + ratio)
    return np.select([k < W, k < W + S, k < W + S + D], [up, 1.0, down], default=float(ratio))


# ------------------------------------------------------------------------------- critical points


def _critical_warmup_decay(spec: ScheduleSpec, lo: int, hi: int) -> np.ndarray:
    W, T = spec.warmup_steps, spec.total_steps
    points = [_boundaries(0, W - 1, W, W + 1, T - 1, T, T + 1)]
    name = spec.scheduler
    if name in ("cosine", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "cosine_with_restarts"):
        num_cycles = abs(float(spec.kwarg("num_cycles")))
        span = max(1, T - W)
        start = W - 1 if name == "cosine_warmup_with_min_lr" else W
        # cosine(pi * 2 * c * p) turns every half period: p = j / (2c); restarts every p = j / c
        per = 1.0 if name == "cosine_with_restarts" else 2.0
        period = span / (per * num_cycles) if num_cycles else 0.0
        points.append(_cosine_extrema(start, span, num_cycles, lo, hi, period))
    return np.concatenate(points)


def _critical_wsd(spec: ScheduleSpec, lo: int, hi: int) -> np.ndarray:
    W, S, D = wsd_phases(spec)
    points = [_boundaries(0, W - 1, W, W + S - 1, W + S, W + S + D - 1, W + S + D, spec.total_steps - 1)]
    if spec.kwarg("decay_type") == "cosine":
        num_cycles = abs(float(spec.kwarg("num_cycles")))
        period = max(1, D) / (2.0 * num_cycles) if num_cycles else 0.0
        points.append(_cosine_extrema(W + S, D, num_cycles, lo, min(hi, W + S + D + 1), period))
    return np.concatenate(points)


def schedule_defs() -> dict[tuple[str, str], ScheduleDef]:
    return {
        ("hf", "linear"): ScheduleDef(_hf_linear, _critical_warmup_decay),
        ("hf", "cosine"): ScheduleDef(_hf_cosine, _critical_warmup_decay),
        ("hf", "cosine_with_restarts"): ScheduleDef(_hf_cosine_with_restarts, _critical_warmup_decay),
        ("hf", "polynomial"): ScheduleDef(_hf_polynomial, _critical_warmup_decay),
        ("hf", "constant"): ScheduleDef(_hf_constant, _critical_warmup_decay),
        ("hf", "constant_with_warmup"): ScheduleDef(_hf_constant_with_warmup, _critical_warmup_decay),
        ("hf", "inverse_sqrt"): ScheduleDef(_hf_inverse_sqrt, _critical_warmup_decay),
        ("hf", "cosine_with_min_lr"): ScheduleDef(_hf_cosine_with_min_lr, _critical_warmup_decay),
        ("hf", "cosine_warmup_with_min_lr"): ScheduleDef(_hf_cosine_warmup_with_min_lr, _critical_warmup_decay),
        ("hf", "warmup_stable_decay"): ScheduleDef(_hf_warmup_stable_decay, _critical_wsd),
    }


def signatures() -> dict[str, Any]:
    """transformers' schedulers and the settings each accepts (pure data in ``lrviz.signatures``)."""
    from ..signatures import HF_SIGNATURES

    return HF_SIGNATURES


def check_spec(spec: Any, kwargs: dict[str, Any]) -> None:
    """transformers' own checks live in lrviz.spec (they are the checks every spec gets)."""


def spec_notes(spec: Any) -> tuple[str, ...]:
    return ()
