"""check-run's log readers: the three formats, column guessing, printed precision, and every kind of bad input
(one line on stderr naming the file, the problem and the fix; exit 2; no traceback; no output file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import invoke
from realworld import REAL_LOGS, requires_real_world
from lrviz.logs import LogError, read_log
from lrviz.logs.table import FLOAT32_ROUNDING, significant_digits

DATA = Path(__file__).parent / "data"
DHEENA = REAL_LOGS / "tinyllama-lora" / "trainer_state.json"  # Dheena731/tinyLlama-finetune@6c71f96fae31

# LLaMA-Factory trainer_log.jsonl lines quoted verbatim in hiyouga/LlamaFactory #774 (users.md C6).
LLAMAFACTORY_LINES = [
    '{"current_steps": 3220, "total_steps": 3235, "loss": 4.4458, "eval_loss": null, "predict_loss": null, "reward": null, "learning_rate": 2.6523817248214068e-09, "epoch": 1.0, "percentage": 99.54, "elapsed_time": "5:15:22", "remaining_time": "0:01:28"}',
    '{"current_steps": 3230, "total_steps": 3235, "loss": 4.4598, "eval_loss": null, "predict_loss": null, "reward": null, "learning_rate": 2.9471371284783834e-10, "epoch": 1.0, "percentage": 99.85, "elapsed_time": "5:16:20", "remaining_time": "0:00:29"}',
    '{"current_steps": 3235, "total_steps": 3235, "loss": null, "eval_loss": null, "predict_loss": null, "reward": null, "learning_rate": null, "epoch": 1.0, "percentage": 100.0, "elapsed_time": "5:16:48", "remaining_time": "0:00:00"}',
]


@requires_real_world
def test_trainer_state_skips_eval_entries_and_keeps_run_facts():
    run = read_log(str(DHEENA))
    history = json.loads(DHEENA.read_text())["log_history"]
    with_lr = [entry for entry in history if "learning_rate" in entry]
    assert run.fmt == "hf" and len(run) == len(with_lr) == 186
    assert run.skipped == len(history) - len(with_lr)
    assert run.steps[:4].tolist() == [15, 30, 45, 60]
    assert run.lr[0] == 2.456140350877193e-06  # users.md C5, verbatim
    assert (run.total_steps, run.logging_steps, run.save_steps, run.global_step) == (2808, 15, 200, 2800)
    assert run.rounding == 0.0


def test_llamafactory_jsonl(tmp_path):
    path = tmp_path / "trainer_log.jsonl"
    path.write_text("\n".join(LLAMAFACTORY_LINES) + "\n")
    run = read_log(str(path))
    assert run.fmt == "llamafactory"
    assert run.steps.tolist() == [3220, 3230]  # the closing line has learning_rate: null
    assert run.lr.tolist() == [2.6523817248214068e-09, 2.9471371284783834e-10]
    assert run.total_steps == 3235 and run.skipped == 1


def test_csv_from_wandb_with_min_max_columns_and_empty_cells(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text('"Step","run-7 - train/learning_rate","run-7 - train/learning_rate__MIN","run-7 - train/learning_rate__MAX"\n'
                    '1,0,0,0\n2,,,\n3,0.0005,0.0005,0.0005\n')
    run = read_log(str(path))
    assert run.columns == ("Step", "run-7 - train/learning_rate")
    assert run.steps.tolist() == [1, 3] and run.skipped == 1


def test_csv_from_tensorboard_is_read_at_float32_precision(tmp_path):
    values = np.float32([0.0, 2.5e-4, 5e-4, 7.5e-4, 1e-3]).astype(np.float64)
    path = tmp_path / "tb.csv"
    path.write_text("Wall time,Step,Value\n" + "".join(f"1700000000.5,{i + 1},{float(v)!r}\n" for i, v in enumerate(values)))
    run = read_log(str(path))
    assert run.columns == ("Step", "Value")
    assert run.rounding == FLOAT32_ROUNDING
    assert any("float32" in note for note in run.notes)


def test_csv_printed_with_few_digits(tmp_path):
    path = tmp_path / "lr.csv"
    path.write_text("step,lr\n1,0\n2,0.00025\n3,0.000998\n4,0.000968117\n")
    assert read_log(str(path)).rounding == pytest.approx(5e-6)  # at most 6 significant digits: rounded to 5e-6


@pytest.mark.parametrize("text, digits", [("1.93333e-05", 6), ("0.00025", 2), ("1e-05", 1), ("2.456140350877193e-06", 16), ("100", 1)])
def test_significant_digits(text, digits):
    assert significant_digits(text) == digits


def test_csv_columns_can_be_named(tmp_path):
    path = tmp_path / "custom.csv"
    path.write_text("it,my_rate,loss\n1,0.1,3\n2,0.2,2\n")
    with pytest.raises(LogError, match="no step column"):
        read_log(str(path))
    run = read_log(str(path), step_column="it", lr_column="my_rate")
    assert run.lr.tolist() == [0.1, 0.2]


# ------------------------------------------------------------------------------------------ bad input


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (extra args, text the one-line error must contain)."""
    files = {
        "empty.json": b"",
        "blank.csv": b"\n  \n",
        "no_lr.json": json.dumps({"log_history": [{"step": 200, "eval_loss": 1.6}], "max_steps": 10}).encode(),
        "lfs_pointer.json": b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146c4f7a9e4d5cbf5c0a1d5e0e0\nsize 52414\n",
        "events.out.tfevents.1700000000.host.1.0": b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 88123\n",
        "events.out.tfevents.1700000000.host.2.0": b"\x10\x00\x00\x00\x00\x00\x00\x00garbage that is no event record",
        "truncated.jsonl": b'{"current_steps": 1, "lr": 1e-5}\n{"current_steps": 2, "lr": 2e-5, "epo',
        "truncated.json": b'{"log_history": [{"step": 1, "learning_rate": 1e-5}, {"step": 2, "learn',
        "no_lr.jsonl": b'{"current_steps": 10, "total_steps": 20, "loss": 1.0}\n{"current_steps": 20, "total_steps": 20}\n',
        "megatron_no_lr.log": b" iteration       10/     100 | consumed samples:          80 | lm loss: 7.0E+00 |\n",
        "nan.json": b'{"log_history": [{"step": 1, "learning_rate": 0.0}, {"step": 2, "learning_rate": NaN}]}',
        "nan.csv": b"step,lr\n1,0.0\n2,nan\n",
        "binary.json": bytes(range(256)) * 4,
        "latin1.csv": "step,lr\n1,0.5\n# caf\xe9\n".encode("latin-1"),
        "malformed.json": b'{"log_history": [{"step": 1, "learning_rate": 1e-5},',
        "malformed.jsonl": b'{"current_steps": 1, "learning_rate": 1e-5}\n{"current_steps": 2, "learning_\n',
        "ragged.csv": b"step,lr\n1,0.5\n2,0.4,extra\n",
        "text_value.csv": b"step,lr\n1,0.5\n2,high\n",
        "unknown_columns.csv": b"time,value_a,value_b\n1,2,3\n",
        "negative.json": json.dumps({"log_history": [{"step": 1, "learning_rate": -1e-5}]}).encode(),
        "not_state.json": json.dumps({"learning_rate": 2e-4, "lr_scheduler_type": "cosine"}).encode(),
    }
    for name, content in files.items():
        (tmp / name).write_bytes(content)
    (tmp / "run_dir").mkdir()
    (tmp / "run_dir" / "trainer_state.json").write_text("{}")
    return {
        "empty.json": ([], "is empty"),
        "blank.csv": ([], "is empty"),
        "no_lr.json": ([], "has a learning rate"),
        "lfs_pointer.json": ([], "is a Git LFS pointer, not the log (the real file has 52414 bytes)"),
        "events.out.tfevents.1700000000.host.1.0": ([], "is a Git LFS pointer"),
        "events.out.tfevents.1700000000.host.2.0": ([], "is not a readable TensorBoard event file"),
        "truncated.jsonl": ([], "the file ends in the middle of a line"),
        "truncated.json": ([], "the JSON ends early"),
        "no_lr.jsonl": ([], "none of its 2 lines has a learning rate"),
        "megatron_no_lr.log": ([], "learning rate"),
        "nan.json": ([], "is NaN"),
        "nan.csv": ([], "is NaN"),
        "binary.json": ([], "is a binary file"),
        "latin1.csv": ([], "is not UTF-8"),
        "malformed.json": ([], "the JSON ends early"),
        "malformed.jsonl": ([], "line 2 is not valid JSON"),
        "ragged.csv": ([], "line 3 has 3 fields but the header has 2"),
        "text_value.csv": ([], "'high' is not a number"),
        "unknown_columns.csv": ([], "--step-column NAME --lr-column NAME"),
        "negative.json": ([], "is negative"),
        "not_state.json": ([], "has no log_history"),
        "run_dir": ([], "is a directory; give the file inside it"),
        "missing.json": ([], "no such file"),
    }


