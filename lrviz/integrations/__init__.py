"""lrviz inside training code: ``LrGuard``, a ``transformers.TrainerCallback`` that checks the LR at every update.

Importing ``lrviz.integrations`` is cheap; ``LrGuard`` imports transformers when first used::

    from lrviz.integrations import LrGuard
    trainer = Trainer(..., callbacks=[LrGuard()])                       # predicted from the Trainer's arguments
    trainer = Trainer(..., callbacks=[LrGuard("sft.yaml", on_mismatch="stop")])   # the config the run should follow
"""

from __future__ import annotations

from typing import Any

from . import causes

__all__ = ["LrGuard", "causes"]


def __getattr__(name: str) -> Any:
    if name == "LrGuard":
        from .guard import LrGuard

        return LrGuard
    raise AttributeError(f"module 'lrviz.integrations' has no attribute {name!r}")
