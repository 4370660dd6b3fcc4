"""Figures of scores by task: each entry's mean with its interval, and its difference from no pretraining."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from benchmark.report.cells import digits
from benchmark.report.headline import control_matrix, entry_name, heatmap_limit
from benchmark.report.plots.style import Style, grid, label, save
from benchmark.report.ranks import NOISE_SDS
from benchmark.report.tables import Leaderboard

HEATMAP_MARK = "*"  # on a cell whose paired 95% interval excludes 0 (better or worse)
EQUIVALENT_MARK = "="  # on a cell whose interval lies within the task's tolerance (equivalent)
UNDECIDED_MARK = "?"  # on a cell that more pretraining seeds could decide (undecided)
MARKS = {"better": HEATMAP_MARK, "worse": HEATMAP_MARK, "equivalent": EQUIVALENT_MARK, "undecided": UNDECIDED_MARK}


def metric_by_task(board: Leaderboard, path: Path) -> Path:
    """Per task: each entry's mean primary metric with its 95% interval; T5's within-noise band shaded."""
    style = Style(board.entries)
    fig, axes = grid(len(board.tasks), width=max(4.6, 0.9 * len(board.entries) + 1.5))
    for ax, task in zip(axes, board.tasks):
        spec = board.metrics[task]
        rows = board.rows[board.rows["task"] == task].set_index(["model", "objective"])
        entries = [e for e in board.entries if e in rows.index]
        for x, (model, objective) in enumerate(entries):
            row = rows.loc[(model, objective)]
            colour = style.colour(objective)
            if pd.notna(row["ci_low"]):
                err = [[row["mean"] - row["ci_low"]], [row["ci_high"] - row["mean"]]]
                ax.errorbar(x, row["mean"], yerr=err, fmt=style.marker(model), color=colour, capsize=5, markersize=8)
            else:
                ax.plot(x, row["mean"], style.marker(model), markerfacecolor="white", color=colour, markersize=8,
                        markeredgewidth=2)
        noise = rows["noise_std"].dropna()
        best = rows["mean"].max() if spec.higher_is_better else rows["mean"].min()
        if len(noise):
            band = NOISE_SDS * float(noise.iloc[0])
            low, high = (best - band, best) if spec.higher_is_better else (best, best + band)
            ax.axhspan(low, high, color="#dddddd", zorder=0)
        ax.set_xticks(range(len(entries)), [style.name(*e) for e in entries], rotation=30, ha="right")
        ax.set_xlim(-0.6, len(entries) - 0.4)
        direction = "higher is better" if spec.higher_is_better else "lower is better"
        ax.set_ylabel(f"{label(spec.name)} (0 to {spec.max_value:g}, {direction})")
        ax.set_title(label(f"{task}"))
        ax.grid(axis="y", alpha=0.3)
    handles = [Line2D([], [], marker="o", color="black", linestyle="-",
                      label="mean, 95% t-interval over pretraining seeds"),
               Line2D([], [], marker="o", color="black", markerfacecolor="white", linestyle="",
                      label="one pretraining run: no interval"),
               Patch(color="#dddddd",
                     label=f"within {NOISE_SDS:g} pooled std between pretraining seeds of the best (T5)")]
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("Downstream score by objective (primary metric per task)")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return save(fig, path)


def control_heatmap(board: Leaderboard, path: Path) -> Path:
    """Objective x task: the difference from the untrained control in each task's primary metric.

    Colour is the difference over the metric's range, blue where better than no pretraining and red
    where worse, so tasks on different scales share one colour bar; each cell is labelled with the
    difference in the metric's own units and its verdict's mark: ``HEATMAP_MARK`` where its paired 95% interval
    excludes 0, ``EQUIVALENT_MARK`` where it lies within the task's tolerance, ``UNDECIDED_MARK`` where neither.
    """
    matrix = control_matrix(board)
    entries = [e for e in board.entries if e in set(zip(matrix["model"], matrix["objective"]))]
    columns = list(dict.fromkeys((t, c) for t in board.tasks for c in matrix.loc[matrix["task"] == t, "control"]))
    several_controls = len({c for _, c in columns}) > 1
    cells = matrix.set_index(["model", "objective", "task", "control"])
    values = np.full((len(entries), len(columns)), np.nan)
    fig, ax = plt.subplots(figsize=(2.2 + 1.3 * len(columns), 1.3 + 0.42 * len(entries)))
    limit = heatmap_limit(matrix)
    for i, (model, objective) in enumerate(entries):
        for j, (task, control) in enumerate(columns):
            key = (model, objective, task, control)
            if key not in cells.index or pd.isna(cells.loc[key, "scaled"]):
                ax.text(j, i, "n/a", ha="center", va="center", fontsize="small", color="#555555")
                continue
            cell = cells.loc[key]
            values[i, j] = cell["scaled"]
            mark = MARKS.get(cell["direction"], "")
            text = f"{cell['difference']:+.{digits(board.metrics[task])}f}{mark}"
            dark = abs(cell["scaled"]) > 0.6 * limit
            ax.text(j, i, text, ha="center", va="center", fontsize="small", color="white" if dark else "black")
    cmap = plt.get_cmap("RdBu").with_extremes(bad="#eeeeee")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(len(columns)), [label(f"{t}\nvs {c}" if several_controls else t) for t, c in columns],
                  rotation=20, ha="right")
    ax.set_yticks(range(len(entries)), [label(entry_name(board, *e)) for e in entries])
    bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label("difference / metric range\n(blue: better)", fontsize="small")
    control = "" if several_controls else f" ({label(columns[0][1])})" if columns else ""
    ax.set_title(f"Difference from no pretraining{control}\n{HEATMAP_MARK} better or worse (95% interval excludes "
                 f"0), {EQUIVALENT_MARK} equivalent, {UNDECIDED_MARK} undecided", fontsize="medium")
    fig.tight_layout()
    return save(fig, path)
