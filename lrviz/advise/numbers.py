"""How advise writes numbers: in messages (short, as people write LRs) and in snippets (exact, valid in the target).

Pure text helpers, no I/O.
"""

from __future__ import annotations

import math

from ..formatting import format_lr

# Two values this close (relative) count as equal when a rule compares them with a bound: a floor of exactly
# 1/100 of the peak satisfies "at least 1/100" even when float division lands one ulp below.
REL_TOL = 1e-9


def at_least(value: float, bound: float) -> bool:
    """``value >= bound``, forgiving float rounding."""
    return value >= bound - REL_TOL * abs(bound)


def at_most(value: float, bound: float) -> bool:
    """``value <= bound``, forgiving float rounding."""
    return value <= bound + REL_TOL * abs(bound)


def lr(value: float | None, digits: int = 4) -> str:
    """An LR as people write it: ``2e-4``, ``1.933e-4``, ``0`` (``digits`` significant digits)."""
    return "none" if value is None else format_lr(value, digits)


def count(value: float) -> str:
    """A factor or a count with 3 significant digits and no exponent: ``20000``, ``33.3``, ``1.5``."""
    if not math.isfinite(value):
        return str(value)
    rounded = float(f"{value:.3g}")
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.6f}".rstrip("0").rstrip(".")


def fraction(ratio: float) -> str:
    """A ratio to the peak as ``1/20000`` (below 1) or ``1.5×`` (1 and above)."""
    if ratio <= 0:
        return "0×"
    if ratio < 1:
        return f"1/{count(1 / ratio)}"
    return f"{count(ratio)}×"


def of_peak(ratio: float) -> str:
    """``1/20000 of the peak``, ``1.5× the peak``, ``0``."""
    if ratio <= 0:
        return "0"
    return f"{fraction(ratio)} the peak" if ratio >= 1 else f"{fraction(ratio)} of the peak"


def percent(share: float) -> str:
    """``0.03`` -> ``3%``, ``0.0125`` -> ``1.25%``."""
    return f"{count(share * 100)}%"


def nice(value: float, lo: float, hi: float) -> float:
    """A round number (fewest significant digits) in ``[lo, hi]`` closest to ``value``; ``value`` if none is rounder."""
    if value <= 0 or not math.isfinite(value):
        return value
    for digits in range(1, 16):
        exponent = math.floor(math.log10(value)) - (digits - 1)
        candidates = []
        for step in (math.floor, math.ceil):
            mantissa = step(value / 10.0**exponent)
            candidate = float(f"{mantissa}e{exponent}")
            if at_least(candidate, lo) and at_most(candidate, hi) and candidate > 0:
                candidates.append(candidate)
        if candidates:
            return min(candidates, key=lambda c: abs(math.log(c / value)))
    return value


def yaml_float(value: float) -> str:
    """A float that YAML 1.1 (PyYAML) and YAML 1.2 (OmegaConf) both read as the same float: ``2.0e-6``, ``0.01``.

    PyYAML needs a dot in the mantissa and a signed exponent; ``2e-6`` and ``2.0e6`` are strings to it.
    """
    value = float(value)
    if value == 0:
        return "0.0"
    text = repr(value)
    if "e" not in text and "E" not in text:
        return text if "." in text else text + ".0"
    mantissa, exponent = text.lower().split("e")
    if "." not in mantissa:
        mantissa += ".0"
    sign = "-" if exponent.startswith("-") else "+"
    return f"{mantissa}e{sign}{int(exponent.lstrip('+-'))}"


def py_float(value: float) -> str:
    """A float as Python (and JSON) reads back exactly."""
    return repr(float(value))
