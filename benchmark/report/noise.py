"""Each task's noise model, fitted once from every neural cell the records hold, and each task's tolerance.

The report's intervals borrow strength across a task's cells (``moderation.fit_priors``, the
moderated t of Smyth 2004): every (model, objective, rung) of a task gives its sample variance
between pretraining seeds. Classical baselines are left out (their spread, if any, is not a
pretraining seed's), and so is a cell whose every seed sits at the metric's bound (1.000 on
every seed measures the ceiling, not the noise). The same priors serve the leaderboard, the
controls, the ladder's curves and the published claims, so one cell reads the same everywhere.

A task's tolerance (delta) is what counts as "the same" for an *equivalent* verdict: the
suite's ``check.tolerance`` for the task where the records carry one, else 2% of the metric's
range, the regression gate's default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from benchmark.metric_spec import MetricSpec
from benchmark.report.moderation import RESOLUTION_SHARE, NoisePrior, fit_priors
from benchmark.report.stats import cluster_means, seed_variance

TOLERANCE_SHARE = 0.02  # default delta: this share of a metric's range (the gate's default tolerance too)
CELL = ["model", "objective", "rung"]
# What a difference prior is worth, in cell priors: a difference's variance sums two cells' (2 d0 if they were
# independent), but a task's differences against one control all share that control's (d0). The simulations
# in tests/test_moderated_stats.py put its 95% intervals at 93.6-96.8% with 1.5; at 2 they cover 92.9%.
PAIR_DOF_SHARE = 1.5


def _by_seed(group: pd.DataFrame, column: str) -> dict[tuple[int, int], float]:
    means = group.groupby(["pretrain_seed", "finetune_seed"])[column].mean()
    return {(int(p), int(f)): float(v) for (p, f), v in means.items()}


def at_bound(values: Mapping[tuple[int, int], float], spec: MetricSpec) -> bool:
    """Every pretraining seed's mean at the metric's floor (0) or ceiling: a saturated cell. An unbounded
    metric (a log-probability) has neither."""
    if spec.max_value is None:
        return False
    means = list(cluster_means(values).values())
    scale = spec.max_value * 1e-9
    return all(abs(m - spec.max_value) <= scale for m in means) or all(abs(m) <= scale for m in means)


def _cells(df: pd.DataFrame, task: str, spec: MetricSpec) -> tuple[dict[tuple, dict], float]:
    """``task``'s neural cells, (model, objective, rung) -> runs by seeds, and the metric's scale (its range, or
    for an unbounded one the spread of its values); classical baselines left out."""
    column = f"metrics.{spec.name}"
    if column not in df:
        return {}, 1.0
    runs = df[(df["task"] == task) & df[column].notna()]
    if "baseline" in runs:
        runs = runs[~runs["baseline"].fillna(False).astype(bool)]
    rung = pd.to_numeric(runs["rung"], errors="coerce") if "rung" in runs else pd.Series(np.nan, index=runs.index)
    runs = runs.assign(rung=rung.fillna(-1.0))  # an untrained control has no rung: one cell of its own
    scale = spec.max_value if spec.max_value is not None else float(runs[column].max() - runs[column].min() or 1.0)
    return {key: _by_seed(group, column) for key, group in runs.groupby(CELL, sort=True)}, scale


def cell_variances(df: pd.DataFrame, task: str, spec: MetricSpec) -> list[tuple[float, int, float]]:
    """(sample variance, degrees of freedom, resolution) of every neural cell of ``task`` with two or more
    pretraining seeds, at every rung; ``df`` holds flattened records of every rung."""
    cells, scale = _cells(df, task, spec)
    out = []
    for values in cells.values():
        variance, dof = seed_variance(values)
        if dof and not at_bound(values, spec):
            out.append((variance, dof, RESOLUTION_SHARE * scale))
    return out


def difference_variances(df: pd.DataFrame, task: str, spec: MetricSpec) -> list[tuple[float, int, float]]:
    """(sample variance, degrees of freedom, resolution) of the per-seed differences of every pair of ``task``'s
    neural cells that share two or more pretraining seeds: pairs at one rung, and each rung's cells against
    each untrained control (which has no rung); a pair of two saturated cells says nothing of the noise."""
    values, scale = _cells(df, task, spec)
    cells = {key: cluster_means(v) for key, v in values.items()}
    saturated = {key for key, v in values.items() if at_bound(v, spec)}
    out = []
    keys = sorted(cells)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if a[0] != b[0] or (a[2] != b[2] and -1.0 not in (a[2], b[2])) or {a, b} <= saturated:
                continue  # another model, two rungs of a ladder (never compared), or two saturated cells
            shared = sorted(set(cells[a]) & set(cells[b]))
            if len(shared) >= 2:
                diffs = [cells[a][s] - cells[b][s] for s in shared]
                out.append((float(np.var(diffs, ddof=1)), len(shared) - 1, RESOLUTION_SHARE * scale))
    return out


@dataclass(frozen=True)
class TaskNoise:
    """A task's two priors: for its cells, and for paired differences of its cells."""

    cell: NoisePrior | None
    difference: NoisePrior | None


