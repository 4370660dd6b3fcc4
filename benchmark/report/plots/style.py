"""Colours, markers and names shared by every figure, and how a figure becomes a file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import matplotlib.pyplot as plt

from benchmark import files
from benchmark.results import BASELINE_GROUP

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


def save(fig, path: Path) -> Path:
    """The figure as a PNG that appears whole or not at all."""
    files.publish(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight"))
    plt.close(fig)
    return path


def grid(n: int, width: float = 4.6, height: float = 3.8):
    """A figure of ``n`` panels, three to a row, each ``width`` x ``height`` inches; the spare cells hidden."""
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + 0.6), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])
