"""DeepSpeed's own LR schedulers, exact: ``WarmupLR``, ``WarmupDecayLR``, ``WarmupCosineLR`` (``OneCycle`` and
``LRRangeTest``: ``deepspeed_cyclic``).

Source: DeepSpeed 0.19.8 ``deepspeed/runtime/lr_schedules.py`` (and the older releases named below), with the
stepping of ``deepspeed/runtime/engine.py``: the constructor sets the LR for ``last_batch_iteration = -1``, and
the engine calls ``lr_scheduler.step()`` in ``_take_model_step`` right after each ``optimizer.step()``. So
update ``s`` uses ``i = last_batch_iteration = s - 1``; update 0 uses the constructor's value (0 for
``WarmupCosineLR``, ``warmup_min_lr`` for the other two).

Other rules taken over verbatim: ``W = max(2, warmup_num_steps)``; log warmup ``(1 / log W) * log(i + 1)``,
linear warmup ``i / W``; ``WarmupLR``/``WarmupDecayLR`` use absolute LRs (``min + (max - min) * gamma``),
``WarmupCosineLR`` ratios of each param group's own LR.

Version differences (``--framework-version``; read from the PyPI sdists):

* < 0.19.0 (0.18.0, 0.18.9): ``WarmupCosineLR`` sets LR 0 at construction only in param group 0 (``get_lr``
  returns the one-element list ``[0.0]``, which ``update_lr`` zips with the groups): the other groups run
  update 0 at their full LR.
* < 0.19.3 (0.18.x, 0.19.0-0.19.2): no clamp after ``total_num_steps`` (the cosine rises again), the cosine
  span is ``T - W`` without ``max(1, .)`` (``T == W`` divides by zero), and ``warmup_num_steps`` 0 is
  accepted (``max(2, 0) = 2``) where 0.19.3 and later raise ``ValueError``.
* < 0.19.4 (up to 0.19.3): ``WarmupLR``/``WarmupDecayLR`` without ``warmup_max_lr`` warm every group up to
  group 0's LR (``[group['lr'] ...][0]``), and ``WarmupCosineLR`` with an unknown ``warmup_type`` crashes
  (``UnboundLocalError``) instead of falling back to ``log``.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..errors import SpecError
from .versions import at_least

CLAMP_SINCE = "0.19.3"  # clamp past T, positive-int warmup check, max(1, T - W)
LIST_FIX_SINCE = "0.19.0"  # WarmupCosineLR zeroes every group at construction
GROUP_MAX_SINCE = "0.19.4"  # warmup_max_lr=None: each group's own LR


def warmup_length(spec: Any) -> int:
    """DeepSpeed's ``self.warmup_num_steps = max(2, warmup_num_steps)``."""
    return max(2, spec.warmup_steps)


def _iteration(k: np.ndarray) -> np.ndarray:
    # update s uses last_batch_iteration s - 1
    return k - 1.0


def _warmup_gamma(i: np.ndarray, W: int, warmup_type: str) -> np.ndarray:
    if warmup_type == "linear":
        return i / W
    inverse_log_warm_up = 1.0 / math.log(W)
    with np.errstate(divide="ignore", invalid="ignore"):
        return inverse_log_warm_up * np.log(i + 1)


def _warmup_lr_bounds(spec: Any, base_lr: float) -> tuple[float, float]:
    min_lr = spec.kwarg("warmup_min_lr")
    max_lr = spec.kwarg("warmup_max_lr")
    if max_lr is None:
        # warmup_max_lr=None: [group['lr'] for group in param_groups] (0.19.4+), or its [0] before
        max_lr = base_lr if at_least(spec.framework_version, GROUP_MAX_SINCE) else spec.peak_lr
    return min_lr, max_lr


