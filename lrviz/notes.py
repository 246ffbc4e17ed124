"""Typed notes: a warning about a schedule, with a code that says what it is about and the text a user reads.

A ``Note`` is a ``str`` (its text), so everything that prints or serialises notes keeps working; code downstream
tells notes apart by ``note.code``, never by their wording.
"""

from __future__ import annotations

from typing import Any


class Note(str):
    """One warning: ``code`` (stable, e.g. ``hf.warmup_ratio_key``) and its text (the ``str`` value)."""

    code: str

    def __new__(cls, code: str, text: str) -> "Note":
        note = super().__new__(cls, text)
        note.code = code
        return note

    @property
    def text(self) -> str:
        return str.__str__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Note, (self.code, self.text))


def code_of(note: str) -> str:
    """A note's code; ``other`` for a plain string."""
    return getattr(note, "code", "other")
