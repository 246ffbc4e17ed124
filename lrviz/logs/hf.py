"""Hugging Face ``trainer_state.json``: the ``log_history`` entries that carry a ``learning_rate``.

Read as written by transformers 4.2x to 5.x: ``logging_steps`` absent (before 4.3x), an int, or a float (some
exporters); ``num_train_epochs`` = sys.maxsize for streaming runs; eval entries (at step 0 too) and the summary
entry have no LR and are skipped. A bare JSON list of log entries is read as the ``log_history``."""

from __future__ import annotations

import json
from typing import Any

from .run import LoggedRun, LogError
from ..textfile import parse_json
from ._files import as_lr, as_step, checked_points, fast_points, merge_points, no_lr_error


def read_trainer_state(path: str, text: str) -> LoggedRun:
    try:
        data = parse_json(text, label=path, error=LogError, fix="a trainer_state.json is written whole by the Trainer: "
                          "copy it again, or use --log-format if it is not one")
    except LogError:
        if text.rstrip()[-1:] not in ("}", "]"):
            raise LogError(f"{path}: the JSON ends early: the file is cut (copied while the Trainer was writing it?); "
                           "copy it again once the run saved it") from None
        raise
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

    try:
        fast = fast_points([(entry["step"], lr) for entry in history if (lr := entry.get("learning_rate")) is not None])
    except (TypeError, KeyError, AttributeError):
        fast = None
    if fast is not None:
        step_array, lr_array = fast
        return _run(path, meta, step_array, lr_array, len(history) - len(step_array), (), 0, [])
    steps: list[int] = []
    values: list[float] = []
    places: list[int] = []
    skipped = 0
    for index, entry in enumerate(history):
        if not isinstance(entry, dict):
            raise LogError(f"{path}: log_history entry {index} is {json.dumps(entry)[:40]}, not an object")
        raw = entry.get("learning_rate")
        if raw is None:
            raw = entry.get("lr")
            if raw is None:
                skipped += 1
                continue
        place = f"log_history[{index}]"
        lr = as_lr(raw)
        if lr is None:
            raise LogError(f"{path}: learning_rate in {place} is {raw!r}, not a number")
        key = "step" if "step" in entry else next((k for k in ("current_steps", "global_step") if k in entry), None)
        if key is None:
            raise LogError(f"{path}: {place} has a learning_rate but no step; the file was edited or is not a "
                           "trainer_state.json")
        step = as_step(entry[key])
        if step is None:
            raise LogError(f"{path}: {key} in {place} is {entry[key]!r}, not a whole number")
        steps.append(step)
        values.append(lr)
        places.append(index)
    if not steps:
        raise no_lr_error(path, len(history), "log_history entries")
    notes: list[str] = []
    resumes: tuple = ()
    duplicates = 0
    if any(b <= a for a, b in zip(steps, steps[1:])):
        steps, values, places, resumes, duplicates = merge_points(steps, values, places, set())
        if duplicates:
            notes.append(f"{duplicates:,} entries repeat a step with the same LR: read once")
    step_array, lr_array = checked_points(path, steps, values, lambda index: f"log_history[{places[index]}]")
    return _run(path, meta, step_array, lr_array, skipped, resumes, duplicates, notes)


def _run(path, meta, step_array, lr_array, skipped, resumes, duplicates, notes) -> LoggedRun:
    total = _positive(meta.get("max_steps"))
    if meta.get("num_train_epochs") == 2**63 - 1:
        notes.append("num_train_epochs is sys.maxsize: a streaming run (IterableDataset), its length is max_steps")
    if total is not None and isinstance(meta.get("logging_steps"), float):
        notes.append(f"logging_steps is stored as a float ({meta['logging_steps']!r}), as some exporters write it")
    callbacks = meta.get("stateful_callbacks") if isinstance(meta.get("stateful_callbacks"), dict) else {}
    control = callbacks.get("TrainerControl", {}) if isinstance(callbacks.get("TrainerControl"), dict) else {}
    settings = {"early_stopping_callback": "EarlyStoppingCallback" in callbacks,
                # a hint for the logging convention: TrainerState.best_global_step exists since transformers 4.5x,
                # whose Trainer logs at global step s+1 the LR update s used; a state without stateful_callbacks
                # (added in 4.4x) but with the fields every Trainer writes (total_flos) comes from a release that logged at
                # step s the LR of update s
                "convention_hint": ("hf" if "best_global_step" in meta else
                                    "hf-legacy" if "total_flos" in meta and "stateful_callbacks" not in meta
                                    else None),
                "should_training_stop": bool((control.get("args") or {}).get("should_training_stop"))}
    return LoggedRun(
        path=path, fmt="hf", steps=step_array, lr=lr_array, settings=settings,
        total_steps=total, logging_steps=_positive(meta.get("logging_steps")),
        save_steps=_positive(meta.get("save_steps")), global_step=_positive(meta.get("global_step")), skipped=skipped,
        notes=tuple(notes), resumes=tuple(resumes), duplicates=duplicates,
    )


def _positive(value: Any) -> int | None:
    step = as_step(value)
    return step if step is not None and step > 0 else None
