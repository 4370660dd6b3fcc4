"""The Markdown leaderboard and its figures, written to ``reports/<suite>/``."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark.errors import ObjbenchError  # noqa: E402
from benchmark.results import to_dataframe  # noqa: E402

PRIMARY_METRIC = {"classification": "metrics.f1_macro"}


def leaderboard(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Objective x task: mean, std and number of seeds of ``metric``."""
    grouped = df.groupby(["objective", "task"])[metric]
    return grouped.agg(["mean", "std", "count"]).reset_index()


def cost_table(df: pd.DataFrame) -> pd.DataFrame:
    cols = {
        "pretrain.parameters": "params",
        "pretrain.tokens": "pretrain tokens",
        "pretrain.loss_bearing_tokens": "loss-bearing tokens",
        "pretrain.flops": "pretrain FLOPs",
        "pretrain.tokens_per_s": "pretrain tok/s",
        "pretrain.peak_memory_bytes": "pretrain peak mem (MiB)",
        "finetune.samples_per_s": "finetune samples/s",
        "evaluate.samples_per_s": "eval samples/s",
    }
    present = [c for c in cols if c in df]
    table = df.groupby("objective")[present].median().rename(columns=cols)
    if "pretrain peak mem (MiB)" in table:
        table["pretrain peak mem (MiB)"] = table["pretrain peak mem (MiB)"] / 2**20
    return table


def _fmt(mean: float, std: float, count: int) -> str:
    return f"{mean:.3f} ± {std:.3f}" if count > 1 else f"{mean:.3f} (1 seed)"


def write_report(results_dir: str | Path, suite: str, reports_dir: str | Path = "reports") -> Path:
    """Write ``README.md`` and figures for ``suite``; returns the report folder."""
    df = to_dataframe(results_dir, suite)
    if df.empty:
        raise ObjbenchError(f"no results for suite {suite!r} under {results_dir} (run `objbench run` first)")
    out = Path(reports_dir) / suite
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# objbench leaderboard: {suite}", ""]
    figures = []
    for fmt, metric in PRIMARY_METRIC.items():
        part = df[df["task_format"] == fmt]
        if part.empty:
            continue
        for name in ("metrics.accuracy", "metrics.f1_macro"):
            board = leaderboard(part, name)
            wide = board.pivot(index="objective", columns="task", values="mean")
            best = wide.max()
            lines += [f"## {name.split('.')[-1]} (mean ± std over seeds; **bold** = best)", ""]
            tasks = list(wide.columns)
            lines += ["| objective | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]
            for objective in wide.index:
                cells = []
                for task in tasks:
                    row = board[(board.objective == objective) & (board.task == task)].iloc[0]
                    cell = _fmt(row["mean"], row["std"], int(row["count"]))
                    cells.append(f"**{cell}**" if row["mean"] == best[task] else cell)
                lines.append(f"| {objective} | " + " | ".join(cells) + " |")
            lines.append("")
        figure = _metric_figure(leaderboard(part, metric), metric, out)
        figures.append(figure)
    lines += ["## Cost", "", cost_table(df).to_markdown(floatfmt=".3g"), ""]
    for fig in figures:
        lines += [f"![{fig.stem}]({fig.name})", ""]
    (out / "README.md").write_text("\n".join(lines))
    return out


def _metric_figure(board: pd.DataFrame, metric: str, out: Path) -> Path:
    tasks = sorted(board.task.unique())
    objectives = sorted(board.objective.unique())
    fig, ax = plt.subplots(figsize=(1.5 + 1.2 * len(objectives) * len(tasks) / 2, 3.5))
    width = 0.8 / max(1, len(tasks))
    for i, task in enumerate(tasks):
        part = board[board.task == task].set_index("objective").reindex(objectives)
        ax.bar([x + i * width for x in range(len(objectives))], part["mean"], width, yerr=part["std"].fillna(0),
               label=task, capsize=3)
    ax.set_xticks([x + width * (len(tasks) - 1) / 2 for x in range(len(objectives))], objectives)
    ax.set_ylabel(metric.split(".")[-1])
    ax.set_title(f"{metric.split('.')[-1]} by objective (mean ± std over seeds)")
    ax.legend(title="task")
    fig.tight_layout()
    path = out / f"{metric.split('.')[-1]}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
