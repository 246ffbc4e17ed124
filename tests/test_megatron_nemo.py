"""Megatron-core and NeMo: lrviz against LRs recorded from their own scheduler code.

``tests/data/megatron_nemo_vectors.json`` holds the LRs their released scheduler classes produce when executed from
the wheels' source on a real torch optimizer (provenance and the exact procedure:
``tests/data/make_megatron_nemo_vectors.py``), so these checks run where the packages are not installed; where they
are (``.ci/run`` installs them without their CUDA dependencies), ``tests/test_oracle_megatron_nemo.py`` checks
against the installed classes themselves. Every update, including 20% past the run, must
agree to 1e-12 relative, for every param group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import invoke

from lrviz.schedules import lr_at
from lrviz.spec import ScheduleSpec

DATA = json.loads((Path(__file__).parent / "data" / "megatron_nemo_vectors.json").read_text())


def assert_exact(recorded: np.ndarray, spec: ScheduleSpec, bases: list[float], context: str) -> None:
    for group, base in enumerate(bases):
        predicted = lr_at(spec, np.arange(len(recorded)), base_lr=base)
        expected = recorded[:, group]
        bad = np.flatnonzero(np.abs(predicted - expected) > np.maximum(1e-12 * np.abs(expected), 1e-18))
        assert not len(bad), f"{context} g{group} update {bad[0]}: recorded {expected[bad[0]]!r} lrviz {predicted[bad[0]]!r}"


@pytest.mark.parametrize("case", DATA["megatron"], ids=lambda c: c["id"])
def test_megatron_matches_its_scheduler(case: dict[str, Any]) -> None:
    kwargs = {k: v for k, v in case["kwargs"].items() if k != "lr_warmup_iters"}
    spec = ScheduleSpec(scheduler=case["style"], framework="megatron", peak_lr=case["group_lrs"][0],
                        total_steps=case["train_iters"], warmup_steps=case["kwargs"].get("lr_warmup_iters", 0),
                        scheduler_kwargs={**kwargs, "global_batch_size": case["global_batch_size"]})
    assert_exact(np.array(case["lrs"]), spec, case["group_lrs"], case["id"])


@pytest.mark.parametrize("case", DATA["nemo"], ids=lambda c: c["id"])
def test_nemo_matches_its_scheduler(case: dict[str, Any]) -> None:
    kwargs = {k: v for k, v in case["kwargs"].items() if k != "warmup_steps"}
    spec = ScheduleSpec(scheduler="CosineAnnealing", framework="nemo", peak_lr=case["group_lrs"][0],
                        total_steps=case["max_steps"], warmup_steps=case["kwargs"].get("warmup_steps", 0),
                        scheduler_kwargs=kwargs)
    assert_exact(np.array(case["lrs"]), spec, case["group_lrs"], case["id"])


def test_provenance_is_recorded() -> None:
    assert "megatron-core 0.16.1" in DATA["provenance"]["megatron"] and "nemo-toolkit 3.0.0" in DATA["provenance"]["nemo"]


def test_warmup_ratio_is_passed_on_unrounded() -> None:
    """Megatron takes --lr-warmup-fraction of the decay span as is (28.17 iterations here), NeMo floors it."""
    settings = json.loads(invoke(["plot", "--framework", "megatron", "--scheduler", "cosine", "--steps", 939,
                                  "--warmup-ratio", 0.03, "--no-file", "--json"]).stdout)["schedules"][0]["settings"]
    assert settings["scheduler_kwargs"]["lr_warmup_fraction"] == 0.03 and settings["warmup_steps"] == 0
    spec = ScheduleSpec(**{k: settings[k] for k in ("scheduler", "peak_lr", "total_steps", "warmup_steps",
                                                     "scheduler_kwargs", "framework")})
    lr = lr_at(spec, np.array([28, 29]))
    assert lr[0] < 2e-4 and lr[1] < 2e-4 and lr[0] == pytest.approx(2e-4 * 28 / 28.17)


@pytest.mark.parametrize("args, expect", [
    (["--framework", "megatron", "--scheduler", "cosine", "--min-lr", "3e-4"], "max_lr >= min_lr"),
    (["--framework", "megatron", "--scheduler", "WSD"], "lr_wsd_decay_iters"),
    (["--framework", "megatron", "--scheduler", "cosine", "--warmup-ratio", "1.0"], "lr_warmup_steps < lr_decay_steps"),
    (["--framework", "nemo", "--min-lr", "3e-4"], "lower than the minimum"),
    (["--framework", "megatron", "--scheduler", "cosin"], "did you mean 'cosine'"),
])
def test_bad_settings_exit_2(args: list[str], expect: str) -> None:
    result = invoke(["plot", *args, "--no-file"], exit_code=2)
    assert expect in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


# ------------------------------------------------------------------------------------------------ readers

SCRIPT = """#!/bin/bash
# GPT pretraining
torchrun --nproc_per_node 8 pretrain_gpt.py \\
    --num-layers 24 --hidden-size 2048 \\
    --micro-batch-size 4 --global-batch-size 256 \\
    --train-iters 1000 \\
    --lr 2e-4 --min-lr 2e-6 \\
    --lr-decay-style cosine \\
    --lr-warmup-fraction 0.03 \\
    --weight-decay 0.1 --bf16
