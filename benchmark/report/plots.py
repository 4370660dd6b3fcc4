"""The report's figures (matplotlib, PNG), each readable on its own.

Every figure colours an objective the same way: a fixed colour for the objectives we know
of, a colour derived from the name's hash for any other, and grey for the ``none`` control.
Models, where a report has several, are told apart by marker.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter  # noqa: E402

from benchmark import files  # noqa: E402
from benchmark.report.cells import digits, scientific  # noqa: E402
from benchmark.report.headline import control_matrix, entry_name, heatmap_limit  # noqa: E402
from benchmark.report.ladder import Ladder  # noqa: E402
from benchmark.report.stats import NOISE_SDS, pareto_front  # noqa: E402
from benchmark.report.tables import Leaderboard  # noqa: E402
from benchmark.results import BASELINE_GROUP  # noqa: E402

DPI = 110
NONE_COLOUR = "#7f7f7f"
OBJECTIVE_COLOURS = {
    "none": NONE_COLOUR,
    "mlm": "#1f77b4",
    "clm": "#ff7f0e",
    "prefix_lm": "#2ca02c",
    "span_corruption": "#d62728",
    "electra": "#9467bd",
    "deshuffle": "#8c564b",
    "sop": "#e377c2",
    "denoising": "#17becf",
    "ul2": "#bcbd22",
    "nsp": "#393b79",
}
# For names not listed above: matplotlib's tab20 without its greys, picked by a stable hash of the name.
FALLBACK_COLOURS = [c for i, c in enumerate(plt.get_cmap("tab20").colors) if i not in (14, 15)]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def objective_colour(objective: str) -> str | tuple:
    """The objective's colour in every figure of every report."""
    if objective in OBJECTIVE_COLOURS:
        return OBJECTIVE_COLOURS[objective]
    digest = int(hashlib.sha256(objective.encode()).hexdigest()[:8], 16)
    return FALLBACK_COLOURS[digest % len(FALLBACK_COLOURS)]


def label(text: str) -> str:
    """Text from records, shown literally: no mathtext, and no leading '_' (which legends drop)."""
    text = str(text).replace("$", r"\$")
    return " " + text if text.startswith("_") else text


class Style:
    """Colours, markers and names of a report's (model, objective) entries."""

    def __init__(self, entries: list[tuple[str, str]]):
        models = sorted({m for m, _ in entries})
        self.several_models = len(set(models) - {BASELINE_GROUP}) > 1
        self.markers = {m: MARKERS[i % len(MARKERS)] for i, m in enumerate(models)}

    def name(self, model: str, objective: str) -> str:
        return label(f"{model}/{objective}" if self.several_models and model != BASELINE_GROUP else objective)

    def colour(self, objective: str):
        return objective_colour(objective)

    def marker(self, model: str) -> str:
        return self.markers[model]


def _save(fig, path: Path) -> Path:
    """The figure as a PNG that appears whole or not at all."""
    files.publish(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight"))
    plt.close(fig)
    return path


def _grid(n: int, width: float = 4.6, height: float = 3.8):
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.6), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def metric_by_task(board: Leaderboard, path: Path) -> Path:
    """Per task: each entry's mean primary metric with its 95% interval; T5's within-noise band shaded."""
    style = Style(board.entries)
    fig, axes = _grid(len(board.tasks), width=max(4.6, 0.9 * len(board.entries) + 1.5))
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
    return _save(fig, path)


def _curves(df: pd.DataFrame) -> list[tuple[str, str, int, pd.DataFrame]]:
    """One loss curve per pretraining job (its runs all carry the same one)."""
    if "pretrain.loss_curve" not in df:
        return []
    out = []
    for (model, objective, seed), runs in df.groupby(["model", "objective", "pretrain_seed"], sort=True):
        curve = runs["pretrain.loss_curve"].iloc[0]
        if isinstance(curve, list) and curve:
            out.append((model, objective, int(seed), pd.DataFrame(curve)))
    return out


def has_loss_curves(df: pd.DataFrame) -> bool:
    return bool(_curves(df))


def loss_curves(df: pd.DataFrame, board: Leaderboard, path: Path) -> Path:
    """Pretraining loss against tokens seen and against training FLOPs, one line per pretraining seed."""
    style = Style(board.entries)
    fig, (by_tokens, by_flops) = plt.subplots(1, 2, figsize=(11, 4.4))
    labelled = set()
    for model, objective, _seed, curve in _curves(df):
        name = style.name(model, objective)
        shown = name if name not in labelled else None
        labelled.add(name)
        kwargs = {"color": style.colour(objective), "marker": style.marker(model), "markersize": 3, "linewidth": 1.5}
        by_tokens.plot(curve["tokens"], curve["loss"], label=shown, **kwargs)
        by_flops.plot(curve["flops"], curve["loss"], label=shown, **kwargs)
    by_tokens.set_xlabel("pretraining tokens seen (input tokens)")
    by_flops.set_xlabel("pretraining compute (FLOPs, forward + backward)")
    for ax in (by_tokens, by_flops):
        ax.set_ylabel("training loss (nats per loss-bearing token)")
        ax.grid(alpha=0.3)
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
    by_tokens.set_title("Loss against tokens")
    by_flops.set_title("Loss against compute")
    by_flops.legend(title="objective", fontsize="small")
    fig.suptitle("Pretraining loss (each objective's own loss: compare shapes, not levels)")
    fig.tight_layout()
    return _save(fig, path)


