"""``lrviz plot`` happy paths: exact per-update exports, run-length arithmetic, config files, figures, speed.

The per-update export is compared with the real transformers scheduler, stepped the way the Trainer steps it:
read the LR the update uses, ``optimizer.step()``, then ``scheduler.step()``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from cli_helpers import invoke as cli_invoke


WIDE = {"COLUMNS": "200", "LINES": "50"}  # rich wraps long table cells at 80 columns otherwise


def invoke(args: list[Any], exit_code: int = 0, *, env: dict[str, str] | None = None) -> Result:
    return cli_invoke(args, exit_code, env={**WIDE, **(env or {})})


def no_part_files(folder: Path) -> None:
    assert sorted(p.name for p in folder.rglob(".lrviz-*.part")) == []


def settings_of(result: Result, index: int = 0) -> dict[str, Any]:
    return json.loads(result.stdout)["schedules"][index]["settings"]


def same_lr(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-18)


# ------------------------------------------------------------------------------ (a), (b): exact exports


@pytest.fixture(scope="module")
def transformers_lrs() -> list[float]:
    """The LR each of 1000 updates uses under transformers' cosine_with_min_lr (2e-4 -> 2e-6, 30 warmup)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")

    weight = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
    optimizer = torch.optim.AdamW([weight], lr=2e-4)
    scheduler = transformers.get_scheduler(
        "cosine_with_min_lr", optimizer, num_warmup_steps=30, num_training_steps=1000,
        scheduler_specific_kwargs={"min_lr": 2e-6},
    )
    lrs = []
    for _ in range(1000):
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        weight.grad = torch.full_like(weight, 0.5)
        optimizer.step()
        scheduler.step()
    assert lrs[0] == 0.0 and lrs[30] == 2e-4 and lrs[-1] > 2e-6  # warmup from 0, peak, floor after the run
    return lrs


def test_csv_to_stdout_matches_transformers(transformers_lrs: list[float]) -> None:
    result = invoke(["plot", "--lr", "2e-4", "--min-lr", "2e-6", "--format", "csv", "-o", "-"])
    lines = result.stdout.splitlines()
    assert lines[0] == "step,lr"
    rows = list(csv.reader(io.StringIO(result.stdout)))[1:]
    assert len(rows) == 1000
    assert [int(step) for step, _ in rows] == list(range(1000))
    mismatches = [(s, float(lr), transformers_lrs[s]) for s, (_, lr) in enumerate(rows) if not same_lr(float(lr), transformers_lrs[s])]
    assert mismatches == [], mismatches[:10]
    # the report went to stderr, not into the CSV
    assert "key updates" in result.stderr


def test_json_file_matches_transformers(tmp_path: Path, transformers_lrs: list[float]) -> None:
    target = tmp_path / "schedule.json"
    result = invoke(["plot", "--lr", "2e-4", "--min-lr", "2e-6", "--format", "json", "-o", target])
    assert f"wrote {target}" in result.stdout.replace("\n", "")
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["lrviz_version"] == version("lrviz")
    assert document["command"] == "plot"
    assert document["step"] == list(range(1000))
    assert len(document["lr"]) == 1000
    assert all(same_lr(a, b) for a, b in zip(document["lr"], transformers_lrs))
    settings = document["schedules"][0]["settings"]
    assert settings["warmup_steps"] == 30
    assert settings["total_steps"] == 1000
    assert settings["peak_lr"] == 2e-4
    assert settings["scheduler_kwargs"] == {"min_lr": 2e-6}
    assert sorted(os.listdir(tmp_path)) == ["schedule.json"]


# ---------------------------------------------------------------------------------- (c): run length


DATASET_ARGS = ["--dataset-size", "10000", "--batch-size", "4", "--grad-accum", "4", "--gpus", "2", "--epochs", "3"]


def test_dataset_size_arithmetic_is_printed() -> None:
    result = invoke(["plot", *DATASET_ARGS, "--no-file"])
    assert "total = ceil(3 × ceil(ceil(10000 / (4×2)) / 4)) = 939" in result.stdout
    assert "warmup = ceil(0.03 × 939) = 29" in result.stdout


def test_dataset_size_arithmetic_in_json_provenance() -> None:
    settings = settings_of(invoke(["plot", *DATASET_ARGS, "--no-file", "--json"]))
    assert settings["total_steps"] == 939
    assert settings["warmup_steps"] == 29
    assert settings["provenance"]["total_steps"] == "derived: total = ceil(3 × ceil(ceil(10000 / (4×2)) / 4)) = 939"
    assert settings["provenance"]["warmup_steps"] == "derived: warmup = ceil(0.03 × 939) = 29"


# -------------------------------------------------------------------------------- (d): config files


LLAMAFACTORY_YAML = """\
### model
model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct
stage: sft
do_train: true
finetuning_type: lora
lora_target: all
### train
learning_rate: 1.0e-4
lr_scheduler_type: cosine_with_min_lr
lr_scheduler_kwargs: {kwargs}
warmup_ratio: 0.1
num_train_epochs: 3.0
per_device_train_batch_size: 1
gradient_accumulation_steps: 8
bf16: true
"""


