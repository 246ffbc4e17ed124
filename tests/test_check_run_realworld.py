"""check-run on every real public log in ``../shared/real-world/logs/``: each is read, and the schedule that
transformers' own scheduler reproduces exactly (``data/real_log_schedules.json``, made by
``data/make_real_log_schedules.py``) is the one inferred, or an equal alternative with what decides; every step
the run lost is reported with its range; the resumed LLaMA-Factory run is reported as a resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import invoke
from realworld import REAL_LOGS, real_files, requires_real_world

pytestmark = requires_real_world

EXPECTED = json.loads((Path(__file__).parent / "data" / "real_log_schedules.json").read_text())["runs"]
LOG_FILES = [path.relative_to(REAL_LOGS).as_posix() for path in real_files(REAL_LOGS, "trainer_state.json", "trainer_log.jsonl")]


def check(path: Path) -> dict:
    name = path.relative_to(REAL_LOGS).as_posix()
    code = 1 if EXPECTED[name]["lost_steps"] else 0  # lost steps are errors; a resume or a checkpoint copy is not
    return json.loads(invoke(["check-run", path, "--json"], code).stdout)


def same_schedule(settings: dict, expected: dict) -> bool:
    kwargs = {k: v for k, v in settings["scheduler_kwargs"].items() if v not in (None, 0.0) or k in expected["scheduler_kwargs"]}
    return (settings["scheduler"], settings["peak_lr"], settings["warmup_steps"]) == \
        (expected["scheduler"], expected["peak_lr"], expected["warmup_steps"]) and \
        all(kwargs.get(k) == v for k, v in expected["scheduler_kwargs"].items())


def test_every_real_log_has_a_worked_out_schedule():
    assert LOG_FILES and sorted(LOG_FILES) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_schedule_transformers_reproduces_is_inferred(name):
    expected = EXPECTED[name]
    document = check(REAL_LOGS / name)
    inferred = document["inferred"]
    readings = [(inferred["settings"], inferred["convention"])] + \
        [(alt["settings"], alt["convention"]) for alt in inferred["alternatives"]]
    matches = [(s, c) for s, c in readings if same_schedule(s, expected) and c == expected["convention"]]
    assert matches, (name, readings)
    settings, _ = matches[0]
    low_high = inferred["ranges"].get("total_steps")
    if low_high:  # a log that cannot pin the run length down: the length must lie in the range given
        assert low_high[0] <= expected["total_steps"] and (low_high[1] is None or expected["total_steps"] <= low_high[1])
    else:
        assert settings["total_steps"] == expected["total_steps"]
    if readings.index(matches[0]) != 0:
        assert inferred["deciding"], "an equal alternative comes with what decides"
    assert document["max_relative_error_at_matched_update"] <= 1e-12  # every point explained exactly


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if EXPECTED[n]["lost_steps"]))
def test_every_real_skip_is_reported_with_its_range(name):
    document = check(REAL_LOGS / name)
    spans = {tuple(f["steps"]): f["title"] for f in document["findings"] if f["cause"] == "skipped-step"}
    for low, high, count in EXPECTED[name]["lost_steps"]:
        assert (low, high) in spans, (low, high, spans)
        words = "one scheduler step" if count == 1 else f"{count} scheduler steps"
        assert spans[(low, high)].startswith(words), spans[(low, high)]
    assert len(spans) == len(EXPECTED[name]["lost_steps"])
    assert not document["followed"]


def test_the_resumed_llamafactory_run_is_a_resume_not_an_error():
    path = REAL_LOGS / "lf-qwen25-3b-full" / "trainer_log.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    document = check(path)
    resume = [f for f in document["findings"] if f["cause"] == "resume"]
    assert len(resume) == 1 and resume[0]["severity"] == "info"
    # the second run starts over (elapsed_time from 0:02:38) at step 5010, after the first logged up to 5240
    restart = next(i for i in range(1, len(lines)) if lines[i]["current_steps"] < lines[i - 1]["current_steps"] - 100)
    assert lines[restart]["elapsed_time"] == "0:02:38"
    assert (lines[restart]["current_steps"], lines[restart - 1]["current_steps"]) == (5010, 5220)
    assert resume[0]["steps"] == [5010, 5240]
    assert f"line {restart + 1:,}" in resume[0]["evidence"]
    assert document["followed"] is True
    assert document["log"]["points"] == len({line["current_steps"] for line in lines if "lr" in line})


@pytest.mark.parametrize("name, title", [
    ("mt5-az-news/trainer_state.json", "the log is a checkpoint copy: global_step 7,000 of max_steps 9,411"),
])
def test_checkpoint_copies_are_named_as_such(name, title):
    document = check(REAL_LOGS / name)
    stopped = [f for f in document["findings"] if f["cause"] == "stopped-early"]
    assert stopped and stopped[0]["title"] == title and stopped[0]["severity"] == "warning"


@pytest.mark.parametrize("name", ["lf-qwen25-3b-full/trainer_log.jsonl", "nsllm-qwen3-cpt/trainer_log.jsonl"])
def test_current_llamafactory_logs_with_the_lr_key_are_read(name):
    path = REAL_LOGS / name
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert any("lr" in line for line in lines) and not any("learning_rate" in line for line in lines)
    from lrviz.logs import read_log

    run = read_log(str(path))
    by_step = {line["current_steps"]: line["lr"] for line in lines if line.get("lr") is not None}
    assert dict(zip(run.steps.tolist(), run.lr.tolist())) == by_step
