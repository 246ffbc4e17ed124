"""TensorBoard event files (``events.out.tfevents.*``), read with the ``tensorboard`` package's own event reader
(``tensorboard.backend.event_processing.event_file_loader.EventFileLoader``): install ``lrviz[tensorboard]``.

The LR tag is found among the scalars: ``train/learning_rate`` (HF Trainer's TensorBoardCallback), ``lr``,
``learning-rate`` (Megatron-LM), ``lr-AdamW`` (Lightning's LearningRateMonitor)...; TensorBoard stores scalars as
float32, so values are compared at float32 precision. Event files kept in model repositories are often Git LFS
pointers: that is said, not read as a broken file.
"""

from __future__ import annotations

import os

from ..errors import EnvironmentUnavailable
from .run import LoggedRun, LogError
from ._files import LFS_POINTER, checked_points, lfs_error, merge_points, no_lr_error
from .table import FLOAT32_ROUNDING, LR_NAMES, _is_lr_name

TAG_ORDER = ("train/learning_rate", "learning_rate", "train/lr", "lr", "learning-rate", "learning rate")


def _loader(path: str):
    try:
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
        from tensorboard.util.tensor_util import make_ndarray
    except ImportError:
        raise EnvironmentUnavailable(
            f"{path} is a TensorBoard event file, and reading it needs the tensorboard package: pip install "
            "'lrviz[tensorboard]' (or export the LR scalar as CSV from TensorBoard and give that)") from None
    return EventFileLoader, make_ndarray


def _check_bytes(path: str) -> None:
    if os.path.isdir(path):
        raise LogError(f"{path} is a directory; give one events.out.tfevents.* file inside it")
    try:
        with open(path, "rb") as handle:
            head = handle.read(200)
    except FileNotFoundError:
        raise LogError(f"{path}: no such file; give the run's events.out.tfevents.* file") from None
    except OSError as problem:
        raise LogError(f"{path}: cannot read it ({problem.strerror}); check the path and its permissions") from None
    if not head:
        raise LogError(f"{path} is empty: TensorBoard has written nothing to it yet")
    if head.startswith(LFS_POINTER.encode()):
        with open(path, encoding="utf-8", errors="replace") as handle:
            raise lfs_error(path, handle.read(1000))


def _pick(path: str, tags: list[str]) -> str:
    exact = [tag for name in TAG_ORDER for tag in tags if tag.lower() == name]
    if exact:
        return exact[0]
    found = [tag for tag in tags if _is_lr_name(tag)]
    if len(found) == 1:
        return found[0]
    shown = ", ".join(sorted(tags)[:12]) or "none"
    if not found:
        raise LogError(f"{path}: no learning-rate scalar among its tags ({shown}); log the LR (HF Trainer: "
                       f"report_to tensorboard logs {LR_NAMES[0]}) or export the right scalar as CSV")
    raise LogError(f"{path}: several learning-rate scalars ({', '.join(found)}); export the one to check as CSV "
                   "and give that with --lr-column")


def read_event_file(path: str) -> LoggedRun:
    _check_bytes(path)
    loader, make_ndarray = _loader(path)
    series: dict[str, list[tuple[int, float, bool]]] = {}
    events = 0
    try:
        for event in loader(path).Load():
            events += 1
            for value in event.summary.value:
                kind = value.WhichOneof("value")
                if kind == "tensor":
                    array = make_ndarray(value.tensor)
                    if array.size != 1 or array.dtype.kind != "f":
                        continue
                    number, float32 = float(array.reshape(())), array.dtype.itemsize == 4
                elif kind == "simple_value":
                    number, float32 = float(value.simple_value), True
                else:
                    continue
                series.setdefault(value.tag, []).append((int(event.step), number, float32))
    except Exception as problem:  # the reader raises its own DataLossError and protobuf's DecodeError
        raise LogError(f"{path} is not a readable TensorBoard event file ({type(problem).__name__}); give the "
                       "events.out.tfevents.* file the run wrote (a cut copy? copy it again)") from None
    if not events:
        raise LogError(f"{path} is not a readable TensorBoard event file (no complete event record in it); give the "
                       "events.out.tfevents.* file the run wrote (a cut copy? copy it again)")
    if not series:
        raise no_lr_error(path, events, "events")
    tag = _pick(path, list(series))
    points = series[tag]
    steps = [p[0] for p in points]
    values = [p[1] for p in points]
    order = list(range(len(points)))
    notes = [f"read the scalar {tag!r}"]
    resumes: tuple = ()
    duplicates = 0
    if any(b <= a for a, b in zip(steps, steps[1:])):
        steps, values, order, resumes, duplicates = merge_points(steps, values, order, set())
    step_array, lr_array = checked_points(path, steps, values, lambda index: f"event {order[index] + 1} of {tag!r}")
    rounding = FLOAT32_ROUNDING if any(p[2] for p in points) else 0.0
    if rounding:
        notes.append("TensorBoard stores scalars as float32: compared to 6e-8 relative")
    return LoggedRun(path=path, fmt="tensorboard", steps=step_array, lr=lr_array, rounding=rounding,
                     notes=tuple(notes), resumes=resumes, duplicates=duplicates)