def write_llamafactory(folder: Path, kwargs: str = "{min_lr: 1.0e-6}", name: str = "train_lora.yaml") -> Path:
    path = folder / name
    path.write_text(LLAMAFACTORY_YAML.format(kwargs=kwargs), encoding="utf-8")
    return path


def test_llamafactory_yaml(tmp_path: Path) -> None:
    config = write_llamafactory(tmp_path)
    result = invoke(["plot", "--config", config, "--dataset-size", "1000", "--no-file", "--json"])
    settings = settings_of(result)
    assert settings["scheduler"] == "cosine_with_min_lr"
    assert settings["peak_lr"] == 1e-4
    assert settings["total_steps"] == 375
    assert settings["warmup_steps"] == 38
    assert settings["scheduler_kwargs"] == {"min_lr": 1e-6}
    assert settings["provenance"]["peak_lr"] == "train_lora.yaml:learning_rate"
    assert any("warmup_ratio" in note for note in settings["notes"])
    assert "warning" in result.stderr and "warmup_ratio" in result.stderr  # with --json, warnings go to stderr


def test_llamafactory_yaml_report(tmp_path: Path) -> None:
    config = write_llamafactory(tmp_path)
    result = invoke(["plot", "--config", config, "--dataset-size", "1000", "--no-file"])
    assert "total = ceil(3 × ceil(ceil(1000 / (1×1)) / 8)) = 375" in result.stdout
    assert "warmup = ceil(0.1 × 375) = 38" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert any("warmup_ratio" in line for line in warnings), result.stderr
    assert "warning:" not in result.stdout
    assert os.listdir(tmp_path) == ["train_lora.yaml"]


def test_flags_override_the_config(tmp_path: Path) -> None:
    config = write_llamafactory(tmp_path)
    settings = settings_of(invoke(["plot", "--config", config, "--dataset-size", "1000", "--lr", "3e-4", "--no-file", "--json"]))
    assert settings["peak_lr"] == 3e-4
    assert settings["provenance"]["peak_lr"] == "flag --lr"
    assert settings["scheduler_kwargs"] == {"min_lr": 1e-6}  # the rest still comes from the file
    assert settings["provenance"]["scheduler"] == "train_lora.yaml:lr_scheduler_type"


def test_llamafactory_kwargs_as_json_string(tmp_path: Path) -> None:
    config = write_llamafactory(tmp_path, kwargs="'{\"min_lr\": 1e-6}'")
    settings = settings_of(invoke(["plot", "--config", config, "--dataset-size", "1000", "--no-file", "--json"]))
    assert settings["scheduler_kwargs"] == {"min_lr": 1e-6}
    assert settings["total_steps"] == 375 and settings["warmup_steps"] == 38


def test_llamafactory_float_without_dot_is_a_float_with_a_warning(tmp_path: Path) -> None:
    config = write_llamafactory(tmp_path, kwargs="{min_lr: 2e-6}")
    result = invoke(["plot", "--config", config, "--dataset-size", "1000", "--no-file", "--json"])
    settings = settings_of(result)
    assert settings["scheduler_kwargs"] == {"min_lr": 2e-6}
    assert isinstance(settings["scheduler_kwargs"]["min_lr"], float)
    assert any("2.0e-6" in note for note in settings["notes"]), settings["notes"]
    assert "2.0e-6" in result.stderr


def test_hf_json_training_arguments_with_max_steps(tmp_path: Path) -> None:
    config = tmp_path / "training_args.json"
    config.write_text(json.dumps({
        "output_dir": "out", "learning_rate": 2e-5, "lr_scheduler_type": "cosine_with_min_lr",
        "lr_scheduler_kwargs": {"min_lr_rate": 0.05}, "warmup_steps": 50, "max_steps": 500,
        "per_device_train_batch_size": 16,
    }), encoding="utf-8")
    result = invoke(["plot", "--config", config, "--no-file", "--json"])
    settings = settings_of(result)
    assert settings["peak_lr"] == 2e-5
    assert settings["total_steps"] == 500
    assert settings["warmup_steps"] == 50
    assert settings["scheduler_kwargs"] == {"min_lr_rate": 0.05}
    assert settings["provenance"]["total_steps"] == "training_args.json:max_steps"
    points = json.loads(result.stdout)["schedules"][0]["key_points"]
    assert points["floor"]["lr"] == pytest.approx(1e-6, rel=1e-12)


# -------------------------------------------------------------------------------------- (e): --json


def test_json_is_one_document() -> None:
    result = invoke(["plot", "--json", "--no-file"])
    document = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert document["lrviz_version"] == version("lrviz")
    assert document["command"] == "plot"
    assert document["output"] is None
    key_points = document["schedules"][0]["key_points"]
    labels = [point["label"] for point in key_points["points"]]
    assert "peak" in labels and "last update" in labels
    assert key_points["peak"] == {"step": 30, "lr": 2e-4}


def test_json_with_a_figure_keeps_stdout_pure(tmp_path: Path) -> None:
    target = tmp_path / "x.png"
    document = json.loads(invoke(["plot", "--json", "-o", target]).stdout)
    assert document["output"] == str(target)
    assert target.read_bytes().startswith(b"\x89PNG")


