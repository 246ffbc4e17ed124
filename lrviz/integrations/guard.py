"""``LrGuard``: a ``transformers.TrainerCallback`` that checks the LR of every param group at every optimizer step.

At ``on_train_begin`` it predicts the schedule once, through lrviz's spec pipeline: from the Trainer's own
``TrainingArguments`` and run length (``lrviz.verify.predict.predict_from_trainer``), or from the config the run was
meant to follow (``config=``, as ``lrviz plot --config`` reads it). Then, just before each ``optimizer.step()``
(``on_pre_optimizer_step``), it compares every group's LR with the prediction for that update (1e-12 relative).
The first deviation is logged once, as a warning that names the update, both values and the cause (the cause ids
of ``lrviz check-run``); ``on_mismatch="stop"`` also ends the run after that update. At ``on_train_end`` a JSON
report goes into the output folder (``lrviz_guard.json``).

Works with ``transformers.Trainer`` and any subclass (TRL's trainers, LLaMA-Factory's ``CustomSeq2SeqTrainer``)::

    from lrviz.integrations import LrGuard
    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[LrGuard()])
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import numpy as np
import transformers

from ..errors import LrvizError
from ..schedules import floor_lr, lr_at
from ..spec import ScheduleSpec
from . import causes

logger = logging.getLogger("lrviz.guard")

REL_TOL = 1e-12
ABS_TOL = 1e-18
REPORT_NAME = "lrviz_guard.json"
ON_MISMATCH = ("warn", "stop")


def _scheduler_index(scheduler: Any) -> int:
    from ..verify.schedulers import scheduler_index

    return scheduler_index(scheduler)


def _inner(scheduler: Any) -> Any:
    return getattr(scheduler, "scheduler", scheduler)  # accelerate's AcceleratedScheduler wraps the real one


def _is_deepspeed(scheduler: Any) -> bool:
    inner = _inner(scheduler)
    module = type(inner).__module__ or ""
    return module.startswith("deepspeed") or type(inner).__name__ == "DummyScheduler"


def _off(realized: float, predicted: float) -> bool:
    error = abs(realized - predicted)
    return error > ABS_TOL and error > REL_TOL * abs(predicted)


class LrGuard(transformers.TrainerCallback):
    """Checks that the optimizer uses the predicted LR at every update; warns (or stops) at the first deviation.

    Args:
        config: the config the run is meant to follow (HF / LLaMA-Factory / Axolotl YAML or JSON). Default: predict
            from the Trainer's own ``TrainingArguments``.
        on_mismatch: ``"warn"`` (log one warning, keep training) or ``"stop"`` (also stop after that update).
        report: file name of the JSON report in ``args.output_dir``; None writes none.
        config_flavor: how to read ``config`` (as ``--config-flavor``).
    """

    def __init__(self, config: str | os.PathLike[str] | None = None, *, on_mismatch: str = "warn",
                 report: str | None = REPORT_NAME, config_flavor: str = "auto") -> None:
        if on_mismatch not in ON_MISMATCH:
            raise ValueError(f"on_mismatch={on_mismatch!r}: use one of {', '.join(ON_MISMATCH)}")
        self.config = None if config is None else os.fspath(config)
        self.config_flavor = config_flavor
        self.on_mismatch = on_mismatch
        self.report_name = report
        self.spec: ScheduleSpec | None = None
        self.predicted: list[list[float]] = []  # per group, per update
        self.initial_lrs: list[float] = []
        self.start_step = 0
        self.checked = 0
        self.deviating = 0
        self.first_deviation: dict[str, Any] | None = None
        self.disabled: str | None = None  # why the guard could not predict this run
        self._state: Any = None
        self._scheduler: Any = None
        self._control: Any = None
        self._hook: Any = None

    # ------------------------------------------------------------------------------------- prediction

    def predict(self, args: Any, max_steps: int) -> ScheduleSpec:
        """The schedule this run should follow (through lrviz's spec pipeline)."""
        from ..verify.predict import config_params, predict_from_config, predict_from_trainer

        if self.config is not None:
            return predict_from_config(config_params(self.config, steps=max_steps, flavor=self.config_flavor))
        return predict_from_trainer(args, max_steps)

    def on_train_begin(self, args, state, control, optimizer=None, lr_scheduler=None, **kwargs):
        self._remove_hook()
        self.start_step = int(state.global_step)
        self.checked = self.deviating = 0
        self.first_deviation = None
        try:
            self.spec = self.predict(args, int(state.max_steps))
        except LrvizError as error:
            if self.config is not None:
                raise
            self.disabled = " ".join(str(error).split())
            logger.warning("lrviz guard is off for this run: lrviz cannot predict it (%s)", self.disabled)
            return
        self.initial_lrs = initial_lrs(optimizer, float(args.learning_rate))
        steps = np.arange(int(state.max_steps), dtype=np.float64)
        if self.spec.framework == "deepspeed":
            from ..frameworks.deepspeed import param_group_lrs

            self.predicted = [list(map(float, lrs)) for lrs in param_group_lrs(self.spec, steps, self.initial_lrs)]
        else:
            self.predicted = [lr_at(self.spec, steps, base_lr=base).tolist() for base in self.initial_lrs]
        self._state, self._scheduler, self._control = state, lr_scheduler, control
        self._hook = innermost_optimizer(optimizer).register_step_pre_hook(self._check)

    # -------------------------------------------------------------------------------------- the check

    def _check(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        """A step pre-hook on the innermost torch optimizer: runs when the step really happens (inside
        ``accelerator.backward`` under DeepSpeed, where the Trainer's own ``optimizer.step()`` is a no-op)."""
        update = self._state.global_step
        predicted = self.predicted
        if not predicted or update >= len(predicted[0]):
            return
        self.checked += 1
        for group, (values, param_group) in enumerate(zip(predicted, optimizer.param_groups)):
            lr = param_group["lr"]
            expected = values[update]
            if lr != expected and _off(lr, expected):
                self.deviating += 1
                if self.first_deviation is None:
                    self._report_first(update, group, float(lr), expected, self._scheduler, self._control)
                break

    def on_step_end(self, args, state, control, **kwargs):
        if self.first_deviation is not None and self.on_mismatch == "stop":
            control.should_training_stop = True
        return control

    def _remove_hook(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def _report_first(self, update: int, group: int, realized: float, predicted: float, scheduler: Any,
                      control: Any) -> None:
        cause, because = self.diagnose(update, group, realized, predicted, scheduler)
        spec = self.spec
        what = (f"{spec.framework}:{spec.scheduler}, peak {spec.peak_lr:g}, {spec.total_steps} updates, warmup "
                f"{spec.warmup_steps}" + (f", from {os.path.basename(self.config)}" if self.config else ""))
        message = (f"lrviz guard: update {update} (param group {group}) used LR {realized:.8g}, lrviz predicts "
                   f"{predicted:.8g} ({what}); cause {cause}: {because}")
        if self.on_mismatch == "stop":
            message += "; stopping the run after this update (on_mismatch='stop')"
        self.first_deviation = {"update": update, "group": group, "realized": realized, "predicted": predicted,
                                "cause": cause, "message": message}
        logger.warning(message)

    def diagnose(self, update: int, group: int, realized: float, predicted: float, scheduler: Any) -> tuple[str, str]:
        """The cause id of a deviation at ``update``, and a sentence about it."""
        index = _scheduler_index(scheduler)
        inner = _inner(scheduler)
        name = type(inner).__name__ if scheduler is not None else "none"
        if scheduler is not None and _is_deepspeed(scheduler) and self.spec.framework != "deepspeed":
            return causes.DEEPSPEED_SCHEDULER, causes.DESCRIPTIONS[causes.DEEPSPEED_SCHEDULER].format(scheduler=name)
        if index >= 0 and index != update:
            values = {"index": index, "update": update, "start": self.start_step, "behind": update - index}
            if self.start_step > 0 and update == self.start_step:
                return causes.RESUME_OFFSET, causes.DESCRIPTIONS[causes.RESUME_OFFSET].format(**values)
            cause = causes.SKIPPED_STEP if index < update else causes.MICRO_BATCH_STEPPING
            return cause, causes.DESCRIPTIONS[cause].format(**values)
        own = _scheduler_lr(scheduler, group)
        if own is not None and _off(realized, own):
            return causes.LR_CHANGED, causes.DESCRIPTIONS[causes.LR_CHANGED].format(scheduler_lr=f"{own:.8g}")
        if self._without_floor(update, group, realized, predicted):
            return causes.FLOOR_MISSING, causes.DESCRIPTIONS[causes.FLOOR_MISSING]
        return causes.SETTINGS_DIFFER, causes.DESCRIPTIONS[causes.SETTINGS_DIFFER].format(scheduler=name)

    def _without_floor(self, update: int, group: int, realized: float, predicted: float) -> bool:
        """Whether ``realized`` is the predicted schedule with its floor taken out (floor + (base - floor)·c → base·c)."""
        base = self.initial_lrs[group]
        floor = floor_lr(self.spec, base)
        if not floor or not base or floor >= base:
            return False
        shape = (predicted - floor) / (base - floor)
        return abs(realized - base * shape) <= 1e-9 * max(abs(realized), 1e-30)

    # ------------------------------------------------------------------------------------- the report

    def summary(self) -> dict[str, Any]:
        """What the guard found, as written to the JSON report."""
        return {
            "lrviz_guard": True,
            "ok": self.disabled is None and self.first_deviation is None,
            "disabled": self.disabled,
            "predicted_from": self.config or "TrainingArguments",
            "schedule": self.spec.to_dict() if self.spec is not None else None,
            "param_group_initial_lrs": self.initial_lrs,
            "first_update": self.start_step,
            "updates_checked": self.checked,
            "updates_deviating": self.deviating,
            "first_deviation": self.first_deviation,
            "tolerance": {"relative": REL_TOL, "absolute": ABS_TOL},
            "transformers": transformers.__version__,
        }

    def on_train_end(self, args, state, control, **kwargs):
        self._remove_hook()
        if self.report_name and state.is_world_process_zero and getattr(args, "output_dir", None):
            os.makedirs(args.output_dir, exist_ok=True)
            path = os.path.join(args.output_dir, self.report_name)
            temporary = path + ".tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(self.summary(), handle, indent=1)
                handle.write("\n")
            os.replace(temporary, path)
        return control


def innermost_optimizer(optimizer: Any) -> Any:
    """The torch optimizer whose ``step()`` really updates the weights, under accelerate's and DeepSpeed's wrappers."""
    import torch

    for _ in range(8):  # AcceleratedOptimizer → DeepSpeed's ZeRO / mixed-precision wrappers → the torch optimizer
        inner = getattr(optimizer, "optimizer", None)
        if not isinstance(inner, torch.optim.Optimizer):
            break
        optimizer = inner
    return optimizer


def initial_lrs(optimizer: Any, fallback: float) -> list[float]:
    """Each group's LR before any schedule: ``initial_lr`` (set by torch schedulers), else the optimizer's default.

    A scheduler that is not a torch ``LRScheduler`` (DeepSpeed's) leaves no ``initial_lr`` and has already set
    ``lr`` for its first iteration, so the group's own ``lr`` is not its base."""
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate's AcceleratedOptimizer wraps the real one
    default = float((getattr(inner, "defaults", None) or {}).get("lr", fallback))
    return [float(group["initial_lr"]) if "initial_lr" in group else default for group in optimizer.param_groups]


def _scheduler_lr(scheduler: Any, group: int) -> float | None:
    """The LR the scheduler itself last computed for ``group`` (torch ``get_last_lr``), if it tells."""
    inner = _inner(scheduler)
    getter = getattr(inner, "get_last_lr", None)
    if getter is None:
        return None
    try:
        values = getter()
    except Exception:  # noqa: BLE001 - a scheduler that cannot tell is not evidence either way
        return None
    return float(values[group]) if group < len(values) else None
