"""DeepSpeed JSON configs through ``lrviz plot``: alone, or referenced from a Trainer / LLaMA-Factory config.

The must-show case: a LLaMA-Factory YAML asking for ``lr_scheduler_type: cosine`` whose ``deepspeed:`` file has a
``WarmupLR`` block with ``"auto"`` values (the Qwen-VL / LLaVA zero3 configs). lrviz must say that DeepSpeed's
log-shaped warmup-then-constant schedule runs instead, and draw that one; the LRs it prints must be those of the
real ``deepspeed.runtime.lr_schedules.WarmupLR`` with the values transformers fills for ``"auto"``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import invoke

LLAMAFACTORY_YAML = """\
### model
model_name_or_path: Qwen/Qwen2.5-7B-Instruct
### method
stage: sft
do_train: true
finetuning_type: full
deepspeed: examples/deepspeed/ds_z3_config.json
### dataset
dataset: identity,alpaca_en_demo
template: qwen
cutoff_len: 2048
max_samples: 1000
### train
per_device_train_batch_size: 1
gradient_accumulation_steps: 8
learning_rate: 1.0e-5
num_train_epochs: 3.0
lr_scheduler_type: cosine
warmup_ratio: 0.1
bf16: true
"""

ZERO3_WARMUPLR = {
    "fp16": {"enabled": "auto", "loss_scale": 0, "initial_scale_power": 16},
    "bf16": {"enabled": "auto"},
    "optimizer": {"type": "AdamW", "params": {"lr": "auto", "betas": "auto", "eps": "auto", "weight_decay": "auto"}},
    "scheduler": {"type": "WarmupLR", "params": {"warmup_min_lr": "auto", "warmup_max_lr": "auto", "warmup_num_steps": "auto"}},
    "zero_optimization": {"stage": 3, "overlap_comm": True, "stage3_gather_16bit_weights_on_model_save": True},
    "gradient_accumulation_steps": "auto",
    "gradient_clipping": "auto",
    "train_batch_size": "auto",
    "train_micro_batch_size_per_gpu": "auto",
}


def write(folder: Path, name: str, content: Any) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return path


def plot_json(*args: Any) -> dict[str, Any]:
    return json.loads(invoke(["plot", *args, "--no-file", "--json"]).stdout)


def csv_lrs(*args: Any) -> np.ndarray:
    text = invoke(["plot", *args, "--format", "csv", "-o", "-"]).stdout
    rows = [line.split(",") for line in text.strip().splitlines()[1:]]
    return np.array([float(lr) for _, lr in rows])


def real_deepspeed(name: str, params: dict[str, Any], peak: float, updates: int) -> np.ndarray | None:
    """LRs of the real DeepSpeed class on a real optimizer, stepped as the engine steps it; None without deepspeed
    (tests/test_oracle_deepspeed.py's recorded vectors check the math then)."""
    try:
        from deepspeed.runtime import lr_schedules
    except ImportError:
        return None
    import torch

    logging.getLogger("DeepSpeed").setLevel(logging.ERROR)
    weight = torch.nn.Parameter(torch.ones(2))
    weight.grad = torch.ones(2)
    optimizer = torch.optim.AdamW([weight], lr=peak)
    scheduler = getattr(lr_schedules, name)(optimizer, **params)
    lrs = []
    for _ in range(updates):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(lrs)


@pytest.fixture
def llamafactory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A LLaMA-Factory launch folder: the YAML and, relative to it, the DeepSpeed config it names."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "examples/deepspeed/ds_z3_config.json", ZERO3_WARMUPLR)
    return write(tmp_path, "qwen_full_sft_ds3.yaml", LLAMAFACTORY_YAML)


def test_deepspeed_warmuplr_replaces_the_requested_cosine(llamafactory: Path, tmp_path: Path) -> None:
    # max_samples: 1000 caps each dataset: 1,000 + 1,000 examples, batch 1, GA 8 -> 250 updates/epoch, T = 750;
    # W = ceil(0.1 * 750) = 75
    sizes = "identity=1000,alpaca_en_demo=1000"
    result = invoke(["plot", "--config", llamafactory, "--dataset-size", sizes, "-o", tmp_path / "run.png"])
    text = " ".join(result.stdout.split())
    warning = " ".join(result.stderr.split())  # warnings go to stderr, the report to stdout
    assert "lr_scheduler_type: cosine" in warning and "is ignored: ds_z3_config.json's WarmupLR runs instead" in warning
    assert "log-shaped warmup over 75 updates, then a constant LR: no decay" in warning
    assert "deepspeed:WarmupLR" in text
    assert (tmp_path / "run.png").read_bytes().startswith(b"\x89PNG")

    settings = plot_json("--config", llamafactory, "--dataset-size", sizes)["schedules"][0]["settings"]
    assert (settings["framework"], settings["scheduler"]) == ("deepspeed", "WarmupLR")
    assert settings["notes"][0].startswith("your lr_scheduler_type: cosine")
    assert settings["provenance"]["scheduler"] == "ds_z3_config.json:scheduler.type"
    assert (settings["total_steps"], settings["warmup_steps"], settings["peak_lr"]) == (750, 75, 1e-5)
    assert settings["scheduler_kwargs"] == {"warmup_min_lr": 0, "warmup_max_lr": 1e-5}

    drawn = csv_lrs("--config", llamafactory, "--dataset-size", sizes)
    # what transformers hands DeepSpeed for the "auto" values, and what the real WarmupLR then does
    expected = real_deepspeed("WarmupLR", {"warmup_min_lr": 0, "warmup_max_lr": 1e-5, "warmup_num_steps": 75}, 1e-5, 750)
    if expected is not None:
        np.testing.assert_allclose(drawn, expected, rtol=1e-12, atol=1e-18)
    assert drawn[0] == drawn[1] == 0.0 and drawn[75] == 1e-5 and np.all(drawn[75:] == 1e-5)
    assert drawn[10] > 0.5e-5  # log-shaped: over half the peak after 10 of 75 warmup updates


def test_reference_found_next_to_the_config_from_another_folder(llamafactory: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = plot_json("--config", llamafactory, "--steps", 500)["schedules"][0]["settings"]
    assert settings["scheduler"] == "WarmupLR"
    assert any("found next to qwen_full_sft_ds3.yaml" in note for note in settings["notes"])


def test_a_missing_reference_is_the_error_the_trainer_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # transformers (accelerate HfDeepSpeedConfig) raises ValueError for a path that does not exist: exit 2, one line
    monkeypatch.chdir(tmp_path)
    config = write(tmp_path, "run.yaml", LLAMAFACTORY_YAML)
    for command in (["plot", "--no-file"], ["advise"]):
        result = invoke([*command, "--config", config, "--steps", 500], 2)
        assert result.stderr.count("\n") == 1
        assert "run.yaml:deepspeed = examples/deepspeed/ds_z3_config.json was not found" in result.stderr
        assert "Expected a string path to an existing deepspeed config" in result.stderr


def test_reference_without_scheduler_block_keeps_the_trainer_schedule(llamafactory: Path, tmp_path: Path) -> None:
    write(tmp_path, "examples/deepspeed/ds_z3_config.json", {k: v for k, v in ZERO3_WARMUPLR.items() if k != "scheduler"})
    settings = plot_json("--config", llamafactory, "--steps", 500)["schedules"][0]["settings"]
    assert (settings["framework"], settings["scheduler"]) == ("hf", "cosine")
    assert any("has no \"scheduler\" block" in note for note in settings["notes"])


def test_hf_trainer_config_with_warmupcosinelr_auto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "ds.json", {"scheduler": {"type": "WarmupCosineLR", "params": {
        "total_num_steps": "auto", "warmup_num_steps": "auto", "cos_min_ratio": 0.01, "warmup_type": "linear"}}})
    config = write(tmp_path, "args.json", {"learning_rate": 2e-4, "max_steps": 1000, "warmup_steps": 0.03,
                                           "lr_scheduler_type": "cosine_with_min_lr",
                                           "lr_scheduler_kwargs": {"min_lr": 2e-6}, "deepspeed": "ds.json"})
    settings = plot_json("--config", config)["schedules"][0]["settings"]
    assert settings["warmup_steps"] == 30 and settings["total_steps"] == 1000
    assert "lr_scheduler_kwargs (min_lr) are ignored too" in settings["notes"][0]
    expected = real_deepspeed("WarmupCosineLR", {"total_num_steps": 1000, "warmup_num_steps": 30, "cos_min_ratio": 0.01,
                                                 "warmup_type": "linear"}, 2e-4, 1000)
    if expected is not None:
        np.testing.assert_allclose(csv_lrs("--config", config), expected, rtol=1e-12, atol=1e-18)


def test_trainer_without_warmup_gets_one_warmup_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """transformers 5.24 fills warmup_num_steps with max(1, get_warmup_steps(T)), since DeepSpeed rejects 0."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "ds.json", {"scheduler": {"type": "WarmupDecayLR", "params": {
        "total_num_steps": "auto", "warmup_num_steps": "auto", "warmup_min_lr": "auto", "warmup_max_lr": "auto"}}})
    config = write(tmp_path, "args.yaml", "learning_rate: 3.0e-5\nmax_steps: 200\ndeepspeed: ds.json\n")
    settings = plot_json("--config", config)["schedules"][0]["settings"]
    assert settings["warmup_steps"] == 1
    assert "the Trainer's lr_scheduler_type (default linear) is ignored" in settings["notes"][0]
    expected = real_deepspeed("WarmupDecayLR", {"total_num_steps": 200, "warmup_num_steps": 1, "warmup_min_lr": 0,
                                                "warmup_max_lr": 3e-5}, 3e-5, 200)
    if expected is not None:
        np.testing.assert_allclose(csv_lrs("--config", config), expected, rtol=1e-12, atol=1e-18)


def test_standalone_deepspeed_json(tmp_path: Path) -> None:
    config = write(tmp_path, "ds_config.json", {
        "train_micro_batch_size_per_gpu": 4,
        "optimizer": {"type": "AdamW", "params": {"lr": 2e-4}},
        "scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 400, "warmup_num_steps": 12,
                                                             "warmup_min_ratio": 0.1}}})
    settings = plot_json("--config", config)["schedules"][0]["settings"]
    assert settings["provenance"]["peak_lr"] == "ds_config.json:optimizer.params.lr"
    assert settings["provenance"]["total_steps"] == "ds_config.json:scheduler.params.total_num_steps"
    assert settings["provenance"]["kwargs.warmup_type"] == "default (DeepSpeed: log)"
    expected = real_deepspeed("WarmupCosineLR", {"total_num_steps": 400, "warmup_num_steps": 12, "warmup_min_ratio": 0.1},
                              2e-4, 400)
    if expected is not None:
        np.testing.assert_allclose(csv_lrs("--config", config), expected, rtol=1e-12, atol=1e-18)


def test_standalone_auto_is_filled_from_flags(tmp_path: Path) -> None:
    config = write(tmp_path, "ds.json", ZERO3_WARMUPLR)
    settings = plot_json("--config", config, "--lr", 1e-4, "--steps", 300, "--warmup-steps", 20)["schedules"][0]["settings"]
    assert (settings["peak_lr"], settings["total_steps"], settings["warmup_steps"]) == (1e-4, 300, 20)
    assert settings["scheduler_kwargs"] == {"warmup_min_lr": 0, "warmup_max_lr": 1e-4}


def test_warmupdecaylr_without_max_lr_uses_deepspeeds_default(tmp_path: Path) -> None:
    config = write(tmp_path, "ds.json", {"optimizer": {"params": {"lr": 2e-5}},
                                          "scheduler": {"type": "WarmupDecayLR", "params": {"total_num_steps": 100,
                                                                                              "warmup_num_steps": 10}}})
    document = plot_json("--config", config)["schedules"][0]
    assert any("default 0.001 is the peak" in note for note in document["settings"]["notes"])
    assert document["key_points"]["peak"]["lr"] == pytest.approx(1e-3)


@pytest.mark.parametrize("version, rises", [("0.18.0", True), ("0.19.2", True), ("0.19.3", False), (None, False)])
def test_framework_version_selects_the_post_run_behaviour(tmp_path: Path, version: str | None, rises: bool) -> None:
    args = ["--framework", "deepspeed", "--lr", 2e-4, "--min-lr", 2e-6, "--steps", 100, "--warmup-steps", 10]
    if version:
        args += ["--framework-version", version]
    document = plot_json(*args)["schedules"][0]
    assert document["settings"]["framework_version"] == (version or "0.19.8")
    from lrviz import ScheduleSpec, lr_at

    spec = ScheduleSpec(**{k: document["settings"][k] for k in ("scheduler", "peak_lr", "total_steps", "warmup_steps",
                                                                 "scheduler_kwargs", "framework", "framework_version")})
    after = lr_at(spec, np.array([100, 150]))
    assert (after[1] > after[0] * 1.5) == rises


# ------------------------------------------------------------------------------------------ bad input

WARMUPCOSINE = {"scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 100, "warmup_num_steps": 10}}}


def with_params(**params: Any) -> dict[str, Any]:
    return {"scheduler": {"type": "WarmupCosineLR", "params": params}}


BAD_STANDALONE = [
    ("malformed", '{"scheduler": {"type": "WarmupLR",}}', ["invalid JSON", "line 1"]),
    ("unknown-param", with_params(total_num_steps=100, warmup_num_step=10), ["scheduler.params.warmup_num_step",
                                                                             "did you mean 'warmup_num_steps'"]),
    ("unknown-type", {"scheduler": {"type": "WarmupCosine", "params": {}}}, ["scheduler.type", "WarmupCosine",
                                                                             "did you mean 'WarmupCosineLR'"]),
    ("not-modelled-type", {"scheduler": {"type": "CyclicLR", "params": {}}}, ["scheduler.type", "CyclicLR"]),
    ("one-cycle-without-bounds", {"scheduler": {"type": "OneCycle", "params": {}}}, ["scheduler.params.cycle_min_lr", "missing"]),
    ("missing-params", {"scheduler": {"type": "WarmupLR"}}, ["scheduler.params", "missing"]),
    ("missing-total", with_params(warmup_num_steps=10), ["scheduler.params.total_num_steps", "missing"]),
    ("missing-type", {"scheduler": {"params": {}}}, ["scheduler", "\"type\""]),
    ("auto-total-without-trainer", with_params(total_num_steps="auto", warmup_num_steps=10),
     ["scheduler.params.total_num_steps", "auto", "--steps"]),
    ("auto-warmup-without-trainer", with_params(total_num_steps=100, warmup_num_steps="auto"),
     ["scheduler.params.warmup_num_steps", "auto", "--warmup-steps"]),
    ("auto-not-filled", with_params(total_num_steps=100, warmup_num_steps=10, cos_min_ratio="auto"),
     ["scheduler.params.cos_min_ratio", "auto"]),
    ("zero-warmup", with_params(total_num_steps=100, warmup_num_steps=0), ["warmup_num_steps", "positive integer"]),
    ("per-group-list", {"scheduler": {"type": "WarmupLR", "params": {"warmup_max_lr": [1e-4, 2e-4]}}},
     ["scheduler.params.warmup_max_lr", "lists"]),
    ("text-number", with_params(total_num_steps="100", warmup_num_steps=10), ["scheduler.params.total_num_steps", "'100'"]),
    ("no-scheduler-block", {"zero_optimization": {"stage": 2}}, ["no \"scheduler\" block"]),
    ("not-an-object", '["scheduler"]', ["JSON object"]),
]


def assert_bad_input(args: list[Any], expect: list[str], folder: Path) -> None:
    before = sorted(os.listdir(folder))
    result = invoke(["plot", *args, "-o", folder / "out.png"], exit_code=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in expect:
        assert fragment in lines[0], (fragment, lines[0])
    assert sorted(os.listdir(folder)) == before


@pytest.mark.parametrize("content, expect", [c[1:] for c in BAD_STANDALONE], ids=[c[0] for c in BAD_STANDALONE])
def test_bad_deepspeed_json_exits_2_naming_file_and_key(tmp_path: Path, content: Any, expect: list[str]) -> None:
    path = write(tmp_path, "ds_config.json", content)
    assert_bad_input(["--config", path, "--config-flavor", "deepspeed"], ["ds_config.json", *expect], tmp_path)


BAD_REFERENCED = [
    ("total-mismatch", with_params(total_num_steps=500, warmup_num_steps="auto"),
     ["scheduler.params.total_num_steps = 500", "1000 updates", "mismatch", "\"auto\""]),
    ("warmup-mismatch", with_params(total_num_steps="auto", warmup_num_steps=100),
     ["scheduler.params.warmup_num_steps = 100", "= 30", "\"auto\""]),
    ("max-lr-mismatch", {"scheduler": {"type": "WarmupLR", "params": {"warmup_max_lr": 1e-3, "warmup_num_steps": "auto"}}},
     ["scheduler.params.warmup_max_lr = 0.001", "learning_rate", "\"auto\""]),
    ("optimizer-lr-mismatch", {"optimizer": {"params": {"lr": 5e-4}}, **with_params(total_num_steps="auto", warmup_num_steps="auto")},
     ["optimizer.params.lr = 0.0005", "learning_rate"]),
    ("legacy-unknown-warmup-type", with_params(total_num_steps="auto", warmup_num_steps="auto", warmup_type="cosine"),
     ["scheduler.params.warmup_type = 'cosine'", "UnboundLocalError"]),
]


@pytest.mark.parametrize("content, expect", [c[1:] for c in BAD_REFERENCED], ids=[c[0] for c in BAD_REFERENCED])
def test_bad_referenced_deepspeed_json_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: Any,
                                               expect: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "ds.json", content)
    config = write(tmp_path, "args.yaml", "learning_rate: 2.0e-4\nmax_steps: 1000\nwarmup_steps: 0.03\ndeepspeed: ds.json\n")
    version = ["--framework-version", "0.19.3"] if "UnboundLocalError" in expect else []
    assert_bad_input(["--config", config, *version], ["ds.json", *expect], tmp_path)


def test_bad_flags_with_deepspeed(tmp_path: Path) -> None:
    config = write(tmp_path, "ds.json", WARMUPCOSINE)
    assert_bad_input(["--config", config, "--scheduler", "WarmupLR"], ["--scheduler WarmupLR", "scheduler.type"], tmp_path)
    assert_bad_input(["--config", config, "--num-cycles", "1"], ["--num-cycles"], tmp_path)
    assert_bad_input(["--framework", "deepspeed", "--framework-version", "0.12.0"], ["--framework-version 0.12.0", "0.18.0"],
                     tmp_path)
    assert_bad_input(["--framework", "deepspeed", "--framework-version", "latest"], ["--framework-version 'latest'"], tmp_path)
    assert_bad_input(["--framework-version", "5.0"], ["--framework-version '5.0'", "hf"], tmp_path)
    assert_bad_input(["--framework", "deepspeed", "--scheduler", "WarmupLR", "--min-lr", "1e-6"], ["--min-lr", "no floor"],
                     tmp_path)
