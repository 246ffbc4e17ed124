"""``lrviz check-run`` on logs written by the real ``transformers.Trainer`` (tiny in-code model, CPU).

Expected values come from the Trainer and its arguments (``args.learning_rate``, ``args.get_warmup_steps(T)``,
``state.max_steps``) or from the documented mechanics of each fault (see ``check_run_trainer.py``), never from
lrviz's output:

* a skipped optimizer step at global step 10 leaves the scheduler one step behind from update 11 on, so logged
  step 12 (update 11) repeats the LR of step 11 (update 10): the drift lies between steps 11 and 12 -- except where
  the LR is flat: warmup_stable_decay (warmup ceil(0.07·39) = 3, decay 12, stable 39 - 3 - 12 = 24) is at the peak
  for updates 3..27, so the last point only the old reading fits is update 3 (step 4) and the first only the new
  one fits is update 28 (step 29);
* a resume at checkpoint 13 without scheduler.pt restarts the schedule: update 13 (logged step 14) uses index 0;
* a resume at checkpoint 26 holding checkpoint 13's scheduler.pt puts every later update 13 behind (step 27 on);
* plain cosine vs a cosine_with_min_lr config: both give the peak at update W, they differ from update W + 1
  (logged step W + 2) to the end;
* per-micro-batch stepping: update 0 already uses index G - 1, so the log departs from step 1;
* lengths ×G: update 0 is LR 0 in both, the log departs from step 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from check_run_trainer import (  # noqa: E402
    TOTAL_UPDATES,
    logged,
    resume_with_older_scheduler,
    resume_without_scheduler,
    run_trainer,
)
from cli_helpers import invoke  # noqa: E402

pytestmark = pytest.mark.slow

MATCHING = {
    "cosine_with_min_lr": {"lr_scheduler_type": "cosine_with_min_lr", "lr_scheduler_kwargs": {"min_lr_rate": 0.1}, "warmup_steps": 0.1},
    "cosine": {"lr_scheduler_type": "cosine", "warmup_steps": 4},
    "linear": {"lr_scheduler_type": "linear", "warmup_steps": 3},
    "cosine_warmup_with_min_lr": {"lr_scheduler_type": "cosine_warmup_with_min_lr", "lr_scheduler_kwargs": {"min_lr": 1e-4}, "warmup_steps": 5},
    "constant_with_warmup": {"lr_scheduler_type": "constant_with_warmup", "warmup_steps": 6},
    "warmup_stable_decay": {
        "lr_scheduler_type": "warmup_stable_decay",
        "lr_scheduler_kwargs": {"num_decay_steps": 12, "min_lr_ratio": 0.05, "decay_type": "1-sqrt"},
        "warmup_steps": 0.07,
    },
    "polynomial": {"lr_scheduler_type": "polynomial", "lr_scheduler_kwargs": {"lr_end": 1e-5, "power": 2.0}, "warmup_steps": 2},
    "cosine_num_cycles_1.5": {"lr_scheduler_type": "cosine", "lr_scheduler_kwargs": {"num_cycles": 1.5}, "warmup_steps": 4},
    "cosine_with_restarts": {"lr_scheduler_type": "cosine_with_restarts", "lr_scheduler_kwargs": {"num_cycles": 3}, "warmup_steps": 3},
    "inverse_sqrt": {"lr_scheduler_type": "inverse_sqrt", "warmup_steps": 5},
    "warmup_lr_rate": {"lr_scheduler_type": "cosine_warmup_with_min_lr",
                       "lr_scheduler_kwargs": {"warmup_lr_rate": 0.1, "min_lr_rate": 0.05}, "warmup_steps": 6},
    "constant": {"lr_scheduler_type": "constant"},
    "wsd_stable_cosine": {"lr_scheduler_type": "warmup_stable_decay",
                          "lr_scheduler_kwargs": {"num_decay_steps": 20, "num_stable_steps": 10}, "warmup_steps": 5},
}
INFERABLE = tuple(sorted(MATCHING))
# real loss-scale overflows (see check_run_trainer.OverflowAt): 1, 3 (all in the warmup) and 10 skipped steps
OVERFLOWS = {
    "one": ({"lr_scheduler_type": "cosine", "warmup_steps": 4}, {10}),
    "three-in-warmup": ({"lr_scheduler_type": "linear", "warmup_steps": 8}, {2, 3, 5}),
    "ten": ({"lr_scheduler_type": "cosine", "warmup_steps": 4}, {2, 5, 9, 10, 11, 15, 20, 26, 30, 33}),
}
COSINE = {"lr_scheduler_type": "cosine", "warmup_steps": 4}
SKIPPED = {"cosine": [11, 12], "linear": [11, 12], "cosine_with_min_lr": [11, 12], "warmup_stable_decay": [4, 29]}
MICRO = ("cosine", "linear", "cosine_with_min_lr")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    base = tmp_path_factory.mktemp("trainer")
    made = {name: run_trainer(base / name, **overrides) for name, overrides in MATCHING.items()}
    made["sparse"] = run_trainer(base / "sparse", logging_steps=5, **MATCHING["cosine_with_min_lr"])
    for name in SKIPPED:
        made[f"skipped-{name}"] = run_trainer(base / f"skipped-{name}", skip_at=10, **MATCHING[name])
    for name in MICRO:
        made[f"micro-{name}"] = run_trainer(base / f"micro-{name}", step_per_micro_batch=True, **MATCHING[name])
    for name, (overrides, updates) in OVERFLOWS.items():
        made[f"overflow-{name}"] = run_trainer(base / f"overflow-{name}", overflow_at=updates, optim="adamw_torch",
                                               **overrides)
    made["lengths"] = run_trainer(base / "lengths", scheduler_lengths_times=3, **COSINE)
    made["resume"] = resume_without_scheduler(base / "resume", checkpoint_step=13, **COSINE)
    made["resume-older"] = resume_with_older_scheduler(base / "resume-older", checkpoint_step=26, scheduler_from=13, **COSINE)
    return made


def check(*args: object, code: int) -> dict:
    return json.loads(invoke(["check-run", *args, "--json"], code).stdout)


def causes(document: dict) -> dict[str, list[int] | None]:
    return {finding["cause"]: finding["steps"] for finding in document["findings"]}


@pytest.mark.parametrize("name", sorted(MATCHING))
def test_matching_run_follows_its_config_exactly(runs, name):
    state, config = runs[name]
    document = check(state, "--config", config, "--dataset-size", 150, code=0)
    assert document["followed"] is True
    assert document["max_relative_error"] <= 1e-12
    assert document["convention"]["name"] == "hf"
    assert len(document["points"]) == TOTAL_UPDATES
    assert all(point["status"] == "on schedule" for point in document["points"])
    assert list(causes(document)) == ["followed"]


def _trainer_lrs(settings: dict, total: int) -> list[float]:
    """The LR of each update from transformers' own scheduler built with the inferred settings."""
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=settings["peak_lr"])
    scheduler = transformers.get_scheduler(settings["scheduler"], optimizer, num_warmup_steps=settings["warmup_steps"],
                                           num_training_steps=settings["total_steps"],
                                           scheduler_specific_kwargs=settings["scheduler_kwargs"] or None)
    out = []
    for _ in range(total):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


