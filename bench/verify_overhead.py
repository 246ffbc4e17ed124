"""What ``lrviz verify`` costs: its wall time on this machine, and the overhead of recording the LRs.

Usage (from the repository root, with lrviz and torch installed):

    python bench/verify_overhead.py              # about a minute on 2 CPU cores
    python bench/verify_overhead.py --device cuda

(a) ``lrviz verify --device DEVICE`` as a fresh process (imports, pre-training, fine-tune, report), best of N.
(b) The measured fine-tune with the LR recorder (an optimizer step pre-hook that copies every group's LR) vs
    the same fine-tune without it: same model state, data, scheduler and stepping; the two are run
    alternately, best of N each, so a change in load hits both alike.
(c) The recorder's own cost per ``optimizer.step()``, timed by calling it directly.
Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import copy
import math
import subprocess
import sys
import tempfile
import time

import torch

from lrviz.spec import ScheduleSpec
from lrviz.verify import device as verify_device
from lrviz.verify.model import ModelConfig, param_groups
from lrviz.verify.schedulers import build_scheduler
from lrviz.verify.train import LrRecorder, build_model, finetune, finetune_set, pretrain


def cli_wall_time(device: str, repeats: int) -> float:
    best = math.inf
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            start = time.perf_counter()
            completed = subprocess.run([sys.executable, "-m", "lrviz", "verify", "--device", device], cwd=folder,
                                       capture_output=True, text=True)
            best = min(best, time.perf_counter() - start)
            if completed.returncode != 0:
                raise SystemExit(f"lrviz verify failed:\n{completed.stdout}\n{completed.stderr}")
    return best


def finetune_seconds(model, spec: ScheduleSpec, corpus, runtime, *, record: bool, updates: int) -> float:
    model = copy.deepcopy(model)
    optimizer = torch.optim.AdamW(param_groups(model, spec.peak_lr), lr=spec.peak_lr)
    scheduler, _, _ = build_scheduler(spec, optimizer)
    result = finetune(model, optimizer, scheduler, corpus, runtime, total_updates=updates, batch_size=8,
                      grad_accum=2, seed=0, record=record)
    assert record == (len(result.realized) == updates)
    return result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--updates", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    wall = cli_wall_time(args.device, 3)
    runtime = verify_device.start(args.device, "auto")
    if runtime.device.type == "cpu":
        torch.set_num_threads(1)  # as lrviz verify does
    spec = ScheduleSpec(scheduler="cosine_with_min_lr", peak_lr=2e-4, total_steps=args.updates, warmup_steps=12,
                        scheduler_kwargs={"min_lr_rate": 0.1})
    config = ModelConfig()
    model = build_model(0, runtime, config)
    pretrain(model, runtime, 0)
    corpus = finetune_set(args.updates * 16, 0, config)
    finetune_seconds(model, spec, corpus, runtime, record=True, updates=20)  # warm-up
    with_recorder, without = math.inf, math.inf
    for _ in range(args.repeats):
        with_recorder = min(with_recorder, finetune_seconds(model, spec, corpus, runtime, record=True, updates=args.updates))
        without = min(without, finetune_seconds(model, spec, corpus, runtime, record=False, updates=args.updates))

    optimizer = torch.optim.AdamW(param_groups(model, spec.peak_lr), lr=spec.peak_lr)
    recorder = LrRecorder(optimizer)
    calls = 100_000
    start = time.perf_counter()
    for _ in range(calls):
        recorder._record(optimizer, (), {})
    per_call = (time.perf_counter() - start) / calls

    per_update_with = with_recorder / args.updates
    per_update_without = without / args.updates
    print(f"device: {verify_device.describe(runtime)['name']}, torch {torch.__version__}")
    print(f"(a) lrviz verify --device {args.device} (fresh process, default 100 updates): {wall:.2f} s (best of 3)")
    print(f"(b) fine-tune of {args.updates} updates, best of {args.repeats}: with LR recording {with_recorder:.3f} s "
          f"({per_update_with * 1e3:.3f} ms/update), without {without:.3f} s ({per_update_without * 1e3:.3f} ms/update): "
          f"{(with_recorder / without - 1) * 100:+.2f}%")
    print(f"(c) the recorder itself: {per_call * 1e6:.2f} µs per optimizer.step() (3 groups), "
          f"{per_call / per_update_without * 100:.3f}% of an update")


if __name__ == "__main__":
    main()
