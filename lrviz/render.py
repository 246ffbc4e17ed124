"""Terminal output: settings with provenance, key points, and a braille chart. Returns rich renderables."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np
from rich.table import Table
from rich.text import Text

from .formatting import format_lr
from .keypoints import Summary
from .schedules import floor_lr, lr_at, wsd_phases, warmup_updates
from .spec import RUN_LENGTH_KEYS, ScheduleSpec
from .trajectory import envelope

CURVE_STYLES = ("bold cyan", "magenta", "yellow", "green", "red", "blue")


def format_steps(count: int) -> str:
    return f"{count:,}"


@dataclass(frozen=True)
class Curve:
    """One schedule to show, with its label."""

    label: str
    spec: ScheduleSpec
    summary: Summary


def settings_table(curve: Curve, width: int | None = None) -> Table:
    """The resolved settings and where each came from; with ``width`` (the console's), a long origin such as
    ``run.yaml:lr_scheduler_kwargs.min_lr`` wraps after its ``:`` or ``.`` to fit, never cut."""
    spec = curve.spec
    rows: list[tuple[str, str, str]] = []
    source = spec.provenance

    def row(name: str, value: str, key: str) -> None:
        rows.append((name, value, str(source[key]) if key in source else ""))

    row("scheduler", f"{spec.framework}:{spec.scheduler}", "scheduler")
    row("peak LR", format_lr(spec.peak_lr), "peak_lr")
    floor = floor_lr(spec)
    floor_keys = ("min_lr", "min_lr_rate", "min_lr_ratio", "lr_end", spec.signature.floor_kwarg)
    floor_key = next((f"kwargs.{k}" for k in floor_keys if k and f"kwargs.{k}" in source), "")
    if floor is not None:
        row("floor LR", format_lr(floor), floor_key)
    row("optimizer updates", format_steps(spec.total_steps), "total_steps")
    warmup = warmup_updates(spec)
    if warmup != spec.warmup_steps:
        ratio_key = next((k for k in ("lr_warmup_fraction", "warmup_ratio") if spec.kwarg(k) is not None), "its ratio")
        rows.append(("warmup updates", format_steps(warmup), f"derived by {spec.framework} from {ratio_key}"))
    else:
        row("warmup updates", format_steps(warmup), "warmup_steps")
    for key, value in spec.scheduler_kwargs.items():
        if f"kwargs.{key}" != floor_key:
            shown = format_lr(value) if isinstance(value, float) and key in ("min_lr", "lr_end") else str(value)
            row(key, shown, f"kwargs.{key}")
    if spec.scheduler == "warmup_stable_decay":
        warmup, stable, decay = wsd_phases(spec)
        rows.append(("phases", f"{warmup:,} / {stable:,} / {decay:,}", "warmup / stable / decay"))
    for key, value in run_length_settings(spec).items():
        shown = format_steps(value) if isinstance(value, int) and not isinstance(value, bool) else str(value)
        rows.append((key.replace("_", " "), shown, str(source[key])))

    table = Table(title=f"{curve.label}: settings", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("setting", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("from", style="dim", overflow="fold")
    room = None
    if width is not None:
        room = max(20, width - max(len(r[0]) for r in rows) - max(len(r[1]) for r in rows) - 6)
    for name, value, origin in rows:
        table.add_row(name, value, origin if room is None else wrap_origin(origin, room))
    return table


def wrap_origin(text: str, width: int) -> str:
    """``text`` in lines of at most ``width``, broken after a space, ``:``, ``.`` or ``/`` where one is near."""
    if len(text) <= width:
        return text
    pieces = [piece for piece in re.split(r"(?<=[ :./])", text) if piece]
    lines, line = [], ""
    for piece in pieces:
        while len(piece) > width:  # one piece longer than a line: fold it
            if line:
                lines.append(line.rstrip())
                line = ""
            lines.append(piece[:width])
            piece = piece[width:]
        if len(line) + len(piece.rstrip()) > width and line:
            lines.append(line.rstrip())
            line = piece.lstrip()
        else:
            line += piece
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def run_length_settings(spec: ScheduleSpec) -> dict[str, object]:
    """The data settings the run length was derived from (``--dataset-size`` and the batch settings), by key."""
    return {key: spec.provenance[key].value for key in RUN_LENGTH_KEYS
            if key in spec.provenance and getattr(spec.provenance[key], "value", None) is not None}


def key_points_table(curve: Curve) -> Table:
    """LR at the updates worth checking."""
    summary = curve.summary
    peak = curve.spec.peak_lr
    table = Table(title=f"{curve.label}: key updates", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("update", justify="right")
    table.add_column("LR", justify="right")
    table.add_column("of peak", justify="right")
    table.add_column("")
    merged: dict[int, list[str]] = {}
    values: dict[int, float] = {}
    climbs = floor_above_peak(curve.spec)
    for point in summary.points:
        if climbs and point.label == "peak":
            continue  # the LR climbs to the floor: the highest update is not the configured peak
        merged.setdefault(point.step, []).append(point.label)
        values[point.step] = point.lr
    for step, labels in merged.items():
        share = f"{values[step] / peak:.2%}"
        style = "dim" if "after the run" in labels else None
        table.add_row(format_steps(step), format_lr(values[step]), share, ", ".join(labels), style=style)
    return table


def floor_sentence(curve: Curve) -> str:
    """Where the floor is reached and how much of the run is spent there, in one line."""
    s, spec = curve.summary, curve.spec
    if s.floor_lr is None:
        return f"{spec.scheduler} has no floor: the last update uses {format_lr(s.last_lr)}."
    if floor_above_peak(spec):
        relation = "equals" if s.floor_lr == spec.peak_lr else "is above"
        return (f"Floor {format_lr(s.floor_lr)} {relation} the peak {format_lr(spec.peak_lr)}: after the warmup the LR "
                f"does not decay; the last update uses {format_lr(s.last_lr)} (see F01).")
    if s.floor_step is not None and not s.floor_plateau:
        return (
            f"Floor {format_lr(s.floor_lr)} is touched first at update {s.floor_step:,}, where the cosine turns, "
            "and left again; the last update uses " + format_lr(s.last_lr) + "."
        )
    if s.floor_step is not None:
        return (
            f"Floor {format_lr(s.floor_lr)} is reached at update {s.floor_step:,}; "
            f"{s.floor_updates:,} of {spec.total_steps:,} updates ({s.floor_share:.1%}) run at the floor."
        )
    above = s.last_lr - s.floor_lr
    relative = f" ({above / s.floor_lr * 100:+.3g}% vs the floor)" if s.floor_lr else ""
    return (
        f"Floor {format_lr(s.floor_lr)} is not reached within the run: the last update (update "
        f"{spec.total_steps - 1:,}) uses {format_lr(s.last_lr)}{relative}."
    )


def floor_above_peak(spec: ScheduleSpec) -> bool:
    """Whether the floor is at or above the peak, so that the 'decay' is flat or climbs (advise's rule F01)."""
    floor = floor_lr(spec)
    return floor is not None and floor >= spec.peak_lr * (1 - 1e-12)


def floor_problems(curve: Curve) -> list:
    """Advise's F01 finding for a floor at or above the peak, naming where the floor was set; else nothing."""
    if not floor_above_peak(curve.spec):
        return []
    from .advise.facts import Facts
    from .advise.profiles import PROFILES
    from .advise.rules import evaluate, RULES_BY_ID

    facts = Facts(curve.spec, curve.summary, PROFILES["generic"])
    findings = evaluate(facts, (RULES_BY_ID["F01"],))
    where = floor_source(curve.spec)
    if where:
        findings = [replace(f, message=f"{f.message} (floor from {where})") for f in findings]
    return findings


def floor_source(spec: ScheduleSpec) -> str:
    """Where the floor was set, as the settings table names it ('run.yaml:lr_scheduler_kwargs.min_lr', 'flag --min-lr')."""
    keys = ("min_lr", "min_lr_rate", "min_lr_ratio", "lr_end", getattr(spec.signature, "floor_kwarg", ""))
    found = next((spec.provenance[f"kwargs.{k}"] for k in keys if k and f"kwargs.{k}" in spec.provenance), None)
    return str(found) if found is not None else ""


SEVERITY_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def findings_grid(findings: list) -> Table:
    """Findings in a few lines each: severity and rule id, then the message, the fix and the evidence indented."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for finding in findings:
        body = Text(finding.message)
        body.append("\nfix: ", style="bold")
        body.append(finding.fix)
        source = getattr(finding, "source", "")
        if source:
            body.append(f"\nevidence ({finding.strength}): ", style="dim bold")
            body.append(source, style="dim")
        grid.add_row(Text(finding.severity, style=SEVERITY_STYLES.get(finding.severity)), Text(finding.rule, style="bold"), body)
    return grid


def _chart_points(spec: ScheduleSpec, dots_x: int, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Dot columns and LRs: the envelope of a long run, or each update held flat across its columns."""
    if total >= dots_x:
        points = envelope(spec, columns=dots_x)
        return np.minimum((points.step * dots_x) // max(total, 1), dots_x - 1), points.lr
    columns = np.arange(dots_x, dtype=np.int64)
    steps = (columns * total) // dots_x
    inside = steps < spec.total_steps
    return columns[inside], lr_at(spec, steps[inside])


_BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [row][col] within a cell


def terminal_chart(curves: list[Curve], width: int = 64, height: int = 12, log: bool = False) -> Text:
    """A braille chart of the curves (dot resolution width*2 x height*4) with LR and update labels."""
    dots_x, dots_y = width * 2, height * 4
    total = max(c.spec.total_steps for c in curves)
    sampled = [_chart_points(c.spec, dots_x, total) for c in curves]
    all_lr = np.concatenate([lr for _, lr in sampled])
    if log:
        positive = all_lr[all_lr > 0]
        low, high = (float(positive.min()), float(positive.max())) if len(positive) else (1e-12, 1.0)
        scale = lambda lr: np.where(lr > 0, np.log10(np.maximum(lr, low)), math.log10(low))  # noqa: E731
        low_s, high_s = math.log10(low), math.log10(high)
    else:
        low, high = 0.0, float(all_lr.max())
        scale = lambda lr: lr  # noqa: E731
        low_s, high_s = low, high
    span = (high_s - low_s) or 1.0
    cells = [[0] * width for _ in range(height)]
    owner = [[-1] * width for _ in range(height)]
    for index, (x, lr) in enumerate(sampled):
        y = np.clip(((scale(lr) - low_s) / span * (dots_y - 1)).round().astype(int), 0, dots_y - 1)
        previous = None
        for column in np.unique(x):
            ys = y[x == column]
            top, bottom = int(ys.max()), int(ys.min())
            if previous is not None:  # join to the last column so steep drops stay connected
                top, bottom = max(top, previous), min(bottom, previous)
            for dot in range(bottom, top + 1):
                row = dots_y - 1 - dot
                cells[row // 4][column // 2] |= _BRAILLE_BITS[row % 4][column % 2]
                owner[row // 4][column // 2] = index
            previous = int(ys[-1])
    top_label, bottom_label = format_lr(high, 3), format_lr(low, 3)
    margin = max(len(top_label), len(bottom_label)) + 1
    text = Text()
    for row in range(height):
        label = top_label if row == 0 else bottom_label if row == height - 1 else ""
        text.append(label.rjust(margin) + "┤" if label else " " * margin + "│", style="dim")
        for column in range(width):
            bits = cells[row][column]
            style = CURVE_STYLES[owner[row][column] % len(CURVE_STYLES)] if bits else None
            text.append(chr(0x2800 + bits) if bits else " ", style=style)
        text.append("\n")
    end = f"{total - 1:,}"
    text.append(" " * margin + "└" + "─" * width + "\n", style="dim")
    text.append(" " * margin + " 0" + end.rjust(width - 1) + "\n", style="dim")
    text.append(" " * margin + "optimizer update" + (" (log LR)" if log else "") + "\n", style="dim")
    if len(curves) > 1:
        for index, curve in enumerate(curves):
            text.append(" " * margin + "━━ ", style=CURVE_STYLES[index % len(CURVE_STYLES)])
            text.append(curve.label + "\n")
    return text
