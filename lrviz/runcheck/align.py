"""Which scheduler index each logged point matches, and where that index drifts.

A logged point (update ``s``, LR ``y``) *matches* a model at offset ``d`` when ``y`` equals the model's LR at
``s + d`` within the tolerance. Offset 0 everywhere is a run that followed the schedule; a run whose offset steps
from 0 to -1 lost one scheduler step there (a skipped optimizer step); an offset that jumps to ``-C`` at update
``C`` is a scheduler that restarted (a resume that did not restore its state).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .models import Model

EXACT = 1e-12  # DESIGN.md: exactness is 1e-12 relative (or 1e-18 absolute near zero)
ABSOLUTE = 1e-18
WINDOW = 8  # offsets tried around 0 for every point
DENSE_LIMIT = 4_000_000  # beyond this many updates, no search for far offsets
LOOKAHEAD = 64


def close(y: np.ndarray, predicted: np.ndarray, tol: float) -> np.ndarray:
    """Element-wise: does the logged LR equal the prediction within ``tol`` relative (1e-18 absolute)?"""
    with np.errstate(invalid="ignore"):
        return np.abs(y - predicted) <= tol * np.abs(predicted) + ABSOLUTE


def relative_error(y: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """|y - p| / |p|; where p is 0, 0 if y is too and inf otherwise."""
    y = np.asarray(y, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.abs(y - predicted) / np.abs(predicted)
    return np.where(predicted == 0, np.where(np.abs(y) <= ABSOLUTE, 0.0, np.inf), error)


@dataclass(frozen=True)
class Change:
    """The matched offset changes between two logged points (indices into the log)."""

    before: int  # last point that matched the old offset
    after: int  # first point that matches the new one
    old: int
    new: int


@dataclass(frozen=True)
class Alignment:
    """How a model explains a log."""

    updates: np.ndarray  # update index of each logged point
    lr: np.ndarray
    predicted: np.ndarray  # the model at each point's own update (offset 0)
    offsets: tuple[int | None, ...]  # the offset each point matched at; None: matched nowhere
    changes: tuple[Change, ...]
    tol: float

    @cached_property
    def matched(self) -> np.ndarray:
        """Points that match at offset 0."""
        return np.array([offset == 0 for offset in self.offsets], dtype=bool)

    @cached_property
    def explained(self) -> np.ndarray:
        return np.array([offset is not None for offset in self.offsets], dtype=bool)

    @property
    def n_explained(self) -> int:
        return int(self.explained.sum())

    @property
    def perfect(self) -> bool:
        return bool(self.matched.all())

    @property
    def errors(self) -> np.ndarray:
        return relative_error(self.lr, self.predicted)

    def score(self) -> tuple[int, int, int]:
        """Higher is better: points explained, fewer offset changes, points matched at offset 0."""
        return (self.n_explained, -len(self.changes), int(self.matched.sum()))

    def plausibility(self) -> tuple[int, int, int, int]:
        """``score`` with one more criterion before the points at offset 0: a log that starts on schedule (runs lose
        scheduler steps as they go; they do not start ahead or behind), for choosing among inferred schedules."""
        first = next((offset for offset in self.offsets if offset is not None), 0)
        return (self.n_explained, -len(self.changes), -abs(first), int(self.matched.sum()))


def _candidates(model: Model, updates: np.ndarray, y: np.ndarray, tol: float) -> list[set[int]]:
    n = len(updates)
    offsets = np.arange(-WINDOW, WINDOW + 1)
    grid = updates[:, None] + offsets[None, :]
    valid = grid >= 0
    values = model.lr(np.where(valid, grid, 0).ravel().astype(np.float64)).reshape(grid.shape)
    hits = close(y[:, None], values, tol) & valid
    found = [set(offsets[row].tolist()) for row in hits]
    missing = [index for index in range(n) if not found[index]]
    if missing:
        total = model.total_steps or 0
        horizon = int(max(float(updates.max()) + WINDOW + 1, total + 1))
        if horizon <= DENSE_LIMIT:
            every = model.lr(np.arange(horizon, dtype=np.float64))
            order = np.argsort(every, kind="stable")
            ranked = every[order]
            for index in missing:
                target = y[index]
                low = np.searchsorted(ranked, target - tol * abs(target) - ABSOLUTE, side="left")
                high = np.searchsorted(ranked, target + tol * abs(target) + ABSOLUTE, side="right")
                if high > low:
                    indices = np.sort(order[low:high])
                    chosen = indices[np.argsort(np.abs(indices - updates[index]), kind="stable")[:WINDOW]]
                    found[index] = set(int(j) - int(updates[index]) for j in chosen)
    return found


def align(model: Model, updates: np.ndarray, y: np.ndarray, tol: float = EXACT) -> Alignment:
    """Match every point, keeping one offset as long as it keeps matching (few changes)."""
    updates = np.asarray(updates, dtype=np.int64)
    y = np.asarray(y, dtype=np.float64)
    predicted = model.lr(updates.astype(np.float64))
    on_schedule = close(y, predicted, tol)
    if on_schedule.all():
        return Alignment(updates, y, predicted, (0,) * len(updates), (), tol)
    candidates = _candidates(model, updates, y, tol)
    offsets: list[int | None] = []
    changes: list[Change] = []
    current: int | None = None
    last_index: int | None = None
    for index, options in enumerate(candidates):
        if not options:
            offsets.append(None)
            continue
        if current is None or current not in options:
            def run_length(offset: int, start: int = index) -> int:
                count = 0
                for following in candidates[start:start + LOOKAHEAD]:
                    if offset not in following:
                        break
                    count += 1
                return count

            reference = 0 if current is None else current
            best = max(sorted(options), key=lambda offset: (run_length(offset), offset == 0, -abs(offset - reference)))
            if current is not None and last_index is not None:
                changes.append(Change(last_index, index, current, best))
            current = best
        offsets.append(current)
        last_index = index
    return Alignment(updates, y, predicted, tuple(offsets), tuple(changes), tol)
