"""PyTorch's own schedulers, exact: ``CosineAnnealingLR`` alone, and ``SequentialLR(LinearLR, CosineAnnealingLR)``.

Source: PyTorch 2.13 ``torch/optim/lr_scheduler.py``. Every ``LRScheduler`` steps once at construction
(``last_epoch`` -1 -> 0) and the loop calls ``scheduler.step()`` after ``optimizer.step()``, so update ``s`` uses
epoch ``s``.

* ``LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=W)``:
  ``base * (start_factor + (end_factor - start_factor) * min(W, e) / W)``; ``start_factor`` must lie in (0, 1],
  so a warmup from exactly 0 is impossible.
* ``CosineAnnealingLR(optimizer, T_max, eta_min=0.0)``: ``eta_min + (base - eta_min) * (1 + cos(pi e / T_max)) / 2``;
  ``eta_min`` is absolute; no clamp: past ``T_max`` the LR rises again (period ``2 T_max``). torch steps it (and
  LinearLR) with recursive formulas; lrviz repeats that recursion, so that its rounding matches too.
* ``SequentialLR(optimizer, [LinearLR(..., total_iters=W), CosineAnnealingLR(...)], milestones=[W])``: updates
  ``0 .. W-1`` use LinearLR; at the milestone the cosine restarts at its own epoch 0 (``_update_lr(0)``), so update
  ``W`` runs at the peak and update ``s >= W`` uses cosine epoch ``s - W``. The cosine needs ``T_max = T - W`` to
  reach ``eta_min`` at the end; ``T_max = T`` (the common slip) never reaches it within the run.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import SpecError


def t_max(spec: Any) -> int:
    """``T_max`` as given, else the value that ends the cosine with the run (``T - W``; ``T`` without warmup)."""
    value = spec.kwarg("T_max")
    if value is not None:
        return int(value)
    return spec.total_steps - spec.warmup_steps


# torch steps both schedulers with recursive (chainable) formulas, whose rounding differs from the closed form by up to
# ~1e-10 relative past the first trough of a long cosine. lrviz repeats torch's recursion step by step for the first
# EXACT_LIMIT epochs (cached), and beyond them uses the closed form per half-wave, which the recursion telescopes to.
EXACT_LIMIT = 1 << 21


def _size(needed: int) -> int:
    return min(EXACT_LIMIT, max(1024, 1 << int(needed - 1).bit_length()))


@lru_cache(maxsize=32)
def _cosine_epochs(n: int, T: int, eta_min: float, base: float, lr0: float) -> np.ndarray:
    """CosineAnnealingLR's LR at epochs 0 .. n-1, stepped as torch steps it (``get_lr``, recursive form)."""
    out = np.empty(n)
    lr = out[0] = lr0
    restart = (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
    for e in range(1, n):
        if (e - 1 - T) % (2 * T) == 0:
            lr = lr + restart
        else:
            lr = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (lr - eta_min) + eta_min
        out[e] = lr
    return out


def _cosine_far(e: np.ndarray, T: int, eta_min: float, base: float, lr0: float) -> np.ndarray:
    """What the recursion telescopes to: per half-wave from its restart value (used past EXACT_LIMIT)."""
    wave = np.floor((e - 1 + T) / (2 * T))
    first = eta_min + (lr0 - eta_min) * (1 + np.cos(math.pi * e / T)) / 2
    restart = (eta_min + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2) - eta_min
    start = (2 * wave - 1) * T + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        later = eta_min + restart * (1 + np.cos(math.pi * e / T)) / (1 + np.cos(math.pi * start / T))
    return np.where(wave < 1, first, later)


def _cosine(e: np.ndarray, base: float, eta_min: float, T: int, lr0: float) -> np.ndarray:
    e = np.asarray(e, dtype=np.float64)
    result = _cosine_far(e, T, eta_min, base, lr0)
    near = (e >= 0) & (e < EXACT_LIMIT)
    if near.any():
        table = _cosine_epochs(_size(int(e[near].max()) + 1), T, eta_min, base, lr0)
        result[near] = table[e[near].astype(np.int64)]
    return result


@lru_cache(maxsize=32)
def _linear_epochs(W: int, start: float, end: float, base: float) -> np.ndarray:
    """LinearLR's LR at epochs 0 .. W-1, stepped as torch steps it (``get_lr``, recursive form)."""
    out = np.empty(W)
    lr = out[0] = base * start
    for e in range(1, W):
        lr = lr * (1.0 + (end - start) / (W * start + (e - 1) * (end - start)))
        out[e] = lr
    return out


def _cosine_annealing_lr(k: np.ndarray, spec: Any, base_lr: float) -> np.ndarray:
    # constructed alone: epoch 0 keeps the group's initial LR
    return _cosine(k, base_lr, float(spec.kwarg("eta_min")), t_max(spec), base_lr)


def _sequential_lr(k: np.ndarray, spec: Any, base_lr: float) -> np.ndarray:
    W = spec.warmup_steps
    start, end = float(spec.kwarg("start_factor")), float(spec.kwarg("end_factor"))
    eta_min = float(spec.kwarg("eta_min"))
    if W <= EXACT_LIMIT:
        warm = _linear_epochs(W, start, end, base_lr)[np.clip(k, 0, W - 1).astype(np.int64)]
    else:  # LinearLR._get_closed_form_lr
        warm = base_lr * (start + (end - start) * np.minimum(W, k) / W)
    # at the milestone SequentialLR calls _update_lr(0): the closed form at epoch 0
    lr0 = eta_min + (base_lr - eta_min) * (1 + math.cos(0.0)) / 2
    cosine = _cosine(np.maximum(k - W, 0), base_lr, eta_min, t_max(spec), lr0)
    return np.where(k < W, warm, cosine)


def check_spec(spec: Any, kwargs: dict[str, Any]) -> None:
    name = spec.scheduler
    T_max = t_max(spec)
    if T_max <= 0:
        given = "T_max" in kwargs and kwargs["T_max"] is not None
        where = f"T_max = {T_max}" if given else f"T_max = steps - warmup = {spec.total_steps} - {spec.warmup_steps} = {T_max}"
        raise SpecError(f"--scheduler-kwargs: {where}: torch's CosineAnnealingLR divides by it (ZeroDivisionError) or "
                        "runs backwards; give T_max > 0 or fewer warmup updates")
    if name == "SequentialLR":
        if spec.warmup_steps < 1:
            raise SpecError("--warmup-steps 0: SequentialLR(LinearLR, CosineAnnealingLR) needs a warmup of at least 1 update "
                            "(LinearLR total_iters); for no warmup use --scheduler CosineAnnealingLR")
        start, end = kwargs.get("start_factor", 1 / 3), kwargs.get("end_factor", 1.0)
        if not 0 < start <= 1:
            raise SpecError(f"--scheduler-kwargs: start_factor = {start} must lie in (0, 1]: torch raises ValueError "
                            "(\"Starting multiplicative factor expected to be greater than 0 and less or equal to 1\"); a "
                            "warmup from exactly 0 is not possible with LinearLR, use e.g. 1e-8")
        if not 0 <= end <= 1:
            raise SpecError(f"--scheduler-kwargs: end_factor = {end} must lie in [0, 1]: torch raises ValueError")


def spec_notes(spec: Any) -> tuple[str, ...]:
    T_max = t_max(spec)
    ends = spec.warmup_steps + T_max if spec.scheduler == "SequentialLR" else T_max
    if ends > spec.total_steps:
        return (f"T_max = {T_max}: the cosine ends at update {ends:,}, after the run's {spec.total_steps:,} updates, so "
                f"eta_min is never reached (the common slip: T_max must be steps - warmup = "
                f"{spec.total_steps - (spec.warmup_steps if spec.scheduler == 'SequentialLR' else 0)})",)
    if ends < spec.total_steps:
        return (f"T_max = {T_max}: the cosine reaches eta_min at update {ends:,} and then rises again (CosineAnnealingLR "
                "does not clamp) before the run's end",)
    return ()


def _critical(spec: Any, lo: int, hi: int) -> np.ndarray:
    from ..schedule_math import _cosine_extrema

    W, T, T_max = spec.warmup_steps, spec.total_steps, t_max(spec)
    start = W if spec.scheduler == "SequentialLR" else 0
    points = [np.array([0, 1, W - 1, W, W + 1, T - 1, T, T + 1], dtype=np.float64)]
    points.append(_cosine_extrema(start, T_max, 0.5, lo, hi, float(T_max)))
    return np.concatenate(points)


def schedule_defs() -> dict[tuple[str, str], Any]:
    from ..schedule_math import ScheduleDef

    def factor_of(lr_fn):
        return lambda k, spec: lr_fn(k, spec, spec.peak_lr) / spec.peak_lr

    return {
        ("torch", "CosineAnnealingLR"): ScheduleDef(factor_of(_cosine_annealing_lr), _critical, _cosine_annealing_lr),
        ("torch", "SequentialLR"): ScheduleDef(factor_of(_sequential_lr), _critical, _sequential_lr),
    }
