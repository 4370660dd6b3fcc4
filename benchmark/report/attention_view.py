"""How the pretrained checkpoints attend, objective against objective.

Each pretraining run records, for its final checkpoint, attention statistics per layer and head
on held-out text (``benchmark.attention``: mean attention distance, entropy, and the shares of
attention on special tokens and on the previous and next token). Here they are averaged over
heads and over the pretraining seeds of each (model, objective), per layer for the figure and
over layers for the table. Rungs of a compute ladder, baselines and untrained controls carry none.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from benchmark.report.cells import Cell, number
from benchmark.report.sections import Figure, Section, Table, prose

STATISTICS = ("mean_distance", "entropy", "special_share", "previous_share", "next_share")
LABELS = {"mean_distance": "mean distance (tokens)", "entropy": "entropy (nats)",
          "special_share": "share on special tokens", "previous_share": "share on previous token",
          "next_share": "share on next token"}
INTRO = prose(
    "Attention of each final checkpoint on held-out text (the test split of the suite's first task with running "
    "text), from the attention weights of the eager attention path, averaged over heads and pretraining seeds: "
    "how far a query looks (mean |i - j| under its attention), how spread its attention is (entropy), and what share "
    "falls on special tokens and on the neighbouring tokens. A causal decoder cannot attend to the next token; an "
    "encoder-decoder's figures are its encoder's.")


def attention_by_entry(records: list[dict]) -> dict[tuple[str, str], dict]:
    """(model, objective) -> per-layer means of each statistic (over heads and checkpoints), their overall means,
    the model kind and how many checkpoints were measured."""
    found: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
    for r in records:
        rung = r.get("rung")
        attention = (r.get("pretrain") or {}).get("attention")
        if attention is None or r.get("baseline") or (rung is not None and rung != 1.0):
            continue
        found[r["model"], r["objective"]][r.get("checkpoint")] = attention  # one per checkpoint
    summary = {}
    for key, checkpoints in sorted(found.items()):
        per_layer = {s: np.mean([np.asarray(a[s], dtype=float).mean(axis=1) for a in checkpoints.values()], axis=0)
                     for s in STATISTICS}
        kind = next(iter(checkpoints.values())).get("kind")
        summary[key] = {"per_layer": {s: v.tolist() for s, v in per_layer.items()},
                        "mean": {s: float(v.mean()) for s, v in per_layer.items()},
                        "kind": kind, "checkpoints": len(checkpoints)}
    return summary


def attention_section(summary: dict[tuple[str, str], dict], figure) -> Section | None:
    """The report's section: a table of each entry's means over layers and heads, and the per-layer figure."""
    if not summary:
        return None
    headers = ["model", "objective", "model kind", "checkpoints", *(LABELS[s] for s in STATISTICS)]
    rows = [[Cell(model, model), Cell(objective, objective), Cell(v["kind"], v["kind"]),
             Cell(str(v["checkpoints"]), v["checkpoints"]),
             *(Cell(number(v["mean"][s], 3), v["mean"][s]) for s in STATISTICS)]
            for (model, objective), v in summary.items()]
    figures = (Figure(figure, "Attention statistics per layer (mean over heads and pretraining seeds), "
                              "one line per objective"),) if figure is not None else ()
    return Section("Attention across objectives", INTRO, table=Table("attention", headers, rows), figures=figures,
                   anchor="attention")
