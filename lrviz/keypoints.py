"""The updates worth reading off a schedule: first updates, end of warmup, peak, middle, end, floor.

Found without evaluating every update: the peak and the first update at the floor lie at the
schedule's breakpoints or extrema (``critical_steps``), between which it is monotone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .schedules import critical_steps, floor_lr, lr_at, schedule_def, warmup_updates
from .spec import ScheduleSpec

# Two LRs closer than this fraction of the peak count as equal (the frameworks' own rounding).
_SAME = 1e-12


@dataclass(frozen=True)
class KeyPoint:
    """One labelled update and the LR it uses."""

    label: str
    step: int
    lr: float


@dataclass(frozen=True)
class Summary:
    """Key points of a run plus what the floor does."""

    points: tuple[KeyPoint, ...]
    peak_step: int
    peak_lr: float
    floor_lr: float | None  # None: the schedule has no floor
    floor_step: int | None  # first update of the run at the floor; None if never within the run
    floor_updates: int  # updates of the run spent at the floor (touches, if it does not stay there)
    floor_plateau: bool  # True when the run stays at the floor from floor_step on
    last_lr: float
    total_steps: int

    @property
    def floor_share(self) -> float:
        """Fraction of the run's updates spent at the floor."""
        return self.floor_updates / self.total_steps

    def to_dict(self) -> dict:
        return {
            "points": [{"label": p.label, "step": p.step, "lr": p.lr} for p in self.points],
            "peak": {"step": self.peak_step, "lr": self.peak_lr},
            "floor": {
                "lr": self.floor_lr,
                "first_step": self.floor_step,
                "updates": self.floor_updates,
                "share": self.floor_share,
                "stays": self.floor_plateau,
            },
            "last_lr": self.last_lr,
        }


def key_points(spec: ScheduleSpec) -> Summary:
    """Key points of the run described by ``spec``."""
    T, W = spec.total_steps, warmup_updates(spec)
    wanted: list[tuple[str, int]] = [("first update", 0), ("second update", 1)]
    if 0 < W <= T:
        last_warmup = schedule_def(spec).last_warmup
        wanted.append(("last warmup update", W - 1 if last_warmup is None else last_warmup(spec)))
    candidates, _ = critical_steps(spec, 0, T)  # a cut list still holds the early peak and first floor touch
    candidate_lr = lr_at(spec, candidates)
    peak_index = int(np.argmax(candidate_lr >= candidate_lr.max() * (1 - _SAME)))
    peak_step, peak_lr = int(candidates[peak_index]), float(candidate_lr[peak_index])
    wanted += [("peak", peak_step), ("middle", T // 2), ("last update", T - 1)]

    floor = floor_lr(spec)
    floor_step, floor_updates, stays = None, 0, False
    if floor is not None:
        # the floor the decay ends at; warmups that start at it (LR 0, WSD) do not count
        at_floor = (candidate_lr <= floor + _SAME * spec.peak_lr) & (candidates > peak_step)
        if at_floor.any():
            first = int(np.argmax(at_floor))
            floor_step = int(candidates[first])
            stays = bool(at_floor[first:].all())  # a plateau; otherwise count the touches
            floor_updates = T - floor_step if stays else int(at_floor.sum())
            wanted.append(("floor reached", floor_step))
    wanted.append(("after the run", T))

    steps = np.array([step for _, step in wanted if step <= T], dtype=np.int64)
    labels = [label for label, step in wanted if step <= T]
    values = lr_at(spec, steps)
    points = [KeyPoint(label, int(s), float(v)) for label, s, v in zip(labels, steps, values)]
    points = [p for p in points if p.step < T or p.label == "after the run"]
    points.sort(key=lambda p: p.step)
    last_lr = float(values[labels.index("last update")])
    return Summary(tuple(points), peak_step, peak_lr, floor, floor_step, floor_updates, stays, last_lr, T)