@pytest.mark.parametrize("name", INFERABLE)
def test_inference_recovers_the_trainer_arguments(runs, name):
    state, config = runs[name]
    args = transformers.TrainingArguments(output_dir=str(state.parent / "x"), **json.loads(config.read_text()))
    document = check(state, code=0)
    settings = document["inferred"]["settings"]
    assert document["convention"]["name"] == "hf"  # trainer_state.json of transformers 5.x has best_global_step
    assert settings["scheduler"] == args.lr_scheduler_type.value
    assert settings["peak_lr"] == args.learning_rate
    assert settings["warmup_steps"] == args.get_warmup_steps(TOTAL_UPDATES)
    assert settings["total_steps"] == TOTAL_UPDATES
    # the printed settings, run through transformers' own scheduler, reproduce every logged LR
    reproduced = _trainer_lrs(settings, TOTAL_UPDATES)
    for step, lr in logged(state).items():
        assert abs(reproduced[step - 1] - lr) <= 1e-12 * abs(lr) + 1e-18, (step, reproduced[step - 1], lr)


def test_inference_on_a_sparse_log(runs):
    state, config = runs["sparse"]
    assert sorted(logged(state)) == list(range(5, TOTAL_UPDATES + 1, 5))
    document = check(state, code=0)
    settings = document["inferred"]["settings"]
    assert (settings["scheduler"], settings["peak_lr"], settings["total_steps"]) == ("cosine_with_min_lr", 1e-3, TOTAL_UPDATES)
    assert settings["warmup_steps"] == 4  # ceil(0.1 × 39)
    assert settings["floor_lr"] == pytest.approx(1e-4, rel=1e-12)


@pytest.mark.parametrize("name", sorted(SKIPPED))
def test_skipped_optimizer_step(runs, name):
    state, config = runs[f"skipped-{name}"]
    lrs = logged(state)
    assert lrs[12] == lrs[11]  # the Trainer did not step the scheduler after the skipped step
    modes = (["--config", config], []) if name != "warmup_stable_decay" else (["--config", config],)
    for args in modes:  # against the config, and with the schedule inferred
        document = check(state, *args, code=1)
        errors = {f["cause"]: f["steps"] for f in document["findings"] if f["severity"] == "error"}
        assert errors == {"skipped-step": SKIPPED[name]}
        assert document["followed"] is False
        assert document["max_relative_error_at_matched_update"] <= 1e-12
    if name == "cosine":
        shifted = [p["step"] for p in document["points"] if p["status"] == "shifted"]
        assert shifted == list(range(12, TOTAL_UPDATES + 1))


