"""What ``lrviz.integrations.LrGuard`` costs per optimizer update, against one update of a tiny model.

Two measurements, on the machine it runs on (CPU unless --device cuda):

1. The guard's own per-update work, timed directly: its check (the step pre-hook it registers on the torch
   optimizer) on the real optimizer of a Trainer (the Trainer's two param groups), median of several batches;
   then that check plus the Trainer's dispatch of one update's callback events to the guard.
2. One update of the real ``transformers.Trainer`` on the tiny Llama lrviz verify trains (2 layers, width 32,
   batch 4, gradient accumulation 2), with and without the guard, runs interleaved, median seconds per update.

    PYTHONPATH=. python bench/bench_guard.py [--updates 200] [--repeats 5]

The guard's share is (1) / (2, without the guard); the end-to-end difference of (2) is shown too, but on a
shared machine it is noise of the same order.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings

import torch
import transformers

from lrviz.integrations import LrGuard
from lrviz.integrations.guard import innermost_optimizer
from lrviz.verify.trainer import SyntheticSet, tiny_causal_lm


def make_trainer(output_dir: str, updates: int, guard: LrGuard | None, device: str) -> transformers.Trainer:
    args = transformers.TrainingArguments(
        output_dir=output_dir, learning_rate=2e-4, lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr_rate": 0.1}, warmup_steps=0.05, max_steps=updates, per_device_train_batch_size=4,
        gradient_accumulation_steps=2, save_strategy="no", report_to=[], use_cpu=device == "cpu", disable_tqdm=True,
        logging_steps=10**9, seed=0)
    model, _ = tiny_causal_lm(0)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=SyntheticSet(512, 32, 0),
                                   callbacks=[guard] if guard else [])
    trainer.remove_callback(transformers.PrinterCallback)
    return trainer


def seconds_per_update(updates: int, with_guard: bool, device: str) -> float:
    with tempfile.TemporaryDirectory() as output_dir:
        trainer = make_trainer(output_dir, updates, LrGuard(report=None) if with_guard else None, device)
        started = time.perf_counter()
        trainer.train()
        return (time.perf_counter() - started) / updates


PREDICTION_SECONDS = 0.0  # on_train_begin (the prediction), measured by guard_call_seconds


def guard_call_seconds(device: str, calls: int = 20000, batches: int = 7) -> float:
    """Median seconds of one check (the guard's step pre-hook; no deviation: the normal path)."""
    with tempfile.TemporaryDirectory() as output_dir:
        guard = LrGuard(report=None)
        trainer = make_trainer(output_dir, 1, guard, device)
        trainer.train()  # builds the optimizer and scheduler; the guard predicted 1 update
        state = trainer.state
        state.max_steps = calls
        started = time.perf_counter()
        guard.on_train_begin(trainer.args, state, trainer.control, optimizer=trainer.optimizer,
                             lr_scheduler=trainer.lr_scheduler)
        global PREDICTION_SECONDS
        PREDICTION_SECONDS = time.perf_counter() - started
        for group, values in zip(trainer.optimizer.param_groups, guard.predicted):
            group["lr"] = values[0]  # hold update 0's LR: every call compares equal values, as in a correct run
        state.global_step = 0
        inner = innermost_optimizer(trainer.optimizer)
        timings = []
        for _ in range(batches):
            guard.checked = 0
            started = time.perf_counter()
            for _ in range(calls):
                guard._check(inner, (), {})
            timings.append((time.perf_counter() - started) / calls)
        assert guard.first_deviation is None and guard.checked == calls
        return statistics.median(timings)


def dispatch_seconds(device: str, calls: int = 5000, batches: int = 5) -> float:
    """Median seconds that one update's events cost when the guard is in the Trainer's callback list: the
    events the Trainer sends per update (step begin, G - 1 substep ends, pre-optimizer, optimizer, step end)
    dispatched by a ``CallbackHandler`` that holds only the guard."""
    with tempfile.TemporaryDirectory() as output_dir:
        guard = LrGuard(report=None)
        trainer = make_trainer(output_dir, 1, guard, device)
        trainer.train()
        state, args, control = trainer.state, trainer.args, trainer.control
        state.max_steps = calls
        guard.on_train_begin(args, state, control, optimizer=trainer.optimizer, lr_scheduler=trainer.lr_scheduler)
        for group, values in zip(trainer.optimizer.param_groups, guard.predicted):
            group["lr"] = values[0]
        state.global_step = 0
        handler = transformers.trainer_callback.CallbackHandler([guard], trainer.model, None, trainer.optimizer,
                                                                trainer.lr_scheduler)
        accumulation = args.gradient_accumulation_steps
        inner = innermost_optimizer(trainer.optimizer)
        timings = []
        for _ in range(batches):
            started = time.perf_counter()
            for _ in range(calls):
                handler.on_step_begin(args, state, control)
                for _ in range(accumulation - 1):
                    handler.on_substep_end(args, state, control)
                handler.on_pre_optimizer_step(args, state, control)
                guard._check(inner, (), {})  # what optimizer.step() triggers
                handler.on_optimizer_step(args, state, control)
                handler.on_step_end(args, state, control)
            timings.append((time.perf_counter() - started) / calls)
        assert guard.first_deviation is None
        return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    options = parser.parse_args()
    warnings.simplefilter("ignore")
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    call = guard_call_seconds(options.device)
    dispatch = dispatch_seconds(options.device)
    without, with_guard = [], []
    for _ in range(options.repeats):  # interleaved, so that drifting load hits both alike
        without.append(seconds_per_update(options.updates, False, options.device))
        with_guard.append(seconds_per_update(options.updates, True, options.device))
    base, guarded = statistics.median(without), statistics.median(with_guard)
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, device {options.device}, 1 thread")
    print(f"guard check per update (its step pre-hook, 2 param groups): {call * 1e6:.2f} µs")
    print(f"tiny-model Trainer update without the guard: {base * 1e3:.3f} ms (median of {options.repeats} runs of "
          f"{options.updates} updates)")
    print(f"with the guard: {guarded * 1e3:.3f} ms; end-to-end difference {100 * (guarded - base) / base:+.2f}% (the "
          "once-per-run prediction spread over the run, and the noise of a shared machine, included)")
    print(f"once per run, the prediction at on_train_begin ({20000:,} updates): {PREDICTION_SECONDS * 1e3:.1f} ms")
    print(f"the check plus one update's callback events dispatched to the guard: {dispatch * 1e6:.2f} µs")
    print(f"guard share of one update: {100 * call / base:.4f}% (check only), {100 * dispatch / base:.4f}% (with the "
          "Trainer's event dispatch); limit 1%")


if __name__ == "__main__":
    main()
