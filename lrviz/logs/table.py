"""CSV/TSV logs: a step column and an LR column, as W&B, TensorBoard or a script export them.

Column names are guessed (``train/global_step``, ``Step``, ``train/learning_rate``, ``lr``, W&B's
``<run> - train/learning_rate``, TensorBoard's ``Wall time,Step,Value``...) unless given. Rows with an empty step
or LR cell (W&B leaves cells empty where a metric was not logged) are skipped. The values' printed precision is
recorded, so that a log printed with 7 digits, or stored as float32 by TensorBoard, is compared at that precision.
"""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np

from .run import LoggedRun, LogError
from ._files import checked_points, no_lr_error

# Step columns, best first (compared lower-case, after a W&B "<run> - " prefix is removed).
STEP_NAMES = ("train/global_step", "trainer/global_step", "global_step", "current_steps", "step", "steps",
              "iteration", "iter", "update", "_step")
LR_NAMES = ("train/learning_rate", "learning_rate", "train/lr", "lr", "learning rate", "learning-rate")

FLOAT32_ROUNDING = 2.0**-24


def _normal(name: str) -> str:
    name = name.strip().strip('"').lower()
    if " - " in name:  # W&B panel export: "<run name> - train/learning_rate"
        name = name.rsplit(" - ", 1)[1]
    return name.strip()


def _is_lr_name(name: str) -> bool:
    normal = _normal(name)
    if normal.endswith(("__min", "__max")):
        return False
    last = normal.rsplit("/", 1)[-1]
    return normal in LR_NAMES or last in ("learning_rate", "lr") or last.startswith(("lr-", "lr_", "learning_rate_"))


def _pick(path: str, header: list[str], step_column: str | None, lr_column: str | None) -> tuple[int, int, list[str]]:
    notes: list[str] = []
    shown = ", ".join(repr(name) for name in header)
    fix = "name them with --step-column NAME --lr-column NAME"

    def index_of(flag: str, name: str) -> int:
        for index, column in enumerate(header):
            if column == name:
                return index
        for index, column in enumerate(header):
            if column.strip().lower() == name.strip().lower():
                return index
        raise LogError(f"{flag} {name!r}: {path} has no such column; its columns are {shown}")

    if step_column is not None:
        step_index = index_of("--step-column", step_column)
    else:
        normals = [_normal(column) for column in header]
        step_index = next((normals.index(name) for name in STEP_NAMES if name in normals), -1)
        if step_index < 0:
            raise LogError(f"{path}: no step column among {shown}; {fix}")
        if normals[step_index] == "_step":
            notes.append(f"using W&B's internal '{header[step_index]}' as the step: it counts log calls, not optimizer "
                         "updates, unless the run logged every update; prefer train/global_step")
    if lr_column is not None:
        lr_index = index_of("--lr-column", lr_column)
    else:
        candidates = [index for index, column in enumerate(header) if index != step_index and _is_lr_name(column)]
        exact = [index for index in candidates if _normal(header[index]) in LR_NAMES]
        if len(candidates) > 1 and len(exact) == 1:
            candidates = exact
        if not candidates and [_normal(column) for column in header] == ["wall time", "step", "value"]:
            candidates = [2]
            notes.append(f"reading TensorBoard's '{header[2]}' column as the learning rate")
        if not candidates:
            raise LogError(f"{path}: no learning-rate column among {shown}; {fix}")
        if len(candidates) > 1:
            names = ", ".join(repr(header[index]) for index in candidates)
            raise LogError(f"{path}: several learning-rate columns ({names}); pick one with --lr-column NAME")
        lr_index = candidates[0]
    if lr_index == step_index:
        raise LogError(f"{path}: --step-column and --lr-column both name {header[step_index]!r}; give two columns")
    return step_index, lr_index, notes


_DIGITS = re.compile(r"^[+-]?(\d*)\.?(\d*)(?:[eE][+-]?\d+)?$")


