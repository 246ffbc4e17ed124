"""``lrviz advise``: check a schedule against evidence-backed rules, recommend settings, write config snippets.

Rules are data (``lrviz.advise.rules.RULES``); they read ``Facts`` and never print. Names are imported lazily,
so that the CLI can read ``PROFILE_CHOICES`` without loading numpy.

    >>> from lrviz import ScheduleSpec
    >>> from lrviz.advise import advise
    >>> advice = advise(ScheduleSpec("cosine_with_min_lr", 2e-4, 1000, 30, {"min_lr": 3e-4}))
    >>> [(f.rule, f.severity) for f in advice.findings if f.severity == "error"]
    [('F01', 'error')]
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "advise": "lrviz.advise.advice",
    "advise_options": "lrviz.advise.advice",
    "Advice": "lrviz.advise.advice",
    "RULES": "lrviz.advise.rules",
    "Rule": "lrviz.advise.rules",
    "Finding": "lrviz.advise.rules",
    "evaluate": "lrviz.advise.rules",
    "Facts": "lrviz.advise.facts",
    "PROFILES": "lrviz.advise.profiles",
    "PROFILE_CHOICES": "lrviz.advise.profiles",
    "recommend": "lrviz.advise.recommend",
    "snippets": "lrviz.advise.snippets",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'lrviz.advise' has no attribute {name!r}")
