"""The scheduler object that drives the optimizer: the framework's own, or a labelled stand-in.

For ``--framework hf`` it is ``transformers.get_scheduler(...)`` exactly as ``Trainer.create_scheduler`` builds
it. Where transformers is not installed, torch's own scheduler classes stand in where they express the schedule
(``constant``; ``linear`` and ``cosine`` without warmup); anything else runs torch's ``LambdaLR`` over lrviz's
own formula, which checks the stepping but not the framework's arithmetic, and says so.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from ..errors import EnvironmentUnavailable
from ..schedules import factors, lr_at
from ..spec import ScheduleSpec
from .implementation import KIND_FRAMEWORK, KIND_LRVIZ, KIND_TORCH, Implementation, package_version
from .megatron_nemo import megatron, nemo

__all__ = ["KIND_FRAMEWORK", "KIND_LRVIZ", "KIND_TORCH", "FRAMEWORK_BUILDERS", "Implementation", "build_scheduler",
           "load_timm_cosine", "package_version", "scheduler_index"]


def scheduler_index(scheduler: Any) -> int:
    """How many times the scheduler has been stepped (torch ``last_epoch``, DeepSpeed ``last_batch_iteration``)."""
    inner = getattr(scheduler, "scheduler", None)  # accelerate's AcceleratedScheduler wraps the real one
    for candidate in (scheduler, inner):
        for attribute in ("last_epoch", "last_batch_iteration"):
            value = getattr(candidate, attribute, None)
            if isinstance(value, int):
                return value + (1 if attribute == "last_batch_iteration" else 0)
    return -1


def build_scheduler(spec: ScheduleSpec, optimizer: torch.optim.Optimizer) -> tuple[Any, Implementation, list[str]]:
    """The scheduler for ``spec`` on ``optimizer``, what it is, and any warnings its constructor gave."""
    if spec.framework in FRAMEWORK_BUILDERS:
        built = FRAMEWORK_BUILDERS[spec.framework](spec, optimizer)
        if isinstance(built, str):
            return _fallback(spec, optimizer, built)
        return built
    if spec.framework != "hf":
        return _fallback(spec, optimizer, f"lrviz verify does not build {spec.framework}'s own scheduler")
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


def _deepspeed(spec: ScheduleSpec, optimizer: torch.optim.Optimizer) -> tuple[Any, Implementation, list[str]] | str:
    """DeepSpeed's own ``lr_schedules`` class, stepped as ``DeepSpeedEngine._take_model_step`` steps it: after
    every optimizer step that was not skipped (the engine itself is not used)."""
    try:
        from deepspeed.runtime import lr_schedules
    except ImportError:
        return "deepspeed is not installed"
    except Exception as error:  # noqa: BLE001 - a broken install (missing ops, CUDA probing) is an environment fact
        return f"deepspeed failed to import ({type(error).__name__}: {' '.join(str(error).split())[:160]})"
    cls = getattr(lr_schedules, spec.scheduler, None)
    if cls is None:
        return f"deepspeed {package_version('deepspeed')} has no scheduler class {spec.scheduler}"
    import inspect

    params = dict(spec.scheduler_kwargs)
    accepted = inspect.signature(cls).parameters  # OneCycle and LRRangeTest take neither length
    if "warmup_num_steps" in accepted:
        params["warmup_num_steps"] = spec.warmup_steps
    if "total_num_steps" in accepted:
        params["total_num_steps"] = spec.total_steps
    try:
        scheduler = cls(optimizer, **params)
    except (TypeError, ValueError) as error:
        return f"deepspeed's {spec.scheduler} refuses {params} ({error})"
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return scheduler, Implementation(KIND_FRAMEWORK, f"deepspeed.runtime.lr_schedules.{spec.scheduler}(optimizer, {shown}), "
                                     "stepped after each optimizer step as DeepSpeedEngine steps it (engine not used)",
                                     spec.scheduler, package_version("deepspeed")), []


def _torch_classes(spec: ScheduleSpec, optimizer: torch.optim.Optimizer) -> tuple[Any, Implementation, list[str]] | str:
    """torch's own ``CosineAnnealingLR``, or ``SequentialLR(LinearLR, CosineAnnealingLR)`` for a warmup."""
    from ..frameworks.torch_sched import t_max

    schedulers = torch.optim.lr_scheduler
    eta_min = float(spec.kwarg("eta_min"))
    T = t_max(spec)
    if spec.scheduler == "CosineAnnealingLR":
        scheduler = schedulers.CosineAnnealingLR(optimizer, T_max=T, eta_min=eta_min)
        text = f"CosineAnnealingLR(optimizer, T_max={T}, eta_min={eta_min!r})"
    elif spec.scheduler == "SequentialLR":
        W = spec.warmup_steps
        start, end = float(spec.kwarg("start_factor")), float(spec.kwarg("end_factor"))
        linear = schedulers.LinearLR(optimizer, start_factor=start, end_factor=end, total_iters=W)
        cosine = schedulers.CosineAnnealingLR(optimizer, T_max=T, eta_min=eta_min)
        scheduler = schedulers.SequentialLR(optimizer, [linear, cosine], milestones=[W])
        text = (f"SequentialLR(optimizer, [LinearLR(start_factor={start!r}, end_factor={end!r}, total_iters={W}), "
                f"CosineAnnealingLR(T_max={T}, eta_min={eta_min!r})], milestones=[{W}])")
    else:
        return f"lrviz verify does not build torch's {spec.scheduler}"
    return scheduler, Implementation(KIND_FRAMEWORK, f"torch.optim.lr_scheduler.{text}", spec.scheduler,
                                     torch.__version__), []


