"""Writing results: per-update CSV/JSON exports and figures, always whole or not at all.

* A regular file (or a new name) is written to a temporary ``.lrviz-*.part`` next to its destination and renamed
  into place, so an error, Ctrl-C or SIGTERM never leaves a half-written file or the temporary behind.
* A symlink is written through: the file it points to is replaced, the link stays.
* A FIFO or a device (``/dev/null``, ``/dev/full``, a terminal) is written to directly, never replaced.
* ``-`` and ``/dev/stdout`` mean standard output.

Problems that can be seen before any work (a missing or read-only folder, a name longer than the file system
allows, a full disk) are one-line ``OutputError``\\ s from ``check_destination``; those that only show while writing
(the disk fills up, the file grows past a quota) are one-line errors too, after the temporary is removed.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import IO, Any, Callable, Iterator, Sequence

from .errors import LrvizError, Terminated
from .spec import ScheduleSpec
from .trajectory import chunks

IMAGE_FORMATS = ("png", "svg", "pdf")
DATA_FORMATS = ("csv", "json")
FORMATS = IMAGE_FORMATS + DATA_FORMATS
STDOUT_NAMES = ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")

# A per-update export beyond this many rows would be tens of gigabytes: refuse it up front.
MAX_EXPORT_UPDATES = 50_000_000
_NAME_MAX = 255  # where pathconf cannot tell
_PATH_MAX = 4096


class OutputError(LrvizError):
    """The output path or format cannot be used."""


def is_stdout(path: str | None) -> bool:
    return path in STDOUT_NAMES


def is_stream(path: str) -> bool:
    """An existing FIFO, device or socket (after following symlinks): written to directly, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def format_for(path: str | None, requested: str | None) -> str:
    """The output format: ``--format`` if given, else the extension of ``-o``, else png (csv for stdout)."""
    if path == "":
        raise OutputError("-o is empty; give a file name such as run.png, or - for stdout")
    if is_stdout(path):
        chosen = requested or "csv"
        if chosen not in DATA_FORMATS:
            raise OutputError(f"-o {path} writes to stdout, which takes --format csv or json, not {chosen}")
        return chosen
    if path:
        check_destination(path)
    extension = os.path.splitext(path)[1].lower().lstrip(".") if path else ""
    if path and extension not in FORMATS and requested is None:
        if is_stream(path) and not extension:
            return "png"  # /dev/null, a FIFO: the command's default
        raise OutputError(f"-o {path}: unknown extension {extension or '(none)'!r}; use .png, .svg, .pdf, .csv or .json")
    if requested and extension in FORMATS and extension != requested:
        raise OutputError(f"-o {path} has extension .{extension} but --format is {requested}; make them agree")
    return requested or extension or "png"


def distinct_outputs(paths: Sequence[str]) -> tuple[str, ...]:
    """The ``-o`` values of one run; the same destination twice is an error (the second would replace the first)."""
    seen: dict[str, str] = {}
    for path in paths:
        key = "-" if is_stdout(path) else os.path.realpath(path) if path else path
        if key in seen:
            raise OutputError(f"-o {path} is given twice (as -o {seen[key]}); give each output once")
        seen[key] = path
    if sum(1 for path in paths if is_stdout(path)) > 1:
        raise OutputError("-o - is given twice; stdout takes one output")
    return tuple(paths)


def check_destination(path: str) -> None:
    """Fail early, before any work, if ``path`` cannot be written."""
    if is_stdout(path):
        return
    if path == "":
        raise OutputError("-o is empty; give a file name such as run.png, or - for stdout")
    if "\x00" in path:
        raise OutputError("-o contains a NUL character; give a plain file name")
    if path.endswith(os.sep) or os.path.basename(path) in (".", ".."):
        raise OutputError(f"-o {path} names a folder; give a file name such as {os.path.join(path, 'schedule.png')}")
    _check_name_lengths(path)
    if os.path.isdir(path):
        raise OutputError(f"-o {path} is a directory; give a file name such as {os.path.join(path, 'schedule.png')}")
    if is_stream(path):
        if not os.access(path, os.W_OK):
            raise OutputError(f"-o {path}: not writable; check its permissions")
        return
    target = os.path.realpath(path)  # through symlinks
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise OutputError(f"-o {path}: the folder {os.path.dirname(os.path.abspath(path))} does not exist; create it first")
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise OutputError(f"-o {path}: the file exists and is not writable; check its permissions or choose another name")
    try:  # the real test (root passes os.access everywhere, even /proc): create and remove a temporary file
        handle, probe = tempfile.mkstemp(prefix=".lrviz-", suffix=".part", dir=directory)
    except OSError as problem:
        raise OutputError(f"-o {path}: cannot create a file in {directory} ({_reason(problem)}); choose another folder") from None
    os.close(handle)
    os.unlink(probe)
    try:
        space = os.statvfs(directory)
    except OSError:
        return
    if space.f_blocks and space.f_bavail == 0:
        raise OutputError(f"-o {path}: the disk holding {directory} is full; free space or choose another folder")