def task_priors(df: pd.DataFrame, metrics: Mapping[str, MetricSpec]) -> dict[str, TaskNoise]:
    """Each task's priors; a task without two seeds anywhere has none, and its cells keep Student's t on their
    own variance (or stay provisional). The difference prior is fitted on many pairs that share cells, so it
    is worth at most ``PAIR_DOF_SHARE`` times what the cells' prior is worth, and at most the cells' degrees of
    freedom.
    ``tests/test_moderated_stats.py`` fits its simulated boards with the same rules."""
    variances = {task: cell_variances(df, task, spec) for task, spec in metrics.items()}
    cells = fit_priors(variances)
    pairs = fit_priors({task: difference_variances(df, task, spec) for task, spec in metrics.items()})
    out = {}
    for task in metrics:
        cell, pair = cells.get(task), pairs.get(task)
        if cell is None:
            continue  # too few cells to tell their spread: pairs of them, which share cells, cannot either
        if pair is not None:
            # never better than the data's own degrees of freedom either (its pairs share cells)
            dof = min(pair.dof, PAIR_DOF_SHARE * cell.dof, float(sum(d for _, d, _ in variances[task])))
            pair = replace(pair, dof=dof)
        else:
            pair = cell.scaled(2.0)  # no pair shares two seeds: the sum of two cells' variances
        out[task] = TaskNoise(cell, pair)
    return out


def normalized_prior(priors: Mapping[str, TaskNoise], metrics: Mapping[str, MetricSpec], tasks: list[str],
                     kind: str = "cell") -> NoisePrior | None:
    """The prior of a mean over ``tasks`` of scores scaled to 0..1 (an aggregate, or a claim pooling a format's
    tasks): the tasks' scaled variances averaged, as for a mean of independent scores; ``kind`` is "cell" or
    "difference"."""
    chosen = {t: getattr(priors[t], kind) if t in priors else None for t in tasks}
    if not tasks or any(p is None or metrics[t].max_value is None for t, p in chosen.items()):
        return None
    variance = sum(chosen[t].variance / metrics[t].max_value ** 2 for t in tasks) / len(tasks) ** 2
    return NoisePrior(variance, min(chosen[t].dof for t in tasks), sum(chosen[t].cells for t in tasks))


def tolerance_of(df: pd.DataFrame, task: str, spec: MetricSpec) -> float | None:
    """The task's delta: ``check.tolerance`` from the records' suite config, else 2% of the metric's range;
    ``None`` for an unbounded metric (no range to take a share of: no equivalence verdict)."""
    if "config" in df:
        for config in df.loc[df["task"] == task, "config"]:
            given = ((config or {}).get("check") or {}).get("tolerance") or {} if isinstance(config, dict) else {}
            if task in given and given[task] is not None and not math.isnan(float(given[task])):
                return float(given[task])
    return None if spec.max_value is None else TOLERANCE_SHARE * spec.max_value
