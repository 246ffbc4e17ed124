"""``lrviz check-run``: did a finished run follow its schedule? Read the log, compare or infer, render, write."""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import replace
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import __version__
from ..diagnostics import error_console, report_console, warn, warn_all
from ..errors import SpecError
from ..logs import CONVENTION_TEXT, LoggedRun, read_log
from ..output import IMAGE_FORMATS, OutputError, check_destination, distinct_outputs, is_stdout, is_stream, save_figures
from ..render import format_lr
from ..options import Options
from ..runcheck.align import EXACT
from ..runcheck.check import Finding, Report, check_against, infer_run
from ..runcheck.infer import conventions_for
from ..runcheck.models import DeepSpeedModel, HFModel
from ..runcheck.snippets import describe_range, snippets
from ..spec import Source

ICONS = {"error": ("✗", "bold red"), "warning": ("!", "yellow"), "info": ("✓", "green")}


def _figure_format(output: str) -> str:
    if output == "" or is_stdout(output):
        raise OutputError(f"-o {output or repr(output)} is not possible for check-run: the overlay is an image; give a file such as overlay.png")
    extension = os.path.splitext(output)[1].lower().lstrip(".")
    if not extension and is_stream(output):  # /dev/null, a FIFO
        extension = "png"
    if extension not in IMAGE_FORMATS:
        raise OutputError(f"-o {output}: check-run writes the overlay figure, so use .png, .svg or .pdf "
                          "(--json prints the numbers)")
    check_destination(output)
    return extension


def _explicit(params: dict[str, Any]) -> bool:
    return bool(params["configs"]) or Options.from_params(params).given()


def _schedule(run: LoggedRun, params: dict[str, Any]) -> tuple[HFModel, str, int | None, str | None]:
    """The schedule to check against, from the same pipeline as ``lrviz plot`` (a DeepSpeed ``scheduler`` block that
    a training config points to wins), with the run length taken from the log when nothing else gives it."""
    from ..configs.pipeline import load, run_settings

    from_log: list[str] = []

    def adjust(options: Options, config: Any) -> Options:
        if options.steps is None and options.dataset_size is None and options.dataset_sizes is None \
                and run_settings(config).get("max_steps", -1) <= 0:
            if run.total_steps:
                from_log.append("max_steps" if run.fmt == "hf" else "total_steps")
                return replace(options, steps=run.total_steps)
            if config is None:
                raise SpecError(f"--steps: {run.path} does not record the run length; give --steps N (optimizer updates) "
                                "or --dataset-size N with the batch settings")
        return options

    options = Options.from_params(params)
    loaded = load(options, params["configs"], params["config_flavor"], command="check-run", adjust=adjust,
                  missing_reference_ok=True)[0]
    spec, config = loaded.spec, loaded.config
    if from_log and str(spec.provenance.get("total_steps", "")) == "flag --steps":
        provenance = {**spec.provenance, "total_steps": Source("file", f"{os.path.basename(run.path)}:{from_log[0]}")}
        spec = replace(spec, provenance=provenance)
    grad_accum = options.grad_accum if options.grad_accum is not None else run_settings(config).get("grad_accum")
    label = os.path.basename(config.path) if config is not None else "the given settings"
    values = getattr(config, "values", {})
    configured = getattr(values["lr_scheduler_type"], "value", values["lr_scheduler_type"]) \
        if "lr_scheduler_type" in values else None  # (plain values in some readers)
    replaced = configured if configured and spec.framework != "hf" else None
    return HFModel(spec), label, grad_accum, replaced


