"""lrviz: the exact learning rate your optimizer will use at every step, before the run.

    >>> from lrviz import ScheduleSpec, trajectory
    >>> spec = ScheduleSpec(scheduler="cosine_with_min_lr", peak_lr=2e-4, total_steps=1000,
    ...                     warmup_steps=30, scheduler_kwargs={"min_lr": 2e-6})
    >>> float(trajectory(spec).lr[30])
    0.0002

Names are imported lazily so that ``lrviz --help`` starts without numpy.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("lrviz")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

_EXPORTS = {
    "ScheduleSpec": "lrviz.spec",
    "Source": "lrviz.spec",
    "Trajectory": "lrviz.trajectory",
    "trajectory": "lrviz.trajectory",
    "envelope": "lrviz.trajectory",
    "lr_at": "lrviz.schedules",
    "floor_lr": "lrviz.schedules",
    "SCHEDULES": "lrviz.schedules",
    "key_points": "lrviz.keypoints",
    "resolve": "lrviz.resolve",
    "read_config": "lrviz.configs",
    "LrvizError": "lrviz.errors",
    "SpecError": "lrviz.errors",
    "ConfigError": "lrviz.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lrviz' has no attribute {name!r}")
