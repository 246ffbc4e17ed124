"""The envelope of a schedule that turns more often than lrviz lists turning points: exact, by brute force."""

from __future__ import annotations

import numpy as np

from lrviz.schedules import MAX_EXTREMA, critical_steps
from lrviz.spec import ScheduleSpec
from lrviz.trajectory import envelope, trajectory


def test_more_turns_than_the_list_holds_still_gives_exact_column_extremes():
    total, columns = 4_000_000, 64
    spec = ScheduleSpec(scheduler="cosine", peak_lr=1e-3, total_steps=total, warmup_steps=0,
                        scheduler_kwargs={"num_cycles": 0.75 * MAX_EXTREMA})
    assert critical_steps(spec, 0, total)[1] is False  # the list is cut: the dense path must take over
    points = envelope(spec, columns=columns)
    everything = trajectory(spec)
    edges = np.unique(np.linspace(0, total, columns + 1).astype(np.int64))
    column_of_point = np.searchsorted(edges, points.step, side="right") - 1
    for column in range(len(edges) - 1):
        true = everything.lr[edges[column]:edges[column + 1]]
        shown = points.lr[column_of_point == column]
        assert shown.min() == true.min() and shown.max() == true.max(), column
