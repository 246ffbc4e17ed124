"""The figure of ``lrviz plot --compare-frameworks``: the overlay, a zoom on the warmup, and each framework's
difference from transformers (``hf``) over the run and past its end."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .plot import _lr_label, _step_label
from .render import Curve, format_lr
from .schedules import lr_at

PALETTE = ("#1f6feb", "#d1242f", "#8250df", "#1a7f37", "#bc4c00", "#6e7781", "#bf3989")
STYLES = ("-", "--", "-.", ":", "--", "-.", ":")


def _steps(total: int, stop: int) -> np.ndarray:
    if stop <= 6000:
        return np.arange(stop, dtype=np.int64)
    return np.unique(np.concatenate([np.linspace(0, stop - 1, 6000).astype(np.int64), np.arange(min(total, 200)),
                                     np.arange(max(0, total - 3), min(stop, total + 3))]))


def compare_figure(curves: Sequence[Curve], title: str) -> Figure:
    figure = Figure(figsize=(11, 7.6), dpi=150, layout="constrained")
    grid = figure.add_gridspec(2, 2, width_ratios=(1.7, 1), height_ratios=(1.25, 1))
    whole, zoom, gap = figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1]), figure.add_subplot(grid[1, :])
    hf = curves[0].spec
    total, peak = hf.total_steps, hf.peak_lr
    stop = total + max(1, total // 5)
    steps = _steps(total, stop)
    reference = lr_at(hf, steps)
    warm = max(c.summary.peak_step for c in curves)
    zoom_end = min(stop, max(8, int(warm * 1.25) + 3))
    # at most a few thousand points, however long the warmup (2**53 updates would be petabytes)
    zoom_steps = np.unique(np.linspace(0, zoom_end - 1, min(zoom_end, 4096)).astype(np.int64))
    for index, curve in enumerate(curves):
        color, style = PALETTE[index % len(PALETTE)], STYLES[index % len(STYLES)]
        width = 2.4 if index == 0 else 1.6
        inside = steps < total
        lr = lr_at(curve.spec, steps)
        whole.plot(steps[inside], lr[inside], color=color, linestyle=style, linewidth=width, label=curve.label)
        zoom.plot(zoom_steps, lr_at(curve.spec, zoom_steps), color=color, linestyle=style, linewidth=width,
                  marker="o" if len(zoom_steps) <= 80 else None, markersize=2.5)
        if index:
            gap.plot(steps, (lr - reference) / peak * 100, color=color, linestyle=style, linewidth=1.5, label=curve.label)
    whole.set_title(title, loc="left", fontsize=11, fontweight="bold")
    whole.legend(loc="upper right", fontsize=8, frameon=True, framealpha=0.9, edgecolor="none")
    whole.set_xlim(0, total - 1)
    zoom.set_title(f"the first {zoom_end:,} updates", loc="left", fontsize=10)
    zoom.axhline(peak, color="#8c959f", linewidth=0.8, linestyle=":")
    zoom.annotate(f"peak {format_lr(peak, 4)}", (0, peak), xytext=(4, -12), textcoords="offset points", fontsize=8,
                  color="#57606a")
    for ax in (whole, zoom):
        ax.set_ylim(bottom=0, top=peak * 1.1)
        ax.yaxis.set_major_formatter(FuncFormatter(_lr_label))
        ax.set_ylabel("learning rate")
    gap.axhline(0, color=PALETTE[0], linewidth=1.2)
    gap.axvline(total - 0.5, color="#57606a", linewidth=1, linestyle="--")
    gap.annotate("end of the run →", (total - 0.5, 1), xycoords=("data", "axes fraction"), xytext=(-4, -12),
                 textcoords="offset points", ha="right", fontsize=8, color="#57606a")
    gap.set_xlim(0, stop - 1)
    gap.set_ylabel("LR − hf LR (% of peak)")
    gap.set_title("difference from hf (transformers), also past the end of the run", loc="left", fontsize=10)
    gap.legend(loc="best", fontsize=8, ncol=3, frameon=True, framealpha=0.9, edgecolor="none")
    for ax in (whole, zoom, gap):
        ax.set_xlabel("optimizer update (step)")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 5, 10], integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(_step_label))
        ax.grid(True, color="#d0d7de", linewidth=0.6, alpha=0.8)
        ax.spines[["top", "right"]].set_visible(False)
    figure.text(0.995, 0.002, "lrviz · each framework's exact semantics", ha="right", va="bottom", fontsize=7,
                color="#6e7781")
    return figure
