"""Reading a log file as text, telling the formats apart, and the checks every reader applies to its points."""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from typing import Any, Callable, Sequence

import numpy as np

from ..textfile import LOG_LIMIT_BYTES, read_text_file
from .run import LogError, Resume

KNOWN_LOG_NAMES = ("trainer_state.json", "trainer_log.jsonl", "metrics.csv")
LFS_POINTER = "version https://git-lfs.github.com/spec/v1"
EXPECTED = ("the run's trainer_state.json, trainer_log.jsonl, a Megatron-LM text log, a TensorBoard events.out.tfevents "
            "file or a CSV export")
MAX_LOGGED_STEP = 2**53


def _short(number: int) -> str:
    """An integer for a message: in full, or its digit count where printing it would be unreadable (or fail)."""
    return str(number) if number < 10**30 else f"(an integer of about {int(number.bit_length() * 0.30103) + 1:,} digits)"


def is_event_file(path: str) -> bool:
    return "tfevents" in os.path.basename(path)


def lfs_error(path: str, text: str) -> LogError:
    size = next((line.split()[1] for line in text.splitlines() if line.startswith("size ")), "?")
    return LogError(f"{path} is a Git LFS pointer, not the log (the real file has {size} bytes); fetch it with "
                    "`git lfs pull --include <path>` (or download it from the hub's web page) and give that file")


def read_text(path: str) -> str:
    """The file's text; a directory, a missing, binary, non-UTF-8, empty or Git LFS pointer file is a LogError."""
    if os.path.isdir(path):
        found = [name for name in KNOWN_LOG_NAMES if os.path.isfile(os.path.join(path, name))]
        found += sorted(name for name in os.listdir(path) if "tfevents" in name)[:1]
        hint = (f"give the file inside it: {os.path.join(path, found[0])}" if found else
                "give the trainer_state.json (in output_dir or a checkpoint-N folder), trainer_log.jsonl, Megatron "
                "log, events.out.tfevents file or CSV export")
        raise LogError(f"{path} is a directory; {hint}")
    text = read_text_file(path, label=path, expected=EXPECTED, error=LogError, limit=LOG_LIMIT_BYTES)
    if not text or text.isspace():  # (not text.strip(): that copies a 100 MB log)
        raise LogError(f"{path} is empty: the run has logged nothing yet; check-run needs at least one logged learning rate")
    if text.startswith(LFS_POINTER):
        raise lfs_error(path, text)
    return text


NON_SPACE = re.compile(r"\S")
MEGATRON_MARK = re.compile(r"iteration\s+\d+\s*/\s*\d+\s*\|")


def sniff_format(path: str, text: str) -> str:
    """``hf``, ``llamafactory``, ``megatron`` or ``csv``: by the extension first, then by what the text looks like."""
    extension = os.path.splitext(path)[1].lower()
    head = text[:200_000]
    if extension not in (".json", ".jsonl", ".ndjson", ".csv", ".tsv") and MEGATRON_MARK.search(head):
        return "megatron"
    if extension == ".json":
        return "hf"
    if extension in (".jsonl", ".ndjson"):
        return "llamafactory"
    if extension in (".csv", ".tsv", ".txt"):
        return "csv"
    start = re.match(r"\s*", text).end()
    if text.startswith(("{", "["), start):
        end = text.find("\n", start)
        first_line = (text[start:] if end < 0 else text[start:end]).strip()
        try:
            json.loads(first_line)
            single_line_object = True
        except (ValueError, RecursionError):
            single_line_object = False
        more_lines = end >= 0 and NON_SPACE.search(text, end) is not None
        return "llamafactory" if single_line_object and more_lines and first_line.startswith("{") else "hf"
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


