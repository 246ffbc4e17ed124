"""Run-log readers: the learning rate a finished (or running) training run logged, mapped onto update indices.

Formats read (``docs/log-formats.md`` has the details):

* Hugging Face ``trainer_state.json`` (``log_history``; eval and summary entries without ``learning_rate`` are
  skipped), written by ``transformers.Trainer`` and everything built on it (TRL, LLaMA-Factory, axolotl).
* LLaMA-Factory ``trainer_log.jsonl`` (one JSON object per line: ``current_steps``, ``total_steps``, and ``lr``
  in current releases or ``learning_rate`` in old ones; the closing line has no LR). Lines written twice (several
  processes), out of order, or again after a resume (``elapsed_time`` starts over) are merged into one run and the
  resume is recorded.
* Megatron-LM text logs (``iteration N/ M | ... | learning rate: 1.234E-04 | ...``), compared at the printed
  precision.
* TensorBoard event files (``events.out.tfevents.*``), read with the ``tensorboard`` package (``lrviz[tensorboard]``).
* CSV/TSV with a step column and an LR column (a W&B or TensorBoard export); the column names are guessed and can
  be given.

Logged steps become update indices (``s = 0, 1, ...``, DESIGN.md) through a *convention*: transformers >= 4.52
(and LLaMA-Factory, which logs through it) writes at ``global_step = s + 1`` the LR that update ``s`` used; older
transformers wrote there the LR of the *next* update, so logged step ``g`` carries update ``g``. A per-update export
(``lrviz plot --format csv``) has ``step = s`` directly.

Readers only read and validate: any problem with the file is a ``LogError`` (exit 2) naming the file, the problem
and the fix. No torch, no matplotlib.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import LrvizError

# How a logged step maps to an update index: update = step + SHIFT[convention].
CONVENTIONS: dict[str, int] = {"hf": -1, "hf-legacy": 0, "update": 0, "megatron": 0}

CONVENTION_TEXT = {
    "hf": "logged step s+1 carries the LR of update s (transformers >= 4.52, LLaMA-Factory)",
    "hf-legacy": "logged step s carries the LR of update s, i.e. the LR of the next update (transformers < 4.52)",
    "update": "the step column is the update index s (a per-update export such as lrviz plot --format csv)",
    "megatron": "logged iteration N carries the optimizer's LR after N scheduler steps, the LR of update N "
                "(Megatron-LM training_log)",
}

FORMATS = ("auto", "hf", "llamafactory", "csv", "megatron", "tensorboard")
FORMAT_NAMES = {"hf": "HF trainer_state.json", "llamafactory": "LLaMA-Factory trainer_log.jsonl", "csv": "CSV",
                "megatron": "Megatron-LM text log", "tensorboard": "TensorBoard event file"}


class LogError(LrvizError, ValueError):
    """A run log cannot be read or holds no usable learning rates (exit code 2)."""


@dataclass(frozen=True)
class Resume:
    """A run that started again inside one log file: from ``line`` on, steps from ``first_step`` were logged again.

    ``overlap`` steps were logged by both runs; ``agree`` of them with the same LR (a resume that restored the
    scheduler state logs the same LRs again). The later run's points are the ones kept."""

    line: int
    first_step: int
    last_step_before: int
    overlap: int
    agree: int


@dataclass(frozen=True)
class ReportedSkip:
    """Skipped iterations the framework itself reported (Megatron's ``number of skipped iterations``)."""

    step: int  # the logged iteration whose interval had them
    count: int