def _warmup_lr(k: np.ndarray, spec: Any, base_lr: float) -> np.ndarray:
    i = _iteration(k)
    W = warmup_length(spec)
    min_lr, max_lr = _warmup_lr_bounds(spec, base_lr)
    delta_lr = max_lr - min_lr
    gamma = np.where(i < W, _warmup_gamma(i, W, spec.kwarg("warmup_type")), 1.0)
    return np.where(i < 0, min_lr, min_lr + (delta_lr * gamma))


def _warmup_decay_lr(k: np.ndarray, spec: Any, base_lr: float) -> np.ndarray:
    i = _iteration(k)
    W, T = warmup_length(spec), spec.total_steps
    min_lr, max_lr = _warmup_lr_bounds(spec, base_lr)
    delta_lr = max_lr - min_lr
    decay = np.maximum(0.0, (T - i) / float(max(1.0, T - W)))
    gamma = np.where(i < W, _warmup_gamma(i, W, spec.kwarg("warmup_type")), decay)
    return np.where(i < 0, min_lr, min_lr + (delta_lr * gamma))


def cosine_ratio(i: np.ndarray, spec: Any) -> np.ndarray:
    """``WarmupCosineLR.get_lr_ratio`` at iterations ``i >= 0``."""
    W, T = warmup_length(spec), spec.total_steps
    warmup_min_ratio = spec.kwarg("warmup_min_ratio")
    cos_min_ratio = spec.kwarg("cos_min_ratio")
    warm = warmup_min_ratio + _warmup_gamma(i, W, spec.kwarg("warmup_type")) * (1.0 - warmup_min_ratio)
    real_last_step = i - W + 1
    if at_least(spec.framework_version, CLAMP_SINCE):
        cosine_progress = np.minimum(1.0, real_last_step / max(1, T - W))
    else:
        cosine_progress = real_last_step / (T - W)  # check_spec rejects T == W for these releases
    ratio = (1 + np.cos(math.pi * cosine_progress)) / 2
    ratio = np.maximum(0.0, cos_min_ratio + (1.0 - cos_min_ratio) * ratio)
    return np.where(i < W, warm, ratio)


def _warmup_cosine_lr(k: np.ndarray, spec: Any, base_lr: float) -> np.ndarray:
    i = _iteration(k)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = cosine_ratio(np.maximum(i, 0.0), spec)
    # at i < 0 the constructor writes an absolute 0.0 (in every group since 0.19.0)
    return np.where(i < 0, 0.0, base_lr * ratio)


def param_group_lrs(spec: Any, steps: Sequence[int] | np.ndarray, base_lrs: Sequence[float]) -> list[np.ndarray]:
    """The LR of each param group (initial LRs ``base_lrs``, group 0 first) at each update index.

    ``lrviz.schedules.lr_at(spec, steps, base_lr=x)`` is the LR of a group with initial LR ``x`` that DeepSpeed
    treats like group 0; this also reproduces the one difference between groups: before 0.19.0,
    ``WarmupCosineLR`` leaves groups 1, 2, ... at their own LR for update 0.
    """
    from .deepspeed_cyclic import lr_functions

    k = np.asarray(steps, dtype=np.float64)
    lr_of = {"WarmupLR": _warmup_lr, "WarmupDecayLR": _warmup_decay_lr, "WarmupCosineLR": _warmup_cosine_lr,
             **lr_functions()}[spec.scheduler]
    result = []
    for index, base in enumerate(base_lrs):
        lr = lr_of(k, spec, float(base))  # what lrviz.schedules.lr_at(spec, k, base_lr=base) computes
        if index > 0 and spec.scheduler == "WarmupCosineLR" and not at_least(spec.framework_version, LIST_FIX_SINCE):
            lr = np.where(k == 0, float(base), lr)
        result.append(lr)
    return result


# ------------------------------------------------------------------------------------------ checks