def run_check(log: str, params: dict[str, Any], *, log_format: str, step_column: str | None, lr_column: str | None,
              log_convention: str, rtol: float | None, outputs: tuple[str, ...], as_json: bool) -> int:
    """Print (and write) what ``lrviz check-run`` finds; returns the exit code."""
    figure_formats = [(output, _figure_format(output)) for output in distinct_outputs(outputs)]
    run = read_log(log, log_format, step_column=step_column, lr_column=lr_column)
    tol = rtol if rtol is not None else max(EXACT, run.rounding)
    conventions = conventions_for(log_convention)
    if log_convention == "auto" and run.columns == ("step", "lr"):
        conventions = ("hf", "update")  # lrviz plot's own per-update export
    if log_convention == "auto" and run.conventions:
        conventions = run.conventions
    logged_spec = None
    if run.fmt == "megatron" and not _explicit(params):
        from ..logs.megatron import schedule_from_settings

        logged_spec = schedule_from_settings(run.settings)
    if logged_spec is not None:
        report = check_against(run, HFModel(logged_spec), "the log's arguments", conventions, tol)
    elif _explicit(params):
        model, label, grad_accum, replaced = _schedule(run, params)
        report = check_against(run, model, label, conventions, tol, grad_accum)
        if replaced is not None:
            owner = "DeepSpeed" if model.framework == "deepspeed" else model.framework
            report = replace(report, findings=report.findings + (Finding(
                "deepspeed-warmuplr" if model.scheduler == "WarmupLR" else f"{model.framework}-scheduler", "warning",
                f"{owner} {model.scheduler} replaced lr_scheduler_type {replaced}",
                f"{label} sets lr_scheduler_type: {replaced}, but its DeepSpeed config has a \"scheduler\" block, so the run "
                f"used {model.describe()}; the check above is against that schedule",
                "to get the configured schedule, remove the \"scheduler\" block from the DeepSpeed config",
                (int(run.steps[0]), int(run.steps[-1])),
            ),))
    else:
        report = infer_run(run, conventions, tol)

    console = report_console()
    errors = error_console()
    notes = list(run.notes)
    if run.fmt == "megatron" and report.mode == "infer" and isinstance(report.model, HFModel):
        from ..logs.megatron import megatron_flags

        flags = megatron_flags(report.model.spec)
        if flags:
            notes.append(f"in Megatron-LM terms the inferred schedule is {flags}")
    warn_all(notes, "note", errors)
    warn_all(report.model.spec.notes if isinstance(report.model, HFModel) else (), "warning", errors)
    if report.inference is not None:
        warn_all(report.inference.notes, "note", errors)
    if not as_json:
        _print_report(console, report)
    if figure_formats and report.alignment is not None:
        from ..runcheck.overlay import figure_for

        save_figures(figure_for(report), figure_formats)
        for output in outputs:
            if not as_json:
                console.print(f"wrote {output}")
    elif figure_formats:
        warn(f"no schedule to draw the log against, so {', '.join(outputs)} was not written", "note", errors)
    if as_json:
        document = _document(report, outputs[0] if outputs else None)
        # indented JSON goes through Python's own encoder; past 10,000 points the C encoder writes it (compact) in
        # a tenth of the time
        indent = 1 if len(document["points"]) <= 10_000 else None
        sys.stdout.write(json.dumps(document, indent=indent, allow_nan=False) + "\n")
    return 0 if report.followed else 1


# ------------------------------------------------------------------------------------------ JSON


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _document(report: Report, output: str | None) -> dict[str, Any]:
    run = report.run
    document: dict[str, Any] = {
        "lrviz_version": __version__,
        "command": "check-run",
        "log": {
            "path": run.path, "format": run.fmt, "points": len(run), "skipped_entries": run.skipped,
            "first_step": int(run.steps[0]), "last_step": int(run.steps[-1]), "max_steps": run.total_steps,
            "logging_steps": run.logging_steps, "save_steps": run.save_steps, "global_step": run.global_step,
            "columns": list(run.columns) if run.columns else None, "notes": list(run.notes),
            "duplicates": run.duplicates,
            "resumes": [{"line": r.line, "first_step": r.first_step, "last_step_before": r.last_step_before,
                         "overlap": r.overlap, "agree": r.agree} for r in run.resumes],
            "reported_skips": [{"step": s.step, "count": s.count} for s in run.reported_skips],
        },
        "mode": report.mode,
        "convention": {"name": report.convention, "meaning": CONVENTION_TEXT[report.convention]},
        "tolerance": report.tol,
        "followed": report.followed,
        "max_relative_error": _number(report.max_relative_error),
        "max_relative_error_at_matched_update": _number(report.matched_error),
        "schedule": None,
        "findings": [finding.to_dict() for finding in report.findings],
        "explained_by": report.explanation.settings() if report.explanation is not None else None,
        "inferred": None,
        "points": [],
        "output": output,
    }
    if report.model is not None:
        schedule = {"label": report.label, "source": "inferred" if report.mode == "infer" else "config",
                    "description": report.model.describe(), "settings": report.model.settings()}
        if isinstance(report.model, HFModel) and report.mode == "compare":
            schedule["spec"] = report.model.spec.to_dict()
        document["schedule"] = schedule
    if report.inference is not None:
        inference = report.inference
        document["inferred"] = {
            "description": inference.model.describe(),
            "settings": inference.model.settings(),
            "convention": inference.convention,
            "ranges": {key: [low, high] for key, (low, high) in inference.ranges.items()},
            "notes": list(inference.notes),
            "alternatives": [{"description": model.describe(), "settings": model.settings(), "convention": convention}
                             for model, convention in inference.alternatives],
            "deciding": inference.deciding or None,
            "snippets": [{"title": s.title, "language": s.language, "text": s.text}
                         for s in snippets(inference.model, "total_steps" not in inference.ranges, run.total_steps)],
        }
    if report.alignment is not None:
        alignment = report.alignment
        errors = alignment.errors
        for index, status in enumerate(report.statuses()):
            offset = alignment.offsets[index]
            document["points"].append({
                "step": int(run.steps[index]), "update": int(alignment.updates[index]), "lr": float(alignment.lr[index]),
                "predicted": float(alignment.predicted[index]), "relative_error": _number(errors[index]),
                "matches_update": None if offset is None else int(alignment.updates[index]) + offset, "status": status,
            })
    return document