BAD_NAMES = sorted([
    "empty.json", "blank.csv", "no_lr.json", "lfs_pointer.json", "events.out.tfevents.1700000000.host.1.0",
    "events.out.tfevents.1700000000.host.2.0", "truncated.jsonl", "truncated.json", "no_lr.jsonl", "megatron_no_lr.log",
    "nan.json", "nan.csv", "binary.json",
    "latin1.csv", "malformed.json", "malformed.jsonl", "ragged.csv", "text_value.csv", "unknown_columns.csv",
    "negative.json", "not_state.json", "run_dir", "missing.json",
])


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(name, tmp_path):
    cases = _bad_inputs(tmp_path)
    extra, expected = cases[name]
    path = tmp_path / name
    overlay = tmp_path / "overlay.png"
    result = invoke(["check-run", path, *extra, "-o", overlay], 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and expected in lines[0], lines[0]
    assert result.stdout == ""
    assert not overlay.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lrviz-")] == []


@pytest.mark.parametrize("args, expected", [
    (["--lr-column", "nope"], "--lr-column 'nope': "),
    (["--step-column", "step"], "--step-column only applies to CSV logs"),
    (["-o", "overlay.csv"], "use .png, .svg or .pdf"),
    (["--config", "a.json", "--config", "b.json"], "one --config"),
    (["--log-convention", "sideways"], "--log-convention"),
])
def test_bad_options_are_exit_2(args, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text('{"learning_rate": 1e-5, "max_steps": 10}')
    log = tmp_path / "lr.csv" if "--lr-column" in args else tmp_path / "trainer_state.json"
    if log.name == "lr.csv":
        log.write_text("step,lr\n1,0.1\n")
    else:
        log.write_text(json.dumps({"max_steps": 10, "log_history": [{"step": s, "learning_rate": 1e-3 * (10 - s)}
                                                                    for s in range(1, 10)]}))
    result = invoke(["check-run", log, *args], 2)
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_csv_without_run_length_needs_steps_in_compare_mode(tmp_path):
    log = tmp_path / "lr.csv"
    log.write_text("step,lr\n1,0.0\n2,0.5\n")
    result = invoke(["check-run", log, "--scheduler", "cosine"], 2)
    assert "--steps" in result.stderr and "does not record the run length" in result.stderr
