"""Reading a log file as text, telling the formats apart, and the checks every reader applies to its points."""

from __future__ import annotations

import json
import math
import numbers
import os
from typing import Any, Sequence

import numpy as np

from ..textfile import LOG_LIMIT_BYTES, read_text_file
from . import LogError

KNOWN_LOG_NAMES = ("trainer_state.json", "trainer_log.jsonl")
MAX_LOGGED_STEP = 2**53


def _short(number: int) -> str:
    """An integer for a message: in full, or its digit count where printing it would be unreadable (or fail)."""
    return str(number) if number < 10**30 else f"(an integer of about {int(number.bit_length() * 0.30103) + 1:,} digits)"


def read_text(path: str) -> str:
    """The file's text; a directory, a missing, binary, non-UTF-8 or empty file is a LogError with the fix."""
    if os.path.isdir(path):
        found = [name for name in KNOWN_LOG_NAMES if os.path.isfile(os.path.join(path, name))]
        hint = (f"give the file inside it: {os.path.join(path, found[0])}" if found else
                "give the trainer_state.json (in output_dir or a checkpoint-N folder), trainer_log.jsonl or CSV file")
        raise LogError(f"{path} is a directory; {hint}")
    text = read_text_file(path, label=path, expected="the run's trainer_state.json, trainer_log.jsonl or a CSV export "
                          "(TensorBoard event files: export the LR scalar as CSV first)", error=LogError,
                          limit=LOG_LIMIT_BYTES)
    if not text.strip():
        raise LogError(f"{path} is empty: the run has logged nothing yet; check-run needs at least one logged learning rate")
    return text


def sniff_format(path: str, text: str) -> str:
    """``hf``, ``llamafactory`` or ``csv``: by the extension first, then by what the text looks like."""
    extension = os.path.splitext(path)[1].lower()
    if extension == ".json":
        return "hf"
    if extension in (".jsonl", ".ndjson"):
        return "llamafactory"
    if extension in (".csv", ".tsv", ".txt"):
        return "csv"
    stripped = text.lstrip()
    if stripped.startswith("{") or stripped.startswith("["):
        first_line = stripped.splitlines()[0].strip()
        try:
            json.loads(first_line)
            single_line_object = True
        except (ValueError, RecursionError):
            single_line_object = False
        lines = [line for line in stripped.splitlines() if line.strip()]
        return "llamafactory" if single_line_object and len(lines) > 1 and first_line.startswith("{") else "hf"
    return "csv"


def as_step(value: Any) -> int | None:
    """A logged step as an int, or None if it is not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return None


def as_lr(value: Any) -> float | None:
    """A logged LR as a float (nan/inf kept, checked later), or None if it is not a number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer past float64: infinite, reported by checked_points
        return math.inf if value > 0 else -math.inf


def checked_points(path: str, steps: Sequence[int], values: Sequence[float], where: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Arrays of steps and LRs after the checks: finite, not negative, steps >= 0 and strictly increasing."""
    for step, value, place in zip(steps, values, where):
        if math.isnan(value):
            raise LogError(f"{path}: the learning rate at step {step} ({place}) is NaN; the run's LR (or the export) is "
                           "broken there: check-run needs finite values, so drop those entries to check the rest")
        if math.isinf(value):
            raise LogError(f"{path}: the learning rate at step {step} ({place}) is infinite; drop that entry to check "
                           "the rest")
        if value < 0:
            raise LogError(f"{path}: the learning rate at step {step} ({place}) is negative ({value!r}); that is not a "
                           "learning rate: check that the right column or key was read")
        if step < 0:
            raise LogError(f"{path}: step {step} ({place}) is negative; logged steps count optimizer updates from 0")
        if step > MAX_LOGGED_STEP:
            raise LogError(f"{path}: step {_short(step)} ({place}) is past 2**53, more updates than any run makes; "
                           "check that the right column or key was read")
    for index in range(1, len(steps)):
        if steps[index] <= steps[index - 1]:
            kind = "appears twice" if steps[index] == steps[index - 1] else f"comes after step {steps[index - 1]}"
            raise LogError(
                f"{path}: steps do not increase: step {steps[index]} {kind} ({where[index]}); a resumed run may have "
                "appended a second copy of the log: keep one run per file, in step order"
            )
    return np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64)


def no_lr_error(path: str, entries: int, what: str) -> LogError:
    return LogError(
        f"{path}: none of its {entries:,} {what} has a learning rate; log it (HF Trainer writes learning_rate with "
        "every training-loss entry when logging_steps > 0), or point check-run at the file that has it"
    )
