"""Decision accuracy across a compute ladder: how often a smaller rung already orders objectives as the whole
budget does.

DataDecide (Magnusson et al. 2025, "DataDecide: How to Predict Best Pretraining Data with Small
Experiments") asks whether choices made from cheap runs hold at full scale, and measures it as
decision accuracy: over every pair of candidates, the share whose order at the small scale is their
order at the target scale. Here the candidates are the pretrained objectives of one model on one
task, the small scales are the rungs of a compute ladder below the whole budget (``pretrain.ladder``,
see ladder.py), and the target is the final rung (1.0), the one the leaderboard reads.

An objective's score at a rung is its mean over pretraining seeds of each seed's mean over
finetuning seeds (``cluster_means``), as the board's means are. Untrained controls and classical
baselines spend no pretraining compute, so they have no rung and are no candidates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import combinations

import numpy as np
import pandas as pd

from benchmark.report.metrics import MetricSpec
from benchmark.report.runs import ENTRY, FINAL_RUNG, baseline_runs, by_seed, run_rungs, untrained_entries
from benchmark.report.stats import cluster_means

OVERALL = "all tasks"  # the ``task`` of a model's row that sums the pairs of every task at one rung
TIE_TOLERANCE = 1e-9  # relative: means that differ by float rounding only are tied
TIE_RULE = ("A pair agrees when its order at the rung is its order at the full budget: both times the same one "
            "ahead, or tied both times. A pair tied at one of the two and not at the other disagrees: a tie "
            "decides nothing, so it cannot confirm a decision the other rung makes, nor overturn one it does not. "
            f"Means within {TIE_TOLERANCE:g} of each other (relative) are tied.")
COLUMNS = ["model", "task", "rung", "rung_flops", "objectives", "pairs", "agreeing", "ties", "accuracy",
           "disagreeing_pairs"]


def decision_accuracy(df: pd.DataFrame, metrics: Mapping[str, MetricSpec]) -> pd.DataFrame:
    """Per (model, task) and each rung below the final one, how many pairs of pretrained objectives the
    rung orders as the final rung (1.0) does (DataDecide's decision accuracy, Magnusson et al. 2025).

    ``df`` holds the flattened records of every rung (``benchmark.results.flatten``); ``metrics`` maps
    each task to its primary metric, the score that orders it. Only objectives with runs at both the
    rung and the final rung count, so ``pairs`` is C(n, 2) for the n of them (``objectives``); a rung
    where fewer than two are shared has no row. Ties follow ``TIE_RULE``; ``ties`` counts the pairs
    tied at the rung, the final rung or both. ``accuracy`` is ``agreeing / pairs``. ``rung_flops`` is
    the mean FLOPs that made the counted objectives' checkpoints at the rung (``pretrain.flops``, each
    pretraining job once). ``disagreeing_pairs`` lists the pairs that do not agree, each as (the
    objective ahead at the full budget by the metric's direction, the other); a pair tied at the full
    budget is listed by name.

    After each model's task rows come its rows for ``OVERALL``, one per rung: the pairs, agreeing
    pairs and ties of every task summed, and the mean of the tasks' ``rung_flops``. Tasks without a
    ladder add no rows.
    """
    df = df.assign(rung=run_rungs(df).to_numpy())
    df = df[~baseline_runs(df).to_numpy()]  # no network, no pretraining compute: nothing to place on a rung
    controls = untrained_entries(df)
    trained = [key not in controls for key in zip(df["model"], df["objective"])]
    df = df[np.asarray(trained, dtype=bool) & df["rung"].notna().to_numpy()]
    rows = []
    for task, spec in metrics.items():
        column = f"metrics.{spec.name}"
        if column not in df:
            continue
        runs = df[(df["task"] == task).to_numpy()].dropna(subset=[column])
        for model, own in runs.groupby("model", sort=True):
            rows.extend(_task_rows(model, task, own, column, spec.higher_is_better))
    table = pd.DataFrame(rows, columns=COLUMNS)
    if not len(table):
        return table
    overall = [_overall_row(model, rung, group) for (model, rung), group in table.groupby(["model", "rung"])]
    table = pd.concat([table, pd.DataFrame(overall, columns=COLUMNS)], ignore_index=True)
    table["_overall"] = table["task"] == OVERALL
    return (table.sort_values(["model", "_overall", "task", "rung"], kind="stable").drop(columns="_overall")
            .reset_index(drop=True))


def _task_rows(model: str, task: str, runs: pd.DataFrame, column: str, higher_is_better: bool) -> list[dict]:
    """One row per rung below the final one for ``runs`` (one model, one task, pretrained objectives only)."""
    final = np.isclose(runs["rung"].to_numpy(dtype=float), FINAL_RUNG)
    at_final = _means(runs[final], column)
    rows = []
    for rung, at_rung in runs[~final].groupby("rung", sort=True):
        means = _means(at_rung, column)
        shared = sorted(set(means) & set(at_final))
        if len(shared) < 2:
            continue
        agreeing, ties, disagreeing = 0, 0, []
        for first, second in combinations(shared, 2):
            now, then = _order(means[first], means[second]), _order(at_final[first], at_final[second])
            if now == 0 or then == 0:
                ties += 1
            if now == then:
                agreeing += 1
                continue
            ahead_first = then > 0 if higher_is_better else then < 0
            disagreeing.append((first, second) if then == 0 or ahead_first else (second, first))
        pairs = math.comb(len(shared), 2)
        counted = at_rung[at_rung["objective"].isin(shared).to_numpy()]
        rows.append({"model": model, "task": task, "rung": float(rung), "rung_flops": _flops(counted),
                     "objectives": len(shared), "pairs": pairs, "agreeing": agreeing, "ties": ties,
                     "accuracy": agreeing / pairs, "disagreeing_pairs": disagreeing})
    return rows


def _overall_row(model: str, rung: float, rows: pd.DataFrame) -> dict:
    pairs, agreeing = int(rows["pairs"].sum()), int(rows["agreeing"].sum())
    flops = pd.to_numeric(rows["rung_flops"], errors="coerce")
    return {"model": model, "task": OVERALL, "rung": rung,
            "rung_flops": float(flops.mean()) if flops.notna().any() else float("nan"), "objectives": None,
            "pairs": pairs, "agreeing": agreeing, "ties": int(rows["ties"].sum()), "accuracy": agreeing / pairs,
            "disagreeing_pairs": None}


def _means(runs: pd.DataFrame, column: str) -> dict[str, float]:
    """Objective -> mean over pretraining seeds of each seed's mean over its finetuning seeds."""
    return {objective: float(np.mean(list(cluster_means(by_seed(group, column)).values())))
            for objective, group in runs.groupby("objective", sort=True)}


def _order(a: float, b: float) -> int:
    """1 where ``a`` is the larger mean, -1 where ``b`` is, 0 where they are tied."""
    if math.isclose(a, b, rel_tol=TIE_TOLERANCE, abs_tol=TIE_TOLERANCE):
        return 0
    return 1 if a > b else -1


def _flops(runs: pd.DataFrame) -> float:
    """Mean FLOPs of the checkpoints behind ``runs``: each (objective, pretraining seed) job counted once."""
    if "pretrain.flops" not in runs:
        return float("nan")
    jobs = pd.to_numeric(runs.groupby([*ENTRY, "pretrain_seed"])["pretrain.flops"].first(), errors="coerce")
    return float(jobs.mean()) if jobs.notna().any() else float("nan")


def decision_sentences(table: pd.DataFrame) -> list[str]:
    """One sentence per task of a ``decision_accuracy`` table, for a report's opening, e.g.
    'synthetic_entity_typing: at 0.25 of the budget, 8 of 10 objective pairs (80%) are already ordered
    as at the full budget; at 0.5, 9 of 10 (90%).' The ``OVERALL`` rows give a last sentence; where
    the table holds several models, each sentence names its model."""
    several = table["model"].nunique() > 1
    sentences = []
    for (model, task), rows in table.groupby(["model", "task"], sort=False):
        clauses = []
        for i, row in enumerate(rows.sort_values("rung").itertuples()):
            counts = f"{row.agreeing} of {row.pairs}" + (" objective pairs" if i == 0 else "")
            share = f"{row.accuracy:.0%}" + (f"; {row.ties} tied" if row.ties else "")
            where = f"at {row.rung:g} of the budget" if i == 0 else f"at {row.rung:g}"
            clauses.append(f"{where}, {counts} ({share})" + (" are already ordered as at the full budget"
                                                              if i == 0 else ""))
        subject = f"{task} ({model})" if several else task
        sentences.append(f"{subject}: {'; '.join(clauses)}.")
    return sentences