"""

NEMO_YAML = """\
trainer:
  max_steps: 1000
model:
  optim:
    name: fused_adam
    lr: 2e-4
    sched:
      name: CosineAnnealing
      warmup_ratio: 0.03
      min_lr: 2e-6
      max_steps: ${trainer.max_steps}
"""


def settings_of(path: Path, *extra: Any) -> dict[str, Any]:
    return json.loads(invoke(["plot", "--config", path, *extra, "--no-file", "--json"]).stdout)["schedules"][0]["settings"]


def test_megatron_launch_script_is_read(tmp_path: Path) -> None:
    script = tmp_path / "pretrain.sh"
    script.write_text(SCRIPT)
    settings = settings_of(script)
    assert (settings["framework"], settings["scheduler"], settings["total_steps"]) == ("megatron", "cosine", 1000)
    assert settings["scheduler_kwargs"] == {"global_batch_size": 256, "min_lr": 2e-6, "lr_warmup_fraction": 0.03}
    assert settings["provenance"]["peak_lr"] == "pretrain.sh:--lr"
    assert any("--weight-decay" in note for note in settings["notes"])  # ignored flags are listed


def test_nemo_yaml_is_read(tmp_path: Path) -> None:
    path = tmp_path / "nemo.yaml"
    path.write_text(NEMO_YAML)
    settings = settings_of(path)
    assert (settings["framework"], settings["peak_lr"], settings["total_steps"]) == ("nemo", 2e-4, 1000)
    assert settings["scheduler_kwargs"] == {"min_lr": 2e-6, "warmup_ratio": 0.03}
    assert settings["provenance"]["total_steps"] == "nemo.yaml:trainer.max_steps"


BAD_READERS = [
    ("pretrain.sh", SCRIPT.replace("--lr-decay-style", "--lr-decay-styl"), ["--lr-decay-styl", "did you mean --lr-decay-style"]),
    ("pretrain.sh", SCRIPT.replace("--lr-warmup-fraction 0.03", "--warmup 0.03"), ["--warmup", "--lr-warmup-fraction"]),
    ("pretrain.sh", SCRIPT + " --lr-warmup-iters 20\n", ["--lr-warmup-fraction and --lr-warmup-iters"]),
    ("pretrain.sh", SCRIPT.replace("--train-iters 1000", "--train-samples 256000 --lr-decay-iters 900"),
     ["--lr-decay-iters in a sample-based run"]),
    ("pretrain.sh", SCRIPT.replace("--lr 2e-4 ", ""), ["--lr is missing"]),
    ("pretrain.sh", SCRIPT.replace("cosine", "cosin"), ["--lr-decay-style cosin", "did you mean cosine"]),
    ("pretrain.sh", SCRIPT.replace("--train-iters 1000", "--train-iters ten"), ["--train-iters 'ten'"]),
    ("nemo.yaml", NEMO_YAML.replace("      name: CosineAnnealing\n", ""), ["sched.name is missing"]),
    ("nemo.yaml", NEMO_YAML.replace("name: CosineAnnealing", "name: NoamAnnealing"), ["NoamAnnealing", "not modelled"]),
    ("nemo.yaml", NEMO_YAML.replace("warmup_ratio", "warmup_ration"), ["warmup_ration", "did you mean warmup_ratio"]),
    ("nemo.yaml", NEMO_YAML.replace("max_steps: 1000", "max_steps: -1"), ["trainer.max_steps is -1", "--dataset-size"]),
    ("nemo.yaml", NEMO_YAML.replace("min_lr: 2e-6", "min_lr: 3e-4"), ["lower than the minimum"]),
]


@pytest.mark.parametrize("name, text, expect", BAD_READERS, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD_READERS)])
def test_bad_reader_input_exits_2(tmp_path: Path, name: str, text: str, expect: list[str]) -> None:
    path = tmp_path / name
    path.write_text(text)
    result = invoke(["plot", "--config", path, "--no-file"], exit_code=2)
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and name in line, line
    for fragment in expect:
        assert fragment in line, (fragment, line)
