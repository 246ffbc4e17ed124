"""Run one verification: set up the device, pre-train, fine-tune with the framework's scheduler, compare, report."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..spec import ScheduleSpec
from ..steps import hf_total_steps
from . import data, device
from .compress import compress
from .model import ModelConfig, param_groups
from .report import Health, RankAgreement, VerifyReport, check_groups
from .schedulers import build_scheduler
from .train import MAX_GRAD_NORM, PRETRAIN_UPDATES, Progress, build_model, finetune, finetune_set, pretrain


@dataclass(frozen=True)
class VerifyOptions:
    """How to run the verification (the schedule itself is the ScheduleSpec).

    Args:
        steps: optimizer updates of the measured fine-tune; a longer configured run is compressed to this.
        device: ``auto``, ``cuda``, ``cpu`` or ``mps``.
        dtype: ``auto`` (bf16 autocast on a CUDA GPU that has it, else fp32), ``fp32``, ``bf16`` or ``fp16``.
        seed: seeds the model, the corpus and the data order.
        batch_size: sequences per micro-batch on each process (per_device_train_batch_size).
        grad_accum: micro-batches per optimizer update (gradient_accumulation_steps).
        stepping: ``trainer`` (correct); ``per-micro-batch`` and ``before-optimizer`` step the scheduler wrongly
            on purpose, to show what a mismatch looks like.
        record: record the LRs (off only to measure what recording costs).
    """

    steps: int = 100
    device: str = "auto"
    dtype: str = "auto"
    seed: int = 0
    batch_size: int = 8
    grad_accum: int = 2
    stepping: str = "trainer"
    record: bool = True


def run_verify(spec: ScheduleSpec, options: VerifyOptions = VerifyOptions(), *, progress: Progress | None = None,
               runtime: device.Runtime | None = None) -> VerifyReport:
    """Verify ``spec`` on a real fine-tune; every rank of a torchrun job returns the same report."""
    wall_start = time.perf_counter()
    own_runtime = runtime is None
    runtime = runtime or device.start(options.device, options.dtype)
    threads = torch.get_num_threads()
    if runtime.device.type == "cpu":
        torch.set_num_threads(1)  # the model is tiny: more threads only contend with other processes
    finished = False
    try:
        with contextlib.redirect_stdout(sys.stderr):  # what a framework prints (DeepSpeed's logger) is not the report
            report = _run(spec, options, runtime, progress, wall_start)
        finished = True
        return report
    finally:
        torch.set_num_threads(threads)
        if own_runtime:
            device.stop(runtime, finished=finished)


def _run(spec: ScheduleSpec, options: VerifyOptions, runtime: device.Runtime, progress: Progress | None,
         wall_start: float) -> VerifyReport:
    verified, compression = compress(spec, options.steps)
    config = ModelConfig()
    world = runtime.world_size
    model = build_model(options.seed, runtime, config)
    pretrain_loss = pretrain(model, runtime, options.seed, progress if runtime.is_main else None)

    # The fine-tune set is one epoch of exactly the verify run: T updates × global batch (B × G × world size).
    dataset_size = verified.total_steps * options.batch_size * options.grad_accum * world
    expected = hf_total_steps(dataset_size=dataset_size, batch_size=options.batch_size, grad_accum=options.grad_accum,
                              gpus=world, epochs=1.0)
    corpus = finetune_set(dataset_size, options.seed, config)

    groups = param_groups(model, verified.peak_lr)
    names = [group["name"] for group in groups]
    wrapped: torch.nn.Module = model
    if runtime.distributed:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(model, device_ids=[runtime.device.index] if runtime.device.type == "cuda" else None)
    optimizer = torch.optim.AdamW(groups, lr=verified.peak_lr, betas=(0.9, 0.999), eps=1e-8)
    initial_lrs = [float(group["lr"]) for group in optimizer.param_groups]
    scheduler, implementation, scheduler_warnings = build_scheduler(verified, optimizer)

    result = finetune(wrapped, optimizer, scheduler, corpus, runtime, total_updates=verified.total_steps,
                      batch_size=options.batch_size, grad_accum=options.grad_accum, seed=options.seed,
                      stepping=options.stepping, record=options.record,
                      progress=progress if runtime.is_main else None)
    memory, memory_kind = device.peak_memory(runtime)
    mine = {
        "realized": result.realized.tolist(),
        "updates": result.updates,
        "shard": result.shard,
        "loss": result.loss.tolist(),
        "grad_norm": result.grad_norm.tolist(),
        "memory": memory,
        "seconds": result.seconds,
    }
    everyone = _gather(mine, runtime)

    ranks = None
    loss = np.mean([np.asarray(r["loss"], dtype=np.float64) for r in everyone], axis=0)
    if runtime.distributed:
        reference = everyone[0]["realized"]
        disagreeing = next((i for i, r in enumerate(everyone) if r["realized"] != reference), None)
        shards = [set(r["shard"]) for r in everyone]
        disjoint = all(a.isdisjoint(b) for i, a in enumerate(shards) for b in shards[i + 1:])
        ranks = RankAgreement(
            world_size=world,
            backend=runtime.backend or "",
            same_lrs=disagreeing is None,
            first_disagreeing_rank=disagreeing,
            updates_per_rank=[r["updates"] for r in everyone],
            sequences_per_rank=[len(r["shard"]) for r in everyone],
            shards_disjoint=disjoint and set().union(*shards) == set(range(dataset_size)),
            dataset_size=dataset_size,
            expected_updates=expected.value,
            arithmetic=expected.arithmetic,
        )
    seconds = max(r["seconds"] for r in everyone)
    memories = [r["memory"] for r in everyone if r["memory"] is not None]
    notes = list(runtime.notes) + scheduler_warnings + result.warnings
    if implementation.note:
        notes.insert(0, implementation.note)
    report = VerifyReport(
        configured=spec,
        spec=verified,
        compression=compression,
        implementation=implementation.to_dict(),
        stepping=options.stepping,
        groups=check_groups(verified, names, initial_lrs, result.realized) if options.record else [],
        scheduler_index=result.scheduler_index,
        health=Health(loss=loss, grad_norm=result.grad_norm, max_grad_norm=MAX_GRAD_NORM, skipped=result.skipped),
        updates=result.updates,
        skipped=int(result.skipped.sum()),
        training={
            "model": f"TinyGPT: {config.layers} layers, width {config.width}, {config.heads} heads, "
                     f"context {config.context}, vocabulary {config.vocab_size}",
            "parameters": sum(p.numel() for p in model.parameters()),
            "corpus": data.describe(),
            "pretrain_updates": PRETRAIN_UPDATES,
            "pretrain_final_loss": pretrain_loss,
            "optimizer": "torch.optim.AdamW(betas=(0.9, 0.999), eps=1e-8)",
            "param_groups": [{"name": n, "initial_lr": lr, "weight_decay": g["weight_decay"]}
                             for n, lr, g in zip(names, initial_lrs, optimizer.param_groups)],
            "batch_size": options.batch_size,
            "grad_accum": options.grad_accum,
            "world_size": world,
            "global_batch": options.batch_size * options.grad_accum * world,
            "dataset_size": dataset_size,
            "expected_updates": expected.value,
            "step_arithmetic": expected.arithmetic,
            "micro_batches_per_rank": result.micro_batches,
            "max_grad_norm": MAX_GRAD_NORM,
            "seed": options.seed,
        },
        device={**device.describe(runtime), "peak_memory_bytes": max(memories) if memories else None,
                "peak_memory_kind": memory_kind},
        speed={
            "fine_tune_seconds": seconds,
            "updates_per_second": result.updates / seconds if seconds > 0 else None,
            "micro_batches_per_second": result.micro_batches / seconds if seconds > 0 else None,
            "sequences_per_second": result.micro_batches * options.batch_size * world / seconds if seconds > 0 else None,
            "wall_seconds": time.perf_counter() - wall_start,
        },
        ranks=ranks,
        notes=notes,
    )
    return report


def _gather(mine: dict[str, Any], runtime: device.Runtime) -> list[dict[str, Any]]:
    if not runtime.distributed:
        return [mine]
    import torch.distributed as dist

    everyone: list[Any] = [None] * runtime.world_size
    dist.all_gather_object(everyone, mine)
    return everyone
