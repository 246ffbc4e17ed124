"""Compress a long configured schedule to the length of a verify run, keeping its shape.

A configured run of ``T`` updates is verified on ``n < T`` updates: every length in updates (warmup, the
warmup-stable-decay phases, the inverse-sqrt timescale; Megatron's decay spans, NeMo's constant steps,
DeepSpeed's cycle and step sizes, torch's T_max, timm's t_initial) is scaled by ``n / T`` and rounded to the nearest
whole update (at least 1 where it was at least 1); ratios (floors, ``num_cycles``, ``warmup_lr_rate``) are
kept as they are, and an absolute ``min_lr`` keeps its ratio to the unchanged peak. Pure: no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from ..schedules import wsd_phases
from ..spec import ScheduleSpec, Source


# Per registered framework: its lengths (in updates, or in samples for Megatron's sample-based runs) kept in the
# kwargs, scaled like the warmup (hf's warmup-stable-decay and inverse-sqrt lengths are derived below; Axolotl's
# cosine lengths are ratios of the run). Ratios (lr_warmup_fraction, warmup_ratio, constant_ratio, cycle_decay) and
# absolute LRs (min_lr, lr_warmup_init) are kept, and the framework's own class turns them into the shorter run.
SCALED_KWARGS: dict[str, tuple[str, ...]] = {
    "hf": (),
    "axolotl": (),
    "megatron": ("lr_decay_iters", "lr_wsd_decay_iters", "lr_decay_samples", "lr_warmup_samples", "lr_wsd_decay_samples"),
    "nemo": ("constant_steps",),
    "deepspeed": ("cycle_first_step_size", "cycle_second_step_size", "decay_step_size", "lr_range_test_step_size"),
    "torch": ("T_max",),
    "timm": ("t_initial",),
}


@dataclass(frozen=True)
class Compression:
    """How a configured run was shortened: lengths before and after, and the factor."""

    configured_steps: int
    configured_warmup: int
    steps: int
    warmup: int
    scaled: dict[str, tuple[int, int]]  # kwarg -> (configured, compressed) for lengths in updates

    @property
    def factor(self) -> float:
        return self.steps / self.configured_steps

    def sentence(self) -> str:
        """One line for the report."""
        parts = [
            f"configured {self.configured_steps:,} updates (warmup {self.configured_warmup:,}, "
            f"{_share(self.configured_warmup, self.configured_steps)}) compressed to {self.steps:,} "
            f"(warmup {self.warmup:,}, {_share(self.warmup, self.steps)})"
        ]
        for key, (before, after) in self.scaled.items():
            parts.append(f"{key} {before:,} → {after:,}")
        return "; ".join(parts) + "; floor ratios unchanged: same shape, fewer updates"

    def short(self) -> str:
        """A few words for a figure."""
        return (f"compressed {self.configured_steps:,} → {self.steps:,} updates "
                f"(warmup {self.configured_warmup:,} → {self.warmup:,})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "configured_steps": self.configured_steps,
            "configured_warmup": self.configured_warmup,
            "steps": self.steps,
            "warmup": self.warmup,
            "factor": self.factor,
            "scaled_kwargs": {key: {"configured": a, "compressed": b} for key, (a, b) in self.scaled.items()},
            "sentence": self.sentence(),
        }


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}"


def _scaled(count: int, factor: float) -> int:
    """``count × factor`` rounded half up; a length of at least one update stays at least one."""
    if count <= 0:
        return 0
    return max(1, math.floor(count * factor + 0.5))


def compress(spec: ScheduleSpec, steps: int) -> tuple[ScheduleSpec, Compression | None]:
    """The schedule to verify in ``steps`` updates: ``spec`` itself if it is not longer, else its compression."""
    if spec.total_steps <= steps:
        return spec, None
    factor = steps / spec.total_steps
    warmup = _scaled(spec.warmup_steps, factor)
    kwargs = dict(spec.scheduler_kwargs)
    scaled: dict[str, tuple[int, int]] = {}
    if spec.scheduler == "warmup_stable_decay":
        _, stable, decay = wsd_phases(spec)
        new_decay = min(_scaled(decay, factor), max(steps - warmup, 0))
        kwargs["num_decay_steps"] = new_decay
        scaled["num_decay_steps"] = (decay, new_decay)
        if kwargs.get("num_stable_steps") is not None:
            new_stable = _scaled(stable, factor)
            kwargs["num_stable_steps"] = new_stable
            scaled["num_stable_steps"] = (stable, new_stable)
    if spec.scheduler == "inverse_sqrt":
        timescale = spec.kwarg("timescale")
        effective = (spec.warmup_steps or 10_000) if timescale is None else timescale
        new_timescale = _scaled(effective, factor)
        kwargs["timescale"] = new_timescale
        scaled["timescale"] = (effective, new_timescale)
    for key in SCALED_KWARGS[spec.framework]:
        value = kwargs.get(key)
        if value is not None:
            kwargs[key] = _scaled(int(value), factor)
            scaled[key] = (int(value), kwargs[key])
    provenance = dict(spec.provenance)
    why = f"compressed {spec.total_steps:,} → {steps:,} updates for verify"
    provenance["total_steps"] = Source("derived", "", why)
    provenance["warmup_steps"] = Source("derived", "", f"warmup = round({spec.warmup_steps} × {steps}/{spec.total_steps}) = {warmup}")
    for key, (before, after) in scaled.items():
        provenance[f"kwargs.{key}"] = Source("derived", "", f"{key} = round({before} × {steps}/{spec.total_steps}) = {after}")
    compressed = replace(spec, total_steps=steps, warmup_steps=warmup, scheduler_kwargs=kwargs, provenance=provenance)
    return compressed, Compression(spec.total_steps, spec.warmup_steps, steps, warmup, scaled)
