"""Training-step arithmetic: how many optimizer updates a run has, and how long its warmup is.

``hf`` follows transformers 5.24.0 ``Trainer.set_initial_training_values`` and
``TrainingArguments.get_warmup_steps``, with the dataloader length that accelerate 1.15.0
``BatchSamplerShard.__len__`` gives each process (``split_batches=False``, ``even_batches=True``).
Each result carries its arithmetic as text, to show the user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import SpecError


@dataclass(frozen=True)
class Derived:
    """A derived whole number and the arithmetic that produced it."""

    value: int
    arithmetic: str


def _fmt(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


def hf_total_steps(
    *,
    dataset_size: int,
    batch_size: int,
    grad_accum: int = 1,
    gpus: int = 1,
    epochs: float = 3.0,
    max_steps: int = -1,
    drop_last: bool = False,
) -> Derived:
    """Optimizer updates of an HF Trainer run (``max_steps`` > 0 overrides epochs, as in the Trainer)."""
    for name, value in (("--dataset-size", dataset_size), ("--batch-size", batch_size), ("--grad-accum", grad_accum), ("--gpus", gpus)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(f"{name} {value!r} must be a whole number >= 1")
    if max_steps > 0:
        return Derived(max_steps, f"total = max_steps = {max_steps}")
    if not (isinstance(epochs, (int, float)) and math.isfinite(epochs) and epochs > 0):
        raise SpecError(f"--epochs {epochs!r} must be a finite number > 0")
    per_rank = batch_size * gpus
    if drop_last:
        batches = dataset_size // per_rank  # floor(floor(N / bs) / W)
        batches_text = f"floor({dataset_size} / ({batch_size}×{gpus}))"
    else:
        batches = -(-dataset_size // per_rank)  # ceil(ceil(N / bs) / W)
        batches_text = f"ceil({dataset_size} / ({batch_size}×{gpus}))"
    if batches == 0:
        raise SpecError(
            f"--dataset-size {dataset_size} is smaller than one global batch ({batch_size}×{gpus}) with "
            "dataloader_drop_last: every batch is dropped; lower --batch-size or turn drop_last off"
        )
    updates_per_epoch = max(batches // grad_accum + int(batches % grad_accum > 0), 1)
    total = math.ceil(epochs * updates_per_epoch)
    return Derived(total, f"total = ceil({_fmt(epochs)} × ceil({batches_text} / {grad_accum})) = {total}")


def hf_warmup_steps(total_steps: int, warmup: float, where: str = "--warmup-steps") -> Derived:
    """transformers 5.x ``get_warmup_steps``: a value >= 1 is a count (``int``), below 1 a ratio rounded up."""
    if isinstance(warmup, bool) or not isinstance(warmup, (int, float)) or not math.isfinite(warmup) or warmup < 0:
        raise SpecError(f"{where} {warmup!r} must be a count >= 1 or a ratio in [0, 1)")
    if warmup >= 1:
        count = int(warmup)
        text = f"warmup = {count}" if count == warmup else f"warmup = int({_fmt(warmup)}) = {count}"
        return Derived(count, text)
    count = math.ceil(total_steps * warmup)
    return Derived(count, f"warmup = ceil({_fmt(float(warmup))} × {total_steps}) = {count}")
