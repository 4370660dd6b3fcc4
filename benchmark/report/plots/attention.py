"""The figure of attention statistics per layer, one line per (model, objective)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import FixedLocator

from benchmark.report.attention_view import LABELS, STATISTICS
from benchmark.report.plots.style import grid, label, objective_colour, save


def attention_by_layer(summary: dict, path: Path) -> Path:
    """Each attention statistic per layer, one line per (model, objective): how the objectives attend."""
    fig, axes = grid(len(STATISTICS), width=4.2, height=3.2)
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
    return save(fig, path)