def test_resume_that_lost_the_scheduler_state(runs):
    state, config = runs["resume"]
    assert logged(state)[14] == 0.0  # update 13 ran at index 0 of the warmup
    document = check(state, "--config", config, code=1)
    assert causes(document)["resume-offset"] == [13, 14]
    finding = next(f for f in document["findings"] if f["cause"] == "resume-offset")
    assert "restarted at update 13" in finding["title"]


def test_resume_from_a_checkpoint_holding_an_older_scheduler(runs):
    state, config = runs["resume-older"]
    lrs = logged(state)
    assert lrs[27] == lrs[14]  # update 26 ran at scheduler index 13
    document = check(state, "--config", config, code=1)
    assert causes(document)["resume-offset"] == [26, 27]
    finding = next(f for f in document["findings"] if f["cause"] == "resume-offset")
    assert "13 updates behind" in finding["title"] and "checkpoint-26" in finding["evidence"]


def test_floor_dropped(runs):
    state, config = runs["cosine"]
    document = check(state, "--config", config, "--scheduler", "cosine_with_min_lr", "--min-lr-rate", 0.1, code=1)
    warmup = 4
    assert causes(document) == {"floor-missing": [warmup + 2, TOTAL_UPDATES]}
    assert document["explained_by"]["scheduler"] == "cosine"


def test_floor_dropped_against_a_config_file(runs, tmp_path):
    state, config = runs["cosine"]
    with_floor = {**json.loads(config.read_text()), "lr_scheduler_type": "cosine_with_min_lr",
                  "lr_scheduler_kwargs": {"min_lr": 1e-4}}
    path = tmp_path / "sft.json"
    path.write_text(json.dumps(with_floor))
    document = check(state, "--config", path, code=1)
    assert list(causes(document)) == ["floor-missing"]


@pytest.mark.parametrize("name", MICRO)
def test_scheduler_stepped_per_micro_batch(runs, name):
    state, config = runs[f"micro-{name}"]
    document = check(state, "--config", config, code=1)
    assert causes(document) == {"micro-batch-stepping": [1, TOTAL_UPDATES]}
    assert "3×" in document["findings"][0]["title"]
    # 150 examples / batch 4 = 38 micro-batches per epoch: the epoch's last update has 2, not 3
    assert document["explained_by"]["micro_batches_per_epoch"] == 38
    assert {p["status"] for p in document["points"]} <= {"explained", "on schedule"}


def test_scheduler_lengths_counted_in_micro_batches(runs):
    state, config = runs["lengths"]
    document = check(state, "--config", config, code=1)
    assert causes(document) == {"micro-batch-lengths": [2, TOTAL_UPDATES]}
    assert document["explained_by"]["total_steps"] == 3 * TOTAL_UPDATES
    assert document["explained_by"]["warmup_steps"] == 3 * 4
    # without a config the inferred schedule is 3× the run's max_steps
    inferred = check(state, code=1)
    assert causes(inferred)["total-mismatch"] is not None
    assert inferred["inferred"]["settings"]["total_steps"] == 3 * TOTAL_UPDATES


def test_older_transformers_logging_convention(runs, tmp_path):
    """transformers < 4.52 logged at step g the LR the scheduler held after g steps: the next update's LR.
    The log is rewritten that way (step g gets the LR the real run logged at step g + 1) and read correctly."""
    state, config = runs["cosine"]
    lrs = logged(state)
    data = json.loads(state.read_text())
    data["log_history"] = [{"step": g, "learning_rate": lrs[g + 1]} for g in range(1, TOTAL_UPDATES)]
    legacy = tmp_path / "trainer_state.json"
    legacy.write_text(json.dumps(data))
    document = check(legacy, "--config", config, code=0)
    assert document["convention"]["name"] == "hf-legacy"
    assert "log-convention" in causes(document)
    forced = check(legacy, "--config", config, "--log-convention", "hf", code=1)
    assert forced["followed"] is False


def test_exit_code_and_tables_without_json(runs):
    state, config = runs["skipped-cosine"]
    result = invoke(["check-run", state, "--config", config], 1)
    assert "skipped-step" in result.stdout and "did not follow" in result.stdout
    result = invoke(["check-run", runs["cosine"][0], "--config", runs["cosine"][1]], 0)
    assert "followed its schedule" in result.stdout


