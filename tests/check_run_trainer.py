"""Real ``transformers.Trainer`` runs on a tiny in-code model (CPU, about 0.1 s each) that produce the logs
``lrviz check-run`` is tested on, including runs that go wrong the way real runs do.

Every log here comes from the Trainer's own ``state.log_history`` written by ``TrainerState.save_to_json``;
nothing is computed by lrviz. The faults are produced by the real mechanisms, not by editing numbers:

* ``skip_at``: accelerate reports the optimizer step at that global step as skipped (what an fp16 overflow does),
  so the Trainer does not step the scheduler (``if not accelerator.optimizer_step_was_skipped``).
* ``overflow_at``: a real loss-scale overflow. On CPU accelerate builds no GradScaler, so the run hands it torch's
  own ``torch.amp.GradScaler("cpu")`` (the class fp16 runs on GPUs use) before training; at the chosen updates the
  model's loss is multiplied by 1e38, so the scaled loss (× 65536) is inf, the GradScaler finds inf gradients,
  skips ``optimizer.step()`` and halves its scale, accelerate reports the step as skipped, and the Trainer does not
  step the scheduler. Which steps were skipped is read back from ``accelerator.optimizer_step_was_skipped``. These
  runs use ``optim="adamw_torch"``: the fused AdamW the Trainer defaults to handles the inf gradients itself
  inside ``step(grad_scaler=...)``, so accelerate never sees a skipped step and the Trainer steps the scheduler anyway.
* ``step_per_micro_batch``: a callback steps the scheduler after every micro-batch that is not an optimizer step,
  as a custom loop that calls ``scheduler.step()`` per batch does.
* ``scheduler_lengths_times``: the scheduler is built by ``get_scheduler`` with warmup and total counted in
  micro-batches (times gradient accumulation), then stepped once per optimizer update.
* ``resume_without_scheduler``: the run stops at a checkpoint, ``scheduler.pt`` is lost, and
  ``trainer.train(resume_from_checkpoint=...)`` resumes with a fresh scheduler.
* ``resume_with_older_scheduler``: the checkpoint resumed from holds an older checkpoint's ``scheduler.pt``.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import TrainerCallback

DATASET_SIZE = 150
BASE_ARGS: dict[str, Any] = {
    "learning_rate": 1e-3,
    "num_train_epochs": 3,
    "per_device_train_batch_size": 4,
    "gradient_accumulation_steps": 3,
    "logging_steps": 1,
    "save_strategy": "no",
    "report_to": [],
    "use_cpu": True,
    "seed": 0,
    "disable_tqdm": True,
}
# 150 examples / batch 4 = 38 micro-batches per epoch; ceil(38 / 3) = 13 updates per epoch; 3 epochs = 39 updates.
TOTAL_UPDATES = 39


class TinyRegressor(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)
        self.overflow = False  # set by OverflowAt: this update's loss overflows under fp16 loss scaling

    def forward(self, inputs, labels=None):
        prediction = self.linear(inputs).squeeze(-1)
        loss = torch.nn.functional.mse_loss(prediction, labels)
        if self.overflow:
            loss = loss * 1e38
        return {"loss": loss, "logits": prediction}


class OverflowAt(TrainerCallback):
    """Makes the loss of the chosen updates (1-based global steps) overflow, and records which optimizer steps
    accelerate's GradScaler really skipped."""

    def __init__(self, model: TinyRegressor, updates: set[int]) -> None:
        self.model, self.updates = model, set(updates)
        self.trainer: Any = None
        self.skipped: list[int] = []

    def on_step_begin(self, args, state, control, **kwargs):
        self.model.overflow = state.global_step + 1 in self.updates

    def on_step_end(self, args, state, control, **kwargs):
        if self.trainer.accelerator.optimizer_step_was_skipped:
            self.skipped.append(state.global_step)
        self.model.overflow = False


