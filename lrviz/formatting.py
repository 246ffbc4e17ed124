"""Numbers as people write them; pure text, no imports beyond the standard library."""

from __future__ import annotations

import math


def format_lr(value: float | None, digits: int = 6) -> str:
    """An LR as people write it: ``2e-4``, ``1.93333e-4``, ``0``."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return str(value)
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"
