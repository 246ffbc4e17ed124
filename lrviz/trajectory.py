"""Per-update trajectories: all of them, in chunks, or only what a picture of a given width can show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .errors import SpecError
from .schedules import critical_steps, lr_at
from .spec import ScheduleSpec


@dataclass(frozen=True)
class Trajectory:
    """Update indices ``step`` (int64) and the LR used at each (float64)."""

    step: np.ndarray
    lr: np.ndarray

    def __len__(self) -> int:
        return len(self.step)


def trajectory(
    spec: ScheduleSpec, start: int = 0, stop: int | None = None, *, base_lr: float | None = None
) -> Trajectory:
    """The LR at every update in ``[start, stop)`` (default: the whole run, ``0 … total_steps-1``).

    ``base_lr`` is the initial LR of the param group to follow (default: the peak ``spec.peak_lr``);
    every group is scaled by the same factor, as ``LambdaLR`` does. ``stop`` may lie past the run to
    see what the scheduler does if it keeps being stepped.
    """
    stop = spec.total_steps if stop is None else stop
    if not 0 <= start <= stop:
        raise SpecError(f"trajectory range [{start}, {stop}) must satisfy 0 <= start <= stop")
    steps = np.arange(start, stop, dtype=np.int64)
    return Trajectory(steps, lr_at(spec, steps, base_lr=base_lr))


def chunks(spec: ScheduleSpec, chunk_size: int = 1 << 20) -> Iterator[Trajectory]:
    """The whole run in consecutive pieces, so an export never holds the run in memory."""
    for start in range(0, spec.total_steps, chunk_size):
        yield trajectory(spec, start, min(start + chunk_size, spec.total_steps))


def envelope(spec: ScheduleSpec, columns: int = 1000, start: int = 0, stop: int | None = None) -> Trajectory:
    """Points that draw the run at ``columns`` pixels wide without losing any spike.

    Short runs are returned whole. Longer ones are cut into ``columns`` equal ranges of updates; in each,
    the minimum and maximum LR are found among the range ends and the schedule's breakpoints and extrema
    (between which it is monotone), and both are kept in update order. The cost depends on ``columns``
    and the number of extrema, not on the number of updates.
    """
    stop = spec.total_steps if stop is None else stop
    if stop - start <= 2 * columns:
        return trajectory(spec, start, stop)
    edges = np.unique(np.linspace(start, stop, columns + 1).astype(np.int64))
    critical, complete = critical_steps(spec, start, stop)
    if not complete:
        return _dense_envelope(spec, edges)
    candidates = np.unique(np.concatenate([edges[:-1], edges[1:] - 1, critical]))
    lr = lr_at(spec, candidates)
    column = np.searchsorted(edges, candidates, side="right") - 1
    order = np.lexsort((lr, column))  # by column, then by LR
    column_sorted = column[order]
    first = np.flatnonzero(np.r_[True, column_sorted[1:] != column_sorted[:-1]])
    last = np.r_[first[1:] - 1, len(order) - 1]
    keep = np.unique(np.concatenate([order[first], order[last], np.flatnonzero(np.isin(candidates, edges))]))
    return Trajectory(candidates[keep], lr[keep])


def _dense_envelope(spec: ScheduleSpec, edges: np.ndarray, chunk_size: int = 1 << 20) -> Trajectory:
    """Per-column min and max from every update, in chunks: for schedules that turn too often to list.

    Time grows with the updates here, memory does not.
    """
    steps: list[int] = []
    values: list[float] = []
    for column in range(len(edges) - 1):
        low, high = int(edges[column]), int(edges[column + 1])
        best_min = best_max = None
        for start in range(low, high, chunk_size):
            piece = trajectory(spec, start, min(start + chunk_size, high))
            i_min, i_max = int(np.argmin(piece.lr)), int(np.argmax(piece.lr))
            if best_min is None or piece.lr[i_min] < best_min[1]:
                best_min = (int(piece.step[i_min]), float(piece.lr[i_min]))
            if best_max is None or piece.lr[i_max] > best_max[1]:
                best_max = (int(piece.step[i_max]), float(piece.lr[i_max]))
        for step, value in sorted({best_min, best_max}):
            steps.append(step)
            values.append(value)
    return Trajectory(np.array(steps, dtype=np.int64), np.array(values, dtype=np.float64))
