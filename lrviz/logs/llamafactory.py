"""LLaMA-Factory ``trainer_log.jsonl``: one JSON object per line with ``current_steps``, ``total_steps`` and the LR
under ``lr`` (current releases, ``LogCallback.on_log``) or ``learning_rate`` (2023 releases); summary and eval
lines have no LR (or ``null``). Lines in the HF form (``step``) are read too.

What real files hold besides one clean run: every line twice (each process of a multi-GPU run writes it), lines a
step out of order (the processes interleave), and a resume appended to the same file (``elapsed_time`` starts
again from 0:00:00 and steps already logged come again). They are merged into one run; the resume is recorded.
"""

from __future__ import annotations

import json

from .run import LoggedRun, LogError
from ._files import as_lr, as_step, checked_points, fast_points, merge_points, no_lr_error, parse_elapsed

STEP_KEYS = ("current_steps", "step", "global_step")
LR_KEYS = ("lr", "learning_rate")


def _entries(path: str, lines: list[tuple[int, str]]) -> list:
    """Every line parsed; one parse of the whole file when it is clean, line by line to name a broken one."""
    try:
        return json.loads("[" + ",".join(text for _, text in lines) + "]")
    except (ValueError, RecursionError):  # invalid JSON, Python's int-string limit, or nesting past the interpreter's
        pass
    entries = []
    for number, line in lines:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as error:
            last = number == lines[-1][0]
            why = "the file ends in the middle of a line (a copy taken while the run wrote it?)" if last else \
                "an interrupted write?"
            raise LogError(f"{path}: line {number} is not valid JSON ({error.msg} at column {error.colno}); each line "
                           f"of a trainer_log.jsonl is one JSON object: remove the broken line ({why})") from None
        except (ValueError, RecursionError):
            raise LogError(f"{path}: line {number} holds an integer of more than 4,300 digits or is nested too deep; "
                           "a trainer_log.jsonl line is a flat object: remove the broken line") from None
    return entries


def _fast(entries: list):
    """The common case in one pass of comprehensions: every line an object with current_steps, LRs in step order."""
    try:
        pairs = [(entry["current_steps"], lr if (lr := entry.get("lr")) is not None else entry.get("learning_rate"))
                 for entry in entries]
        totals = {total for entry in entries if type(total := entry.get("total_steps")) is int and total > 0}
    except (TypeError, KeyError, AttributeError):
        return None
    kept = [pair for pair in pairs if pair[1] is not None]
    points = fast_points(kept)
    if points is None:
        return None
    return points[0], points[1], len(entries) - len(kept), totals


def read_trainer_log(path: str, text: str) -> LoggedRun:
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    entries = _entries(path, lines)
    fast = _fast(entries)
    if fast is not None:
        step_array, lr_array, skipped, totals = fast
        notes = () if len(totals) <= 1 else (f"total_steps changes within the file ({', '.join(map(str, sorted(totals)))}): "
                                            f"lines from several runs? using the largest, {max(totals)}",)
        return LoggedRun(path=path, fmt="llamafactory", steps=step_array, lr=lr_array,
                         total_steps=max(totals) if totals else None, skipped=skipped, notes=notes)
    steps: list[int] = []
    values: list[float] = []
    numbers: list[int] = []
    restarts: set[int] = set()
    totals: set[int] = set()
    skipped = 0
    previous_step: int | None = None
    previous_clock = None
    for (number, _), entry in zip(lines, entries):
        if not isinstance(entry, dict):
            raise LogError(f"{path}: line {number} is a JSON {type(entry).__name__}, not an object; is this a "
                           "trainer_log.jsonl?")
        total = as_step(entry.get("total_steps"))
        if total is not None and total > 0:
            totals.add(total)
        key = next((key for key in STEP_KEYS if key in entry), None)
        step = as_step(entry[key]) if key is not None else None
        clock = entry.get("elapsed_time")
        if step is not None and previous_step is not None and step <= previous_step:
            now, before = parse_elapsed(clock), parse_elapsed(previous_clock)
            if now is not None and before is not None and now < 0.5 * before:
                restarts.add(len(steps))  # the next point kept starts a new run
        if step is not None:
            previous_step, previous_clock = step, clock
        raw = next((entry[k] for k in LR_KEYS if entry.get(k) is not None), None)
        if raw is None:
            skipped += 1
            continue
        lr = as_lr(raw)
        if lr is None:
            name = next(k for k in LR_KEYS if entry.get(k) is not None)
            raise LogError(f"{path}: {name} on line {number} is {raw!r}, not a number")
        if key is None:
            raise LogError(f"{path}: line {number} has a learning rate but no step (looked for {', '.join(STEP_KEYS)})")
        if step is None:
            raise LogError(f"{path}: {key} on line {number} is {entry[key]!r}, not a whole number")
        steps.append(step)
        values.append(lr)
        numbers.append(number)
    if not steps:
        raise no_lr_error(path, len(entries), "lines")
    notes: list[str] = []
    resumes: tuple = ()
    duplicates = 0
    if restarts or any(b <= a for a, b in zip(steps, steps[1:])):
        steps, values, numbers, resumes, duplicates = merge_points(steps, values, numbers, restarts)
        if duplicates:
            notes.append(f"{duplicates:,} lines repeat a step with the same LR (each process of a multi-GPU run "
                         "writes the log): read once")
    if len(totals) > 1:
        notes.append(f"total_steps changes within the file ({', '.join(map(str, sorted(totals)))}): lines from "
                     f"several runs? using the largest, {max(totals)}")
    step_array, lr_array = checked_points(path, steps, values, lambda index: f"line {numbers[index]}")
    return LoggedRun(path=path, fmt="llamafactory", steps=step_array, lr=lr_array,
                     total_steps=max(totals) if totals else None, skipped=skipped, notes=tuple(notes),
                     resumes=resumes, duplicates=duplicates)