def _check_name_lengths(path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path)) or "/"
    try:
        name_max = os.pathconf(directory, "PC_NAME_MAX") if os.path.isdir(directory) else _NAME_MAX
    except (OSError, ValueError):
        name_max = _NAME_MAX
    for part in path.split(os.sep):
        size = len(os.fsencode(part))
        if size > name_max:
            shown = part if len(part) <= 40 else part[:20] + "…" + part[-12:]
            raise OutputError(f"-o {shown}: a name of {size} bytes, longer than the file system allows ({name_max}); "
                              "use a shorter name")
    if len(os.fsencode(os.path.abspath(path))) >= _PATH_MAX:
        raise OutputError(f"-o: the path is {len(os.fsencode(os.path.abspath(path)))} bytes, longer than the system "
                          f"allows ({_PATH_MAX - 1}); use a shorter path")


def _reason(problem: OSError) -> str:
    return problem.strerror or errno.errorcode.get(problem.errno or 0, str(problem))


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While a file is written, SIGTERM raises ``Terminated`` so that ``finally`` blocks remove the temporary."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # not settable here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


_batches: list[list[tuple[str, str, str]]] = []  # open all_or_nothing blocks: (temporary, target, path as given)


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """Files written by ``atomic_file`` inside this block appear together at its end, or none of them does.

    Order the writes with FIFOs and devices last: what went into those cannot be taken back.
    """
    batch: list[tuple[str, str, str]] = []
    _batches.append(batch)
    with _terminate_as_interrupt():
        try:
            yield
        except BaseException:
            for temporary, _, _ in batch:
                _remove(temporary)
            raise
        finally:
            _batches.remove(batch)
        for index, (temporary, target, path) in enumerate(batch):
            try:
                os.replace(temporary, target)
            except OSError as problem:
                for later, _, _ in batch[index:]:
                    _remove(later)
                raise OutputError(f"-o {path}: writing failed ({_reason(problem)})") from None


def stream_last(paths: Sequence[str]) -> list[str]:
    """``paths`` with stdout, FIFOs and devices after the regular files (see ``all_or_nothing``)."""
    return sorted(paths, key=lambda path: is_stdout(path) or is_stream(path))


@contextmanager
def atomic_file(path: str, mode: str = "w") -> Iterator[IO[Any]]:
    """A handle whose contents appear at ``path`` only if the block finishes (see the module docstring)."""
    binary = "b" in mode
    if is_stdout(path):
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    encoding = None if binary else "utf-8"
    newline = None if binary else ""
    if is_stream(path):
        try:
            with open(path, mode, encoding=encoding, newline=newline) as stream:
                yield stream
        except BrokenPipeError:
            raise
        except OSError as problem:
            raise OutputError(f"-o {path}: writing failed ({_reason(problem)})") from None
        return
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    with _terminate_as_interrupt():
        try:
            handle, temporary = tempfile.mkstemp(prefix=".lrviz-", suffix=".part", dir=directory)
        except OSError as problem:
            raise OutputError(f"-o {path}: cannot create a file in {directory} ({_reason(problem)})") from None
        try:
            with os.fdopen(handle, mode, encoding=encoding, newline=newline) as stream:
                yield stream
            os.chmod(temporary, _mode_for(target))  # mkstemp makes 0600
            if _batches:
                _batches[-1].append((temporary, target, path))  # renamed when the whole batch is written
            else:
                os.replace(temporary, target)
        except OSError as problem:
            _remove(temporary)
            raise OutputError(f"-o {path}: writing failed ({_reason(problem)}); nothing was written") from None
        except BaseException:
            _remove(temporary)
            raise


def _mode_for(target: str) -> int:
    """An existing file's permissions, else the usual ones for a new file (0666 less the umask)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove(temporary: str) -> None:
    try:
        os.unlink(temporary)
    except OSError:
        pass


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
        # map/zip/join run in C: 2-3x faster than formatting each row in Python
        rows = zip(map(str, piece.step.tolist()), map(repr, piece.lr.tolist()))
        stream.write("\n".join(map(",".join, rows)) + "\n")
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
    check_export_size(spec)
    with atomic_file(path) as stream:
        if fmt == "csv":
            write_csv(stream, spec, progress)
        else:
            write_json(stream, document, spec, progress)


def save_figure(figure: Any, path: str, fmt: str) -> None:
    """Save a matplotlib Figure atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    with atomic_file(path, "wb") as stream:
        figure.savefig(stream, format=fmt)


def save_figures(figure: Any, outputs: Sequence[tuple[str, str]]) -> None:
    """Save one figure to every (path, format) of ``outputs``: all of them, or none."""
    formats = dict(outputs)
    with all_or_nothing():
        for path in stream_last(list(formats)):
            save_figure(figure, path, formats[path])


def figure_outputs(paths: Sequence[str], command: str, what: str) -> list[tuple[str, str]]:
    """``-o`` values of a command that writes only a figure: each an image name that can be written."""
    found = []
    for path in distinct_outputs(paths):
        if path in ("", "-") or is_stdout(path):
            raise OutputError(f"-o {path or repr(path)}: {command} writes {what}, an image: give a file such as "
                              f"{command.split()[-1]}.png (--json prints the numbers)")
        check_destination(path)
        extension = os.path.splitext(path)[1].lower().lstrip(".")
        if extension not in IMAGE_FORMATS:
            if is_stream(path) and not extension:
                extension = "png"
            else:
                given = f"not .{extension}" if extension else "it has no extension"
                raise OutputError(f"-o {path}: {command} writes {what}, so use .png, .svg or .pdf ({given}); "
                                  "--json prints the numbers")
        found.append((path, extension))
    return found


def no_file_conflict(no_file: bool, paths: Sequence[str]) -> None:
    if no_file and paths:
        raise OutputError(f"--no-file and -o {paths[0]} contradict each other; drop one")
