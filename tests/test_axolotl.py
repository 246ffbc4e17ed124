"""Axolotl: the schedule math and warmup arithmetic against values from Axolotl's own code, and its YAML reader.

Axolotl cannot be installed here (it pulls a CUDA torch), so ``tests/data/axolotl_vectors.json`` holds LRs and warmup
counts produced by executing the functions of the axolotl 0.19.0 wheel as they ship, with a real torch ``LambdaLR``
(``tests/data/make_axolotl_vectors.py`` says how). The run-length formula (no sample packing,
``ceil(N * num_epochs / (micro_batch_size * gradient_accumulation_steps * world_size))``) is a re-statement of
``utils/trainer.py::calculate_total_num_steps``, checked against the worked example of the research note.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import invoke

from lrviz.configs.axolotl import AxolotlFile, axolotl_spec
from lrviz.resolve import Options
from lrviz.schedules import lr_at
from lrviz.spec import ScheduleSpec

DATA = json.loads((Path(__file__).parent / "data" / "axolotl_vectors.json").read_text())


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["id"])
def test_lrs_match_axolotls_functions(case: dict[str, Any]) -> None:
    spec = ScheduleSpec(scheduler="cosine", framework="axolotl", peak_lr=case["group_lrs"][0], total_steps=case["total"],
                        warmup_steps=case["warmup"], scheduler_kwargs=case["kwargs"])
    recorded = np.array(case["lrs"])
    for group, base in enumerate(case["group_lrs"]):
        predicted = lr_at(spec, np.arange(len(recorded)), base_lr=base)
        tolerance = np.maximum(1e-12 * np.abs(recorded[:, group]), 1e-18)
        bad = np.flatnonzero(np.abs(predicted - recorded[:, group]) > tolerance)
        assert not len(bad), f"{case['id']} g{group} update {bad[:1]}: {recorded[bad[:1], group]} vs {predicted[bad[:1]]}"


@pytest.mark.parametrize("case", DATA["warmups"], ids=lambda c: f"{c['cfg']}-{c['total_num_steps']}")
def test_warmup_matches_axolotls_builder(case: dict[str, Any]) -> None:
    values = {"learning_rate": 2e-4, "max_steps": case["total_num_steps"], **case["cfg"]}
    spec = axolotl_spec(Options(), AxolotlFile("run.yaml", values))
    assert spec.warmup_steps == case["warmup_steps"]


def test_run_length_is_axolotls() -> None:
    # research note table B: N=10,000, micro 4, GA 4, 2 GPUs, 3 epochs -> ceil(30000 / 32) = 938, warmup int(28.14) = 28
    values = {"learning_rate": 2e-4, "micro_batch_size": 4, "gradient_accumulation_steps": 4, "num_epochs": 3,
              "warmup_ratio": 0.03}
    spec = axolotl_spec(Options(dataset_size=10000, gpus=2), AxolotlFile("run.yaml", values))
    assert (spec.total_steps, spec.warmup_steps) == (938, 28)
    # max_steps above the data: the Trainer runs max_steps, the warmup counts min(data steps, max_steps)
    spec = axolotl_spec(Options(dataset_size=10000, gpus=2), AxolotlFile("run.yaml", {**values, "max_steps": 2000}))
    assert (spec.total_steps, spec.warmup_steps) == (2000, 28)


AXOLOTL_YAML = """\
base_model: NousResearch/Meta-Llama-3-8B
adapter: lora
datasets:
  - path: mhenrichsen/alpaca_2k_test
    type: alpaca
sequence_len: 4096
micro_batch_size: 4
gradient_accumulation_steps: 4
num_epochs: 3
optimizer: adamw_bnb_8bit
lr_scheduler: cosine
learning_rate: 2e-4
cosine_min_lr_ratio: 0.01
warmup_ratio: 0.03
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_axolotl_yaml_through_the_cli(tmp_path: Path) -> None:
    config = write(tmp_path, "lora.yml", AXOLOTL_YAML)
    document = json.loads(invoke(["plot", "--config", config, "--dataset-size", 10000, "--gpus", 2, "--no-file",
                                  "--json"]).stdout)
    settings = document["schedules"][0]["settings"]
    assert (settings["framework"], settings["scheduler"], settings["total_steps"], settings["warmup_steps"]) == (
        "axolotl", "cosine", 938, 28)
    assert settings["peak_lr"] == 2e-4  # '2e-4' is text to PyYAML; Axolotl's validator makes it a float
    assert settings["scheduler_kwargs"] == {"cosine_min_lr_ratio": 0.01}


def test_default_warmup_is_noted(tmp_path: Path) -> None:
    config = write(tmp_path, "lora.yml", AXOLOTL_YAML.replace("warmup_ratio: 0.03\n", "max_steps: 500\n"))
    settings = json.loads(invoke(["plot", "--config", config, "--no-file", "--json"]).stdout)["schedules"][0]["settings"]
    assert settings["warmup_steps"] == 15 and any("warmup updates anyway" in n for n in settings["notes"])


