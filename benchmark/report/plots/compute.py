"""Figures of score against pretraining compute: one point per entry with its Pareto front, and curves through
a compute ladder's rungs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from benchmark.report.cells import scientific
from benchmark.report.ladder import Ladder
from benchmark.report.plots.style import NONE_COLOUR, Style, grid, label, save
from benchmark.report.ranks import pareto_front
from benchmark.report.tables import Leaderboard


def metric_vs_compute(board: Leaderboard, costs: pd.DataFrame, path: Path) -> Path:
    """Downstream score against pretraining FLOPs, Pareto front marked; 0-FLOP entries drawn as lines."""
    style = Style(board.entries)
    flops = {(r.model, r.objective): r.flops for r in costs.itertuples()}
    fig, axes = grid(len(board.tasks), width=5.2, height=4.2)
    legend: dict[str, object] = {}  # one legend for all panels: an entry looks the same in each
    for ax, task in zip(axes, board.tasks):
        spec = board.metrics[task]
        rows = board.rows[board.rows["task"] == task]
        points = {(r.model, r.objective): (float(flops[(r.model, r.objective)]), r.mean) for r in rows.itertuples()
                  if pd.notna(flops.get((r.model, r.objective)))}
        front = pareto_front(points, spec.higher_is_better)
        positive = [p[0] for p in points.values() if p[0] > 0]
        for r in rows.itertuples():
            key = (r.model, r.objective)
            if key not in points:
                continue
            x, y = points[key]
            colour = style.colour(r.objective)
            if x <= 0:  # no pretraining: a log axis has no 0, so the control is a horizontal line
                legend[f"{style.name(*key)} (0 FLOPs)"] = ax.axhline(y, color=colour, linestyle="--", linewidth=1.5)
                continue
            err = None if pd.isna(r.ci_low) else [[y - r.ci_low], [r.ci_high - y]]
            legend[style.name(*key)] = ax.errorbar(x, y, yerr=err, fmt=style.marker(r.model), color=colour,
                                                   capsize=4, markersize=8)
            if key in front:
                ax.plot(x, y, "o", markersize=16, markerfacecolor="none", markeredgecolor="black")
        front_points = sorted(points[k] for k in front if points[k][0] > 0)
        if len(front_points) > 1:
            xs, ys = zip(*front_points)
            ax.step(xs, ys, where="post", color="black", linewidth=1, linestyle=":")
        if positive:
            ax.set_xscale("log")
            ax.set_xlim(min(positive) / 2, max(positive) * 2)
        ax.set_xlabel("pretraining compute (FLOPs, log scale)")
        ax.set_ylabel(f"{label(spec.name)} (mean, 95% CI)")
        ax.set_title(label(task))
        ax.grid(alpha=0.3)
    legend["Pareto front: no entry is both cheaper and better"] = Line2D(
        [], [], marker="o", markersize=12, markerfacecolor="none", markeredgecolor="black", linestyle=":",
        color="black")
    columns = min(4, len(legend))
    rows_of_legend = -(-len(legend) // columns)
    fig.legend(list(legend.values()), list(legend.keys()), loc="lower center", ncol=columns, frameon=False)
    fig.suptitle("Downstream score against pretraining compute\n(a 0-FLOP control is a dashed line: "
                 "with no cost it is on the front unless beaten at 0 FLOPs)", fontsize="medium")
    fig.tight_layout(rect=(0, min(0.4, 0.05 * rows_of_legend / (fig.get_figheight() / 4.8)), 1, 1))
    return save(fig, path)


def compute_curves(ladder: Ladder, board: Leaderboard, path: Path) -> Path:
    """Per task: score against pretraining FLOPs (log scale), one line per objective through its rungs with
    95% intervals, the fitted trend dashed where it fits, each untrained control as a band (its interval), and
    each classical baseline as a dash-dotted level: where a pretrained objective overtakes TF-IDF, not only no
    pretraining."""
    style = Style(board.entries)
    tasks = [t for t in board.tasks if (ladder.points["task"] == t).any()]
    crossovers = ladder.crossovers.set_index(["model", "objective", "task"])
    flops = ladder.points["flops"].dropna()
    span = (flops.min() / 1.5, flops.max() * 1.5) if len(flops) else None  # one compute axis for every task
    ticks = sorted(ladder.points.groupby("rung")["flops"].mean().dropna())
    fig, axes = grid(len(tasks), width=5.2, height=4.2)
    legend: dict[str, object] = {}
    for ax, task in zip(axes, tasks):
        spec = board.metrics[task]
        for band in ladder.bands[ladder.bands["task"] == task].itertuples():
            colour = style.colour(band.control)
            name = f"{style.name(band.model, band.control)} (no pretraining)"
            line = ax.axhline(band.mean, color=colour, linestyle="--", linewidth=1.2)
            if pd.notna(band.ci_low):
                ax.axhspan(band.ci_low, band.ci_high, color=colour, alpha=0.18, zorder=0)
            legend[name] = line
        for reference in ladder.references[ladder.references["task"] == task].itertuples():
            legend[f"{reference.objective} (classical baseline)"] = ax.axhline(
                reference.mean, color=style.colour(reference.objective), linestyle="-.", linewidth=1.4)
        points = ladder.points[(ladder.points["task"] == task) & ladder.points["flops"].notna()]
        for (model, objective), own in points.groupby(["model", "objective"], sort=False):
            own = own.sort_values("rung")
            colour = style.colour(objective)
            err = [own["mean"] - own["ci_low"].fillna(own["mean"]), own["ci_high"].fillna(own["mean"]) - own["mean"]]
            legend[style.name(model, objective)] = ax.errorbar(
                own["flops"], own["mean"], yerr=err, fmt="-" + style.marker(model), color=colour, capsize=4,
                markersize=7)
            alone = own[own["ci_low"].isna()]  # one pretraining run: an open marker, as in the other figures
            ax.plot(alone["flops"], alone["mean"], style.marker(model), color=colour, markerfacecolor="white",
                    markersize=7, markeredgewidth=2, linestyle="")
            fit = crossovers.loc[(model, objective, task)] if (model, objective, task) in crossovers.index else None
            if fit is not None and bool(fit["trend_fits"]):
                xs = np.geomspace(own["flops"].min(), own["flops"].max(), 20)
                ax.plot(xs, fit["trend_intercept"] + fit["trend_slope"] * np.log10(xs), color=colour, linestyle=":",
                        linewidth=2)
        ax.set_xscale("log")
        if span:
            ax.set_xlim(*span)
        ax.xaxis.set_minor_formatter(NullFormatter())  # a ladder spans less than a decade: minor labels collide
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: scientific(x)))
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.tick_params(axis="x", labelrotation=20)
        ax.set_xlabel("pretraining compute (FLOPs, log scale; ticks at the rungs)")
        ax.set_ylabel(f"{label(spec.name)} (mean, 95% CI)")
        ax.set_title(label(task))
        ax.grid(alpha=0.3)
    legend["fitted trend (where it fits)"] = Line2D([], [], color="black", linestyle=":", linewidth=2)
    legend["untrained control: mean and 95% interval"] = Patch(color=NONE_COLOUR, alpha=0.3)
    columns = min(4, len(legend))
    rows_of_legend = -(-len(legend) // columns)
    fig.legend(list(legend.values()), list(legend.keys()), loc="lower center", ncol=columns, frameon=False)
    fig.suptitle("Downstream score against pretraining compute, one finished checkpoint per rung",
                 fontsize="medium")
    fig.tight_layout(rect=(0, min(0.4, 0.05 * rows_of_legend / (fig.get_figheight() / 4.8)), 1, 1))
    return save(fig, path)
