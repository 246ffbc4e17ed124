"""The check-run figure: logged points over the predicted curve, deviations marked, relative error below.

Imports matplotlib; ``lrviz check-run`` loads this module only when it writes a figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..plot import _lr_label, _step_label
from .check import Report

ON, SHIFTED, OFF = "#1a7f37", "#bc4c00", "#d1242f"
CURVE, EXPLAINS = "#1f6feb", "#8250df"


def _grid(report: Report) -> np.ndarray:
    model = report.model
    last = int(report.alignment.updates.max()) if report.alignment is not None else 0
    horizon = max(last + 1, model.total_steps or 0)
    if horizon <= 6000:
        return np.arange(horizon, dtype=np.float64)
    dense = np.linspace(0, horizon - 1, 6000).round()
    return np.unique(np.concatenate([dense, report.alignment.updates.astype(np.float64)]))


def figure_for(report: Report) -> Figure:
    figure = Figure(figsize=(9, 5.8), dpi=150, layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    alignment, model, run = report.alignment, report.model, report.run
    grid = _grid(report)
    top.plot(grid, model.lr(grid), color=CURVE, linewidth=1.8, zorder=2,
             label=f"{'inferred' if report.mode == 'infer' else report.label}: {model.describe()}")
    if report.explanation is not None:
        top.plot(grid, report.explanation.lr(grid), color=EXPLAINS, linewidth=1.3, linestyle="--", zorder=2,
                 label=f"what the log follows: {report.explanation.describe()}")
    statuses = np.array(report.statuses())
    on, shifted, off = statuses == "on schedule", statuses == "shifted", statuses == "deviates"
    explained = statuses == "explained"
    size = 14 if len(run) <= 300 else 5
    updates, lr = alignment.updates, alignment.lr
    if on.any():
        top.scatter(updates[on], lr[on], s=size, color=ON, zorder=4, label=f"logged, on schedule ({int(on.sum()):,})")
    if explained.any():
        top.scatter(updates[explained], lr[explained], s=size + 4, marker="D", color=EXPLAINS, zorder=5,
                    label=f"logged, equals what the log follows ({int(explained.sum()):,})")
    if shifted.any():
        top.scatter(updates[shifted], lr[shifted], s=size + 6, marker="^", color=SHIFTED, zorder=5,
                    label=f"logged, matches a shifted update ({int(shifted.sum()):,})")
    if off.any():
        top.scatter(updates[off], lr[off], s=size + 10, marker="x", color=OFF, zorder=5,
                    label=f"logged, off schedule ({int(off.sum()):,})")
    shift = int(alignment.updates[0] - run.steps[0])
    for finding in report.findings:
        if finding.severity != "error" or not finding.steps:
            continue
        low, high = finding.steps[0] + shift, finding.steps[1] + shift
        for axis in (top, bottom):
            axis.axvspan(low - 0.5, max(high, low) + 0.5, color="#ffebe9", zorder=0)
        top.annotate(finding.cause, (low, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                     textcoords="offset points", fontsize=8, color=OFF)
    errors = np.maximum(alignment.errors, 1e-17)
    errors = np.where(np.isfinite(errors), errors, 10.0)
    colours = np.where(off, OFF, np.where(shifted, SHIFTED, np.where(explained, EXPLAINS, ON)))
    bottom.scatter(updates, errors, s=6, color=colours, zorder=3)
    bottom.axhline(report.tol, color="#57606a", linestyle="--", linewidth=1,
                   label=f"tolerance {report.tol:.0e} (errors of 0 drawn at 1e-17)")
    bottom.set_yscale("log")
    bottom.set_ylim(1e-18, max(20.0, float(errors.max()) * 3))
    bottom.set_ylabel("relative error\nvs prediction", fontsize=8)
    bottom.legend(loc="upper left", fontsize=7, frameon=False)
    top.set_ylabel("learning rate")
    top.set_ylim(bottom=0, top=max(float(lr.max()), float(model.lr(grid).max())) * 1.15)
    top.yaxis.set_major_formatter(FuncFormatter(_lr_label))
    bottom.set_xlabel("optimizer update (logged step mapped by the log's convention)")
    bottom.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 5, 10], integer=True))
    bottom.xaxis.set_major_formatter(FuncFormatter(_step_label))
    for axis in (top, bottom):
        axis.grid(True, color="#d0d7de", linewidth=0.6, alpha=0.8)
        axis.spines[["top", "right"]].set_visible(False)
    top.legend(loc="best", fontsize=8, framealpha=0.9, edgecolor="none")
    verdict = "followed its schedule" if report.followed else "did not follow its schedule"
    name = run.path.replace("\\", "/").rsplit("/", 1)[-1]
    top.set_title(f"{name}: the run {verdict}", loc="left", fontsize=11, fontweight="bold",
                  color="#24292f" if report.followed else OFF)
    return figure
