"""``lrviz plot --compare-frameworks``: one nominal schedule through several frameworks, where they differ, and how
to reproduce transformers' curve in each."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

from rich.table import Table

from .. import __version__
from ..diagnostics import report_console, warn_all
from ..compare import check_names, describe_gap, largest_differences, native, nominal_from, ratio_of, translations
from ..errors import SpecError
from ..keypoints import key_points
from ..output import IMAGE_FORMATS, OutputError, distinct_outputs, format_for, no_file_conflict, save_figures
from ..render import Curve, format_lr, terminal_chart
from ..schedules import lr_at


def build(params: dict[str, Any], names_text: str) -> tuple[list[Curve], dict[str, str], Any]:
    from ..options import Options
    from ..resolve import resolve

    names = check_names(names_text)
    for flag, key in (("--config", "configs"), ("--scheduler", "scheduler"), ("--framework", "framework"),
                      ("--framework-version", "framework_version"), ("--scheduler-kwargs", "scheduler_kwargs"),
                      ("--num-cycles", "num_cycles")):
        if params.get(key):
            raise SpecError(f"{flag} with --compare-frameworks: the comparison is of one nominal schedule (linear warmup, "
                            "cosine to the floor) set by --lr, --min-lr/--min-lr-rate, --steps and the warmup; drop "
                            f"{flag}")
    fields = ("lr", "min_lr", "min_lr_rate", "steps", "dataset_size", "batch_size", "grad_accum", "gpus", "epochs",
              "drop_last", "warmup_ratio", "warmup_steps")
    if isinstance(params.get("dataset_size"), dict):
        raise SpecError("--dataset-size NAME=N,... is for a LLaMA-Factory --config that names its datasets; "
                        "--compare-frameworks takes one number")
    options = Options(**{name: params.get(name) for name in fields}, scheduler="cosine_with_min_lr")
    hf = resolve(options)
    nominal = nominal_from(hf, ratio_of(options.warmup_ratio, options.warmup_steps))
    curves, settings = [], {}
    for name in names:
        spec, text = native(name, nominal)
        if name == "hf":
            spec = replace(spec, provenance=hf.provenance)
        curves.append(Curve(f"{name} {spec.scheduler}", spec, key_points(spec)))
        settings[name] = text
    return curves, settings, nominal


def _summary_table(curves: list[Curve]) -> Table:
    total = curves[0].spec.total_steps
    table = Table(title="The same nominal schedule in each framework", title_justify="left", show_edge=False, pad_edge=False)
    for column in ("framework", "update 0", "update 1", "peak (update)", "last update", "after the run", f"update {total + total // 10:,}"):
        table.add_column(column, justify="left" if column == "framework" else "right")
    import numpy as np

    for curve in curves:
        lr = lr_at(curve.spec, np.array([0, 1, total - 1, total, total + total // 10]))
        s = curve.summary
        reached = "" if abs(s.peak_lr - curve.spec.peak_lr) <= 1e-12 * curve.spec.peak_lr else " (never the peak)"
        table.add_row(curve.label, format_lr(lr[0]), format_lr(lr[1]), f"{format_lr(s.peak_lr)} ({s.peak_step:,}){reached}",
                      format_lr(lr[2]), format_lr(lr[3]), format_lr(lr[4]))
    return table


def _settings_table(settings: dict[str, str]) -> Table:
    table = Table(title="As written in each framework", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("framework")
    table.add_column("settings")
    for name, text in settings.items():
        table.add_row(name, text)
    return table


def _differences_table(differences: dict[str, list[Any]]) -> Table:
    table = Table(title="Where each differs most from hf (within the run)", title_justify="left", show_edge=False,
                  pad_edge=False)
    for column in ("framework", "update", "LR", "hf LR", "difference"):
        table.add_column(column, justify="left" if column == "framework" else "right")
    for name, rows in differences.items():
        if not rows:
            table.add_row(name, "-", "", "", "none above 1e-9 relative")
        for row in rows:
            table.add_row(name, f"{row.step:,}", format_lr(row.lr), format_lr(row.reference), describe_gap(row))
    return table


def _translation_table(items: list[Any]) -> Table:
    table = Table(title="To reproduce the hf curve exactly", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("framework")
    table.add_column("settings")
    table.add_column("checked over every update")
    for item in items:
        table.add_row(item.framework, item.settings or "-", item.verdict)
    return table


def _document(curves: list[Curve], settings: dict[str, str], differences: dict[str, list[Any]], items: list[Any],
              outputs: tuple[str, ...]) -> dict[str, Any]:
    return {
        "lrviz_version": __version__,
        "command": "plot",
        "output": outputs[0] if outputs else None,
        "outputs": list(outputs),
        "compare_frameworks": {
            "settings": settings,
            "differences": {name: [{"step": r.step, "lr": r.lr, "hf_lr": r.reference} for r in rows]
                            for name, rows in differences.items()},
            "translations": [{"framework": t.framework, "settings": t.settings, "max_relative_difference_in_run": t.within_run,
                              "max_relative_difference_after_run": t.after_run, "verdict": t.verdict} for t in items],
        },
        "schedules": [{"label": c.label, "settings": c.spec.to_dict(), "key_points": c.summary.to_dict()} for c in curves],
    }


def run_compare_frameworks(params: dict[str, Any], names_text: str, *, outputs: tuple[str, ...], fmt: str | None,
                           no_file: bool, log: bool, as_json: bool) -> int:
    no_file_conflict(no_file, outputs)
    outputs = distinct_outputs(outputs)
    if not outputs and not no_file and not as_json:
        outputs = (f"lrviz_compare_frameworks.{format_for(None, fmt)}",)
    plan = [(path, format_for(path, fmt)) for path in outputs]
    if not outputs and not no_file and fmt is not None and fmt not in IMAGE_FORMATS:
        plan = [("", fmt)]
    for _, chosen in plan:
        if chosen not in IMAGE_FORMATS:
            raise OutputError(f"--compare-frameworks writes a figure (.png .svg .pdf), not {chosen}; use --json for the data")
    curves, settings, nominal = build(params, names_text)
    hf = curves[0].spec
    differences = largest_differences(hf, {c.spec.framework: c.spec for c in curves[1:]})
    items = translations(hf, [c.spec.framework for c in curves])
    console = report_console()
    warn_all(note for curve in curves for note in curve.spec.notes)
    if not as_json:
        console.print(f"Nominal schedule: peak {format_lr(nominal.peak)}, linear warmup of {nominal.warmup:,} updates"
                      + (f" ({nominal.ratio:g} of the run)" if nominal.ratio is not None else "")
                      + f", cosine to {format_lr(nominal.floor)}, {nominal.total:,} updates.")
        console.print()
        for table in (_settings_table(settings), _summary_table(curves), _differences_table(differences),
                      _translation_table(items)):
            console.print(table)
            console.print()
        console.print(terminal_chart(curves, width=max(20, min(console.width - 14, 90))))
    if outputs:
        from ..plot_compare import compare_figure

        title = (f"peak {format_lr(nominal.peak, 3)} → {format_lr(nominal.floor, 3)}, {nominal.total:,} updates, "
                 f"warmup {nominal.warmup:,}: {len(curves)} frameworks")
        save_figures(compare_figure(curves, title), plan)
        for path in outputs:
            if not as_json:
                console.print(f"wrote {path}")
    if as_json:
        sys.stdout.write(json.dumps(_document(curves, settings, differences, items, outputs), indent=1) + "\n")
    return 0