# ------------------------------------------------------------------------------------ (f): figures


MAGIC = {"png": (b"\x89PNG\r\n\x1a\n",), "svg": (b"<?xml", b"<svg"), "pdf": (b"%PDF",)}


@pytest.mark.parametrize("fmt", sorted(MAGIC))
def test_figures_have_the_right_magic(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"schedule.{fmt}"
    result = invoke(["plot", "-o", target])
    assert target.read_bytes().startswith(MAGIC[fmt])
    assert f"wrote {target}" in result.stdout.replace("\n", "")
    no_part_files(tmp_path)
    assert os.listdir(tmp_path) == [target.name]


def test_format_flag_wins_over_a_missing_extension(tmp_path: Path) -> None:
    target = tmp_path / "schedule"
    invoke(["plot", "--format", "svg", "-o", target])
    head = target.read_bytes()[:200]
    assert head.startswith(MAGIC["svg"]) and b"<svg" in head
    no_part_files(tmp_path)


def test_default_output_name_goes_to_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["plot"])
    written = sorted(os.listdir(tmp_path))
    assert len(written) == 1 and written[0].startswith("lrviz_") and written[0].endswith(".png"), written
    assert (tmp_path / written[0]).read_bytes().startswith(MAGIC["png"][0])
    assert written[0] in result.stdout


# -------------------------------------------------------------------------------------- (g): speed


@pytest.mark.parametrize("args", [["--steps", "10**9", "--no-file"], ["--steps", "1000000000000", "--json", "--no-file"]],
                         ids=["1e9-report", "1e12-json"])
def test_huge_runs_are_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    result = invoke(["plot", *args])
    elapsed = time.perf_counter() - start
    assert elapsed < 5, f"{elapsed:.1f} s"
    assert os.listdir(tmp_path) == []
    if "--json" in args:
        assert settings_of(result)["total_steps"] == 10**12
    else:
        assert "1,000,000,000" in result.stdout


# ---------------------------------------------------------------------------------- (h): overlays


def test_compare_writes_one_figure(tmp_path: Path) -> None:
    target = tmp_path / "x.png"
    result = invoke(["plot", "--compare", "cosine,linear", "-o", target])
    assert target.read_bytes().startswith(MAGIC["png"][0])
    assert "cosine" in result.stdout and "linear" in result.stdout
    no_part_files(tmp_path)


def test_compare_json_has_every_schedule() -> None:
    document = json.loads(invoke(["plot", "--compare", "cosine,linear", "--json", "--no-file"]).stdout)
    labels = [schedule["label"] for schedule in document["schedules"]]
    assert labels == ["cosine_with_min_lr", "cosine", "linear"]
    assert [s["settings"]["total_steps"] for s in document["schedules"]] == [1000] * 3


def test_two_configs_overlay(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("learning_rate: 2.0e-5\nlr_scheduler_type: cosine\nmax_steps: 800\nwarmup_steps: 40\n", encoding="utf-8")
    second.write_text("learning_rate: 1.0e-5\nlr_scheduler_type: linear\nmax_steps: 800\n", encoding="utf-8")
    target = tmp_path / "overlay.png"
    result = invoke(["plot", "--config", first, "--config", second, "-o", target])
    assert target.read_bytes().startswith(MAGIC["png"][0])
    assert "a.yaml" in result.stdout and "b.yaml" in result.stdout
    document = json.loads(invoke(["plot", "--config", first, "--config", second, "--json", "--no-file"]).stdout)
    assert [s["label"] for s in document["schedules"]] == ["a.yaml", "b.yaml"]
    assert [s["settings"]["peak_lr"] for s in document["schedules"]] == [2e-5, 1e-5]
    assert [s["settings"]["warmup_steps"] for s in document["schedules"]] == [40, 0]
    assert sorted(os.listdir(tmp_path)) == ["a.yaml", "b.yaml", "overlay.png"]


# ------------------------------------------------------------------------------ (i): warnings, exit 0


def test_warmup_not_shorter_than_the_run_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["plot", "--steps", "100", "--warmup-steps", "200", "--no-file"])
    assert "warning:" in result.stderr and "not shorter than the run" in result.stderr
    assert "warning:" not in result.stdout
    settings = settings_of(invoke(["plot", "--steps", "100", "--warmup-steps", "100", "--no-file", "--json"]))
    assert settings["warmup_steps"] == 100 and any("warmup" in note for note in settings["notes"])


def test_floor_above_peak_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["plot", "--min-lr", "3e-4", "--lr", "2e-4", "--no-file"], 1)  # advise's F01, exit 1
    assert "F01" in result.stdout and "above the peak" in result.stdout
    json_result = invoke(["plot", "--min-lr", "3e-4", "--lr", "2e-4", "--no-file", "--json"], 1)
    assert any("above the peak" in note for note in settings_of(json_result)["notes"])
    (finding,) = json.loads(json_result.stdout)["schedules"][0]["findings"]
    assert finding["rule"] == "F01" and finding["severity"] == "error"