class PairDataset(torch.utils.data.Dataset):
    def __init__(self, size: int) -> None:
        generator = torch.Generator().manual_seed(0)
        self.inputs = torch.randn(size, 4, generator=generator)
        self.labels = self.inputs.sum(dim=1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return {"inputs": self.inputs[index], "labels": self.labels[index]}


class SkipSchedulerStepAt(TrainerCallback):
    """Marks the optimizer step of one global step as skipped, as accelerate does on an fp16 overflow."""

    def __init__(self, global_step: int) -> None:
        self.global_step = global_step

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        optimizer._is_overflow = state.global_step == self.global_step


class StepSchedulerPerMicroBatch(TrainerCallback):
    """Steps the scheduler after every micro-batch that is not an optimizer step."""

    def on_substep_end(self, args, state, control, lr_scheduler=None, **kwargs):
        with warnings.catch_warnings():  # torch warns that the first step comes before optimizer.step(): it does
            warnings.simplefilter("ignore", UserWarning)
            lr_scheduler.step()


class StopAt(TrainerCallback):
    def __init__(self, global_step: int) -> None:
        self.global_step = global_step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.global_step:
            control.should_training_stop = True
        return control


def training_args(output_dir: Path, **overrides: Any) -> dict[str, Any]:
    return {"output_dir": str(output_dir), **BASE_ARGS, **overrides}


def run_trainer(
    tmp: Path,
    *,
    skip_at: int | None = None,
    overflow_at: set[int] | None = None,
    step_per_micro_batch: bool = False,
    scheduler_lengths_times: int | None = None,
    **overrides: Any,
) -> tuple[Path, Path]:
    """Train; returns (trainer_state.json, the TrainingArguments as a JSON config file)."""
    tmp.mkdir(parents=True, exist_ok=True)
    args_dict = training_args(tmp / "run", **overrides)
    config = tmp / "training_args.json"
    config.write_text(json.dumps({k: v for k, v in args_dict.items() if k != "output_dir"}, indent=1))
    args = transformers.TrainingArguments(**args_dict)
    callbacks: list[TrainerCallback] = []
    if skip_at is not None:
        callbacks.append(SkipSchedulerStepAt(skip_at))
    if step_per_micro_batch:
        callbacks.append(StepSchedulerPerMicroBatch())
    model = TinyRegressor()
    overflow = OverflowAt(model, overflow_at) if overflow_at else None
    if overflow is not None:
        callbacks.append(overflow)
    optimizers: tuple[Any, Any] = (None, None)
    if scheduler_lengths_times is not None:
        optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)
        g = scheduler_lengths_times
        scheduler = transformers.get_scheduler(
            args.lr_scheduler_type, optimizer,
            num_warmup_steps=args.get_warmup_steps(TOTAL_UPDATES) * g,
            num_training_steps=TOTAL_UPDATES * g,
            scheduler_specific_kwargs=args.lr_scheduler_kwargs or {},
        )
        optimizers = (optimizer, scheduler)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=PairDataset(DATASET_SIZE),
                                   callbacks=callbacks, optimizers=optimizers)
    if overflow is not None:
        overflow.trainer = trainer
        trainer.accelerator.scaler = torch.amp.GradScaler("cpu")
    trainer.train()
    if overflow is not None:
        (tmp / "skipped_steps.json").write_text(json.dumps(overflow.skipped))
    assert trainer.state.max_steps == TOTAL_UPDATES
    state = tmp / "trainer_state.json"
    trainer.state.save_to_json(str(state))
    return state, config


def _train_until(tmp: Path, stop_step: int, *, save_steps: int, **overrides: Any) -> tuple[dict[str, Any], Path]:
    """The first leg of a resumed run: train, saving checkpoints every ``save_steps``, and stop at ``stop_step``."""
    tmp.mkdir(parents=True, exist_ok=True)
    args_dict = training_args(tmp / "run", save_strategy="steps", save_steps=save_steps, **overrides)
    config = tmp / "training_args.json"
    config.write_text(json.dumps({k: v for k, v in args_dict.items() if k not in ("output_dir", "save_strategy", "save_steps")}, indent=1))
    first = transformers.Trainer(model=TinyRegressor(), args=transformers.TrainingArguments(**args_dict),
                                 train_dataset=PairDataset(DATASET_SIZE), callbacks=[StopAt(stop_step)])
    first.train()
    return args_dict, config


def resume_without_scheduler(tmp: Path, *, checkpoint_step: int, **overrides: Any) -> tuple[Path, Path]:
    """Stop at a checkpoint, lose its scheduler.pt, resume: the scheduler starts again at update 0."""
    args_dict, config = _train_until(tmp, checkpoint_step, save_steps=checkpoint_step, **overrides)
    checkpoint = tmp / "run" / f"checkpoint-{checkpoint_step}"
    os.remove(checkpoint / "scheduler.pt")
    second = transformers.Trainer(model=TinyRegressor(), args=transformers.TrainingArguments(**args_dict),
                                  train_dataset=PairDataset(DATASET_SIZE))
    second.train(resume_from_checkpoint=str(checkpoint))
    state = tmp / "trainer_state.json"
    second.state.save_to_json(str(state))
    return state, config


def resume_with_older_scheduler(tmp: Path, *, checkpoint_step: int, scheduler_from: int, **overrides: Any) -> tuple[Path, Path]:
    """Stop at a checkpoint whose scheduler.pt was replaced by an older checkpoint's, resume: from there on the
    schedule runs ``checkpoint_step - scheduler_from`` updates behind."""
    args_dict, config = _train_until(tmp, checkpoint_step, save_steps=scheduler_from, **overrides)
    run_dir = tmp / "run"
    shutil.copyfile(run_dir / f"checkpoint-{scheduler_from}" / "scheduler.pt", run_dir / f"checkpoint-{checkpoint_step}" / "scheduler.pt")
    second = transformers.Trainer(model=TinyRegressor(), args=transformers.TrainingArguments(**args_dict),
                                  train_dataset=PairDataset(DATASET_SIZE))
    second.train(resume_from_checkpoint=str(run_dir / f"checkpoint-{checkpoint_step}"))
    state = tmp / "trainer_state.json"
    second.state.save_to_json(str(state))
    return state, config


def logged(state_path: Path) -> dict[int, float]:
    """{global_step: learning_rate} of a trainer_state.json."""
    history = json.loads(Path(state_path).read_text())["log_history"]
    return {entry["step"]: entry["learning_rate"] for entry in history if "learning_rate" in entry}
