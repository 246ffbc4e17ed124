"""``lrviz.integrations.LrGuard`` in real ``transformers.Trainer`` runs (a tiny Llama on CPU, about a second each).

A correct run passes silently; each way a schedule goes wrong in practice is produced by the real mechanism (a
Trainer built with the wrong scheduler type, a Trainer subclass that steps the scheduler per micro-batch, a callback
that sets the LR, DeepSpeed's own scheduler class, accelerate reporting a skipped optimizer step, a resume that lost
``scheduler.pt``) and must be reported once, at the first wrong update, with check-run's cause id. The expected
update is computed here from the real scheduler objects (stepped on a throw-away optimizer), not from lrviz.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lrviz.integrations import LrGuard, causes  # noqa: E402
from lrviz.verify.trainer import SyntheticSet, tiny_causal_lm  # noqa: E402

pytestmark = pytest.mark.slow

LR = 1e-3
WARMUP = 3
TOTAL = 16
BATCH = 4
ACCUMULATION = 2
INTENDED = ("learning_rate: 1.0e-3\nlr_scheduler_type: cosine_with_min_lr\nlr_scheduler_kwargs:\n  min_lr_rate: 0.1\n"
            f"warmup_steps: {WARMUP}\nper_device_train_batch_size: {BATCH}\ngradient_accumulation_steps: {ACCUMULATION}\n"
            "stage: sft\nfinetuning_type: full\n")


def arguments(output_dir: Path, **overrides: Any) -> Any:
    values = dict(output_dir=str(output_dir), learning_rate=LR, lr_scheduler_type="cosine_with_min_lr",
                  lr_scheduler_kwargs={"min_lr_rate": 0.1}, warmup_steps=WARMUP, max_steps=TOTAL,
                  per_device_train_batch_size=BATCH, gradient_accumulation_steps=ACCUMULATION, save_strategy="no",
                  report_to=[], use_cpu=True, disable_tqdm=True, logging_steps=1000, seed=0)
    values.update(overrides)
    return transformers.TrainingArguments(**values)


def train(args: Any, guard: LrGuard, *, trainer_class: type = transformers.Trainer, callbacks: tuple = (),
          resume: str | None = None) -> Any:
    model, _ = tiny_causal_lm(0)
    trainer = trainer_class(model=model, args=args, train_dataset=SyntheticSet(64, 32, 0),
                            callbacks=[guard, *callbacks])
    trainer.remove_callback(transformers.PrinterCallback)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: "scheduler.step() before optimizer.step()" on purpose
        trainer.train(resume_from_checkpoint=resume)
    return trainer


def real_lrs(build: Any, count: int) -> list[float]:
    """The LR a real scheduler object gives at indices 0 .. count-1 (stepped on a throw-away optimizer)."""
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    scheduler = build(optimizer)
    values = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(count):
            values.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
    return values


def hf_lrs(name: str, kwargs: dict[str, Any], count: int, total: int = TOTAL) -> list[float]:
    return real_lrs(lambda opt: transformers.get_scheduler(name, opt, num_warmup_steps=WARMUP, num_training_steps=total,
                                                           scheduler_specific_kwargs=kwargs), count)


def first_difference(a: list[float], b: list[float]) -> int:
    return next(i for i, (x, y) in enumerate(zip(a, b)) if abs(x - y) > 1e-12 * abs(y))


INTENDED_LRS = hf_lrs("cosine_with_min_lr", {"min_lr_rate": 0.1}, TOTAL)


def guard_warnings(caplog: Any) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "lrviz.guard"]


@pytest.fixture
def intended(tmp_path: Path) -> Path:
    path = tmp_path / "sft.yaml"
    path.write_text(INTENDED)
    return path


def test_a_correct_run_passes_silently_and_writes_its_report(tmp_path, caplog):
    guard = LrGuard()
    with caplog.at_level(logging.WARNING, logger="lrviz.guard"):
        train(arguments(tmp_path / "run"), guard)
    assert guard_warnings(caplog) == []
    report = json.loads((tmp_path / "run" / "lrviz_guard.json").read_text())
    assert report["ok"] is True and report["updates_checked"] == TOTAL and report["first_deviation"] is None
    assert report["schedule"]["scheduler"] == "cosine_with_min_lr" and report["schedule"]["total_steps"] == TOTAL
    assert report["param_group_initial_lrs"] == [LR, LR]  # the Trainer's decay / no-decay groups


def test_the_intended_config_passes_when_the_trainer_follows_it(tmp_path, intended, caplog):
    guard = LrGuard(intended)
    with caplog.at_level(logging.WARNING, logger="lrviz.guard"):
        train(arguments(tmp_path / "run"), guard)
    assert guard_warnings(caplog) == [] and guard.summary()["ok"]


def test_a_floor_lost_on_the_way_is_reported_at_the_first_wrong_update(tmp_path, intended, caplog):
    """The guard is told the LLaMA-Factory YAML (cosine_with_min_lr); the Trainer was built with plain cosine."""
    expected = first_difference(hf_lrs("cosine", {}, TOTAL), INTENDED_LRS)
    assert expected == WARMUP + 1  # the two agree through the warmup and at the peak
    guard = LrGuard(intended)
    with caplog.at_level(logging.WARNING, logger="lrviz.guard"):
        train(arguments(tmp_path / "run", lr_scheduler_type="cosine", lr_scheduler_kwargs={}), guard)
    messages = guard_warnings(caplog)
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"lrviz guard: update {expected} (param group 0) used LR ")
    assert f"cause {causes.FLOOR_MISSING}" in messages[0]
    deviation = guard.first_deviation
    assert deviation["update"] == expected and deviation["cause"] == causes.FLOOR_MISSING
    assert deviation["predicted"] == pytest.approx(INTENDED_LRS[expected], rel=1e-12)
    report = json.loads((tmp_path / "run" / "lrviz_guard.json").read_text())
    assert report["ok"] is False and report["first_deviation"]["update"] == expected
    assert report["updates_deviating"] == TOTAL - expected  # every update after the peak is below the floor curve


class MicroBatchStepping(transformers.Trainer):
    """Steps the scheduler after every micro-batch, as a hand-written loop that calls scheduler.step() per batch."""

    def training_step(self, *args: Any, **kwargs: Any) -> Any:
        loss = super().training_step(*args, **kwargs)
        self.lr_scheduler.step()
        return loss


def test_per_micro_batch_stepping_is_reported(tmp_path, caplog):
    # warmup_stable_decay without warmup holds the peak for a while: the fault shows once the index reaches the decay
    kwargs = {"num_decay_steps": 4, "min_lr_ratio": 0.1}
    args = arguments(tmp_path / "run", lr_scheduler_type="warmup_stable_decay", lr_scheduler_kwargs=kwargs,
                     warmup_steps=0, max_steps=TOTAL)
    # before update u's optimizer.step() the scheduler was stepped u times by the Trainer and (u + 1)·G times here
    lrs = real_lrs(lambda opt: transformers.get_scheduler("warmup_stable_decay", opt, num_warmup_steps=0,
                                                          num_training_steps=TOTAL, scheduler_specific_kwargs=kwargs),
                   TOTAL * (ACCUMULATION + 1) + 1)
    expected = next(u for u in range(TOTAL) if abs(lrs[u * (ACCUMULATION + 1) + ACCUMULATION] - lrs[u]) > 1e-12 * lrs[u])
    assert expected > 0
    guard = LrGuard()
    with caplog.at_level(logging.WARNING, logger="lrviz.guard"):
        train(args, guard, trainer_class=MicroBatchStepping)
    messages = guard_warnings(caplog)
    assert len(messages) == 1 and guard.first_deviation["update"] == expected
    assert guard.first_deviation["cause"] == causes.MICRO_BATCH_STEPPING
    assert f"index {expected * (ACCUMULATION + 1) + ACCUMULATION} at update {expected}" in messages[0]


class HalveTheLrAt(transformers.TrainerCallback):
    """Other code that sets the optimizer's LR itself at one update."""

    def __init__(self, update: int) -> None:
        self.update = update

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        if state.global_step == self.update:
            for group in optimizer.param_groups:
                group["lr"] *= 0.5