@dataclass(frozen=True)
class LoggedRun:
    """The learning rates one run logged, in logged-step order.

    Args:
        path: the file read.
        fmt: ``"hf"``, ``"llamafactory"`` or ``"csv"``.
        steps: the steps as logged (HF ``global_step``, LLaMA-Factory ``current_steps``, the CSV step column).
        lr: the logged learning rates (float64), one per step.
        total_steps: the run length the framework recorded (HF ``max_steps``, LLaMA-Factory ``total_steps``).
        logging_steps, save_steps, global_step: what the framework recorded about the run, when it did.
        rounding: relative rounding of the logged values (0 for full float64; e.g. 2**-24 for float32 exports,
            5e-7 for values printed with 7 significant digits).
        skipped: entries read but without a learning rate (eval lines, the summary entry, empty CSV cells).
        columns: the (step, LR) column names a CSV was read with.
        notes: things worth telling the user about how the file was read.
    """

    path: str
    fmt: str
    steps: np.ndarray
    lr: np.ndarray
    total_steps: int | None = None
    logging_steps: int | None = None
    save_steps: int | None = None
    global_step: int | None = None
    rounding: float = 0.0
    skipped: int = 0
    columns: tuple[str, str] | None = None
    notes: tuple[str, ...] = field(default=())
    resumes: tuple[Resume, ...] = field(default=())
    reported_skips: tuple[ReportedSkip, ...] = field(default=())
    duplicates: int = 0  # lines logged twice with the same step and LR (dropped)
    settings: dict = field(default_factory=dict)  # what the log says about its schedule (Megatron arguments)
    conventions: tuple[str, ...] | None = None  # the only step conventions the format can have, when it knows

    def __len__(self) -> int:
        return len(self.steps)

    def updates(self, convention: str) -> np.ndarray:
        """Update indices of the logged points under ``convention``."""
        return self.steps + CONVENTIONS[convention]

    def describe(self) -> str:
        steps = self.steps
        spacing = np.unique(np.diff(steps)) if len(steps) > 1 else np.array([], dtype=np.int64)
        every = f", every {int(spacing[0])}" if len(spacing) == 1 else ""
        span = f"step {int(steps[0])}" if len(steps) == 1 else f"steps {int(steps[0]):,}–{int(steps[-1]):,}{every}"
        return f"{FORMAT_NAMES[self.fmt]}, {len(steps):,} logged LR{'s' if len(steps) != 1 else ''} ({span})"


def read_log(path: str, fmt: str = "auto", *, step_column: str | None = None, lr_column: str | None = None) -> LoggedRun:
    """Read a run log; ``fmt`` ``"auto"`` decides by the extension, then by the content."""
    import gc

    paused = gc.isenabled()
    gc.disable()  # a 10^6-entry log makes millions of dicts: the cycle collector would rescan them again and again
    try:
        return _read_log(path, fmt, step_column=step_column, lr_column=lr_column)
    finally:
        if paused:
            gc.enable()


def _read_log(path: str, fmt: str, *, step_column: str | None, lr_column: str | None) -> LoggedRun:
    from ._files import is_event_file, read_text, sniff_format

    if fmt not in FORMATS:
        raise LogError(f"--log-format {fmt!r} is not one of: {', '.join(FORMATS)}")
    if fmt == "tensorboard" or (fmt == "auto" and is_event_file(path)):
        from .tensorboard import read_event_file

        return read_event_file(path)
    text = read_text(path)
    chosen = sniff_format(path, text) if fmt == "auto" else fmt
    if (step_column or lr_column) and chosen != "csv":
        flag = "--step-column" if step_column else "--lr-column"
        raise LogError(f"{flag} only applies to CSV logs, and {path} reads as {FORMAT_NAMES[chosen]}; drop {flag} "
                       "or pass --log-format csv")
    if chosen == "hf":
        from .hf import read_trainer_state

        return read_trainer_state(path, text)
    if chosen == "llamafactory":
        from .llamafactory import read_trainer_log

        return read_trainer_log(path, text)
    if chosen == "megatron":
        from .megatron import read_megatron_log

        return read_megatron_log(path, text)
    from .table import read_table

    return read_table(path, text, step_column=step_column, lr_column=lr_column)


__all__ = ["CONVENTIONS", "CONVENTION_TEXT", "FORMATS", "LogError", "LoggedRun", "ReportedSkip", "Resume", "read_log"]
