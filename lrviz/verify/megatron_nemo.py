"""Megatron-core's ``OptimizerParamScheduler`` and NeMo's ``lr_scheduler`` classes, built and stepped as their
training code builds and steps them.

* Megatron: the arguments are derived as Megatron-LM ``megatron/training/training.py::get_optimizer_param_scheduler``
  derives them (core_v0.16.1; that file is not part of the megatron-core wheel, so its arithmetic is written out
  below), and the scheduler is stepped as ``train_step`` steps it: after each successful ``optimizer.step()``,
  ``opt_param_scheduler.step(increment=num_microbatches * micro_batch_size * data_parallel_size)``, i.e. the
  configured global batch size, so the sample counts are the configured run's, not the tiny verify batch's.
* NeMo: ``nemo.core.optim.lr_scheduler.prepare_lr_scheduler(optimizer, sched)``, what ``ModelPT.setup_optimization``
  calls with the YAML's ``optim.sched`` block (only the keys the config set, so NeMo's own defaults apply), stepped
  as Lightning steps a scheduler with ``interval: step, frequency: 1``: ``scheduler.step()`` after every optimizer
  step.

Both packages are imported whole (``pip install --no-deps``; see ``.ci/run``); what they print while importing is
not lrviz's output and is dropped.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import warnings
from typing import Any

import torch

from ..spec import ScheduleSpec
from .implementation import KIND_FRAMEWORK, Implementation, package_version

Built = tuple[Any, Implementation, list[str]]


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@contextlib.contextmanager
def _quiet() -> Any:
    """Drop what a framework prints and warns while it imports (Transformer Engine / Apex fallbacks, telemetry)."""
    sink = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        warnings.simplefilter("ignore")
        yield


def importable(module: str) -> bool:
    """Whether ``module`` (``megatron.core.optimizer_param_scheduler``, ``nemo.core.optim.lr_scheduler``) imports here."""
    try:
        with _quiet():
            importlib.import_module(module)
    except Exception:  # noqa: BLE001 - any failure means verify would stand in
        return False
    return True


def _import_failure(package: str, module: str, error: BaseException) -> str:
    if not _present(module):
        return f"{package} is not installed"
    return (f"{package} {package_version(package)} failed to import ({type(error).__name__}: "
            f"{' '.join(str(error).split())[:160]})")


# ------------------------------------------------------------------------------------------------ Megatron


class MegatronPerIteration:
    """Megatron's ``train_step``: ``opt_param_scheduler.step(increment=global_batch_size)`` after each successful
    ``optimizer.step()``; ``last_epoch`` is the number of iterations the scheduler has counted."""

    def __init__(self, scheduler: Any, increment: int) -> None:
        self.scheduler = scheduler
        self.increment = increment

    @property
    def last_epoch(self) -> int:
        return int(self.scheduler.num_steps // self.increment)

    def step(self) -> None:
        self.scheduler.step(increment=self.increment)


def megatron_arguments(spec: ScheduleSpec) -> dict[str, Any]:
    """``OptimizerParamScheduler``'s arguments as ``training.py::get_optimizer_param_scheduler`` computes them from
    the run's flags (``lr_decay_samples`` set: a sample-based ``--train-samples`` run), without weight decay."""
    gbs = int(spec.kwarg("global_batch_size"))
    fraction = spec.kwarg("lr_warmup_fraction")
    if spec.kwarg("lr_decay_samples") is not None:  # elif args.train_samples:
        lr_decay_steps = spec.kwarg("lr_decay_samples")
        wsd_decay_steps = spec.kwarg("lr_wsd_decay_samples")
        lr_warmup_steps = fraction * lr_decay_steps if fraction is not None else (spec.kwarg("lr_warmup_samples") or 0)
    else:  # if args.train_iters:
        lr_decay_iters = spec.kwarg("lr_decay_iters")
        if lr_decay_iters is None:
            lr_decay_iters = spec.total_steps
        lr_decay_steps = lr_decay_iters * gbs
        wsd_iters = spec.kwarg("lr_wsd_decay_iters")
        wsd_decay_steps = wsd_iters * gbs if wsd_iters is not None else None
        lr_warmup_steps = fraction * lr_decay_steps if fraction is not None else spec.warmup_steps * gbs
    return {"init_lr": spec.kwarg("lr_warmup_init"), "max_lr": spec.peak_lr, "min_lr": spec.kwarg("min_lr"),
            "lr_warmup_steps": lr_warmup_steps, "lr_decay_steps": lr_decay_steps, "lr_decay_style": spec.scheduler,
            "wsd_decay_steps": wsd_decay_steps, "lr_wsd_decay_style": spec.kwarg("lr_wsd_decay_style")}


