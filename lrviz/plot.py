"""Annotated figures of LR schedules (the only module that imports matplotlib).

``draw_schedules`` draws on an Axes you pass and returns it; ``figure_for`` builds a Figure without pyplot
(no GUI backend, no global state). Long runs are drawn from their per-pixel min/max envelope.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .render import Curve, format_lr
from .schedules import wsd_phases, warmup_updates
from .trajectory import envelope

COLORS = ("#1f6feb", "#d1242f", "#8250df", "#1a7f37", "#bc4c00", "#6e7781")


def _step_label(value: float, _position: float = 0) -> str:
    value = float(value)
    for size, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            scaled = value / size
            return f"{scaled:.{0 if scaled == int(scaled) else 1}f}{suffix}"
    return f"{value:.0f}"


def _lr_label(value: float, _position: float = 0) -> str:
    return format_lr(value, digits=3)


LINE_STYLES = ("-", "--", "-.", ":")


def draw_schedules(ax: Axes, curves: Sequence[Curve], *, log: bool = False, columns: int = 1600) -> Axes:
    """Draw each curve on ``ax``; the first one is annotated (warmup, phases, peak, floor, last update)."""
    for index, curve in enumerate(curves):
        points = envelope(curve.spec, columns=columns)
        lr = np.where(points.lr > 0, points.lr, np.nan) if log else points.lr
        ax.plot(points.step, lr, color=COLORS[index % len(COLORS)], linewidth=2.2 if index == 0 else 1.7,
                linestyle=LINE_STYLES[index % len(LINE_STYLES)], label=curve.label, zorder=3 - index * 0.1)
    total = max(c.spec.total_steps for c in curves)
    ax.set_xlim(0, max(total - 1, 1))
    _annotate(ax, curves[0], log=log)
    ax.set_xlabel("optimizer update (step)")
    ax.set_ylabel("learning rate" + (" (log scale)" if log else ""))
    if log:
        ax.set_yscale("log")
        ax.set_ylim(top=max(c.summary.peak_lr for c in curves) * 3)
    else:
        ax.set_ylim(bottom=0, top=max(c.summary.peak_lr for c in curves) * 1.12)
        ax.yaxis.set_major_formatter(FuncFormatter(_lr_label))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 5, 10], integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(_step_label))
    ax.grid(True, color="#d0d7de", linewidth=0.6, alpha=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="best", frameon=True, framealpha=0.9, edgecolor="none", fontsize=9)
    return ax


def _label(ax: Axes, text: str, x: float, y: float, *, dy: float = 8, color: str = "#24292f") -> None:
    """Text beside a point, on whichever side keeps it inside the axes."""
    left, right = ax.get_xlim()
    on_right_half = (x - left) > 0.6 * (right - left)
    ax.annotate(text, (x, y), xytext=(-8 if on_right_half else 8, dy), textcoords="offset points",
                ha="right" if on_right_half else "left", fontsize=9, color=color)


def _annotate(ax: Axes, curve: Curve, *, log: bool) -> None:
    spec, summary = curve.spec, curve.summary
    color = COLORS[0]
    warmup = warmup_updates(spec)
    if warmup > 0:
        ax.axvspan(0, min(warmup, spec.total_steps) - 0.5, color="#fff8c5", alpha=0.8, zorder=0,
                   label=f"warmup ({warmup:,} updates)")
    if spec.scheduler == "warmup_stable_decay":
        warmup, stable, decay = wsd_phases(spec)
        for start, name in ((warmup + stable, "decay"), (warmup, "stable")):
            if 0 < start < spec.total_steps:
                ax.axvline(start, color="#8c959f", linestyle=":", linewidth=1, zorder=1)
                ax.annotate(f"{name} from {start:,}", (start, 0), xycoords=("data", "axes fraction"), xytext=(4, 4),
                            textcoords="offset points", fontsize=8, color="#57606a")
    ax.plot([summary.peak_step], [summary.peak_lr], "o", color=color, markersize=5, zorder=4)
    _label(ax, f"peak {format_lr(summary.peak_lr, 4)} at update {summary.peak_step:,}", summary.peak_step, summary.peak_lr)
    if summary.floor_lr is not None and (summary.floor_lr > 0 or not log):
        ax.axhline(summary.floor_lr, color="#57606a", linestyle="--", linewidth=1, zorder=1,
                   label=f"floor {format_lr(summary.floor_lr, 4)}")
    if summary.floor_step is not None and summary.floor_plateau and (summary.floor_lr > 0 or not log):
        ax.plot([summary.floor_step], [summary.floor_lr], "s", color="#57606a", markersize=5, zorder=4)
        _label(ax, f"at the floor from {summary.floor_step:,} ({summary.floor_share:.0%} of the run)",
               summary.floor_step, summary.floor_lr, dy=10, color="#57606a")
    last = spec.total_steps - 1
    if summary.last_lr > 0 or not log:
        ax.plot([last], [summary.last_lr], "o", color=color, markersize=4, zorder=4)
        _label(ax, f"last update {format_lr(summary.last_lr, 4)}", last, summary.last_lr, dy=22)
    if summary.points[0].lr == 0:  # a legend entry: it has no place on the curve that is always free
        ax.plot([], [], " ", label="update 0 runs at LR 0" + (" (off a log axis)" if log else ""))


def figure_for(curves: Sequence[Curve], *, log: bool = False, title: str | None = None) -> Figure:
    """A report-ready Figure of the curves."""
    figure = Figure(figsize=(9, 4.8), dpi=150, layout="constrained")
    ax = figure.subplots()
    draw_schedules(ax, curves, log=log)
    spec = curves[0].spec
    floor = curves[0].summary.floor_lr
    if title is None and len(curves) > 1:
        updates = f", {max(c.spec.total_steps for c in curves):,} updates"
        title = " vs ".join(c.label for c in curves)
        title = (title if len(title) <= 70 else f"{len(curves)} schedules compared") + updates
    headline = title or (
        f"{spec.scheduler}: peak {format_lr(spec.peak_lr, 4)}"
        + (f" → floor {format_lr(floor, 4)}" if floor is not None else "")
        + f", {spec.total_steps:,} updates, warmup {warmup_updates(spec):,}"
    )
    ax.set_title(headline, loc="left", fontsize=11, fontweight="bold")
    # A config source that replaces another (a DeepSpeed "scheduler" block over the Trainer's): say so on the figure.
    replaced = next((note for c in curves for note in c.spec.notes
                     if getattr(note, "code", "") == "deepspeed.replaces_trainer_scheduler"), None)
    if replaced is not None:
        import re

        short = re.sub(r"^your | \([^)]*\)", "", replaced.split(" runs instead ")[0]) + " runs instead"
        figure.suptitle("⚠ " + short, x=0.01, ha="left", fontsize=9,
                        color="#cf222e", fontweight="bold")
    figure.text(0.995, 0.005, f"lrviz · {spec.framework} semantics", ha="right", va="bottom", fontsize=7, color="#6e7781")
    return figure