# ------------------------------------------------------------------------------------------ terminal


def _log_lines(report: Report) -> Text:
    run = report.run
    text = Text()
    text.append("log      ", style="bold")
    text.append(f"{run.path}: {run.describe()}")
    if run.skipped:
        text.append(f"; {run.skipped:,} {'entry' if run.skipped == 1 else 'entries'} without an LR skipped", style="dim")
    text.append("\n")
    facts = [f"{name} {value:,}" for name, value in (("max_steps", run.total_steps), ("logging_steps", run.logging_steps),
                                                    ("save_steps", run.save_steps), ("global_step", run.global_step))
             if value]
    if run.columns:
        facts.append(f"columns {run.columns[0]!r}, {run.columns[1]!r}")
    if facts:
        text.append("recorded ", style="bold")
        text.append(", ".join(facts) + "\n")
    text.append("read as  ", style="bold")
    text.append(CONVENTION_TEXT[report.convention] + "\n")
    return text


def _schedule_table(report: Report) -> Table:
    model = report.model
    infer_mode = report.mode == "infer"
    title = "schedule inferred from the log" if infer_mode else f"schedule from {report.label}"
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("setting")
    table.add_column("value", justify="right")
    table.add_column("determined by the log" if infer_mode else "from", style="dim", overflow="fold")
    ranges = report.inference.ranges if (infer_mode and report.inference) else {}
    provenance = model.spec.provenance if isinstance(model, HFModel) else {}

    def row(name: str, value: str, key: str) -> None:
        if infer_mode:
            table.add_row(name, value, describe_range(key, 0, ranges.get(key)))
        else:
            table.add_row(name, value, str(provenance[key]) if key in provenance else "")

    row("scheduler", model.label, "scheduler")
    row("peak LR", format_lr(model.peak_lr), "peak_lr")
    floor = model.floor
    if floor is not None:
        floor_key = next((f"kwargs.{k}" for k in ("min_lr", "min_lr_rate", "min_lr_ratio") if f"kwargs.{k}" in provenance), "floor")
        row("floor LR", format_lr(floor), floor_key)
    row("warmup updates", f"{model.warmup_steps:,}", "warmup_steps")
    if model.total_steps is not None:
        row("total updates", f"{model.total_steps:,}", "total_steps")
    if isinstance(model, DeepSpeedModel):
        row("warmup shape", model.warmup_type, "warmup_type")
    elif isinstance(model, HFModel) and "warmup_type" in model.spec.scheduler_kwargs:
        row("warmup shape", str(model.spec.scheduler_kwargs["warmup_type"]), "kwargs.warmup_type")
    return table


def _findings_table(report: Report) -> Table:
    table = Table(title="findings", title_justify="left", show_edge=False, pad_edge=False, show_lines=True)
    table.add_column("", width=1)
    table.add_column("cause", no_wrap=True)
    table.add_column("logged steps", justify="right", no_wrap=True)
    table.add_column("what the log shows")
    for finding in report.findings:
        icon, style = ICONS[finding.severity]
        steps = ""
        if finding.steps:
            low, high = finding.steps
            steps = f"{low:,}" if low == high else f"{low:,}–{high:,}"
        body = Text()
        body.append(finding.title, style="bold")
        body.append("\n" + finding.evidence)
        if finding.fix:
            body.append("\nfix: ", style="bold")
            body.append(finding.fix, style="dim")
        table.add_row(Text(icon, style=style), Text(finding.cause, style=style), steps, body)
    return table


def _print_report(console: Console, report: Report) -> None:
    console.print(_log_lines(report))
    if report.model is not None:
        console.print(_schedule_table(report))
        console.print()
    console.print(_findings_table(report))
    console.print()
    run = report.run
    if report.followed:
        error = report.max_relative_error or 0.0
        console.print(f"[bold green]✓ The run followed its schedule:[/] {len(run):,} logged LRs, max relative error "
                      f"{error:.3g} (tolerance {report.tol:.0e}).", soft_wrap=True)
    else:
        problems = [f.cause for f in report.findings if f.severity == "error"]
        console.print(f"[bold red]✗ The run did not follow its schedule:[/] {', '.join(problems)}.", soft_wrap=True)
    inference = report.inference
    if inference is not None:
        lead = ("Settings that reproduce the log" if report.mode == "infer"
                else "Settings the log follows instead")
        console.print()
        console.print(f"[bold]{lead}[/] ({inference.model.describe()}):", soft_wrap=True)
        for model, convention in inference.alternatives:
            console.print(f"[bold]equally exact:[/] {model.describe()} (read as: {CONVENTION_TEXT[convention]})",
                          soft_wrap=True)
        if inference.deciding:
            console.print(f"[bold]what decides:[/] {inference.deciding}", soft_wrap=True)
        for snippet in snippets(inference.model, "total_steps" not in inference.ranges, run.total_steps):
            console.print(f"[dim]# {snippet.title}[/]")
            console.print(Text(snippet.text), soft_wrap=True)
