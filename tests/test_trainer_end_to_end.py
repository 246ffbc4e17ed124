"""The real transformers.Trainer, a tiny in-code model on CPU: its logged LRs equal lrviz's prediction.

lrviz reads the same TrainingArguments dictionary (as a JSON config file) plus the dataset size, derives
the run length and warmup itself, and its per-update export must match ``trainer_state.json``: transformers
>= 4.52 logs at ``global_step = s + 1`` the LR that update ``s`` used.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from click.testing import CliRunner  # noqa: E402

from check_run_trainer import PairDataset, TinyRegressor  # noqa: E402

from lrviz.cli import cli  # noqa: E402


CASES = {
    "cosine_with_min_lr": {"lr_scheduler_type": "cosine_with_min_lr", "lr_scheduler_kwargs": {"min_lr_rate": 0.1}, "warmup_steps": 0.1},
    "cosine_warmup_with_min_lr": {
        "lr_scheduler_type": "cosine_warmup_with_min_lr",
        "lr_scheduler_kwargs": {"min_lr": 1e-4},
        "warmup_steps": 5,
    },
    "warmup_stable_decay": {
        "lr_scheduler_type": "warmup_stable_decay",
        "lr_scheduler_kwargs": {"num_decay_steps": 12, "min_lr_ratio": 0.05, "decay_type": "1-sqrt"},
        "warmup_steps": 0.07,
    },
    "linear_with_drop_last": {"lr_scheduler_type": "linear", "dataloader_drop_last": True, "warmup_steps": 3},
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_trainer_logs_match_prediction(case: str, tmp_path) -> None:
    dataset_size = 150
    args_dict = {
        "output_dir": str(tmp_path / "run"),
        "learning_rate": 1e-3,
        "num_train_epochs": 3,
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 3,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": [],
        "use_cpu": True,
        "seed": 0,
        **CASES[case],
    }
    config = tmp_path / "training_args.json"
    config.write_text(json.dumps(args_dict))

    trainer = transformers.Trainer(
        model=TinyRegressor(),
        args=transformers.TrainingArguments(**args_dict),
        train_dataset=PairDataset(dataset_size),
    )
    trainer.train()
    logged = {entry["step"]: entry["learning_rate"] for entry in trainer.state.log_history if "learning_rate" in entry}

    prediction_path = tmp_path / "prediction.json"
    result = CliRunner().invoke(
        cli,
        ["plot", "--config", str(config), "--dataset-size", str(dataset_size), "--format", "json", "-o", str(prediction_path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output + result.stderr
    prediction = json.loads(prediction_path.read_text())

    assert prediction["schedules"][0]["settings"]["total_steps"] == trainer.state.max_steps
    assert len(prediction["lr"]) == trainer.state.max_steps >= 24
    assert sorted(logged) == list(range(1, trainer.state.max_steps + 1))
    for step, lr in zip(prediction["step"], prediction["lr"]):
        expected = logged[step + 1]
        assert abs(lr - expected) <= 1e-12 * abs(expected) + 1e-18, (step, lr, expected)
