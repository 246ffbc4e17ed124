"""The shape of a scheduler's accepted settings (``Kwarg``, ``Signature``) and how a floor is spelled.

A leaf module: ``lrviz.signatures`` (the registry) and ``lrviz.frameworks.catalog`` (each framework's entries)
both import it, so neither imports the other's module back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# How the floor of a schedule is spelled in its keyword arguments.
FLOOR_MIN_LR_OR_RATE = "min_lr|min_lr_rate"  # exactly one of absolute `min_lr` or ratio `min_lr_rate`
FLOOR_MIN_LR_RATIO = "min_lr_ratio"  # ratio of the peak, default 0 (warmup_stable_decay)
FLOOR_LR_END = "lr_end"  # absolute end LR, default 1e-7 (polynomial)
FLOOR_ZERO = "zero"  # decays to 0, no way to set a floor
FLOOR_NONE = "none"  # does not decay to a floor (constant, inverse_sqrt)
FLOOR_ABSOLUTE = "absolute"  # an absolute LR in the kwarg named by Signature.floor_kwarg, same for every group
FLOOR_RATIO = "ratio"  # a fraction of each group's LR in the kwarg named by Signature.floor_kwarg


@dataclass(frozen=True)
class Kwarg:
    """One keyword argument a scheduler accepts through ``lr_scheduler_kwargs``."""

    name: str
    kind: str  # "float", "int", "choice", "bool"
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Signature:
    """The accepted keyword arguments of one scheduler, and how its floor is spelled."""

    framework: str
    name: str
    kwargs: tuple[Kwarg, ...]
    floor: str
    summary: str
    kwargs_forwarded: bool = True  # False: get_scheduler drops lr_scheduler_kwargs for this type
    floor_kwarg: str = ""  # the kwarg holding the floor, for FLOOR_ABSOLUTE and FLOOR_RATIO
    warmup: bool = True  # False: the scheduler has no warmup (torch CosineAnnealingLR alone)

    def kwarg(self, name: str) -> Kwarg | None:
        return next((k for k in self.kwargs if k.name == name), None)

    @property
    def kwarg_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.kwargs)