def test_an_lr_changed_by_other_code_is_reported(tmp_path, caplog):
    guard = LrGuard()
    with caplog.at_level(logging.WARNING, logger="lrviz.guard"):
        train(arguments(tmp_path / "run"), guard, callbacks=(HalveTheLrAt(7),))
    messages = guard_warnings(caplog)
    assert len(messages) == 1 and guard.first_deviation["update"] == 7
    assert guard.first_deviation["cause"] == causes.LR_CHANGED
    assert guard.first_deviation["realized"] == pytest.approx(INTENDED_LRS[7] / 2, rel=1e-12)
    assert guard.deviating == 1  # LambdaLR sets the LR afresh at the next step: one wrong update


class MarkSkippedAt(transformers.TrainerCallback):
    """accelerate reports the optimizer step of one update as skipped (what an fp16 overflow does)."""

    def __init__(self, update: int) -> None:
        self.update = update

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        optimizer._is_overflow = state.global_step == self.update


def test_a_skipped_scheduler_step_is_reported(tmp_path, caplog):
    guard = LrGuard()
    with caplog.at_level(logging.WARNING, logger="lrviz.guard"):
        train(arguments(tmp_path / "run"), guard, callbacks=(MarkSkippedAt(1),))
    # update 2 runs at index 1 (the warmup's 1/3 instead of 2/3)
    assert guard.first_deviation["update"] == 2 and guard.first_deviation["cause"] == causes.SKIPPED_STEP
    assert guard.first_deviation["realized"] == pytest.approx(INTENDED_LRS[1], rel=1e-12)
    assert len(guard_warnings(caplog)) == 1


