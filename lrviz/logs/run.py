"""What a run log holds once read: the logged points, mapped onto update indices, and what the reader noticed.

A leaf of ``lrviz.logs``: the readers import these types from here, and the package re-exports them.
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
