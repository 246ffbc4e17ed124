"""Where output goes: the report on stdout, every warning and note on stderr, one rendering for all commands.

``warn`` is the only way a command shows a warning or a note, so that ``2>/dev/null`` leaves the report alone and
the same finding reads the same in ``plot``, ``advise``, ``verify`` and ``check-run``. ``report_console`` is the
stdout console of every report: it drops the spaces that rich pads table lines with, so no line ends in a space.
"""

from __future__ import annotations

import re
import sys
from typing import IO, Any

from rich.console import Console
from rich.text import Text

KIND_STYLES = {"warning": "yellow", "note": "cyan"}

# spaces before the end of a line, possibly followed by style resets
_TRAILING = re.compile(r"[ \t]+((?:\x1b\[[0-9;]*m)*)(?=\n)")


class _NoTrailingSpaces:
    """A text stream that forwards whole lines to ``stream`` with their trailing spaces removed."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        cut = self._pending.rfind("\n") + 1
        if cut:
            self._stream.write(_TRAILING.sub(r"\1", self._pending[:cut]))
            self._pending = self._pending[cut:]
        return len(text)

    def flush(self) -> None:
        if self._pending:  # a line still open (printed with end=""): it may go on, so it is written as it is
            self._stream.write(self._pending)
            self._pending = ""
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding: rich asks the real stream
        return getattr(self._stream, name)


def report_console(*, stderr: bool = False) -> Console:
    """The console a command prints its report to (stdout unless ``stderr``), without trailing spaces."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=_NoTrailingSpaces(stream), highlight=False)  # type: ignore[arg-type]


def error_console() -> Console:
    """stderr, for warnings, notes and progress bars."""
    return Console(stderr=True, highlight=False)


def warn(message: str, kind: str = "warning", console: Console | None = None) -> None:
    """Show one warning (or note) on stderr: ``warning: <message>``, on one line however long."""
    out = console if console is not None else error_console()
    out.print(Text(f"{kind}:", style=KIND_STYLES.get(kind, "yellow")) + Text(f" {message}"), soft_wrap=True)


def warn_all(messages: Any, kind: str = "warning", console: Console | None = None) -> None:
    """``warn`` each message once, in order (the same note from two curves is shown once)."""
    out = console if console is not None else error_console()
    seen: set[str] = set()
    for message in messages:
        if message not in seen:
            seen.add(message)
            warn(message, kind, out)