def test_other_scheduler_types_run_with_transformers_semantics(tmp_path: Path) -> None:
    text = AXOLOTL_YAML.replace("lr_scheduler: cosine", "lr_scheduler: cosine_with_min_lr\nlr_scheduler_kwargs:\n  min_lr: 2.0e-6")
    config = write(tmp_path, "lora.yml", text.replace("warmup_ratio: 0.03\n", "max_steps: 400\nwarmup_steps: 12\n"))
    settings = json.loads(invoke(["plot", "--config", config, "--no-file", "--json"]).stdout)["schedules"][0]["settings"]
    assert (settings["framework"], settings["scheduler"], settings["warmup_steps"]) == ("hf", "cosine_with_min_lr", 12)
    assert any("cosine_min_lr_ratio only applies to lr_scheduler: cosine" in n for n in settings["notes"])


def test_deepspeed_scheduler_replaces_axolotls_cosine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "zero2.json").write_text(json.dumps({"scheduler": {"type": "WarmupCosineLR", "params": {
        "total_num_steps": "auto", "warmup_num_steps": "auto", "cos_min_ratio": 0.1}}}))
    config = write(tmp_path, "lora.yml", AXOLOTL_YAML.replace("warmup_ratio: 0.03\n", "max_steps: 300\nwarmup_steps: 10\n")
                   + "deepspeed: zero2.json\n")
    settings = json.loads(invoke(["plot", "--config", config, "--no-file", "--json"]).stdout)["schedules"][0]["settings"]
    assert (settings["framework"], settings["scheduler"], settings["warmup_steps"]) == ("deepspeed", "WarmupCosineLR", 10)
    assert settings["notes"][0].startswith("your lr_scheduler: cosine")
    assert "cosine_min_lr_ratio are ignored too" in settings["notes"][0]


BAD = [
    ("hf-spelling", AXOLOTL_YAML.replace("lr_scheduler: cosine", "lr_scheduler_type: cosine"), ["lr_scheduler_type",
                                                                                                  "did you mean lr_scheduler"]),
    ("typo", AXOLOTL_YAML.replace("cosine_min_lr_ratio", "cosine_min_lr_rate"), ["cosine_min_lr_rate", "cosine_min_lr_ratio"]),
    ("missing-lr", AXOLOTL_YAML.replace("learning_rate: 2e-4\n", ""), ["learning_rate is missing"]),
    ("both-warmups", AXOLOTL_YAML + "warmup_steps: 10\n", ["warmup_steps and warmup_ratio", "mutually exclusive"]),
    ("ratio-out-of-range", AXOLOTL_YAML.replace("cosine_min_lr_ratio: 0.01", "cosine_min_lr_ratio: 1.5"),
     ["cosine_min_lr_ratio = 1.5", "between 0.0 and 1.0"]),
    ("unknown-scheduler", AXOLOTL_YAML.replace("lr_scheduler: cosine", "lr_scheduler: cosin"), ["lr_scheduler = 'cosin'",
                                                                                                "did you mean 'cosine'"]),
    ("not-a-number", AXOLOTL_YAML.replace("cosine_min_lr_ratio: 0.01", "cosine_min_lr_ratio: one percent"),
     ["cosine_min_lr_ratio", "must be a number"]),
    ("text-kwarg", AXOLOTL_YAML.replace("lr_scheduler: cosine", "lr_scheduler: cosine_with_min_lr\nlr_scheduler_kwargs:\n"
                                                                "  min_lr: 2e-6"), ["lr_scheduler_kwargs.min_lr", "'2e-6'"]),
    ("malformed", AXOLOTL_YAML + "learning_rate: [\n", ["invalid YAML"]),
]


@pytest.mark.parametrize("text, expect", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_axolotl_yaml_exits_2(tmp_path: Path, text: str, expect: list[str]) -> None:
    config = write(tmp_path, "lora.yml", text)
    before = sorted(os.listdir(tmp_path))
    result = invoke(["plot", "--config", config, "--config-flavor", "axolotl", "--dataset-size", 1000, "-o",
                     tmp_path / "x.png"], exit_code=2)
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "lora.yml" in line, line
    for fragment in expect:
        assert fragment in line, (fragment, line)
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("case", json.loads((Path(__file__).parent / "data" / "axolotl_vectors.json").read_text())["real"],
                         ids=lambda c: c["config"])
def test_the_real_axolotl_configs_equal_axolotls_own_code(case: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real configs of ../shared/real-world run for 1,000 updates (--steps): warmup from Axolotl's
    _configure_warmup_and_logging, LRs from its scheduler lambdas (tests/data/make_axolotl_vectors.py)."""
    from realworld import REAL_CONFIGS

    path = REAL_CONFIGS / "axolotl" / case["config"]
    if not path.is_file():
        pytest.skip("../shared/real-world is not beside the repository")
    monkeypatch.chdir(path.parent)  # its deepspeed: reference is relative to the launch folder
    import yaml

    # a floor at the peak (cosine_min_lr_ratio: 1.0 in one real file) is advise's F01, and plot's exit 1 too
    floor_at_peak = (yaml.safe_load(path.read_text()).get("cosine_min_lr_ratio") or 0) >= 1
    result = invoke(["plot", "--config", path, "--steps", case["total"], "--format", "csv", "-o", "-"],
                    1 if floor_at_peak else 0)
    lrs = np.array([float(line.split(",")[1]) for line in result.stdout.strip().splitlines()[1:]])
    expected = np.array(case["lrs"])
    bad = np.flatnonzero(np.abs(lrs - expected) > np.maximum(1e-12 * np.abs(expected), 1e-18))
    assert not len(bad), f"update {bad[0]}: Axolotl {expected[bad[0]]!r}, lrviz {lrs[bad[0]]!r}"
