"""Framework releases whose LR behaviour differs, selected with ``--framework-version``.

Only differences that were read from the released source of each version are modelled; the boundaries below
were found by diffing ``deepspeed/runtime/lr_schedules.py`` of the PyPI sdists 0.18.0, 0.18.9, 0.19.0, 0.19.2,
0.19.3, 0.19.4 and 0.19.8.
"""

from __future__ import annotations

import re

from ..errors import SpecError

# framework -> (current release = default, oldest release lrviz has read)
RELEASES: dict[str, tuple[str, str]] = {
    "deepspeed": ("0.19.8", "0.18.0"),
}

# What each framework's single modelled release is, for frameworks without version-dependent behaviour.
SINGLE_RELEASE: dict[str, str] = {
    "hf": "transformers 5.24.0",
    "torch": "PyTorch 2.13",
    "timm": "timm 1.0.31",
    "axolotl": "axolotl 0.19.0",
    "megatron": "megatron-core 0.16.1",
    "nemo": "nemo-toolkit 3.0.0",
}


def parse(text: str) -> tuple[int, ...]:
    match = re.fullmatch(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", str(text).strip())
    if not match:
        raise ValueError(text)
    return tuple(int(part) if part is not None else 0 for part in match.groups())


def canonical_version(framework: str, text: str | None) -> str | None:
    """The release to model for ``framework``: ``text`` normalised, or the current release if None."""
    if framework not in RELEASES:
        if text is None:
            return None
        modelled = SINGLE_RELEASE.get(framework, f"the {framework} release named in the README")
        raise SpecError(
            f"--framework-version {text!r}: lrviz models one release for --framework {framework} ({modelled}); "
            f"--framework-version selects between releases of: {', '.join(RELEASES)}; drop it"
        )
    current, oldest = RELEASES[framework]
    if text is None:
        return current
    try:
        version = parse(text)
    except ValueError:
        raise SpecError(f"--framework-version {text!r} is not a version number; write it like {current}") from None
    if version < parse(oldest):
        raise SpecError(
            f"--framework-version {text}: lrviz has read {framework} releases {oldest} to {current} only; "
            f"use {oldest} or later"
        )
    return ".".join(str(part) for part in version)


def at_least(version: str | None, minimum: str) -> bool:
    """Whether ``version`` (None: current) is ``minimum`` or later."""
    return version is None or parse(version) >= parse(minimum)
