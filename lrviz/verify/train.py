"""Pre-training and the measured fine-tune, stepped the way ``transformers.Trainer`` steps them.

One update of the fine-tune (Trainer 5.x ``_inner_training_loop``): ``G`` micro-batches, each a forward pass and
``(loss / G).backward()`` (DDP gradient sync only on the last one); then ``clip_grad_norm_`` (``max_grad_norm`` 1.0),
``optimizer.step()``, ``scheduler.step()`` only if the optimizer step was not skipped (an fp16 loss scaler skips
steps with inf gradients), and ``zero_grad()``. The LR is never set by hand: a step pre-hook on the optimizer
records ``param_groups[i]["lr"]`` at the moment each ``optimizer.step()`` runs.
"""

from __future__ import annotations

import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import BatchSampler, DistributedSampler

from . import data
from .device import Runtime, synchronize
from .model import ModelConfig, TinyGPT, lm_loss
from .schedulers import scheduler_index

STEPPINGS = ("trainer", "per-micro-batch", "before-optimizer")  # the last two are wrong on purpose, for testing
PRETRAIN_UPDATES = 100
PRETRAIN_BATCH = 16
PRETRAIN_LR = 1e-2
PRETRAIN_SEQUENCES = 4096
MAX_GRAD_NORM = 1.0  # TrainingArguments.max_grad_norm default

Progress = Callable[[str, int, int], None]