def checked_points(path: str, steps: Sequence[int], values: Sequence[float],
                   where: Sequence[str] | Callable[[int], str]) -> tuple[np.ndarray, np.ndarray]:
    """Arrays of steps and LRs after the checks: finite, not negative, steps >= 0 and strictly increasing.
    ``where`` names each point's place in the file (a list, or a function of the point's index)."""
    if not callable(where):
        where = where.__getitem__
    if len(steps) and max(steps) > MAX_LOGGED_STEP:  # before int64 arrays, which such steps overflow
        index = next(i for i, step in enumerate(steps) if step > MAX_LOGGED_STEP)
        raise LogError(f"{path}: step {_short(int(steps[index]))} ({where(index)}) is past 2**53, more updates than any "
                       "run makes; check that the right column or key was read")
    step_array = np.asarray(steps, dtype=np.int64)
    lr_array = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(lr_array) | (lr_array < 0) | (step_array < 0)
    if bad.any():
        index = int(np.argmax(bad))
        step, value, place = int(step_array[index]), float(lr_array[index]), where(index)
        if math.isnan(value):
            raise LogError(f"{path}: the learning rate at step {step} ({place}) is NaN; the run's LR (or the export) is "
                           "broken there: check-run needs finite values, so drop those entries to check the rest")
        if math.isinf(value):
            raise LogError(f"{path}: the learning rate at step {step} ({place}) is infinite; drop that entry to check "
                           "the rest")
        if value < 0:
            raise LogError(f"{path}: the learning rate at step {step} ({place}) is negative ({value!r}); that is not a "
                           "learning rate: check that the right column or key was read")
        raise LogError(f"{path}: step {step} ({place}) is negative; logged steps count optimizer updates from 0")
    if len(step_array) > 1:
        back = np.diff(step_array) <= 0
        if back.any():
            index = int(np.argmax(back)) + 1
            kind = ("appears twice" if step_array[index] == step_array[index - 1]
                    else f"comes after step {int(step_array[index - 1])}")
            raise LogError(
                f"{path}: steps do not increase: step {int(step_array[index])} {kind} ({where(index)}); a resumed run may "
                "have appended a second copy of the log: keep one run per file, in step order"
            )
    return step_array, lr_array


def fast_points(pairs: list) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, LRs) of (step, LR) pairs that are all plain numbers, whole steps strictly increasing, LRs finite and
    not negative; None otherwise (the careful path then names the problem or merges the lines)."""
    if not pairs:
        return None
    steps, values = zip(*pairs)
    if not set(map(type, steps)) <= {int} or not set(map(type, values)) <= {int, float}:
        return None
    step_array = np.array(steps, dtype=np.int64)
    lr_array = np.array(values, dtype=np.float64)
    if not (np.isfinite(lr_array).all() and (lr_array >= 0).all() and (step_array >= 0).all()):
        return None
    if len(step_array) > 1 and not (np.diff(step_array) > 0).all():
        return None
    return step_array, lr_array


def parse_elapsed(text: Any) -> float | None:
    """LLaMA-Factory's ``elapsed_time`` ("0:02:12", "1 day, 0:08:23") in seconds; None if it is not one."""
    if not isinstance(text, str):
        return None
    days = 0
    if "day" in text:
        head, _, text = text.partition(",")
        try:
            days = int(head.split()[0])
        except (ValueError, IndexError):
            return None
    parts = text.strip().split(":")
    if len(parts) != 3:
        return None
    try:
        return days * 86400 + int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2])
    except ValueError:
        return None


def merge_points(steps: list[int], values: list[float], lines: list[int], restarts: set[int]):
    """One run out of lines that may repeat, come out of order, or start over (a resume).

    ``restarts`` holds the indices where a new run starts (the log's clock started again). A step logged twice
    with the same LR in one run is a duplicate (several processes writing one file) and is dropped; logged again
    with another LR, the later line starts a new run too. A later run's points replace an earlier run's.
    Returns (steps, values, lines, resumes, duplicates), sorted by step.
    """

    runs: list[dict[int, tuple[float, int]]] = [{}]
    duplicates = 0
    for index, (step, value, line) in enumerate(zip(steps, values, lines)):
        run = runs[-1]
        seen = run.get(step)
        if run and (index in restarts or (seen is not None and seen[0] != value)):
            runs.append({})
            run = runs[-1]
        elif seen is not None:
            duplicates += 1
            continue
        run[step] = (value, line)
    final: dict[int, tuple[float, int]] = {}
    resumes: list[Resume] = []
    for number, run in enumerate(runs):
        if number:
            first = min(run, key=lambda s: run[s][1])
            shared = [s for s in run if s in final]
            agree = sum(1 for s in shared if final[s][0] == run[s][0])
            resumes.append(Resume(line=run[first][1], first_step=first, last_step_before=max(final),
                                  overlap=len(shared), agree=agree))
        final.update(run)
    ordered = sorted(final)
    return ordered, [final[s][0] for s in ordered], [final[s][1] for s in ordered], tuple(resumes), duplicates


def no_lr_error(path: str, entries: int, what: str) -> LogError:
    return LogError(
        f"{path}: none of its {entries:,} {what} has a learning rate; log it (HF Trainer writes learning_rate with "
        "every training-loss entry when logging_steps > 0), or point check-run at the file that has it"
    )
