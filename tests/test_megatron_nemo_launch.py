"""Megatron launch scripts and NeMo configs as people write them, exact against the frameworks' own code.

``tests/data/megatron_nemo_vectors.json`` holds the LRs of their scheduler classes executed from the released wheels'
source (``tests/data/make_megatron_nemo_vectors.py``), so these checks run without the packages
(``tests/test_oracle_megatron_nemo.py`` runs the installed classes): Megatron-core 0.16.1 ``OptimizerParamScheduler``
for sample-based runs, NeMo 3.0.0's ``WarmupPolicy`` schedulers and its ``compute_max_steps``. Each case goes through lrviz as a user gives it (a launch script, a YAML), not as a spec.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from cli_helpers import invoke

DATA = json.loads((Path(__file__).parent / "data" / "megatron_nemo_vectors.json").read_text())


def plotted(config: Path, *flags: Any) -> tuple[np.ndarray, dict[str, Any]]:
    lrs = invoke(["plot", "--config", config, *flags, "--format", "csv", "-o", "-"]).stdout.strip().splitlines()[1:]
    settings = json.loads(invoke(["plot", "--config", config, *flags, "--json", "--no-file"]).stdout)["schedules"][0]["settings"]
    return np.array([float(line.split(",")[1]) for line in lrs]), settings


def assert_exact(got: np.ndarray, expected: np.ndarray, context: str) -> None:
    bad = np.flatnonzero(np.abs(got - expected) > np.maximum(1e-12 * np.abs(expected), 1e-18))
    assert not len(bad), f"{context} update {bad[0]}: recorded {expected[bad[0]]!r} lrviz {got[bad[0]]!r}"


# ------------------------------------------------------------------------------------------------ Megatron


FLAG = {"min_lr": "--min-lr", "lr_warmup_samples": "--lr-warmup-samples", "lr_decay_samples": "--lr-decay-samples",
        "lr_warmup_fraction": "--lr-warmup-fraction", "lr_wsd_decay_samples": "--lr-wsd-decay-samples",
        "lr_wsd_decay_style": "--lr-wsd-decay-style"}


@pytest.mark.parametrize("case", DATA["megatron_samples"], ids=lambda c: c["id"])
def test_a_sample_based_launch_script_is_exact(tmp_path: Path, case: dict[str, Any]) -> None:
    flags = " ".join(f"{FLAG[key]} {value}" for key, value in case["kwargs"].items())
    script = tmp_path / "pretrain.sh"
    script.write_text(f"torchrun pretrain_gpt.py --lr {case['group_lrs'][0]} --lr-decay-style {case['style']} \\\n"
                      f"  --train-samples {case['train_samples']} --global-batch-size {case['global_batch_size']} {flags}\n")
    lrs, settings = plotted(script)
    iterations = case["train_samples"] // case["global_batch_size"]
    assert settings["total_steps"] == iterations
    assert "train_samples // global_batch_size" in settings["provenance"]["total_steps"]
    assert_exact(lrs, np.array(case["lrs"])[:iterations, 0], case["id"])


VARIABLES = """#!/bin/bash
export CUDA_DEVICE_MAX_CONNECTIONS=1
GLOBAL_BATCH_SIZE=32
LR=${LR:-2.0e-4}
export TRAIN_ITERS=939
WARMUP="--lr-warmup-fraction 0.03"

GPT_ARGS=(
    --num-layers 12
    --lr $LR
    --min-lr 2e-6
    --lr-decay-style cosine
    --train-iters ${TRAIN_ITERS}
)
DATA_ARGS="--data-path $DATA_PATH --split 949,50,1"

torchrun --nproc_per_node 8 pretrain_gpt.py \\
    "${GPT_ARGS[@]}" \\
    $WARMUP \\
    --global-batch-size $GLOBAL_BATCH_SIZE \\
    $DATA_ARGS
