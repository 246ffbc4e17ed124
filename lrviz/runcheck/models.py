"""Schedules a logged run is checked against: HF schedules (lrviz's exact ``lr_at``), DeepSpeed's own schedulers,
and the distortions runs suffer (a scheduler stepped per micro-batch).

Every model maps update indices ``s`` (float64 array of whole numbers) to the LR that update used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..render import format_lr
from ..schedules import floor_lr, lr_at
from ..spec import ScheduleSpec


class Model:
    """A schedule over update indices."""

    framework = "hf"
    scheduler = ""
    peak_lr = 0.0
    warmup_steps = 0
    total_steps: int | None = None

    def lr(self, updates: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def label(self) -> str:
        return f"{self.framework}:{self.scheduler}"

    @property
    def floor(self) -> float | None:
        return None

    def settings(self) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class HFModel(Model):
    """A schedule in lrviz's registry (transformers, and the frameworks of ``lrviz/frameworks``), computed by lrviz
    exactly as the framework does."""

    spec: ScheduleSpec

    @property
    def framework(self) -> str:  # type: ignore[override]
        return self.spec.framework

    @property
    def scheduler(self) -> str:  # type: ignore[override]
        return self.spec.scheduler

    @property
    def peak_lr(self) -> float:  # type: ignore[override]
        return self.spec.peak_lr

    @property
    def warmup_steps(self) -> int:  # type: ignore[override]
        return self.spec.warmup_steps

    @property
    def total_steps(self) -> int:  # type: ignore[override]
        return self.spec.total_steps

    @property
    def floor(self) -> float | None:
        return floor_lr(self.spec)

    def lr(self, updates: np.ndarray) -> np.ndarray:
        return lr_at(self.spec, np.asarray(updates, dtype=np.float64))

    def settings(self) -> dict[str, Any]:
        return {
            "framework": self.spec.framework, "scheduler": self.spec.scheduler, "peak_lr": self.spec.peak_lr,
            "warmup_steps": self.spec.warmup_steps, "total_steps": self.spec.total_steps,
            "scheduler_kwargs": dict(self.spec.scheduler_kwargs), "floor_lr": self.floor,
        }

    def describe(self) -> str:
        spec = self.spec
        owner = {"hf": "HF", "deepspeed": "DeepSpeed", "torch": "PyTorch"}.get(spec.framework, spec.framework)
        parts = [f"{owner} {spec.scheduler}", f"peak {format_lr(spec.peak_lr)}"]
        floor = self.floor
        if floor is not None and floor > 0:
            parts.append(f"floor {format_lr(floor)}")
        parts += [f"warmup {spec.warmup_steps:,}", f"{spec.total_steps:,} updates"]
        shown = {key: value for key, value in spec.scheduler_kwargs.items()
                 if key not in ("min_lr", "min_lr_rate", "min_lr_ratio", "lr_end")}
        if shown:
            parts.append(", ".join(f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}"
                                   for key, value in shown.items()))
        return ", ".join(parts)

    def with_spec(self, **changes: Any) -> "HFModel":
        return HFModel(replace(self.spec, **changes))


DEEPSPEED_SCHEDULERS = ("WarmupLR", "WarmupDecayLR", "WarmupCosineLR")


@dataclass(frozen=True)
class DeepSpeedModel(Model):
    """DeepSpeed's WarmupLR / WarmupDecayLR / WarmupCosineLR (``deepspeed/runtime/lr_schedules.py``, 0.19.8).

    DeepSpeed's scheduler starts at ``last_batch_iteration = -1`` and is stepped after each optimizer step, so
    update ``s`` uses iteration ``i = s - 1``; update 0 runs at ``warmup_min_lr`` (0 for WarmupCosineLR).
    ``peak_lr`` is ``warmup_max_lr`` (WarmupCosineLR: the optimizer's lr); ``min_lr`` is ``warmup_min_lr``.
    """

    scheduler: str
    peak_lr: float
    warmup_steps: int  # warmup_num_steps as configured; DeepSpeed uses max(2, it)
    min_lr: float = 0.0
    warmup_type: str = "log"
    total_steps: int | None = None  # total_num_steps (WarmupDecayLR, WarmupCosineLR)
    cos_min_ratio: float = 1e-4
    warmup_min_ratio: float = 0.0

    framework = "deepspeed"

    @property
    def floor(self) -> float | None:
        if self.scheduler == "WarmupLR":
            return None
        if self.scheduler == "WarmupDecayLR":
            return self.min_lr
        return self.peak_lr * self.cos_min_ratio

    def spec(self) -> ScheduleSpec:
        """The same schedule in lrviz's DeepSpeed registry (``lrviz/frameworks/deepspeed.py``)."""
        if self.scheduler == "WarmupCosineLR":
            kwargs = {"cos_min_ratio": self.cos_min_ratio, "warmup_min_ratio": self.warmup_min_ratio}
        else:
            kwargs = {"warmup_min_lr": self.min_lr, "warmup_max_lr": self.peak_lr}
        warmup = max(2, int(self.warmup_steps))  # what DeepSpeed runs; it rejects 0 in the current release
        return ScheduleSpec(
            framework="deepspeed", scheduler=self.scheduler, peak_lr=self.peak_lr,
            total_steps=int(self.total_steps or warmup), warmup_steps=warmup,
            scheduler_kwargs={**kwargs, "warmup_type": self.warmup_type},
        )

    def lr(self, updates: np.ndarray) -> np.ndarray:
        return lr_at(self.spec(), np.asarray(updates, dtype=np.float64))

    def settings(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.scheduler == "WarmupCosineLR":
            params = {"total_num_steps": self.total_steps, "warmup_min_ratio": self.warmup_min_ratio,
                      "warmup_num_steps": self.warmup_steps, "cos_min_ratio": self.cos_min_ratio,
                      "warmup_type": self.warmup_type}
        else:
            params = {"warmup_min_lr": self.min_lr, "warmup_max_lr": self.peak_lr,
                      "warmup_num_steps": self.warmup_steps, "warmup_type": self.warmup_type}
            if self.scheduler == "WarmupDecayLR":
                params["total_num_steps"] = self.total_steps
        return {"framework": "deepspeed", "scheduler": self.scheduler, "peak_lr": self.peak_lr,
                "warmup_steps": self.warmup_steps, "total_steps": self.total_steps, "params": params,
                "floor_lr": self.floor}

    def describe(self) -> str:
        shape = "log-shaped" if self.warmup_type == "log" else "linear"
        text = f"DeepSpeed {self.scheduler}: {shape} warmup over {self.warmup_steps:,} updates to {format_lr(self.peak_lr)}"
        if self.scheduler == "WarmupLR":
            return text + ", then constant"
        decay = "linear decay" if self.scheduler == "WarmupDecayLR" else "cosine decay"
        return text + f", then {decay} to {format_lr(self.floor)} at update {self.total_steps:,}"


class _Distorted(Model):
    """A run's distortion of a ``base`` schedule: same framework, scheduler, peak and length, other update indices."""

    base: Model

    @property
    def framework(self) -> str:  # type: ignore[override]
        return self.base.framework

    @property
    def scheduler(self) -> str:  # type: ignore[override]
        return self.base.scheduler

    @property
    def peak_lr(self) -> float:  # type: ignore[override]
        return self.base.peak_lr

    @property
    def total_steps(self) -> int | None:  # type: ignore[override]
        return self.base.total_steps


@dataclass(frozen=True)
class SteppedModel(_Distorted):
    """``base`` advanced ``factor`` scheduler steps per optimizer update, starting ``phase`` steps in: update ``s``
    uses scheduler index ``factor * s + phase`` (a scheduler stepped once per micro-batch)."""

    base: Model
    factor: int
    phase: int

    def lr(self, updates: np.ndarray) -> np.ndarray:
        return self.base.lr(self.factor * np.asarray(updates, dtype=np.float64) + self.phase)

    def settings(self) -> dict[str, Any]:
        return {**self.base.settings(), "scheduler_steps_per_update": self.factor, "first_index": self.phase}

    def describe(self) -> str:
        return f"{self.base.describe()}, stepped {self.factor}× per update"


@dataclass(frozen=True)
class EpochSteppedModel(_Distorted):
    """A scheduler stepped once per micro-batch when an epoch of ``micro_batches`` does not divide into updates of
    ``factor``: the epoch's last update has fewer micro-batches. Update ``s`` uses scheduler index (micro-batches
    consumed through update ``s``) - 1, as the Trainer's loop does with a per-micro-batch ``scheduler.step()``."""

    base: Model
    factor: int
    micro_batches: int  # per epoch

    @property
    def updates_per_epoch(self) -> int:
        return -(-self.micro_batches // self.factor)

    def lr(self, updates: np.ndarray) -> np.ndarray:
        s = np.asarray(updates, dtype=np.float64)
        per_epoch = float(self.updates_per_epoch)
        epoch, within = np.floor(s / per_epoch), np.mod(s, per_epoch)
        index = epoch * self.micro_batches + np.minimum((within + 1) * self.factor, self.micro_batches) - 1
        return self.base.lr(index)

    def settings(self) -> dict[str, Any]:
        return {**self.base.settings(), "scheduler_steps_per_update": self.factor,
                "micro_batches_per_epoch": self.micro_batches}

    def describe(self) -> str:
        return f"{self.base.describe()}, stepped per micro-batch ({self.micro_batches} per epoch, {self.factor} per update)"
