"""``lrviz advise``: findings by severity, the recommendation, snippets; ``--json``; before/after figure with ``-o``."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import __version__
from ..errors import SpecError
from ..diagnostics import error_console, report_console, warn_all
from ..output import IMAGE_FORMATS, OutputError, check_destination, distinct_outputs, is_stdout, is_stream
from ..render import findings_grid


def parse_snippet_targets(text: str) -> tuple[str, ...]:
    """``--snippets``: ``all``, ``none`` or a comma list of targets (``auto`` is ``all`` here; the report decides)."""
    from ..advise.snippets import TARGETS

    words = [word.strip().lower() for word in text.split(",") if word.strip()]
    if words in (["all"], ["auto"], []):
        return TARGETS
    if words == ["none"]:
        return ()
    unknown = [word for word in words if word not in TARGETS]
    if unknown:
        raise SpecError(f"--snippets {text!r}: unknown target {unknown[0]!r}; use all, none or a comma list of: {', '.join(TARGETS)}")
    return tuple(words)


def _check_output(output: str | None) -> None:
    if output is None:
        return
    if output == "" or is_stdout(output):
        raise OutputError(f"-o {output!r}: advise writes a figure to a file, e.g. -o advice.png; for data use --json")
    check_destination(output)
    extension = os.path.splitext(output)[1].lower().lstrip(".")
    if extension not in IMAGE_FORMATS and not (is_stream(output) and not extension):  # /dev/null: png
        given = f"not .{extension}" if extension else "it has no extension"
        raise OutputError(f"-o {output}: advise writes a before/after figure, so use .png, .svg or .pdf ({given}); "
                          "for data use --json")


def run_advise(params: dict[str, Any], *, profile: str, strict: bool, outputs: tuple[str, ...], adam_beta2: float | None,
               group_lr: tuple[float, ...], snippet_targets: str, as_json: bool, verbose: bool = False) -> int:
    """Check the schedule, print the advice, write the figure; returns the exit code."""
    from ..advise.advice import advise_options
    from ..configs.pipeline import read
    from ..options import Options

    targets = parse_snippet_targets(snippet_targets)
    configs = params["configs"]
    if len(configs) > 1:
        raise SpecError(f"--config is given {len(configs)} times: lrviz advise checks one schedule; give one --config "
                        "(lrviz plot overlays several)")
    if adam_beta2 is not None and adam_beta2 >= 1:
        raise SpecError(f"--adam-beta2 {adam_beta2:g} must be below 1, e.g. --adam-beta2 0.95")
    outputs = distinct_outputs(outputs)
    for output in outputs:
        _check_output(output)
    options = Options.from_params(params)
    # the pipeline's reader (as load() reads), leniently: a trap the framework would trip on becomes a finding
    config = read(configs[0], params["config_flavor"], lenient_numbers=True) if configs else None
    advice = advise_options(options, config, profile=profile, beta2=adam_beta2, group_lrs=tuple(group_lr))
    code = advice.exit_code(strict)

    errors = error_console()
    warn_all(advice.notes, "note", errors)
    if outputs:
        _write_figures(advice, outputs)
    if as_json:
        document = {"lrviz_version": __version__, "command": "advise", "strict": strict, "exit_code": code,
                    "output": outputs[0] if outputs else None, "outputs": list(outputs)} | advice.to_dict()
        document["recommendation"]["snippets"] = {k: v for k, v in document["recommendation"]["snippets"].items() if k in targets}
        sys.stdout.write(json.dumps(document, indent=1) + "\n")
        for output in outputs:
            errors.print(f"wrote {output}")
        return code
    console = report_console()
    if snippet_targets.strip().lower() == "auto" and not verbose and not _changes_anything(advice):
        targets = ()  # nothing to paste: the schedule stays as it is
    _print_report(console, advice, targets, strict, code, verbose)
    for output in outputs:
        console.print(f"wrote {output}")
    return code


# ------------------------------------------------------------------------------------------ rendering


def _schedule_line(spec: Any, summary: Any) -> str:
    from ..advise.numbers import lr, of_peak, percent
    from ..schedules import floor_lr

    floor = floor_lr(spec)
    parts = [f"{spec.framework}:{spec.scheduler}", f"peak {lr(spec.peak_lr)}"]
    if floor is None:
        parts.append("no floor")
    else:
        parts.append(f"floor {lr(floor)}" + (f" ({of_peak(floor / spec.peak_lr)})" if floor else ""))
    parts.append(f"{spec.total_steps:,} updates")
    parts.append(f"warmup {spec.warmup_steps:,} ({percent(spec.warmup_steps / spec.total_steps)})")
    parts.append(f"last update {lr(summary.last_lr)}")
    return " · ".join(parts)


def findings_table(findings: list[Any], title: str) -> Any:
    """The findings under a title, a few lines each (severity, rule id; message, fix and evidence indented)."""
    from rich.console import Group

    return Group(Text(title, style="bold"), findings_grid(findings))


def _changes_anything(advice: Any) -> bool:
    """Whether the recommendation differs from the schedule given (then the snippets are worth printing)."""
    spelled = [f for f in advice.findings if f.topic == "framework" and f.severity != "info"]
    return bool(advice.recommendation.changes or spelled)


def _recommendation_table(advice: Any) -> Table:
    from ..advise.numbers import lr, of_peak, percent
    from ..schedules import floor_lr

    before, after = advice.facts.spec, advice.recommendation.spec
    changed = {change.setting: change for change in advice.recommendation.changes}
    table = Table(title="Recommended schedule", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("setting")
    table.add_column("yours", justify="right")
    table.add_column("recommended", justify="right")
    table.add_column("because of", style="dim")

    def floor_text(spec: Any) -> str:
        floor = floor_lr(spec)
        if floor is None:
            return "none"
        return lr(floor) + (f" ({of_peak(floor / spec.peak_lr)})" if floor else "")

    rows = [
        ("scheduler", before.scheduler, after.scheduler, "scheduler"),
        ("peak LR", lr(before.peak_lr), lr(after.peak_lr), "peak LR"),
        ("floor", floor_text(before), floor_text(after), "floor"),
        ("warmup", f"{before.warmup_steps:,} ({percent(before.warmup_steps / before.total_steps)})",
         f"{after.warmup_steps:,} ({percent(after.warmup_steps / after.total_steps)})", "warmup"),
        ("updates", f"{before.total_steps:,}", f"{after.total_steps:,}", ""),
    ]
    for name, old, new, key in rows:
        change = changed.get(key)
        style = "bold green" if old != new else None
        table.add_row(name, old, Text(new, style=style), ", ".join(change.rules) if change else "")
    for key in ("num_cycles", "num_stable_steps", "num_decay_steps"):
        if key in changed:
            change = changed[key]
            table.add_row(key, change.before, Text(change.after, style="bold green"), ", ".join(change.rules))
    kwargs = dict(after.scheduler_kwargs)
    table.add_row("scheduler kwargs", json.dumps(dict(before.scheduler_kwargs)), json.dumps(kwargs), "")
    return table


def _phase_table() -> Table:
    from ..advise.profiles import PROFILES

    table = Table(title="Usual settings per training phase (--profile NAME applies that phase's rules)",
                  title_justify="left", show_edge=False, pad_edge=False, show_lines=True)
    for column in ("profile", "peak LR", "warmup", "floor", "epochs", "recipes"):
        table.add_column(column, style="dim" if column == "recipes" else None)
    for profile in PROFILES.values():
        if profile.name == "generic":
            continue
        table.add_row(f"{profile.name}\n{profile.label}", profile.peak_text, profile.warmup_text, profile.floor_text,
                      profile.epochs_text, profile.evidence)
    return table


def _print_report(console: Console, advice: Any, targets: tuple[str, ...], strict: bool, code: int,
                  verbose: bool = False) -> None:
    facts = advice.facts
    console.print(Text("Schedule: ", style="bold") + Text(_schedule_line(facts.spec, facts.summary)))
    console.print(Text("Profile:  ", style="bold") + Text(f"{facts.profile.name} — {facts.profile.label} ({facts.profile_reason})"))
    console.print()
    if advice.findings:
        console.print(findings_table(advice.findings, "Findings"))
    else:
        console.print("Findings: none — every rule that applies is satisfied.")
    console.print()

    rec = advice.recommendation
    if rec.changes or verbose:
        console.print(_recommendation_table(advice))
    spelled = sorted({f.rule for f in advice.findings if f.topic == "framework" and f.severity != "info"} - {"T06", "T07"})
    if spelled:
        console.print(f"The snippets below are also written so that {', '.join(spelled)} no longer apply.")
    if any(f.rule == "T06" for f in advice.findings if f.severity != "info"):
        console.print("T06: remove the \"scheduler\" block from the DeepSpeed config, or the schedule below does not run.")
    if not rec.changes and not spelled:
        console.print("No change needed: your schedule already satisfies every error- and warning-level rule.")
    else:
        console.print(Text("Recommended: ", style="bold") + Text(_schedule_line(rec.spec, rec.facts.summary)))
    for conflict in rec.conflicts:
        console.print(Text("conflict: ", style="bold magenta") + Text(conflict))
    if rec.open_findings:
        console.print(findings_table(rec.open_findings, "Still open on the recommended schedule"))
    console.print()

    if facts.profile.name == "generic":
        if verbose:
            console.print(_phase_table())
        else:
            console.print(Text("--verbose adds the usual settings per training phase; --profile NAME applies them.",
                               style="dim"))
        console.print()

    shown = [snippet for snippet in advice.snippets if snippet.target in targets]
    if not shown and not _changes_anything(advice):
        console.print(Text("--snippets all prints this schedule for LLaMA-Factory, TrainingArguments, the command "
                           "line, Axolotl and DeepSpeed.", style="dim"))
        console.print()
    for snippet in shown:
        console.print(Text(f"── {snippet.title} ", style="bold"))
        if snippet.text is not None:
            console.print(Text(snippet.text.rstrip("\n")), soft_wrap=True)
        if snippet.note:
            console.print(Text(snippet.note, style="dim"))
        console.print()

    counts = advice.counts()
    summary = ", ".join(f"{n} {name}{'s' if n != 1 else ''}" for name, n in counts.items())
    rule = "errors and warnings fail (--strict)" if strict else "errors fail; --strict also fails on warnings"
    console.print(Text(f"{summary} → exit {code} ({rule})", style="bold red" if code else "bold green"))


def _write_figures(advice: Any, outputs: tuple[str, ...]) -> None:
    from ..advise.numbers import lr
    from ..output import save_figures
    from ..plot import figure_for
    from ..render import Curve

    rec = advice.recommendation

    def label(who: str, spec: Any, summary: Any) -> str:
        floor = "no floor" if summary.floor_lr is None else f"floor {lr(summary.floor_lr)}"
        return f"{who}: {spec.scheduler}, peak {lr(spec.peak_lr)}, {floor}, warmup {spec.warmup_steps:,}"

    yours = Curve(label("yours", advice.facts.spec, advice.facts.summary), advice.facts.spec, advice.facts.summary)
    recommended = Curve(label("recommended", rec.spec, rec.facts.summary), rec.spec, rec.facts.summary)
    same = not rec.changes
    curves = [recommended] if same else [recommended, yours]
    title = ("lrviz advise: no change recommended" if same else
             "lrviz advise: recommended (solid) vs yours (dashed), " + f"{rec.spec.total_steps:,} updates")
    figure = figure_for(curves, title=title)
    save_figures(figure, [(output, os.path.splitext(output)[1].lower().lstrip(".") or "png") for output in outputs])
