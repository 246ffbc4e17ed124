"""Writing results: per-update CSV/JSON exports and figures, always whole or not at all.

Every file is written to a temporary name next to its destination and renamed into place, so an error
or an interrupt never leaves a half-written file. ``-`` means standard output.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterator

from .errors import LrvizError
from .spec import ScheduleSpec
from .trajectory import chunks

IMAGE_FORMATS = ("png", "svg", "pdf")
DATA_FORMATS = ("csv", "json")
FORMATS = IMAGE_FORMATS + DATA_FORMATS

# A per-update export beyond this many rows would be tens of gigabytes: refuse it up front.
MAX_EXPORT_UPDATES = 50_000_000


class OutputError(LrvizError):
    """The output path or format cannot be used."""


def format_for(path: str | None, requested: str | None) -> str:
    """The output format: ``--format`` if given, else the extension of ``-o``, else png."""
    if path == "":
        raise OutputError("-o is empty; give a file name such as run.png, or - for stdout")
    if path == "-":
        chosen = requested or "csv"
        if chosen not in DATA_FORMATS:
            raise OutputError(f"-o - writes to stdout, which takes --format csv or json, not {chosen}")
        return chosen
    if path:
        check_destination(path)
    extension = os.path.splitext(path)[1].lower().lstrip(".") if path else ""
    if path and extension not in FORMATS:
        if requested is None:
            raise OutputError(f"-o {path}: unknown extension {extension or '(none)'!r}; use .png, .svg, .pdf, .csv or .json")
    if requested and extension in FORMATS and extension != requested:
        raise OutputError(f"-o {path} has extension .{extension} but --format is {requested}; make them agree")
    return requested or extension or "png"


def check_destination(path: str) -> None:
    """Fail early, before any work, if ``path`` cannot be written."""
    if path == "-":
        return
    if os.path.isdir(path):
        raise OutputError(f"-o {path} is a directory; give a file name such as {os.path.join(path, 'schedule.png')}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OutputError(f"-o {path}: the folder {directory} does not exist; create it first")
    if not os.access(directory, os.W_OK):
        raise OutputError(f"-o {path}: the folder {directory} is not writable")


@contextmanager
def atomic_file(path: str, mode: str = "w") -> Iterator[IO[Any]]:
    """A file handle whose contents appear at ``path`` only if the block finishes."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".lrviz-", suffix=".part", dir=directory)
    try:
        with os.fdopen(handle, mode, encoding=None if "b" in mode else "utf-8", newline="" if "b" not in mode else None) as stream:
            yield stream
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def check_export_size(spec: ScheduleSpec) -> None:
    if spec.total_steps > MAX_EXPORT_UPDATES:
        raise OutputError(
            f"--format csv/json writes one row per update: {spec.total_steps:,} updates is over the "
            f"{MAX_EXPORT_UPDATES:,} limit (gigabytes of text); export fewer --steps or write a .png"
        )


def write_csv(stream: IO[str], spec: ScheduleSpec, progress: Callable[[int], None] | None = None) -> None:
    """Header ``step,lr``, then one row per update with the LR in ``repr`` precision."""
    check_export_size(spec)
    stream.write("step,lr\n")
    for piece in chunks(spec):
        stream.write("".join(f"{s},{lr!r}\n" for s, lr in zip(piece.step.tolist(), piece.lr.tolist())))
        if progress:
            progress(len(piece))


def write_json(stream: IO[str], document: dict[str, Any], spec: ScheduleSpec, progress: Callable[[int], None] | None = None) -> None:
    """``document`` plus the arrays ``step`` and ``lr``, streamed so the run is never held in memory."""
    check_export_size(spec)
    head = json.dumps(document, indent=1)
    stream.write(head[:-1].rstrip() + ',\n "step": [')
    for index, piece in enumerate(chunks(spec)):
        stream.write(("," if index else "") + ",".join(map(str, piece.step.tolist())))
        if progress:
            progress(len(piece) // 2)
    stream.write('],\n "lr": [')
    for index, piece in enumerate(chunks(spec)):
        stream.write(("," if index else "") + ",".join(map(repr, piece.lr.tolist())))
        if progress:
            progress(len(piece) - len(piece) // 2)
    stream.write("]\n}\n")


def write_data(path: str, fmt: str, spec: ScheduleSpec, document: dict[str, Any], progress: Callable[[int], None] | None = None) -> None:
    """Write the per-update trajectory of ``spec`` as CSV or JSON to ``path`` (``-``: stdout)."""
    def write(stream: IO[str]) -> None:
        if fmt == "csv":
            write_csv(stream, spec, progress)
        else:
            write_json(stream, document, spec, progress)

    if path == "-":
        check_export_size(spec)
        write(sys.stdout)
        sys.stdout.flush()
        return
    with atomic_file(path) as stream:
        write(stream)


def save_figure(figure: Any, path: str, fmt: str) -> None:
    """Save a matplotlib Figure atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    with atomic_file(path, "wb") as stream:
        figure.savefig(stream, format=fmt)
