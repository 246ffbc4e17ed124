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

from .run import CONVENTION_TEXT, CONVENTIONS, FORMAT_NAMES, FORMATS, LoggedRun, LogError, ReportedSkip, Resume

__all__ = ["CONVENTIONS", "CONVENTION_TEXT", "FORMATS", "FORMAT_NAMES", "LogError", "LoggedRun", "ReportedSkip", "Resume",
           "read_log"]


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