def load_timm_cosine() -> Any:
    """timm's real ``CosineLRScheduler``, loaded from its files without ``timm/__init__`` (which imports
    torchvision); None where timm is not installed."""
    import importlib.util
    import sys
    import types
    from pathlib import Path

    try:
        found = importlib.util.find_spec("timm")
    except (ImportError, ValueError, AttributeError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    folder = Path(list(found.submodule_search_locations)[0]) / "scheduler"
    package = types.ModuleType("lrviz_timm_scheduler")
    package.__path__ = [str(folder)]
    sys.modules.setdefault("lrviz_timm_scheduler", package)
    for name in ("scheduler", "cosine_lr"):
        full = f"lrviz_timm_scheduler.{name}"
        if full not in sys.modules:
            module_spec = importlib.util.spec_from_file_location(full, folder / f"{name}.py")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[full] = module
            module_spec.loader.exec_module(module)
    return sys.modules["lrviz_timm_scheduler.cosine_lr"].CosineLRScheduler


class TimmPerUpdate:
    """timm's scheduler stepped as its ``train.py`` does with ``--sched-on-updates``:
    ``num_updates += 1; lr_scheduler.step_update(num_updates)`` after each optimizer update."""

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.last_epoch = 0  # num_updates: the index the next optimizer step runs at

    def step(self) -> None:
        self.last_epoch += 1
        self.scheduler.step_update(num_updates=self.last_epoch)


def _timm(spec: ScheduleSpec, optimizer: torch.optim.Optimizer) -> tuple[Any, Implementation, list[str]] | str:
    from ..frameworks.timm import t_initial

    if spec.scheduler != "CosineLRScheduler":
        return f"lrviz verify does not build timm's {spec.scheduler}"
    try:
        cls = load_timm_cosine()
    except Exception as error:  # noqa: BLE001 - timm's files failed to load: an environment fact
        return f"timm's scheduler files failed to load ({type(error).__name__}: {error})"
    if cls is None:
        return "timm is not installed"
    kwargs = {key: value for key, value in spec.scheduler_kwargs.items() if key != "t_initial"}
    T = t_initial(spec)
    scheduler = cls(optimizer, t_initial=T, warmup_t=spec.warmup_steps, t_in_epochs=False, **kwargs)
    shown = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return TimmPerUpdate(scheduler), Implementation(
        KIND_FRAMEWORK, f"timm.scheduler.CosineLRScheduler(optimizer, t_initial={T}, warmup_t={spec.warmup_steps}, "
                        f"t_in_epochs=False{shown}), step_update(num_updates) after each update (train.py "
                        "--sched-on-updates; loaded without torchvision)", "CosineLRScheduler", package_version("timm")), []


FRAMEWORK_BUILDERS = {
    "deepspeed": _deepspeed,
    "torch": _torch_classes,
    "timm": _timm,
    "megatron": megatron,
    "nemo": nemo,
}


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

    def factor_for(base: float) -> Any:
        if base == 0:
            return lambda step: float(factors(spec, np.array([step], dtype=np.float64))[0])
        # lr_at gives each group's LR (frameworks with absolute floors or LRs included); LambdaLR multiplies by base
        return lambda step: float(lr_at(spec, np.array([step], dtype=np.float64), base_lr=base)[0]) / base

    bases = [float(group["lr"]) for group in optimizer.param_groups]
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, [factor_for(base) for base in bases])
    framework = "transformers'" if spec.framework == "hf" else f"{spec.framework}'s"
    fix = " (pip install transformers to check that)" if spec.framework == "hf" else " (--require-framework: exit 3)"
    note = (f"{why} and no torch scheduler class expresses {spec.scheduler}: LambdaLR over lrviz's own formula "
            f"drives the optimizer, so this checks the stepping, not {framework} arithmetic{fix}")
    return scheduler, Implementation(KIND_LRVIZ, "torch.optim.lr_scheduler.LambdaLR(optimizer, lrviz factor)", "LambdaLR",
                                     torch.__version__, note), []