def check_spec(spec: Any, kwargs: dict[str, Any]) -> None:
    from . import deepspeed_cyclic

    if spec.scheduler in deepspeed_cyclic.NAMES:
        deepspeed_cyclic.check_spec(spec, kwargs)
        return
    version = spec.framework_version
    name = f"DeepSpeed {version} {spec.scheduler}"
    clamp = at_least(version, CLAMP_SINCE)
    if spec.warmup_steps <= 0 and clamp:
        raise SpecError(
            f"--warmup-steps {spec.warmup_steps} (warmup_num_steps): {name} raises ValueError (warmup_num_steps must "
            "be a positive integer); use 1 or more (1 and 2 both warm up over 2 updates: W = max(2, warmup_num_steps))"
        )
    if spec.scheduler == "WarmupCosineLR" and not clamp and spec.total_steps == warmup_length(spec):
        raise SpecError(
            f"--steps {spec.total_steps} (total_num_steps) equals the warmup max(2, {spec.warmup_steps}): {name} divides "
            f"by zero (total_num_steps - warmup_num_steps); use more steps or --framework-version {CLAMP_SINCE} or later"
        )
    if spec.scheduler == "WarmupCosineLR":
        for key in ("cos_min_ratio", "warmup_min_ratio"):
            value = kwargs.get(key)
            if value is not None and value < 0:
                raise SpecError(f"--scheduler-kwargs: {key} = {value} must be >= 0: it is a fraction of the LR")
    else:
        for key in ("warmup_min_lr", "warmup_max_lr"):
            value = kwargs.get(key)
            if value is not None and value < 0:
                raise SpecError(f"--scheduler-kwargs: {key} = {value} must be >= 0: it is a learning rate")


# ------------------------------------------------------------------------------------ critical points


def _critical(spec: Any, lo: int, hi: int) -> np.ndarray:
    from ..schedule_math import _cosine_extrema

    W, T = warmup_length(spec), spec.total_steps
    # update s = i + 1: construction (s=0), first step (s=1), end of warmup (i = W-1, W), end of decay (i = T-1, T)
    points = [np.array([0, 1, 2, W - 1, W, W + 1, W + 2, T - 1, T, T + 1, T + 2], dtype=np.float64)]
    if spec.scheduler == "WarmupCosineLR" and not at_least(spec.framework_version, CLAMP_SINCE) and T != W:
        # no clamp: the cosine turns every |T - W| updates after the warmup
        span = abs(T - W)
        points.append(_cosine_extrema(W, span, 0.5, lo, hi, float(span)))
    return np.concatenate(points)


# ------------------------------------------------------------------------------------------ shapes


def describe(spec: Any) -> str:
    """The shape in words, e.g. for the warning that this schedule replaces another."""
    from . import deepspeed_cyclic

    if spec.scheduler in deepspeed_cyclic.NAMES:
        return deepspeed_cyclic.describe(spec)
    W = warmup_length(spec)
    shape = "log-shaped" if spec.kwarg("warmup_type") == "log" else "linear"
    if spec.scheduler == "WarmupLR":
        return f"a {shape} warmup over {W} updates, then a constant LR: no decay"
    if spec.scheduler == "WarmupDecayLR":
        return f"a {shape} warmup over {W} updates, then a linear decay to warmup_min_lr at update {spec.total_steps + 1}"
    return f"a {shape} warmup over {W} updates, then a cosine decay to cos_min_ratio x lr"


def schedule_defs() -> dict[tuple[str, str], Any]:
    from ..schedule_math import ScheduleDef

    def factor_of(lr_fn):
        return lambda k, spec: lr_fn(k, spec, spec.peak_lr) / spec.peak_lr

    from . import deepspeed_cyclic

    defs = {
        ("deepspeed", name): ScheduleDef(factor_of(fn), _critical, fn, last_warmup=warmup_length)
        for name, fn in (
            ("WarmupLR", _warmup_lr),
            ("WarmupDecayLR", _warmup_decay_lr),
            ("WarmupCosineLR", _warmup_cosine_lr),
        )
    }
    for name, fn in deepspeed_cyclic.lr_functions().items():
        defs[("deepspeed", name)] = ScheduleDef(factor_of(fn), deepspeed_cyclic.critical, fn)
    return defs
