"""The scheduler object that drives the optimizer: the framework's own, or a labelled stand-in.

For ``--framework hf`` it is ``transformers.get_scheduler(...)`` exactly as ``Trainer.create_scheduler`` builds
it. Where transformers is not installed, torch's own scheduler classes stand in where they express the schedule
(``constant``; ``linear`` and ``cosine`` without warmup); anything else runs torch's ``LambdaLR`` over lrviz's
own formula, which checks the stepping but not the framework's arithmetic, and says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..errors import EnvironmentUnavailable
from ..schedules import factors
from ..spec import ScheduleSpec

KIND_FRAMEWORK = "framework"  # the framework's own scheduler object
KIND_TORCH = "torch"  # a torch scheduler class that expresses the same schedule
KIND_LRVIZ = "lrviz-lambda"  # LambdaLR over lrviz's own formula


@dataclass(frozen=True)
class Implementation:
    """Which object drives the optimizer, and how much a match with the prediction proves."""

    kind: str
    source: str  # how it was built, e.g. "transformers.get_scheduler('cosine_with_min_lr', ...)"
    class_name: str
    version: str  # of the package that provides it
    note: str = ""

    @property
    def is_framework(self) -> bool:
        return self.kind == KIND_FRAMEWORK

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": self.source, "class": self.class_name, "version": self.version, "note": self.note}


def build_scheduler(spec: ScheduleSpec, optimizer: torch.optim.Optimizer) -> tuple[Any, Implementation, list[str]]:
    """The scheduler for ``spec`` on ``optimizer``, what it is, and any warnings its constructor gave."""
    if spec.framework != "hf":
        return _fallback(spec, optimizer, f"lrviz verify does not build {spec.framework}'s own scheduler yet")
    try:
        import transformers
        from transformers.optimization import get_scheduler
    except ImportError:
        return _fallback(spec, optimizer, "transformers is not installed")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            scheduler = get_scheduler(
                spec.scheduler,
                optimizer,
                num_warmup_steps=spec.warmup_steps,
                num_training_steps=spec.total_steps,
                scheduler_specific_kwargs=dict(spec.scheduler_kwargs),
            )
        except (ValueError, TypeError, KeyError) as error:
            raise EnvironmentUnavailable(
                f"transformers {transformers.__version__} cannot build {spec.scheduler!r} ({error}); "
                "upgrade it: pip install -U transformers"
            ) from None
    source = f"transformers.get_scheduler({spec.scheduler!r}, optimizer, num_warmup_steps={spec.warmup_steps}, " \
             f"num_training_steps={spec.total_steps}, scheduler_specific_kwargs={dict(spec.scheduler_kwargs)!r})"
    implementation = Implementation(KIND_FRAMEWORK, source, type(scheduler).__name__, transformers.__version__)
    return scheduler, implementation, [str(w.message) for w in caught]


def _torch_equivalent(spec: ScheduleSpec, optimizer: torch.optim.Optimizer) -> tuple[Any, str] | None:
    """A torch scheduler class with the same LR at every update of the run, if there is one."""
    schedulers = torch.optim.lr_scheduler
    T, W = spec.total_steps, spec.warmup_steps
    if spec.scheduler == "constant" or (spec.scheduler == "constant_with_warmup" and W == 0):
        return schedulers.ConstantLR(optimizer, factor=1.0, total_iters=0), "ConstantLR(factor=1.0, total_iters=0)"
    if spec.scheduler == "linear" and W == 0:
        return (schedulers.LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=T),
                f"LinearLR(start_factor=1.0, end_factor=0.0, total_iters={T})")
    if spec.scheduler == "cosine" and W == 0 and float(spec.kwarg("num_cycles")) == 0.5:
        return schedulers.CosineAnnealingLR(optimizer, T_max=T, eta_min=0.0), f"CosineAnnealingLR(T_max={T}, eta_min=0.0)"
    return None


def _fallback(spec: ScheduleSpec, optimizer: torch.optim.Optimizer, why: str) -> tuple[Any, Implementation, list[str]]:
    equivalent = _torch_equivalent(spec, optimizer) if spec.framework == "hf" else None
    if equivalent is not None:
        scheduler, text = equivalent
        note = f"{why}: torch's own {type(scheduler).__name__} stands in for transformers' {spec.scheduler}"
        return scheduler, Implementation(KIND_TORCH, f"torch.optim.lr_scheduler.{text}", type(scheduler).__name__,
                                         torch.__version__, note), []

    def factor(step: int) -> float:
        return float(factors(spec, np.array([step], dtype=np.float64))[0])

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    framework = "transformers'" if spec.framework == "hf" else f"{spec.framework}'s"
    fix = " (pip install transformers to check that)" if spec.framework == "hf" else ""
    note = (f"{why} and no torch scheduler class expresses {spec.scheduler}: LambdaLR over lrviz's own formula "
            f"drives the optimizer, so this checks the stepping, not {framework} arithmetic{fix}")
    return scheduler, Implementation(KIND_LRVIZ, "torch.optim.lr_scheduler.LambdaLR(optimizer, lrviz factor)", "LambdaLR",
                                     torch.__version__, note), []