"""


def test_a_script_with_variables_and_arrays_is_the_script_written_out(tmp_path: Path) -> None:
    with_variables = tmp_path / "vars.sh"
    with_variables.write_text(VARIABLES)
    written_out = tmp_path / "plain.sh"
    written_out.write_text("torchrun pretrain_gpt.py --num-layers 12 --lr 2.0e-4 --min-lr 2e-6 --lr-decay-style cosine "
                           "--train-iters 939 --lr-warmup-fraction 0.03 --global-batch-size 32 --data-path x --split 1\n")
    lrs, settings = plotted(with_variables)
    plain_lrs, plain = plotted(written_out)
    assert np.array_equal(lrs, plain_lrs)
    keys = ("framework", "scheduler", "peak_lr", "total_steps", "warmup_steps", "scheduler_kwargs")
    assert {key: settings[key] for key in keys} == {key: plain[key] for key in keys}
    # and it is Megatron's own schedule (the recorded case with the same settings)
    (case,) = [c for c in DATA["megatron"] if c["train_iters"] == 939 and c["global_batch_size"] == 32]
    assert_exact(lrs, np.array(case["lrs"])[:939, 0], case["id"])


@pytest.mark.parametrize("script, says", [
    ("torchrun pretrain_gpt.py --train-iters 100 --lr $PEAK_LR\n", "the script does not set PEAK_LR"),
    ("torchrun pretrain_gpt.py --train-iters 100 --lr 1e-4 --rampup-batch-size 32 32 1000\n", "--rampup-batch-size changes"),
    ("torchrun pretrain_gpt.py --train-samples 1000 --lr 1e-4 --global-batch-size 8 --lr-decay-iters 50\n",
     "--lr-decay-iters in a sample-based run"),
    ("torchrun pretrain_gpt.py --train-samples 1000 --train-iters 10 --lr 1e-4\n", "both set"),
    ("torchrun pretrain_gpt.py --train-samples 1000 --lr 1e-4\n", "--train-samples without --global-batch-size"),
    ("torchrun pretrain_gpt.py --train-iters 100 --lr 1e-4 --lr-warmup-samples 10\n", "with --train-iters"),
])
def test_bad_launch_scripts(tmp_path: Path, script: str, says: str) -> None:
    path = tmp_path / "run.sh"
    path.write_text(script)
    result = invoke(["plot", "--config", path, "--no-file"], 2)
    assert says in result.stderr and result.stderr.count("\n") == 1


# ---------------------------------------------------------------------------------------------------- NeMo


@pytest.mark.parametrize("case", DATA["nemo_warmup"], ids=lambda c: c["id"])
def test_nemo_warmup_policy_schedulers_are_exact(tmp_path: Path, case: dict[str, Any]) -> None:
    sched = {"name": case["name"], **case["kwargs"]}
    config = {"trainer": {"max_steps": case["max_steps"]},
              "model": {"optim": {"name": "adamw", "lr": case["group_lrs"][0], "sched": sched}}}
    path = tmp_path / "nemo.yaml"
    path.write_text(yaml.safe_dump(config))
    lrs, settings = plotted(path)
    assert (settings["framework"], settings["scheduler"]) == ("nemo", case["name"])
    assert_exact(lrs, np.array(case["lrs"])[: case["max_steps"], 0], case["id"])


def test_the_real_t5_config_runs_warmup_annealing() -> None:
    from realworld import REAL_CONFIGS

    path = REAL_CONFIGS / "nemo" / "nemo_megatron_t5_config.yaml"
    if not path.is_file():
        pytest.skip("../shared/real-world is not beside the repository")
    _, settings = plotted(path)
    assert (settings["scheduler"], settings["total_steps"], settings["scheduler_kwargs"]["min_lr"]) == \
        ("WarmupAnnealing", 100_000, 1e-5)


@pytest.mark.parametrize("case", DATA["nemo_epochs"], ids=lambda c: f"epochs{c['max_epochs']}-n{c['num_samples']}")
def test_an_epoch_based_nemo_run_has_nemos_length(tmp_path: Path, case: dict[str, Any]) -> None:
    config = {"trainer": {"devices": case["num_workers"], "num_nodes": 1, "max_epochs": case["max_epochs"], "max_steps": -1,
                          "accumulate_grad_batches": case["accumulate_grad_batches"],
                          "limit_train_batches": case["limit_train_batches"]},
              "model": {"train_ds": {"batch_size": case["batch_size"], "drop_last": case["drop_last"]},
                        "optim": {"name": "adamw", "lr": 1e-4, "sched": {"name": "CosineAnnealing", "min_lr": 1e-6}}}}
    path = tmp_path / "nemo.yaml"
    path.write_text(yaml.safe_dump(config))
    _, settings = plotted(path, "--dataset-size", case["num_samples"])
    assert settings["total_steps"] == case["max_steps"]
    assert settings["provenance"]["total_steps"].startswith("derived: NeMo compute_max_steps")


def test_an_epoch_based_nemo_run_without_a_dataset_size_says_what_to_add(tmp_path: Path) -> None:
    path = tmp_path / "nemo.yaml"
    path.write_text(yaml.safe_dump({"trainer": {"max_steps": -1, "max_epochs": 3},
                                    "model": {"optim": {"lr": 1e-4, "sched": {"name": "WarmupAnnealing"}}}}))
    result = invoke(["plot", "--config", path, "--no-file"], 2)
    assert "trainer.max_steps is -1" in result.stderr and "--dataset-size N" in result.stderr


def test_flags_that_change_what_runs_are_said_not_filed_under_ignored(tmp_path: Path) -> None:
    path = tmp_path / "run.sh"
    path.write_text("torchrun pretrain_gpt.py --train-iters 100 --lr 1e-4 --decoupled-lr 5e-4 "
                    "--use-checkpoint-opt-param-scheduler --seq-length 8\n")
    _, settings = plotted(path)
    notes = settings["notes"]
    assert any("--decoupled-lr: the input and output layers get their own LR" in note for note in notes)
    assert any("come from the checkpoint, not from these flags" in note for note in notes)
    (ignored,) = [note for note in notes if "were ignored" in note]
    assert ignored.endswith("--seq-length")


@pytest.mark.parametrize("case", DATA["nemo_real"], ids=lambda c: c["config"])
def test_the_real_nemo_configs_equal_nemos_own_scheduler(case: dict[str, Any]) -> None:
    from realworld import REAL_CONFIGS

    path = REAL_CONFIGS / "nemo" / case["config"]
    if not path.is_file():
        pytest.skip("../shared/real-world is not beside the repository")
    lrs, settings = plotted(path)
    assert (settings["scheduler"], settings["total_steps"], settings["peak_lr"]) == (case["name"], case["max_steps"], case["lr"])
    updates = [int(update) for update in case["lrs"]]
    assert_exact(lrs[updates], np.array([case["lrs"][str(update)] for update in updates]), case["config"])


def test_a_batch_schedule_with_a_global_batch_is_megatrons_own_error(tmp_path: Path) -> None:
    # Megatron-LM's examples/gpt3/train_gpt3_175b_distributed.sh (d98e8a64ddf3) sets both; arguments.py refuses that
    path = tmp_path / "run.sh"
    path.write_text('ARGS=(\n  --global-batch-size 1536\n  --step-batch-size-schedule "0:16 2.4B:320"\n'
                    "  --train-iters 500000 --lr 6.0e-5\n)\ntorchrun pretrain_gpt.py \"${ARGS[@]}\"\n")
    result = invoke(["plot", "--config", path, "--no-file"], 2)
    assert "Cannot specify both --step-batch-size-schedule and --global-batch-size" in result.stderr