class LrRecorder:
    """Records every param group's LR (and the scheduler's index) each time ``optimizer.step()`` runs."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.scheduler: Any = None
        self.rows: list[list[float]] = []
        self.index: list[int] = []
        self.handle = optimizer.register_step_pre_hook(self._record)

    def _record(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self.rows.append([float(group["lr"]) for group in optimizer.param_groups])
        self.index.append(scheduler_index(self.scheduler))

    def remove(self) -> None:
        self.handle.remove()


@dataclass
class FineTuneResult:
    """What one rank saw during the measured fine-tune."""

    realized: np.ndarray  # (optimizer steps, groups)
    scheduler_index: np.ndarray
    loss: np.ndarray  # per update, mean over its micro-batches
    grad_norm: np.ndarray  # per update, before clipping
    updates: int
    skipped: np.ndarray  # per update: True where the fp16 loss scaler skipped the optimizer step
    micro_batches: int
    shard: list[int]  # the dataset indices this rank trained on in its first epoch
    seconds: float
    warnings: list[str] = field(default_factory=list)


def build_model(seed: int, runtime: Runtime, config: ModelConfig) -> TinyGPT:
    torch.manual_seed(seed)
    return TinyGPT(config).to(runtime.device)


def pretrain(model: TinyGPT, runtime: Runtime, seed: int, progress: Progress | None = None) -> float:
    """A brief pre-training on the first task (constant LR, plain AdamW); returns the last loss."""
    config = model.config
    generator = torch.Generator().manual_seed(seed)
    corpus = data.sequences(PRETRAIN_SEQUENCES, data.PRETRAIN_STRIDES, vocab_size=config.vocab_size,
                            length=config.context + 1, generator=generator).to(runtime.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=PRETRAIN_LR)
    loss = torch.zeros(())
    for update in range(PRETRAIN_UPDATES):
        batch = corpus[torch.randint(len(corpus), (PRETRAIN_BATCH,), generator=generator).to(runtime.device)]
        with runtime.autocast():
            loss = lm_loss(model, batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if progress:
            progress("pre-train", update + 1, PRETRAIN_UPDATES)
    return float(loss.detach())


def finetune_set(size: int, seed: int, config: ModelConfig) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed + 1)
    return data.sequences(size, data.FINETUNE_STRIDES, vocab_size=config.vocab_size, length=config.context + 1,
                          generator=generator)


def finetune(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    corpus: torch.Tensor,
    runtime: Runtime,
    *,
    total_updates: int,
    batch_size: int,
    grad_accum: int,
    seed: int,
    stepping: str = "trainer",
    record: bool = True,
    progress: Progress | None = None,
) -> FineTuneResult:
    """The measured fine-tune: ``total_updates`` optimizer updates over this rank's shard of ``corpus``."""
    if stepping not in STEPPINGS:
        raise ValueError(f"stepping {stepping!r} is not one of {STEPPINGS}")
    sampler = DistributedSampler(range(len(corpus)), num_replicas=runtime.world_size, rank=runtime.rank,
                                 shuffle=True, seed=seed, drop_last=False)
    batches = BatchSampler(sampler, batch_size, drop_last=False)
    corpus = corpus.to(runtime.device)
    recorder = LrRecorder(optimizer) if record else None
    if recorder:
        recorder.scheduler = scheduler
    scaler = torch.amp.GradScaler(runtime.device.type) if runtime.dtype == "fp16" else None
    sync_free = getattr(model, "no_sync", None)
    losses: list[torch.Tensor] = []
    norms: list[torch.Tensor] = []
    micro_batches = updates = epoch = 0
    skipped: list[bool] = []
    shard: list[int] = []
    parameters = [p for p in model.parameters() if p.requires_grad]
    model.train()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        synchronize(runtime.device)
        started = time.perf_counter()
        while updates < total_updates:
            sampler.set_epoch(epoch)
            epoch_batches = list(batches)
            if epoch == 0:
                shard = [index for batch in epoch_batches for index in batch]
            for first in range(0, len(epoch_batches), grad_accum):
                group = epoch_batches[first:first + grad_accum]
                loss_sum = torch.zeros((), device=runtime.device)
                for position, indices in enumerate(group):
                    batch = corpus[torch.tensor(indices, device=runtime.device)]
                    last = position == len(group) - 1
                    context = sync_free() if (sync_free is not None and not last) else nullcontext()
                    with context:
                        with runtime.autocast():
                            loss = lm_loss(model, batch)
                        scaled = loss / len(group)
                        (scaler.scale(scaled) if scaler else scaled).backward()
                    loss_sum += loss.detach().float()
                    micro_batches += 1
                    if stepping == "per-micro-batch":
                        scheduler.step()
                if scaler:
                    scaler.unscale_(optimizer)
                norms.append(torch.nn.utils.clip_grad_norm_(parameters, MAX_GRAD_NORM).detach().float())
                losses.append(loss_sum / len(group))
                if stepping == "before-optimizer":
                    scheduler.step()
                if scaler:
                    scale = scaler.get_scale()
                    scaler.step(optimizer)
                    scaler.update()
                    stepped = scaler.get_scale() >= scale  # accelerate: a lower scale means the step was skipped
                else:
                    optimizer.step()
                    stepped = True
                if stepping == "trainer" and stepped:
                    scheduler.step()
                skipped.append(not stepped)
                optimizer.zero_grad(set_to_none=True)
                updates += 1
                if progress:
                    progress("fine-tune", updates, total_updates)
                if updates == total_updates:
                    break
            epoch += 1
        synchronize(runtime.device)
        seconds = time.perf_counter() - started
    if recorder:
        recorder.remove()
    groups = len(optimizer.param_groups)
    realized = np.array(recorder.rows, dtype=np.float64).reshape(-1, groups) if recorder else np.empty((0, groups))
    return FineTuneResult(
        realized=realized,
        scheduler_index=np.array(recorder.index if recorder else [], dtype=np.int64),
        loss=torch.stack(losses).double().cpu().numpy() if losses else np.empty(0),
        grad_norm=torch.stack(norms).double().cpu().numpy() if norms else np.empty(0),
        updates=updates,
        skipped=np.array(skipped, dtype=bool),
        micro_batches=micro_batches,
        shard=shard,
        seconds=seconds,
        warnings=sorted({str(w.message) for w in caught}),
    )