def test_on_mismatch_stop_ends_the_run_after_the_first_wrong_update(tmp_path, intended):
    guard = LrGuard(intended, on_mismatch="stop")
    trainer = train(arguments(tmp_path / "run", lr_scheduler_type="cosine", lr_scheduler_kwargs={}), guard)
    assert guard.first_deviation["update"] == WARMUP + 1
    assert trainer.state.global_step == WARMUP + 2  # the update that deviated was the last one
    assert "stopping the run" in guard.first_deviation["message"]


def test_a_resume_that_lost_the_scheduler_state_is_reported(tmp_path, caplog):
    class StopAt(transformers.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 8:
                control.should_training_stop = True

    run = tmp_path / "run"
    train(arguments(run, save_strategy="steps", save_steps=8), LrGuard(), callbacks=(StopAt(),))
    checkpoint = run / "checkpoint-8"
    os.remove(checkpoint / "scheduler.pt")
    guard = LrGuard()
    with caplog.at_level(logging.WARNING, logger="lrviz.guard"):
        train(arguments(run), guard, resume=str(checkpoint))
    assert guard.start_step == 8
    assert guard.first_deviation["update"] == 8 and guard.first_deviation["cause"] == causes.RESUME_OFFSET
    assert guard.first_deviation["realized"] == pytest.approx(INTENDED_LRS[0], rel=1e-12)  # a fresh scheduler
    assert len(guard_warnings(caplog)) == 1


def test_deepspeed_scheduler_block_is_reported(tmp_path, intended, caplog):
    """The DeepSpeed block's WarmupDecayLR drives the optimizer, stepped after each optimizer step as DeepSpeed's
    engine steps it; the guard was told the intended cosine_with_min_lr."""
    lr_schedules = pytest.importorskip("deepspeed.runtime.lr_schedules")

    def deepspeed_scheduler(optimizer: Any) -> Any:
        return lr_schedules.WarmupDecayLR(optimizer, total_num_steps=TOTAL, warmup_min_lr=0.0, warmup_max_lr=LR,
                                          warmup_num_steps=WARMUP)

    class DeepSpeedScheduled(transformers.Trainer):
        def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
            if self.lr_scheduler is None:
                self.lr_scheduler = deepspeed_scheduler(optimizer if optimizer is not None else self.optimizer)
            return self.lr_scheduler

    expected = first_difference(real_lrs(deepspeed_scheduler, TOTAL), INTENDED_LRS)
    guard = LrGuard(intended)
    with caplog.at_level(logging.WARNING, logger="lrviz.guard"):
        train(arguments(tmp_path / "run"), guard, trainer_class=DeepSpeedScheduled)
    messages = guard_warnings(caplog)
    assert len(messages) == 1 and guard.first_deviation["update"] == expected
    assert guard.first_deviation["cause"] == causes.DEEPSPEED_SCHEDULER and "WarmupDecayLR" in messages[0]


def deepspeed_arguments(output_dir: Path, monkeypatch: Any) -> Any:
    """TrainingArguments with a DeepSpeed config whose scheduler block is WarmupDecayLR ("auto" values): the Trainer
    then runs the real DeepSpeed engine (here on CPU, one process), which builds and steps that scheduler itself."""
    pytest.importorskip("deepspeed")
    for name, value in (("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(free_port())), ("RANK", "0"),
                        ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"), ("LOCAL_WORLD_SIZE", "1")):
        monkeypatch.setenv(name, value)
    block = {"zero_optimization": {"stage": 0}, "train_micro_batch_size_per_gpu": "auto",
             "gradient_accumulation_steps": "auto", "train_batch_size": "auto",
             "scheduler": {"type": "WarmupDecayLR", "params": {"warmup_min_lr": "auto", "warmup_max_lr": "auto",
                                                               "warmup_num_steps": "auto", "total_num_steps": "auto"}}}
    return arguments(output_dir, deepspeed=block, max_steps=10)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_real_deepspeed_engine_with_its_scheduler_block(tmp_path, intended, monkeypatch, caplog):
    """Predicted from the Trainer's own arguments (DeepSpeed block included), the engine's schedule passes silently;
    told the intended cosine_with_min_lr, the guard names DeepSpeed's scheduler at the first update they differ."""
    import torch.distributed as dist

    lr_schedules = pytest.importorskip("deepspeed.runtime.lr_schedules")
    environment = dict(os.environ)  # TrainingArguments(deepspeed=...) sets ACCELERATE_USE_DEEPSPEED and friends
    try:
        guard = LrGuard()
        with caplog.at_level(logging.WARNING, logger="lrviz.guard"):
            trainer = train(deepspeed_arguments(tmp_path / "a", monkeypatch), guard)
        assert type(trainer.lr_scheduler).__name__ == "DeepSpeedSchedulerWrapper"  # the engine's own scheduler
        assert guard_warnings(caplog) == [] and guard.checked == 10 and guard.spec.framework == "deepspeed"

        def deepspeed_scheduler(optimizer: Any) -> Any:
            return lr_schedules.WarmupDecayLR(optimizer, total_num_steps=10, warmup_min_lr=0.0, warmup_max_lr=LR,
                                              warmup_num_steps=WARMUP)

        expected = first_difference(real_lrs(deepspeed_scheduler, 10), hf_lrs("cosine_with_min_lr", {"min_lr_rate": 0.1},
                                                                                10, total=10))
        guard = LrGuard(intended)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="lrviz.guard"):
            train(deepspeed_arguments(tmp_path / "b", monkeypatch), guard)
        messages = guard_warnings(caplog)
        assert len(messages) == 1 and guard.first_deviation["update"] == expected
        assert guard.first_deviation["cause"] == causes.DEEPSPEED_SCHEDULER
    finally:  # leave no DeepSpeed state behind for the tests that follow in this process
        from accelerate.state import AcceleratorState, PartialState
        from transformers.integrations.deepspeed import unset_hf_deepspeed_config

        unset_hf_deepspeed_config()
        os.environ.clear()
        os.environ.update(environment)
        AcceleratorState._reset_state(reset_partial_state=True)
        PartialState._reset_state()
        if dist.is_initialized():
            import deepspeed.comm

            deepspeed.comm.destroy_process_group()  # torch's group and DeepSpeed's cached references to it


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="on_mismatch"):
        LrGuard(on_mismatch="explode")


def test_an_unreadable_intended_config_fails_at_train_begin(tmp_path):
    from lrviz.errors import LrvizError

    with pytest.raises(LrvizError):
        train(arguments(tmp_path / "run"), LrGuard(tmp_path / "missing.yaml"))


DDP_SCRIPT = """
import json, os, sys
import transformers
transformers.logging.set_verbosity_error()
from lrviz.integrations import LrGuard
from lrviz.verify.trainer import SyntheticSet, tiny_causal_lm
args = transformers.TrainingArguments(
    output_dir=sys.argv[1], learning_rate=1e-3, lr_scheduler_type="cosine_with_min_lr",
    lr_scheduler_kwargs={"min_lr_rate": 0.1}, warmup_steps=3, num_train_epochs=2, use_cpu=True, report_to=[],
    per_device_train_batch_size=2, gradient_accumulation_steps=2, save_strategy="no", disable_tqdm=True,
    logging_steps=1000, ddp_backend="gloo")
guard = LrGuard()
trainer = transformers.Trainer(model=tiny_causal_lm(0)[0], args=args, train_dataset=SyntheticSet(64, 32, 0),
                               callbacks=[guard])
trainer.remove_callback(transformers.PrinterCallback)
trainer.train()
with open(os.path.join(sys.argv[2], f"guard_rank{os.environ['RANK']}.json"), "w") as result:  # one file per rank
    json.dump({"rank": int(os.environ["RANK"]), "ok": guard.summary()["ok"], "checked": guard.checked,
               "max_steps": trainer.state.max_steps}, result)
import torch.distributed
if torch.distributed.is_initialized():
    torch.distributed.destroy_process_group()  # a clean exit: gloo's threads can abort a process that skips this
"""


def test_the_guard_under_ddp_checks_every_rank_and_rank_0_writes_the_report(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    script = tmp_path / "train.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for attempt in range(2):
        completed = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                                    "--master_addr", "127.0.0.1", "--master_port", str(free_port()), str(script),
                                    str(tmp_path / "run"), str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True,
                                   timeout=180)
        # Rarely (once in about 50 runs on a loaded 2-core machine) a rank aborts in gloo's teardown after both ranks
        # finished and printed ("terminate called without an active exception"): run once more then, nothing else.
        teardown_abort = completed.returncode != 0 and "terminate called without an active exception" in completed.stderr \
            and len(list(tmp_path.glob("guard_rank*.json"))) == 2
        if not teardown_abort:
            break
    assert completed.returncode == 0, completed.stdout + completed.stderr
    ranks = [json.loads(path.read_text()) for path in sorted(tmp_path.glob("guard_rank*.json"))]
    assert len(ranks) == 2, completed.stdout + completed.stderr
    # 64 examples over 2 ranks = 32 each; / batch 2 = 16 micro-batches; / 2 = 8 updates per epoch; 2 epochs = 16
    assert sorted(r["rank"] for r in ranks) == [0, 1]
    assert all(r["ok"] and r["checked"] == r["max_steps"] == 16 for r in ranks)
    report = json.loads((tmp_path / "run" / "lrviz_guard.json").read_text())
    assert report["ok"] is True and report["updates_checked"] == 16
