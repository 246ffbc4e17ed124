"""Megatron-LM / Megatron-core ``OptimizerParamScheduler``, exact (LR only).

Source: megatron-core 0.16.1 (PyPI wheel) ``megatron/core/optimizer_param_scheduler.py``, and Megatron-LM
``megatron/training/training.py`` for the units: iteration-based runs count in *samples*,
``lr_decay_steps = lr_decay_iters * global_batch_size`` (``--lr-decay-iters`` defaults to ``--train-iters``),
``lr_warmup_steps = lr_warmup_fraction * lr_decay_steps`` (a fraction of the *decay* span, not rounded) or
``lr_warmup_iters * global_batch_size``; the constructor calls ``step(0)`` and each iteration ``step(global_batch_size)``,
so update ``s`` uses ``num_steps = s * global_batch_size``.

``get_lr``: ``W > 0 and n <= W``: ``init_lr + (max_lr - init_lr) * n / W`` (peak at ``n == W``, inclusive);
``constant``: ``max_lr``; ``n > D``: ``min_lr`` (clamped); ``inverse-square-root``:
``max(min_lr, max_lr * sqrt(max(W, 1)) / sqrt(max(n, 1)))``; else ``ratio = (n - W) / (D - W)`` and
``min_lr + coeff * (max_lr - min_lr)`` with ``coeff`` ``1 - ratio`` (linear), ``0.5 * (cos(pi * ratio) + 1)`` (cosine),
or for ``WSD`` 1 until ``D - wsd_decay_steps``, then linear / cosine / exponential (``2 * 0.5**r - 1``) /
minus_sqrt (``1 - sqrt(r)``). ``max_lr``/``min_lr`` are absolute and the same in every param group (a group's own
``max_lr``/``min_lr`` keys, which Megatron supports, are not modelled).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import SpecError

STYLES = ("linear", "cosine", "constant", "inverse-square-root", "WSD")


def units(spec: Any) -> tuple[int, float, float]:
    """(global_batch_size, warmup samples W, decay samples D), as ``training.py::get_optimizer_param_scheduler``
    computes them for an iteration-based run, or for a sample-based one (``lr_decay_samples`` set: the spans are
    given in samples, ``lr_warmup_samples`` or ``lr_warmup_fraction * lr_decay_samples``)."""
    gbs = int(spec.kwarg("global_batch_size"))
    fraction = spec.kwarg("lr_warmup_fraction")
    if spec.kwarg("lr_decay_samples") is not None:
        D = spec.kwarg("lr_decay_samples")
        W = fraction * D if fraction is not None else (spec.kwarg("lr_warmup_samples") or 0)
        return gbs, W, D
    decay_iters = spec.kwarg("lr_decay_iters") or spec.total_steps
    D = decay_iters * gbs
    W = fraction * D if fraction is not None else spec.warmup_steps * gbs
    return gbs, W, D


def wsd_decay_samples(spec: Any, gbs: int) -> float:
    samples = spec.kwarg("lr_wsd_decay_samples")
    return samples if samples is not None else spec.kwarg("lr_wsd_decay_iters") * gbs


def _lr(k: np.ndarray, spec: Any, base_lr: float) -> np.ndarray:
    gbs, W, D = units(spec)
    style = spec.scheduler
    max_lr, min_lr = float(spec.peak_lr), float(spec.kwarg("min_lr"))
    init_lr = float(spec.kwarg("lr_warmup_init"))
    n = k * gbs
    with np.errstate(divide="ignore", invalid="ignore"):
        warm = init_lr + ((max_lr - init_lr) * n / float(W)) if W > 0 else n
        if style == "constant":
            decayed = np.full_like(n, max_lr)
        elif style == "inverse-square-root":
            decayed = np.maximum(min_lr, max_lr * max(W, 1) ** 0.5 / (np.maximum(n, 1) ** 0.5))
        else:
            ratio = (n - W) / float(D - W)
            if style == "linear":
                coeff = 1.0 - ratio
            elif style == "cosine":
                coeff = 0.5 * (np.cos(math.pi * ratio) + 1.0)
            else:
                wsd = wsd_decay_samples(spec, gbs)
                start = D - wsd
                r = (n - start) / float(wsd)
                shape = spec.kwarg("lr_wsd_decay_style")
                if shape == "linear":
                    anneal = 1.0 - r
                elif shape == "cosine":
                    anneal = 0.5 * (np.cos(math.pi * r) + 1.0)
                elif shape == "exponential":
                    anneal = (2.0 * np.power(0.5, r)) - 1.0
                else:
                    anneal = 1.0 - np.sqrt(r)
                coeff = np.where(n <= start, 1.0, anneal)
            decayed = min_lr + coeff * (max_lr - min_lr)
        if style != "constant":
            decayed = np.where(n > D, min_lr, decayed)
    return np.where((W > 0) & (n <= W), warm, decayed)


def check_spec(spec: Any, kwargs: dict[str, Any]) -> None:
    gbs, W, D = units(spec)
    min_lr, init_lr = spec.kwarg("min_lr"), spec.kwarg("lr_warmup_init")
    if gbs < 1:
        raise SpecError(f"--scheduler-kwargs: global_batch_size = {gbs} must be >= 1")
    if min_lr < 0:
        raise SpecError(f"--min-lr {min_lr}: Megatron asserts min_lr >= 0")
    if spec.peak_lr < min_lr:
        raise SpecError(f"--min-lr {min_lr:g} is above --lr {spec.peak_lr:g}: Megatron asserts max_lr >= min_lr")
    if init_lr > spec.peak_lr:
        raise SpecError(f"--scheduler-kwargs: lr_warmup_init = {init_lr:g} is above --lr: Megatron asserts init_lr <= max_lr")
    if kwargs.get("lr_warmup_fraction") is not None and spec.warmup_steps:
        raise SpecError("--scheduler-kwargs: lr_warmup_fraction and a warmup count are both set: Megatron asserts "
                        "--lr-warmup-fraction and --lr-warmup-iters are mutually exclusive; keep one")
    if not W < D:
        raise SpecError(f"warmup {W:g} samples is not shorter than the decay span {D:g} samples: Megatron asserts "
                        "lr_warmup_steps < lr_decay_steps; use a shorter warmup or a longer lr_decay_iters")
    if spec.scheduler == "WSD":
        wsd = kwargs.get("lr_wsd_decay_iters", kwargs.get("lr_wsd_decay_samples"))
        if wsd is None or wsd <= 0:
            raise SpecError("--scheduler WSD needs lr_wsd_decay_iters > 0 (Megatron asserts wsd_decay_steps is not None); "
                            "pass --scheduler-kwargs '{\"lr_wsd_decay_iters\": 100}'")


def _critical(spec: Any, lo: int, hi: int) -> np.ndarray:
    gbs, W, D = units(spec)
    w, d = W / gbs, D / gbs
    points = [0, 1, math.floor(w), math.ceil(w), d - 1, d, d + 1, spec.total_steps - 1, spec.total_steps]
    if spec.scheduler == "WSD":
        start = d - wsd_decay_samples(spec, gbs) / gbs
        points += [start - 1, start, start + 1]
    return np.array(points, dtype=np.float64)


def schedule_defs() -> dict[tuple[str, str], Any]:
    from ..schedule_math import ScheduleDef

    def factor(k, spec):
        return _lr(k, spec, spec.peak_lr) / spec.peak_lr

    def last_warmup(spec):
        gbs, W, _ = units(spec)
        return math.floor(W / gbs)  # the last iteration with n <= W (the peak)

    return {("megatron", style): ScheduleDef(factor, _critical, _lr, last_warmup=last_warmup) for style in STYLES}