@pytest.mark.parametrize("name", sorted(OVERFLOWS))
def test_real_fp16_overflow_skips_are_each_found(runs, name):
    """Steps the GradScaler really skipped (read back from accelerate, not assumed) are each found, with the
    schedule inferred exactly around them, and against the config."""
    state, config = runs[f"overflow-{name}"]
    skipped = json.loads((state.parent / "skipped_steps.json").read_text())
    assert sorted(skipped) == sorted(OVERFLOWS[name][1])
    args = transformers.TrainingArguments(output_dir=str(state.parent / "x"), **json.loads(config.read_text()))
    for extra in ([], ["--config", config]):
        document = check(state, *extra, code=1)
        schedule = document["schedule"]["settings"]
        assert (schedule["scheduler"], schedule["peak_lr"], schedule["warmup_steps"], schedule["total_steps"]) == \
            (args.lr_scheduler_type.value, args.learning_rate, args.get_warmup_steps(TOTAL_UPDATES), TOTAL_UPDATES)
        spans = [f["steps"] for f in document["findings"] if f["cause"] == "skipped-step"]
        assert {f["cause"] for f in document["findings"] if f["severity"] == "error"} == {"skipped-step"}
        # each skipped update g (global step g) leaves logged step g + 1 one scheduler step behind
        for g in skipped:
            assert any(low <= g < high for low, high in spans), (g, spans)
        last = document["points"][-1]
        assert last["update"] - last["matches_update"] == len(skipped)
        assert document["max_relative_error_at_matched_update"] <= 1e-12


def test_tensorboard_event_file_written_by_the_trainer(tmp_path):
    """report_to tensorboard: the Trainer's TensorBoardCallback writes train/learning_rate (float32) at each
    logging step; check-run reads the event file with the tensorboard package and checks it."""
    pytest.importorskip("tensorboard")
    overrides = {"lr_scheduler_type": "cosine_with_min_lr", "lr_scheduler_kwargs": {"min_lr_rate": 0.1},
                 "warmup_steps": 4, "report_to": ["tensorboard"]}
    state, config = run_trainer(tmp_path / "tb", **overrides)
    (events,) = (tmp_path / "tb").rglob("events.out.tfevents.*")
    document = check(events, code=0)
    assert document["log"]["format"] == "tensorboard" and document["tolerance"] == 2.0**-24
    settings = document["inferred"]["settings"]
    assert (settings["scheduler"], settings["peak_lr"], settings["warmup_steps"]) == ("cosine_with_min_lr", 1e-3, 4)
    assert settings["scheduler_kwargs"]["min_lr_rate"] == 0.1
    # float32 of every LR the trainer_state.json holds, at the same steps
    import numpy as np

    lrs = logged(state)
    assert [(p["step"], p["lr"]) for p in document["points"]] == [(s, float(np.float32(v))) for s, v in lrs.items()]
    compared = check(events, "--config", config, "--steps", TOTAL_UPDATES, code=0)
    assert compared["followed"]


def test_early_stopping_is_named_as_such(tmp_path):
    """A real EarlyStoppingCallback stop (a threshold no improvement meets, patience 2): the saved state has
    should_training_stop and the callback; check-run names the early stop, and it is not an error."""
    from check_run_trainer import PairDataset, TinyRegressor, training_args

    args = transformers.TrainingArguments(**training_args(
        tmp_path / "run", lr_scheduler_type="linear", warmup_steps=2, eval_strategy="steps", eval_steps=3,
        save_strategy="steps", save_steps=3, load_best_model_at_end=True, metric_for_best_model="eval_loss"))
    trainer = transformers.Trainer(
        model=TinyRegressor(), args=args, train_dataset=PairDataset(150), eval_dataset=PairDataset(20),
        callbacks=[transformers.EarlyStoppingCallback(early_stopping_patience=2, early_stopping_threshold=1e9)])
    trainer.train()
    state = tmp_path / "trainer_state.json"
    trainer.state.save_to_json(str(state))
    saved = json.loads(state.read_text())
    assert saved["global_step"] < saved["max_steps"] == TOTAL_UPDATES
    assert saved["stateful_callbacks"]["TrainerControl"]["args"]["should_training_stop"] is True
    document = check(state, code=0)
    stopped = next(f for f in document["findings"] if f["cause"] == "stopped-early")
    assert stopped["severity"] == "warning"
    assert stopped["title"] == (f"the run stopped early (EarlyStoppingCallback) at global_step {saved['global_step']:,} "
                                f"of {TOTAL_UPDATES:,}")
    settings = document["inferred"]["settings"]
    assert (settings["scheduler"], settings["warmup_steps"], settings["total_steps"]) == ("linear", 2, TOTAL_UPDATES)
