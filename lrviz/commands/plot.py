"""``lrviz plot``: render the schedules to the terminal and write a figure or the per-update data."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console

from .. import __version__
from ..diagnostics import error_console, report_console, warn_all
from ..output import (IMAGE_FORMATS, OutputError, all_or_nothing, check_export_size, distinct_outputs, format_for,
                      is_stdout, no_file_conflict, save_figure, stream_last, write_data)
from ..render import Curve, findings_grid, floor_problems, floor_sentence, key_points_table, settings_table, terminal_chart


def _document(curves: list[Curve], outputs: tuple[str, ...]) -> dict[str, Any]:
    return {
        "lrviz_version": __version__,
        "command": "plot",
        "output": outputs[0] if outputs else None,
        "outputs": list(outputs),
        "schedules": [
            {"label": c.label, "settings": c.spec.to_dict(), "key_points": c.summary.to_dict(),
             "findings": [finding.to_dict() for finding in floor_problems(c)]} for c in curves
        ],
    }


def _default_name(curves: list[Curve], fmt: str) -> str:
    """``lrviz_<config stem>.<fmt>`` for a config file, else ``lrviz_<scheduler>.<fmt>``."""
    stem, extension = os.path.splitext(curves[0].label)
    return f"lrviz_{stem if extension in ('.yaml', '.yml', '.json') else curves[0].spec.scheduler}.{fmt}"


def run_plot(curves: list[Curve], *, outputs: tuple[str, ...], fmt: str | None, no_file: bool, log: bool,
             as_json: bool) -> int:
    """Print and write what ``lrviz plot`` shows; returns the exit code.

    ``outputs`` are the ``-o`` values (each its own format); none: ``lrviz_<name>.png`` unless ``--no-file`` or
    ``--json`` (which writes a file only where ``-o`` asks).
    """
    no_file_conflict(no_file, outputs)
    outputs = distinct_outputs(outputs)
    if not outputs and not no_file and not as_json:
        outputs = (_default_name(curves, format_for(None, fmt)),)
    plan = [(path, format_for(path, fmt)) for path in outputs]
    data_to_stdout = any(is_stdout(path) for path in outputs)
    if data_to_stdout and as_json:
        raise OutputError("--json and -o - both write to stdout; give -o a file name or drop --json")
    for path, chosen in plan:
        if chosen not in IMAGE_FORMATS:
            if len(curves) > 1:
                raise OutputError(f"--format {chosen} exports one schedule per file; drop --compare or the extra --config")
            check_export_size(curves[0].spec)

    console = report_console(stderr=data_to_stdout)
    errors = error_console()
    problems = [problem for curve in curves for problem in floor_problems(curve)]
    covered = "is above the peak" if problems else None  # the resolver's note that the F01 finding says in full
    warn_all((note for curve in curves for note in curve.spec.notes if not (covered and covered in note)), console=errors)
    if not as_json:
        _print_report(console, curves, log)

    figure = None
    formats = dict(plan)
    with all_or_nothing():  # several -o: all of them or none
        for path in stream_last(outputs):
            if formats[path] in IMAGE_FORMATS:
                if figure is None:
                    from ..plot import figure_for

                    figure = figure_for(curves, log=log)
                save_figure(figure, path, formats[path])
            else:
                _write_data(path, formats[path], curves[0], _document(curves, outputs), errors)
    for path in outputs:
        if not as_json and not is_stdout(path):
            console.print(f"wrote {path}")
    if as_json:
        sys.stdout.write(json.dumps(_document(curves, outputs), indent=1) + "\n")
    return 1 if problems else 0


def _write_data(path: str, fmt: str, curve: Curve, document: dict[str, Any], errors: Console) -> None:
    total = curve.spec.total_steps
    if total < 5_000_000 or not errors.is_terminal:
        write_data(path, fmt, curve.spec, document)
        return
    from rich.progress import Progress

    with Progress(console=errors, transient=True) as progress:
        task = progress.add_task(f"writing {fmt}", total=total)
        write_data(path, fmt, curve.spec, document, lambda done: progress.advance(task, done))


def _print_report(console: Console, curves: list[Curve], log: bool) -> None:
    for index, curve in enumerate(curves):
        if index == 0 or curve.spec.provenance.get("scheduler") is None or str(curve.spec.provenance["scheduler"]) != "flag --compare":
            console.print(settings_table(curve, width=console.width))
            console.print()
        console.print(key_points_table(curve))
        console.print(floor_sentence(curve))
        problems = floor_problems(curve)
        if problems:
            console.print(findings_grid(problems))
        console.print()
    width = max(20, min(console.width - 14, 90))
    console.print(terminal_chart(curves, width=width, log=log))
