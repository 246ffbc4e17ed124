"""Reading a text file the user named, with one-line errors that say what to give instead."""

from __future__ import annotations

import os

from .errors import LrvizError


def read_text_file(path: str, *, label: str, expected: str, error: type[LrvizError]) -> str:
    """The UTF-8 text of ``path``; a directory, missing, unreadable, binary or non-UTF-8 file raises ``error``.

    ``label`` names where the path came from (``"--config run.yaml"``); ``expected`` says what to give
    (``"the YAML or JSON file you launch with"``).
    """
    if os.path.isdir(path):
        raise error(f"{label} is a directory; give {expected}")
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise error(f"{label}: no such file; give {expected}") from None
    except OSError as problem:
        raise error(f"{label}: cannot read it ({problem.strerror}); check the path and its permissions") from None
    if b"\x00" in raw:
        raise error(f"{label} is a binary file; give {expected}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        raise error(f"{label} is not UTF-8 text (byte {problem.start}); save it as UTF-8 and give {expected}") from None
