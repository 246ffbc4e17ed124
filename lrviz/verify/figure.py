"""The verify report figure: predicted vs realized LR per param group, their difference, and the loss.

Built without pyplot (no GUI backend, no global state), like ``lrviz.plot``; ``save_figure`` writes it atomically.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..plot import COLORS
from ..render import format_lr
from .report import VerifyReport

MARKERS = ("o", "x", "s", "^", "D", "v")
LINE_STYLES = ("-", "--", ":", "-.")


def report_figure(report: VerifyReport) -> Figure:
    """Three panels sharing the update axis: LR (line: lrviz, marks: optimizer), realized − predicted, loss."""
    figure = Figure(figsize=(9, 8), dpi=150, layout="constrained")
    lr_ax, diff_ax, loss_ax = figure.subplots(3, 1, sharex=True, height_ratios=[3, 1.4, 2])
    first = report.first_diverging
    peak = max((float(np.max(g.predicted)) for g in report.groups if len(g.predicted)), default=1.0)
    for index, group in enumerate(report.groups):
        color = COLORS[index % len(COLORS)]
        steps = np.arange(len(group.realized))
        lr_ax.plot(steps, group.predicted, color=color, linewidth=1.6, linestyle=LINE_STYLES[index % len(LINE_STYLES)],
                   marker=MARKERS[index % len(MARKERS)], markevery=(index, max(1, len(steps) // 40)), markersize=4,
                   markerfacecolor="none", label=f"{group.name} (initial {format_lr(group.initial_lr, 3)})", zorder=2)
        lr_ax.plot(steps, group.realized, MARKERS[index % len(MARKERS)], color=color, markersize=3, alpha=0.55,
                   markerfacecolor="none", markeredgewidth=0.8, zorder=3)
        diff_ax.plot(steps, group.realized - group.predicted, color=color, linewidth=1.3,
                     linestyle=LINE_STYLES[index % len(LINE_STYLES)], label=group.name)
    lr_ax.plot([], [], " ", label="lines: lrviz prediction · marks: optimizer's LR at each step()")
    lr_ax.set_ylabel("learning rate")
    lr_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_lr(v, 3)))
    lr_ax.set_ylim(0, peak * 1.3)
    lr_ax.legend(loc="upper center", fontsize=7.5, ncol=2, frameon=True, framealpha=0.9, edgecolor="none")

    diff_ax.axhline(0, color="#8c959f", linewidth=0.8)
    diff_ax.set_ylabel("realized − predicted LR")
    diff_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_lr(v, 2)))
    worst = max((g.max_rel_error for g in report.groups), default=0.0)
    if first is None:
        band = 1e-12 * peak
        diff_ax.axhspan(-band, band, color="#dafbe1", zorder=0)
        diff_ax.set_ylim(-2 * band, 2 * band)
        exact = "bit-identical at every update" if all(g.max_abs_error == 0 for g in report.groups) else \
            f"max relative error {worst:.1e}"
        diff_ax.text(0.01, 0.92, f"match: {exact} (green: the 1e-12 tolerance)", transform=diff_ax.transAxes,
                     va="top", fontsize=8.5, color="#1a7f37")
    else:
        for ax in (lr_ax, diff_ax, loss_ax):
            ax.axvline(first, color="#d1242f", linestyle="--", linewidth=1, zorder=1)
        diff_ax.text(0.01, 0.92, f"first diverging update: {first:,}", transform=diff_ax.transAxes, va="top",
                     fontsize=8.5, color="#d1242f")

    h = report.health
    steps = np.arange(len(h.loss))
    loss_ax.plot(steps, h.loss, color="#24292f", linewidth=1.3, label="training loss (mean over the micro-batches)")
    window = h.window
    for start, stop, value in ((0, window, h.loss_first), (len(h.loss) - window, len(h.loss), h.loss_last)):
        loss_ax.hlines(value, start, max(stop - 1, start + 0.5), color="#bc4c00", linewidth=2.5)
    loss_ax.plot([], [], color="#bc4c00", linewidth=2.5,
                 label=f"first / last 10%: {h.loss_first:.3g} → {h.loss_last:.3g} ({h.loss_change:+.0%})")
    loss_ax.set_ylabel("loss")
    loss_ax.set_xlabel("optimizer update")
    loss_ax.set_ylim(bottom=0)
    loss_ax.legend(loc="upper right", fontsize=8, frameon=True, framealpha=0.9, edgecolor="none")
    loss_ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    for ax in (lr_ax, diff_ax, loss_ax):
        ax.grid(True, color="#d0d7de", linewidth=0.6, alpha=0.8)
        ax.spines[["top", "right"]].set_visible(False)

    passed = report.exit_code == 0
    verdict = "PASS" if passed else ("NOT THE FRAMEWORK (lrviz's formula)" if report.ok else "FAIL")
    device = report.device
    figure.suptitle(f"lrviz verify — {verdict}: {report.spec.scheduler}, {report.updates:,} updates "
                    f"on {device['name']}", x=0.01, ha="left", fontsize=10.5, fontweight="bold",
                    color="#24292f" if passed else "#d1242f")
    implementation = report.implementation
    source = implementation["source"].split(".")[0] if implementation["kind"] == "framework" else "torch"
    lr_ax.set_title(f"{implementation['class']} from {source} {implementation['version']} · torch {device['torch']} · "
                    f"{device['dtype']}" + (f" · {report.ranks.world_size} ranks ({report.ranks.backend})" if report.ranks else "")
                    + (f" · {report.compression.short()}" if report.compression else ""),
                    loc="left", fontsize=7.5, color="#57606a")
    return figure
