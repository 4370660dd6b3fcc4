"""The model axis of a report: objectives side by side across architectures, and their ordering across sizes.

**Objective x architecture** lays the board out as T5's Table 2 does (Raffel et al. 2020): one row
per objective and task, one column per model, each cell the objective's mean on that model with its
interval over pretraining seeds. Comparisons stay within a column: each model has its own budget
steps (compute-matched within its size) and its own untrained control.

**Across sizes** asks DataDecide's question (Magnusson et al. 2025) of model size instead of compute:
for each pair of pretrained objectives of one family on one task, their order at each size (by the
mean over pretraining seeds, as the board's means), and whether the smaller size already orders them
as the largest does. The measure is the compute ladder's decision accuracy (``decision_accuracy.py``),
with its tie rule.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from benchmark.report.cells import Cell, digits, with_spread
from benchmark.report.decision_accuracy import _means, _order
from benchmark.report.metrics import MetricSpec
from benchmark.report.runs import baseline_runs, untrained_entries
from benchmark.report.sections import Section, Table, prose
from benchmark.report.tables import Leaderboard

ACROSS_COLUMNS = ["family", "task", "first", "second", "orders", "agrees"]


def architecture_table(board_rows: pd.DataFrame, baselines: set[str]) -> pd.DataFrame:
    """(objective, task) rows x model columns of the board's cells (mean, std, interval); empty with one model."""
    rows = board_rows[~board_rows["objective"].isin(baselines)]
    if rows["model"].nunique() < 2:
        return pd.DataFrame()
    return rows.set_index(["objective", "task", "model"])[["mean", "std", "ci_low", "ci_high"]]


def across_sizes(df: pd.DataFrame, metrics: dict[str, MetricSpec], sizes: list[str]) -> pd.DataFrame:
    """One row per (family, task, pair of pretrained objectives present at every size): the pair's order at each
    size of ``sizes`` (smallest first) and whether every smaller size orders it as the largest does.

    ``orders`` holds, per size, the objective ahead by the metric's direction, or ``"tied"``. Empty unless
    some family ran at two sizes or more."""
    if "family" not in df or len(sizes) < 2:
        return pd.DataFrame(columns=ACROSS_COLUMNS)
    df = df[~baseline_runs(df).to_numpy()]
    controls = untrained_entries(df)
    df = df[np.asarray([key not in controls for key in zip(df["model"], df["objective"])], dtype=bool)]
    rows = []
    for (family, task), runs in df.groupby(["family", "task"], sort=True):
        spec = metrics.get(task)
        column = f"metrics.{spec.name}" if spec else None
        if column not in runs:
            continue
        means = {size: _means(own, column) for size, own in runs.dropna(subset=[column]).groupby("size")}
        present = [s for s in sizes if s in means]
        if len(present) < 2:
            continue
        shared = sorted(set.intersection(*(set(means[s]) for s in present)))
        for first, second in combinations(shared, 2):
            orders = {}
            for size in present:
                order = _order(means[size][first], means[size][second])
                ahead = order > 0 if spec.higher_is_better else order < 0
                orders[size] = "tied" if order == 0 else (first if ahead else second)
            largest = orders[present[-1]]
            rows.append({"family": family, "task": task, "first": first, "second": second, "orders": orders,
                         "agrees": {size: orders[size] == largest for size in present[:-1]}})
    return pd.DataFrame(rows, columns=ACROSS_COLUMNS)


def _column_order(df: pd.DataFrame, sizes: list[str], model: str) -> tuple[int, int]:
    """(the size's place in the suite's sizes, the family's place in its models): smaller sizes first."""
    own = df[df["model"] == model].iloc[0]
    family = own.get("family") if isinstance(own.get("family"), str) else model
    listed = list((own.get("config") or {}).get("models") or [])
    return (sizes.index(own["size"]) if own.get("size") in sizes else 0,
            listed.index(family) if family in listed else len(listed))


def agreement_by_size(table: pd.DataFrame) -> dict[tuple[str, str], tuple[int, int]]:
    """(family, smaller size) -> (pairs ordered as at the largest size, pairs), over every task."""
    counts: dict[tuple[str, str], list[int]] = {}
    for _, row in table.iterrows():
        for size, agrees in row["agrees"].items():
            tally = counts.setdefault((row["family"], size), [0, 0])
            tally[0] += int(agrees)
            tally[1] += 1
    return {key: (agree, total) for key, (agree, total) in counts.items()}


def model_axis_sections(board: Leaderboard, df: pd.DataFrame, sizes: list[str]) -> list[Section]:
    """The two sections, where the board has what they need: several models; a family at several sizes."""
    out = []
    grid = architecture_table(board.rows, board.baselines)
    if len(grid):
        models = list(dict.fromkeys(m for m, _ in board.entries if m in set(grid.index.get_level_values("model"))))
        models.sort(key=lambda m: _column_order(df, sizes, m))
        rows = []
        for (objective, task), cells in grid.groupby(level=["objective", "task"], sort=False):
            places, row = digits(board.metrics[task]), [Cell(objective, objective), Cell(task, task)]
            for model in models:
                if (objective, task, model) not in cells.index:
                    row.append(Cell("-", None))
                    continue
                r = cells.loc[(objective, task, model)]
                row.append(Cell(with_spread(r["mean"], r["std"], r["ci_low"], r["ci_high"], places), float(r["mean"])))
            rows.append(row)
        out.append(Section("Objective × architecture", intro=prose(
            "Each objective on each model, T5's Table 2 layout: mean ± std between pretraining seeds [95% interval]. "
            "Compare within a column: each model has its own compute-matched budget and its own untrained control; "
            "'-': the model cannot be built as the objective's kind, or the run was excluded."),
            table=Table("objective-by-architecture", ["objective", "task", *models], rows), anchor="architectures"))
    table = across_sizes(df, board.metrics, sizes)
    if len(table):
        tallies = agreement_by_size(table)
        bullets = tuple(prose(f"{family} at {size}: {agree} of {total} objective pairs ordered as at {sizes[-1]} "
                              f"({agree / total:.0%})") for (family, size), (agree, total) in sorted(tallies.items()))
        rows = [[Cell(r["family"], r["family"]), Cell(r["task"], r["task"]),
                 Cell(f"{r['first']} vs {r['second']}", f"{r['first']} vs {r['second']}"),
                 *(Cell(r["orders"].get(size, "-"), r["orders"].get(size)) for size in sizes),
                 Cell("yes" if all(r["agrees"].values()) else "no", int(all(r["agrees"].values())))]
                for _, r in table.iterrows()]
        out.append(Section("Does the ordering hold across sizes?", intro=prose(
            "For each pair of pretrained objectives of one family on one task: the objective ahead at each size (by "
            "the mean over pretraining seeds; 'tied' within float rounding), and whether every smaller size orders "
            "the pair as the largest does (decision accuracy across sizes, as across the compute ladder)."),
            bullets=bullets,
            table=Table("across-sizes", ["family", "task", "pair", *sizes, "same order at every size"], rows),
            anchor="across-sizes"))
    return out
