"""lrviz: the exact learning rate your optimizer will use at every step, before the run.

    >>> from lrviz import ScheduleSpec, trajectory
    >>> spec = ScheduleSpec(scheduler="cosine_with_min_lr", peak_lr=2e-4, total_steps=1000,
    ...                     warmup_steps=30, scheduler_kwargs={"min_lr": 2e-6})
    >>> float(trajectory(spec).lr[30])
    0.0002

Names are imported lazily so that ``lrviz --help`` starts without numpy.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import Any

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


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # slow to import: only when asked

    try:
        return version("lrviz")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()["__version__"] = _package_version()
        return globals()["__version__"]
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lrviz' has no attribute {name!r}")


class _Package(ModuleType):
    """lrviz itself. Importing the submodule ``lrviz.trajectory`` (or ``lrviz.resolve``) would bind it as the
    package attribute of the same name, and ``from lrviz import trajectory`` would then give the module instead
    of the function, depending on what happened to be imported first. The submodules stay in ``sys.modules``."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
for _shadowed in [name for name in _EXPORTS if isinstance(globals().get(name), ModuleType)]:
    del globals()[_shadowed]
