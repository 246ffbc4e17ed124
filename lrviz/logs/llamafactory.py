"""LLaMA-Factory ``trainer_log.jsonl``: one JSON object per line with ``current_steps``, ``total_steps`` and
``learning_rate`` (``LogCallback.on_log``; the closing line has ``learning_rate: null``). Lines in the HF form
(``step``) are read too."""

from __future__ import annotations

import json

from . import LoggedRun, LogError
from ._files import as_lr, as_step, checked_points, no_lr_error

STEP_KEYS = ("current_steps", "step", "global_step")


def read_trainer_log(path: str, text: str) -> LoggedRun:
    steps: list[int] = []
    values: list[float] = []
    where: list[str] = []
    totals: set[int] = set()
    skipped = entries = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        entries += 1
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise LogError(f"{path}: line {number} is not valid JSON ({error.msg} at column {error.colno}); each line of "
                           "a trainer_log.jsonl is one JSON object: remove the broken line (an interrupted write?)") from None
        except (ValueError, RecursionError):  # Python's int-string limit, or nesting past the interpreter's
            raise LogError(f"{path}: line {number} holds an integer of more than 4,300 digits or is nested too deep; "
                           "a trainer_log.jsonl line is a flat object: remove the broken line") from None
        if not isinstance(entry, dict):
            raise LogError(f"{path}: line {number} is a JSON {type(entry).__name__}, not an object; is this a "
                           "trainer_log.jsonl?")
        total = as_step(entry.get("total_steps"))
        if total is not None and total > 0:
            totals.add(total)
        if entry.get("learning_rate") is None:
            skipped += 1
            continue
        lr = as_lr(entry["learning_rate"])
        if lr is None:
            raise LogError(f"{path}: learning_rate on line {number} is {entry['learning_rate']!r}, not a number")
        key = next((key for key in STEP_KEYS if key in entry), None)
        if key is None:
            raise LogError(f"{path}: line {number} has a learning_rate but no step (looked for {', '.join(STEP_KEYS)})")
        step = as_step(entry[key])
        if step is None:
            raise LogError(f"{path}: {key} on line {number} is {entry[key]!r}, not a whole number")
        steps.append(step)
        values.append(lr)
        where.append(f"line {number}")
    if not steps:
        raise no_lr_error(path, entries, "lines")
    notes = ()
    if len(totals) > 1:
        notes = (f"total_steps changes within the file ({', '.join(map(str, sorted(totals)))}): lines from several runs? "
                 f"using the largest, {max(totals)}",)
    step_array, lr_array = checked_points(path, steps, values, where)
    return LoggedRun(path=path, fmt="llamafactory", steps=step_array, lr=lr_array,
                     total_steps=max(totals) if totals else None, skipped=skipped, notes=notes)
