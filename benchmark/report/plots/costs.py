"""Figures of what pretraining cost: loss curves against tokens and FLOPs, throughput and peak memory."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from benchmark.report.plots.style import Style, label, save
from benchmark.report.tables import Leaderboard


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
    return save(fig, path)


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
    return save(fig, path)
