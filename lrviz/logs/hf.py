"""Hugging Face ``trainer_state.json``: the ``log_history`` entries that carry a ``learning_rate``."""

from __future__ import annotations

import json
from typing import Any

from . import LoggedRun, LogError
from ..textfile import parse_json
from ._files import as_lr, as_step, checked_points, no_lr_error


def read_trainer_state(path: str, text: str) -> LoggedRun:
    data = parse_json(text, label=path, error=LogError, fix="a trainer_state.json is written whole by the Trainer: copy "
                      "it again, or use --log-format if it is not one")
    if isinstance(data, list):
        history, meta = data, {}
    elif isinstance(data, dict):
        if "log_history" not in data:
            keys = ", ".join(sorted(map(str, data))[:6]) or "none"
            raise LogError(f"{path} has no log_history (its keys: {keys}); give the run's trainer_state.json, which "
                           "the Trainer writes to output_dir and to every checkpoint-N folder")
        history, meta = data["log_history"], data
    else:
        raise LogError(f"{path}: expected a trainer_state.json object with log_history, got a JSON {type(data).__name__}")
    if not isinstance(history, list):
        raise LogError(f"{path}: log_history is a {type(history).__name__}, not a list of log entries")

    steps: list[int] = []
    values: list[float] = []
    where: list[str] = []
    skipped = 0
    for index, entry in enumerate(history):
        if not isinstance(entry, dict):
            raise LogError(f"{path}: log_history entry {index} is {json.dumps(entry)[:40]}, not an object")
        if entry.get("learning_rate") is None:
            skipped += 1
            continue
        place = f"log_history[{index}]"
        lr = as_lr(entry["learning_rate"])
        if lr is None:
            raise LogError(f"{path}: learning_rate in {place} is {entry['learning_rate']!r}, not a number")
        if "step" not in entry:
            raise LogError(f"{path}: {place} has a learning_rate but no step; the file was edited or is not a "
                           "trainer_state.json")
        step = as_step(entry["step"])
        if step is None:
            raise LogError(f"{path}: step in {place} is {entry['step']!r}, not a whole number")
        steps.append(step)
        values.append(lr)
        where.append(place)
    if not steps:
        raise no_lr_error(path, len(history), "log_history entries")
    step_array, lr_array = checked_points(path, steps, values, where)
    return LoggedRun(
        path=path, fmt="hf", steps=step_array, lr=lr_array,
        total_steps=_positive(meta.get("max_steps")), logging_steps=_positive(meta.get("logging_steps")),
        save_steps=_positive(meta.get("save_steps")), global_step=_positive(meta.get("global_step")), skipped=skipped,
    )


def _positive(value: Any) -> int | None:
    step = as_step(value)
    return step if step is not None and step > 0 else None