def metric_vs_compute(board: Leaderboard, costs: pd.DataFrame, path: Path) -> Path:
    """Downstream score against pretraining FLOPs, Pareto front marked; 0-FLOP entries drawn as lines."""
    style = Style(board.entries)
    flops = {(r.model, r.objective): r.flops for r in costs.itertuples()}
    fig, axes = _grid(len(board.tasks), width=5.2, height=4.2)
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
    return _save(fig, path)


def throughput_memory(costs: pd.DataFrame, board: Leaderboard, path: Path) -> Path:
    """Pretraining tokens/s, finetuning samples/s and peak memory per (model, objective)."""
    style = Style(board.entries)
    costs = costs.set_index(["model", "objective"]).reindex(board.entries)
    names = [style.name(*e) for e in board.entries]
    colours = [style.colour(o) for _, o in board.entries]
    x = np.arange(len(names))
    fig, axes = plt.subplots(1, 3, figsize=(max(12, 1.4 * len(names) * 3), 4.4))
    panels = [
        ("tokens_per_s", 1.0, "pretraining throughput", "tokens per second"),
        ("finetune_samples_per_s", 1.0, "finetuning throughput", "samples per second"),
    ]
    for ax, (column, scale, title, unit) in zip(axes, panels):
        values = costs.get(column, pd.Series(np.nan, index=costs.index)) * scale
        spread = costs.get(f"{column}_std", pd.Series(np.nan, index=costs.index)).fillna(0) * scale
        ax.bar(x, values.fillna(0), yerr=spread, color=colours, capsize=4)
        for i, v in enumerate(values):
            if pd.isna(v):
                ax.text(i, 0.03, "no pretraining" if column == "tokens_per_s" else "not recorded",
                        transform=ax.get_xaxis_transform(), rotation=90, ha="center", va="bottom", fontsize="small")
        ax.set_title(title)
        ax.set_ylabel(unit)
    kinds = costs["peak_memory_kind"].dropna().unique() if "peak_memory_kind" in costs else []
    kind = {"process_peak_rss": "process peak RSS", "cuda_allocator_peak": "CUDA allocator peak"}
    kind_text = ", ".join(kind.get(k, str(k)) for k in kinds) or "kind unknown"
    mib = 2.0**20
    width = 0.38
    memory = axes[2]
    for offset, column, hatch, name in ((-width / 2, "peak_memory_bytes", None, "pretraining"),
                                        (width / 2, "finetune_peak_memory_bytes", "//", "finetuning")):
        values = costs.get(column, pd.Series(np.nan, index=costs.index)) / mib
        memory.bar(x + offset, values.fillna(0), width, color=colours, hatch=hatch, edgecolor="black", label=name)
    memory.set_title("peak memory")
    memory.set_ylabel(f"MiB ({label(kind_text)})")
    memory.legend(handles=[Patch(facecolor="white", edgecolor="black", label="pretraining"),
                           Patch(facecolor="white", edgecolor="black", hatch="//", label="finetuning")])
    for ax in axes:
        ax.set_xticks(x, names, rotation=30, ha="right")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Cost per objective (mean over pretraining seeds; error bars: std)")
    fig.tight_layout()
    return _save(fig, path)


HEATMAP_MARK = "*"  # on a cell whose paired 95% interval excludes 0 (better or worse)
EQUIVALENT_MARK = "="  # on a cell whose interval lies within the task's tolerance (equivalent)
UNDECIDED_MARK = "?"  # on a cell that more pretraining seeds could decide (undecided)
MARKS = {"better": HEATMAP_MARK, "worse": HEATMAP_MARK, "equivalent": EQUIVALENT_MARK, "undecided": UNDECIDED_MARK}


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
    return _save(fig, path)


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
    fig, axes = _grid(len(tasks), width=5.2, height=4.2)
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
    return _save(fig, path)


def attention_by_layer(summary: dict, path: Path) -> Path:
    """Each attention statistic per layer, one line per (model, objective): how the objectives attend."""
    from benchmark.report.attention_view import LABELS, STATISTICS

    fig, axes = _grid(len(STATISTICS), width=4.2, height=3.2)
    for ax, stat in zip(axes, STATISTICS):
        for (model, objective), values in summary.items():
            layers = np.arange(len(values["per_layer"][stat]))
            ax.plot(layers, values["per_layer"][stat], marker="o", color=objective_colour(objective),
                    label=label(objective if len({m for m, _ in summary}) == 1 else f"{model}/{objective}"))
        ax.set_title(LABELS[stat])
        ax.set_xlabel("layer")
        ax.xaxis.set_major_locator(FixedLocator(list(range(max(len(v["per_layer"][stat]) for v in summary.values())))))
    axes[0].legend(fontsize=7)
    fig.suptitle("Attention on held-out text per layer (mean over heads and pretraining seeds)")
    return _save(fig, path)
