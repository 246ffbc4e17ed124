"""Terminal output: settings with provenance, key points, and a braille chart. Returns rich renderables."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rich.table import Table
from rich.text import Text

from .formatting import format_lr
from .keypoints import Summary
from .schedules import floor_lr, lr_at, wsd_phases, warmup_updates
from .spec import ScheduleSpec
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


def settings_table(curve: Curve) -> Table:
    """The resolved settings and where each came from."""
    spec = curve.spec
    table = Table(title=f"{curve.label}: settings", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("setting")
    table.add_column("value", justify="right")
    table.add_column("from", style="dim")
    source = spec.provenance

    def row(name: str, value: str, key: str) -> None:
        table.add_row(name, value, str(source[key]) if key in source else "")

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
        table.add_row("warmup updates", format_steps(warmup), f"derived by {spec.framework} from {ratio_key}")
    else:
        row("warmup updates", format_steps(warmup), "warmup_steps")
    for key, value in spec.scheduler_kwargs.items():
        if f"kwargs.{key}" != floor_key:
            shown = format_lr(value) if isinstance(value, float) and key in ("min_lr", "lr_end") else str(value)
            row(key, shown, f"kwargs.{key}")
    if spec.scheduler == "warmup_stable_decay":
        warmup, stable, decay = wsd_phases(spec)
        table.add_row("phases", f"{warmup:,} / {stable:,} / {decay:,}", "warmup / stable / decay")
    for key in ("dataset_size", "batch_size", "grad_accum", "gpus", "epochs", "drop_last"):
        if key in source:
            table.add_row(key.replace("_", " "), "", str(source[key]))
    return table


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
    for point in summary.points:
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
