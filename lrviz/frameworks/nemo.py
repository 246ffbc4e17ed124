"""NVIDIA NeMo ``CosineAnnealing`` (``nemo.core.optim.lr_scheduler``), exact.

Source: nemo-toolkit 3.0.0 (PyPI wheel) ``nemo/core/optim/lr_scheduler.py`` (``WarmupAnnealHoldPolicy`` and
``CosineAnnealing``), a torch ``_LRScheduler`` with a closed-form ``get_lr``: update ``s`` uses ``step = s``.

* ``W = warmup_steps`` or ``int(warmup_ratio * max_steps)`` (floor); ``constant_steps`` or
  ``int(constant_ratio * max_steps)``; ``decay_steps = max_steps - constant_steps - W``.
* Without constant steps: warmup ``base * (step + 1) / (W + 1)`` for ``step <= W`` (update 0 is *not* 0; the peak is
  at ``step == W``), then ``(base - min_lr) * 0.5 * (1 + cos(pi * (step - W) / (max_steps - W))) + min_lr``, and
  ``min_lr`` after ``max_steps``. A base LR below ``min_lr`` raises ``ValueError``.
* With constant steps (Megatron-style): warmup ``max_lr * step / W`` from 0, cosine over ``decay_steps``, then
  ``min_lr`` held; ``max_lr`` is param group 0's LR for every group. When the run is shorter than
  ``W + constant_steps`` (the NeMo 2 wrapper defaults ``constant_steps=80000``), ``decay_steps`` is negative and the
  LR drops from the peak straight to ``min_lr`` after the warmup.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import SpecError


def phases(spec: Any) -> tuple[int, int, int]:
    """(warmup, constant, decay) steps as NeMo computes them."""
    T = spec.total_steps
    ratio = spec.kwarg("warmup_ratio")
    W = int(ratio * T) if ratio is not None else spec.warmup_steps
    constant = spec.kwarg("constant_steps")
    constant_ratio = spec.kwarg("constant_ratio")
    C = constant if constant is not None else int(constant_ratio * T) if constant_ratio is not None else 0
    return W, C, T - (C + W)


def _lr(k: np.ndarray, spec: Any, base_lr: float) -> np.ndarray:
    W, C, decay = phases(spec)
    T, min_lr = spec.total_steps, float(spec.kwarg("min_lr"))
    step = k
    with np.errstate(divide="ignore", invalid="ignore"):
        if C == 0:
            warm = base_lr * ((step + 1) / (W + 1))
            mult = 0.5 * (1 + np.cos(math.pi * (step - W) / (T - W)))
            cosine = (base_lr - min_lr) * mult + min_lr
            lr = np.where((W > 0) & (step <= W), warm, cosine)
            return np.where(step > T, min_lr, lr)
        # _linear_warmup_with_cosine_annealing(max_lr=base_lrs[0], ...): every group follows group 0
        max_lr = float(spec.peak_lr)
        warm = max_lr * step / float(W) if W > 0 else step
        ratio = (step - W) / float(decay)
        cosine = min_lr + 0.5 * (np.cos(math.pi * ratio) + 1.0) * (max_lr - min_lr)
        lr = np.where(step > W + decay, min_lr, cosine)
        lr = np.where((W > 0) & (step <= W), warm, lr)
        return np.where(step > T, min_lr, lr)


def check_spec(spec: Any, kwargs: dict[str, Any]) -> None:
    from . import nemo_warmup

    if spec.scheduler in nemo_warmup.NAMES:
        nemo_warmup.check_spec(spec, kwargs)
        return
    if kwargs.get("warmup_ratio") is not None and spec.warmup_steps:
        raise SpecError("warmup_ratio and warmup_steps are both set: NeMo asserts \"Either use particular number of step or "
                        "ratio\"; keep one")
    if kwargs.get("constant_steps") is not None and kwargs.get("constant_ratio") is not None:
        raise SpecError("constant_steps and constant_ratio are both set: NeMo asserts \"Either use constant_steps or "
                        "constant_ratio\"; keep one")
    min_lr = spec.kwarg("min_lr")
    W, C, decay = phases(spec)
    if spec.peak_lr < min_lr:
        raise SpecError(f"--min-lr {min_lr:g} is above --lr {spec.peak_lr:g}: NeMo raises ValueError (\"initial learning "
                        "rate that was lower than the minimum\")")
    if C and not spec.peak_lr > min_lr:
        raise SpecError(f"--min-lr {min_lr:g} equals --lr: with constant steps NeMo asserts max_lr > min_lr")
    if W >= spec.total_steps and C == 0:
        raise SpecError(f"warmup {W} is not shorter than max_steps {spec.total_steps}: NeMo's cosine divides by "
                        "max_steps - warmup; use a shorter warmup")
    if C and W == 0 and decay <= 0:
        raise SpecError(f"constant_steps {C} leaves no decay (max_steps - constant - warmup = {decay}) and there is no "
                        "warmup: NeMo divides by zero at step 0; use fewer constant steps")


def spec_notes(spec: Any) -> tuple[str, ...]:
    from . import nemo_warmup

    if spec.scheduler in nemo_warmup.NAMES:
        W = nemo_warmup.warmup(spec)
        return (f"NeMo's warmup starts at lr/(W+1) = lr/{W + 1}, not at 0, and reaches the peak at update {W:,}",) if W else ()
    W, C, decay = phases(spec)
    notes = []
    if C and decay < 0:
        notes.append(f"constant_steps {C:,} + warmup {W:,} exceed max_steps {spec.total_steps:,}: NeMo's decay span is "
                     f"{decay:,}, so the LR drops from the peak to min_lr right after the warmup (update {W + 1:,})")
    if C == 0 and W > 0:
        notes.append(f"NeMo's warmup starts at lr/(W+1) = lr/{W + 1}, not at 0, and reaches the peak at update {W:,}")
    return tuple(notes)


def _critical(spec: Any, lo: int, hi: int) -> np.ndarray:
    W, C, decay = phases(spec)
    T = spec.total_steps
    return np.array([0, 1, W - 1, W, W + 1, W + decay - 1, W + decay, W + decay + 1, T - 1, T, T + 1], dtype=np.float64)


def schedule_defs() -> dict[tuple[str, str], Any]:
    from ..schedule_math import ScheduleDef

    def factor(k, spec):
        return _lr(k, spec, spec.peak_lr) / spec.peak_lr

    from . import nemo_warmup

    return {("nemo", "CosineAnnealing"): ScheduleDef(factor, _critical, _lr, last_warmup=lambda spec: phases(spec)[0]),
            **nemo_warmup.schedule_defs()}