def megatron_weight_decay(optimizer: torch.optim.Optimizer, wd_incr_steps: int) -> dict[str, Any]:
    """Megatron's ``--weight-decay-incr-style constant`` (the default: start = end = ``--weight-decay``), with the
    ``wd_mult`` param-group override megatron-core gives its no-decay groups, so each group keeps its weight decay."""
    decays = [float(group.get("weight_decay", 0.0)) for group in optimizer.param_groups]
    weight_decay = max(decays, default=0.0)
    for group, decay in zip(optimizer.param_groups, decays):
        group["wd_mult"] = decay / weight_decay if weight_decay else 1.0
    return {"start_wd": weight_decay, "end_wd": weight_decay, "wd_incr_steps": wd_incr_steps, "wd_incr_style": "constant"}


def megatron(spec: ScheduleSpec, optimizer: torch.optim.Optimizer) -> Built | str:
    try:
        with _quiet():
            from megatron.core.optimizer_param_scheduler import OptimizerParamScheduler
    except Exception as error:  # noqa: BLE001 - a missing or broken install is an environment fact
        return _import_failure("megatron-core", "megatron.core", error)
    arguments = megatron_arguments(spec)
    gbs = int(spec.kwarg("global_batch_size"))
    weight_decay = megatron_weight_decay(optimizer, spec.total_steps * gbs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            scheduler = OptimizerParamScheduler(optimizer, **arguments, **weight_decay)
        except (AssertionError, ValueError, TypeError, ZeroDivisionError) as error:
            return (f"megatron-core's OptimizerParamScheduler refuses {arguments} "
                    f"({type(error).__name__}{': ' + str(error) if str(error) else ''})")
    shown = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
    source = (f"megatron.core.optimizer_param_scheduler.OptimizerParamScheduler(optimizer, {shown}), arguments as "
              f"training.py get_optimizer_param_scheduler derives them; step(increment={gbs}) after each optimizer "
              "step as train_step does")
    return (MegatronPerIteration(scheduler, gbs),
            Implementation(KIND_FRAMEWORK, source, "OptimizerParamScheduler", package_version("megatron-core"),
                           package="megatron-core"),
            [str(w.message) for w in caught])


# ------------------------------------------------------------------------------------------------ NeMo


def nemo_sched_block(spec: ScheduleSpec) -> dict[str, Any]:
    """The ``optim.sched`` block for ``spec``: its name, ``max_steps`` and the keys the config set."""
    block: dict[str, Any] = {"name": spec.scheduler, "max_steps": spec.total_steps}
    if spec.warmup_steps:
        block["warmup_steps"] = spec.warmup_steps
    block.update({key: value for key, value in spec.scheduler_kwargs.items() if value is not None})
    return block


def nemo(spec: ScheduleSpec, optimizer: torch.optim.Optimizer) -> Built | str:
    try:
        with _quiet():
            from nemo.core.optim.lr_scheduler import prepare_lr_scheduler
    except Exception as error:  # noqa: BLE001 - NeMo imports hydra, lightning, onnx, ...: any of them can be missing
        return _import_failure("nemo_toolkit", "nemo", error)
    block = nemo_sched_block(spec)
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("always")
        try:
            prepared = prepare_lr_scheduler(optimizer, dict(block))
        except (AssertionError, ValueError, TypeError, KeyError, ZeroDivisionError) as error:
            return f"NeMo's prepare_lr_scheduler refuses {block} ({type(error).__name__}: {error})"
    if prepared is None or prepared.get("interval") != "step" or prepared.get("frequency") != 1:
        return f"NeMo's prepare_lr_scheduler did not build a per-step scheduler from {block} ({prepared!r})"
    scheduler = prepared["scheduler"]
    source = (f"nemo.core.optim.lr_scheduler.prepare_lr_scheduler(optimizer, {block!r}) -> "
              f"{type(scheduler).__name__}, interval 'step', frequency 1: step() after each optimizer step as "
              "Lightning does")
    implementation = Implementation(KIND_FRAMEWORK, source, type(scheduler).__name__, package_version("nemo_toolkit"),
                                    package="nemo_toolkit")
    return scheduler, implementation, [str(w.message) for w in caught]