def significant_digits(text: str) -> int | None:
    """Significant digits as printed: '1.93333e-05' -> 6, '0.00025' -> 2; None for text that is not a plain number."""
    match = _DIGITS.match(text.strip())
    if not match or not (match.group(1) or match.group(2)):
        return None
    digits = (match.group(1) + match.group(2)).lstrip("0")
    if "e" not in text.lower():
        digits = digits.rstrip("0") if "." not in text else digits
    return len(digits) or None


def printed_rounding(texts: list[str], values: np.ndarray) -> tuple[float, str | None]:
    nonzero = values != 0
    # the most significant digits of a nonzero value: a text has at most as many as it has characters, so the
    # texts are taken longest first and the search stops where no shorter one can beat what was found
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    lengths[~nonzero] = -1
    most = None
    for index in np.argsort(-lengths, kind="stable"):
        if lengths[index] < 0 or (most is not None and lengths[index] <= most):
            break
        found = significant_digits(texts[index])
        if found is not None and (most is None or found > most):
            most = found
    if most is None:
        return 0.0, None
    as_float32 = values[nonzero].astype(np.float32).astype(np.float64)
    if most >= 9 and np.array_equal(as_float32, values[nonzero]):
        return FLOAT32_ROUNDING, "the logged values are float32 (as TensorBoard stores scalars): compared to 6e-8 relative"
    if most >= 15:
        return 0.0, None
    rounding = 5.0 * 10.0 ** (-most)
    return rounding, f"the logged values have at most {most} significant digits: compared to {rounding:.0e} relative"


def read_table(path: str, text: str, *, step_column: str | None = None, lr_column: str | None = None) -> LoggedRun:
    first_line = text.lstrip().splitlines()[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    try:  # newline=None: CR-only and CRLF line ends read as lines too
        rows = list(csv.reader(io.StringIO(text.lstrip(), newline=None), delimiter=delimiter))
    except csv.Error as error:  # a field over csv.field_size_limit(), a stray quote or NUL
        raise LogError(f"{path}: not a readable CSV ({error}); re-export the log with one step and one LR column") from None
    header = [cell.strip() for cell in rows[0]]
    if len(header) < 2:
        raise LogError(f"{path}: the first line {first_line[:60]!r} is not a header of at least two columns (step and "
                       "LR); a CSV log starts with a line such as step,learning_rate")
    step_index, lr_index, notes = _pick(path, header, step_column, lr_column)
    steps: list[int] = []
    values: list[float] = []
    texts: list[str] = []
    where: list[str] = []
    skipped = 0
    body = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    for number, row in body:
        if len(row) != len(header):
            raise LogError(f"{path}: line {number} has {len(row)} fields but the header has {len(header)}; the file is "
                           "cut or mixes separators: re-export it")
        step_text, lr_text = row[step_index].strip(), row[lr_index].strip()
        if not step_text or not lr_text:
            skipped += 1
            continue
        try:
            step_value = float(step_text)
        except ValueError:
            raise LogError(f"{path}: line {number}, column {header[step_index]!r}: {step_text!r} is not a step number") from None
        if not math.isfinite(step_value) or not step_value.is_integer():
            raise LogError(f"{path}: line {number}, column {header[step_index]!r}: {step_text!r} is not a whole step number")
        try:
            lr = float(lr_text)
        except ValueError:
            raise LogError(f"{path}: line {number}, column {header[lr_index]!r}: {lr_text!r} is not a number") from None
        steps.append(int(step_value))
        values.append(lr)
        texts.append(lr_text)
        where.append(f"line {number}")
    if not steps:
        raise no_lr_error(path, len(body), "data rows")
    step_array, lr_array = checked_points(path, steps, values, where)
    rounding, note = printed_rounding(texts, lr_array)
    if note:
        notes.append(note)
    return LoggedRun(path=path, fmt="csv", steps=step_array, lr=lr_array, rounding=rounding, skipped=skipped,
                     columns=(header[step_index], header[lr_index]), notes=tuple(notes))
