"""Candidate values the inference tries: the decimals people type, peaks just above what a log shows, and one HF
model per hypothesis. Shared by ``infer`` and ``typed`` (a leaf of both)."""

from __future__ import annotations

import math
from typing import Sequence

from ..errors import SpecError
from ..spec import ScheduleSpec
from .models import HFModel


def short_decimals(value: float, tolerances: Sequence[float] = (1e-6, 1e-9, 1e-12)) -> list[float]:
    """The shortest decimals within each relative tolerance of ``value`` (1e-5 for 1.0000000000000002e-05), then
    ``value`` itself."""
    found: list[float] = []
    if value == 0 or not math.isfinite(value):
        return [value]
    for tol in tolerances:
        for digits in range(1, 17):
            candidate = float(f"{value:.{digits - 1}e}")
            if abs(candidate - value) <= tol * abs(value):
                if candidate not in found:
                    found.append(candidate)
                break
    if value not in found:
        found.append(value)
    return found


def hf_model(scheduler: str, peak: float, warmup: int, total: int, kwargs: dict | None = None) -> HFModel | None:
    try:
        return HFModel(ScheduleSpec(scheduler=scheduler, peak_lr=peak, total_steps=total, warmup_steps=warmup,
                                    scheduler_kwargs=kwargs or {}))
    except SpecError:
        return None


def peaks_above(top: float) -> list[float]:
    """Peaks people type at or just above the largest logged LR (a run whose skips or logging interval hide the
    peak never logs it): the largest LR rounded up to 1, 2 and 3 significant digits, and itself."""
    found = []
    exponent = math.floor(math.log10(top))
    for digits in range(1, 4):
        scale = 10.0 ** (exponent - digits + 1)
        value = float(f"{math.ceil(top / scale * (1 - 1e-12)) * scale:.{digits}g}")
        if value >= top * (1 - 1e-12) and value not in found:
            found.append(value)
    if top not in found:
        found.append(top)
    return found
