"""Issue 12, "the first ten minutes": what a new user reads. The report on stdout and every warning and note on
stderr, rendered once, in every command; no line ending in spaces; 80 columns; a floor above the peak read from a
file; every setting of the run length shown, and in ``--json``.

Each test reproduces one bullet of the issue's "Why" (it failed before the change it names).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import invoke

from lrviz import ScheduleSpec
from lrviz.schedules import lr_at

NARROW = {"COLUMNS": "80"}


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def old_spelling_config(tmp_path: Path) -> str:
    """A LLaMA-Factory YAML with warmup_ratio, the key transformers 5.24 removed: every command warns about it."""
    return write(tmp_path, "lf_lora_sft.yaml",
                 "stage: sft\nfinetuning_type: lora\nlearning_rate: 1.0e-4\nlr_scheduler_type: cosine_with_min_lr\n"
                 "lr_scheduler_kwargs:\n  min_lr: 1.0e-5\nwarmup_ratio: 0.1\nmax_steps: 200\n"
                 "per_device_train_batch_size: 2\ngradient_accumulation_steps: 4\n")


def tensorboard_log(tmp_path: Path) -> str:
    """The LR the config above gives, as TensorBoard exports it (global step s+1 logs update s): check-run notes
    that it reads the 'Value' column."""
    spec = ScheduleSpec("cosine_with_min_lr", 1e-4, 200, 20, {"min_lr": 1e-5})
    lrs = lr_at(spec, np.arange(200))
    rows = "".join(f"1700000000.5,{s + 1},{float(lr)!r}\n" for s, lr in enumerate(lrs))
    return write(tmp_path, "tb.csv", "Wall time,Step,Value\n" + rows)


def commands(tmp_path: Path) -> dict[str, list[str]]:
    config = old_spelling_config(tmp_path)
    return {
        "plot": ["plot", "--config", config, "--no-file"],
        "advise": ["advise", "--config", config, "--dataset-size", "1000"],
        "check-run": ["check-run", tensorboard_log(tmp_path), "--config", config],
    }


@pytest.mark.parametrize("name", ["plot", "advise", "check-run"])
def test_warnings_and_notes_go_to_stderr_once_and_never_to_stdout(name, tmp_path):
    """Issue 12: warnings went to stdout in plot, to stderr in verify, nowhere in check-run."""
    args = commands(tmp_path)[name]
    marker = "overrides the epochs" if name == "advise" else "warmup_ratio"  # advise reports warmup_ratio as T05
    result = invoke(args, 0, env=NARROW)
    lines = result.stderr.splitlines()
    flagged = [line for line in lines if line.startswith(("warning:", "note:"))]
    assert any(marker in line for line in flagged), result.stderr
    assert len(flagged) == len(set(flagged)), result.stderr  # each rendered once
    for word in ("warning:", "note:"):
        assert word not in result.stdout, result.stdout  # what 2>/dev/null leaves is the report alone
    if name == "check-run":
        assert any("TensorBoard" in line for line in flagged), result.stderr
    as_json = invoke(args + ["--json"], 0)
    json.loads(as_json.stdout)  # stdout is one JSON document, the warnings beside it on stderr
    assert any(marker in line for line in as_json.stderr.splitlines())


@pytest.mark.parametrize("name", ["plot", "advise", "check-run"])
def test_no_output_line_ends_in_a_space(name, tmp_path):
    """Issue 12: table lines carried trailing spaces (rich pads every cell to the column width)."""
    result = invoke(commands(tmp_path)[name], 0, env=NARROW)
    for stream in (result.stdout, result.stderr):
        padded = [line for line in stream.splitlines() if line != line.rstrip()]
        assert not padded, padded


@pytest.mark.parametrize("args", [
    ["plot", "--no-file"],
    ["plot", "--compare", "cosine,linear", "--no-file"],
    ["plot", "--compare-frameworks", "hf,deepspeed,torch", "--no-file"],
    ["plot", "--dataset-size", "10000", "--batch-size", "4", "--grad-accum", "4", "--gpus", "2", "--no-file"],
    ["advise", "--min-lr", "1e-8", "--profile", "lora"],
    ["advise", "--verbose"],
])
def test_no_trailing_spaces_in_other_reports(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(args, 0, env=NARROW)
    padded = [line for line in result.stdout.splitlines() if line != line.rstrip()]
    assert not padded, padded


def test_provenance_is_wrapped_not_cut_at_80_columns(tmp_path):
    """Issue 12: at 80 columns the provenance column was cut ('lf_lora_sft.yaml:lr_scheduler_kwarg…')."""
    out = invoke(commands(tmp_path)["plot"], 0, env=NARROW).stdout
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    origin = "".join(line.split("│")[-1].strip() for line in out.splitlines() if "│" in line)
    assert "lf_lora_sft.yaml:lr_scheduler_kwargs.min_lr" in origin  # the lines of the column, joined, say it whole


# ---------------------------------------------------------------------------------- a floor above the peak


def test_floor_above_the_peak_from_a_file_is_advise_s_f01(tmp_path):
    """Issue 12: a floor above the peak read from a file got 'lower --min-lr' (a flag the user never gave), a
    'not reached' line and a key-updates table that called the last update the peak, with exit 0."""
    config = write(tmp_path, "above.yaml", "learning_rate: 1.0e-5\nlr_scheduler_type: cosine_with_min_lr\n"
                                           "lr_scheduler_kwargs:\n  min_lr: 2.0e-5\nmax_steps: 100\nwarmup_steps: 10\n")
    result = invoke(["plot", "--config", config, "--no-file"], 1, env={"COLUMNS": "200"})
    out, everything = result.stdout, result.stdout + result.stderr
    assert "--min-lr" not in everything
    assert "not reached" not in out
    key_updates = out.split("key updates", 1)[1].split("Floor", 1)[0]
    labels = [line.split("│")[-1].strip() for line in key_updates.splitlines() if "│" in line]
    assert labels[-2:] == ["last update", "after the run"] and not any("peak" in label for label in labels), labels
    assert "F01" in out and "above.yaml:lr_scheduler_kwargs.min_lr" in out
    # the same finding, worded the same, as advise gives it
    advice = json.loads(invoke(["advise", "--config", config, "--json"], 1).stdout)
    (f01,) = [f for f in advice["findings"] if f["rule"] == "F01"]
    assert f01["message"] in " ".join(out.split()) and f01["fix"] in " ".join(out.split())
    document = json.loads(invoke(["plot", "--config", config, "--no-file", "--json"], 1).stdout)
    assert [f["rule"] for f in document["schedules"][0]["findings"]] == ["F01"]


def test_floor_above_the_peak_warning_in_verify_and_check_run_names_the_file_key(tmp_path):
    from lrviz.resolve import Options, resolve
    from lrviz.configs import read_config

    config = write(tmp_path, "above.yaml", "learning_rate: 1.0e-5\nlr_scheduler_type: cosine_with_min_lr\n"
                                           "lr_scheduler_kwargs:\n  min_lr: 2.0e-5\nmax_steps: 100\n")
    (note,) = [n for n in resolve(Options(), read_config(config)).notes if "above the peak" in n]
    assert "above.yaml:lr_scheduler_kwargs.min_lr" in note and "--min-lr" not in note
    (flag_note,) = resolve(Options(lr=1e-5, min_lr=2e-5)).notes
    assert "--min-lr" in flag_note


# ---------------------------------------------------------------------------------- the settings table


def test_settings_table_shows_every_run_length_value_and_json_has_them(tmp_path):
    """Issue 12: the settings table left batch size, gradient accumulation, GPUs, epochs, dataset size and drop
    last empty, and --json left them out."""
    config = write(tmp_path, "run.yaml", "learning_rate: 2.0e-4\nlr_scheduler_type: cosine\n"
                                         "per_device_train_batch_size: 4\nnum_train_epochs: 2\n")
    args = ["plot", "--config", config, "--dataset-size", "10000", "--grad-accum", "4", "--gpus", "2", "--no-file"]
    out = invoke(args, 0, env={"COLUMNS": "200"}).stdout
    rows = {line.split("│")[0].strip(): [cell.strip() for cell in line.split("│")[1:]]
            for line in out.split("key updates")[0].splitlines() if "│" in line}
    assert rows["dataset size"] == ["10,000", "flag --dataset-size"]
    assert rows["batch size"] == ["4", "run.yaml:per_device_train_batch_size"]
    assert rows["grad accum"] == ["4", "flag --grad-accum"]
    assert rows["gpus"] == ["2", "flag --gpus"]
    assert rows["epochs"] == ["2", "run.yaml:num_train_epochs"]
    assert rows["drop last"] == ["False", "default (transformers)"]
    # ceil(2 × ceil(ceil(10000 / (4×2)) / 4)) = 626, as the Trainer counts
    assert rows["optimizer updates"][0] == "626"
    settings = json.loads(invoke(args + ["--json"]).stdout)["schedules"][0]["settings"]
    assert settings["run_length"] == {"dataset_size": 10000, "batch_size": 4, "grad_accum": 4, "gpus": 2, "epochs": 2,
                                      "drop_last": False}


@pytest.mark.slow
def test_verify_warnings_on_stderr_and_report_without_trailing_spaces(tmp_path):
    pytest.importorskip("torch")
    # warmup_ratio is refused by the Trainer that verify runs (exit 2); a float without a dot is only a warning there
    config = write(tmp_path, "lf_lora_sft.yaml",
                   "stage: sft\nfinetuning_type: lora\nlearning_rate: 1e-4\nlr_scheduler_type: cosine_with_min_lr\n"
                   "lr_scheduler_kwargs:\n  min_lr: 1.0e-5\nwarmup_steps: 3\nmax_steps: 40\n"
                   "per_device_train_batch_size: 2\n")
    result = invoke(["verify", "--device", "cpu", "--config", config, "--steps", "20"], 0, env=NARROW)
    assert any(line.startswith("warning:") and "learning_rate is written 1e-4" in line
               for line in result.stderr.splitlines())
    assert "warning:" not in result.stdout and "note:" not in result.stdout
    padded = [line for line in result.stdout.splitlines() if line != line.rstrip()]
    assert not padded, padded


def test_report_console_strips_only_the_ends_of_lines():
    import io

    from lrviz.diagnostics import _NoTrailingSpaces

    stream = io.StringIO()
    out = _NoTrailingSpaces(stream)
    out.write("a  b   \nc \x1b[0m\n")
    out.write("open ")
    out.flush()  # a line printed with end="" keeps its space: more may follow on it
    out.write("line  \n")
    assert stream.getvalue() == "a  b\nc\x1b[0m\nopen line\n"
