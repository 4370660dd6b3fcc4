"""One task's rows of the leaderboard: every entry's cell, and every pretrained entry against each untrained control."""

from __future__ import annotations

import pandas as pd

from benchmark.report import bootstrap
from benchmark.report.judge import Judge, paired_fields
from benchmark.report.noise import at_bound
from benchmark.report.ranks import tiered_ranks, within_noise_of_best
from benchmark.report.runs import ENTRY, by_seed, deterministic, seeds_phrase, test_items
from benchmark.report.stats import Spread
from benchmark.results import BASELINE_GROUP


def _covers(group: pd.DataFrame, spread: Spread) -> str | None:
    """Which sources of noise a cell's interval covers."""
    if not spread.has_interval:
        return None
    if deterministic(group):
        return "test set (paired bootstrap over test items)"
    return "pretraining seeds" + (", finetuning seeds" if group["finetune_seed"].nunique() > 1 else "")


def task_rows(task: str, judge: Judge, runs: pd.DataFrame, reference: str | None) -> list[dict]:
    """Every entry's cell on ``task``: its spread, tie-respecting rank, within-noise mark and paired comparison
    against the ``reference`` objective of its model."""
    spec = judge.spec
    column = f"metrics.{spec.name}"
    runs = runs.dropna(subset=[column])
    groups = dict(list(runs.groupby(ENTRY, sort=True)))
    values = {key: by_seed(group, column) for key, group in groups.items()}
    spreads = {key: judge.spread(v) for key, v in values.items()}
    for key, group in groups.items():
        items = test_items(group) if deterministic(group) else None
        if items:  # no seed moves it: its interval is the test set's
            spreads[key] = judge.test_set_spread(float(group[column].mean()), bootstrap.difference(items, [],
                                                                                                 judge.confidence))
    placings = tiered_ranks(spreads, spec.higher_is_better)
    marked, noise = within_noise_of_best(spreads, spec.higher_is_better)
    best = (max if spec.higher_is_better else min)(s.mean for s in spreads.values())
    rows = []
    for key, group in groups.items():
        model, objective = key
        s = spreads[key]
        row = {
            "model": model, "objective": objective, "task": task, "task_format": group["task_format"].iloc[0],
            "metric": spec.name, "higher_is_better": spec.higher_is_better,
            "mean": s.mean, "std": s.std, "ci_low": s.ci_low, "ci_high": s.ci_high, "runs": s.n,
            "dof": s.dof, "sample_std": s.sample_std,
            "pretrain_seed_count": s.pretrain_seeds, "finetune_std": s.finetune_std, "provisional": s.provisional,
            "deterministic": deterministic(group), "saturated": at_bound(values[key], spec),
            "interval_covers": _covers(group, s),
            "pretrain_seeds": sorted(int(x) for x in group["pretrain_seed"].unique()),
            "finetune_seeds": sorted(int(x) for x in group["finetune_seed"].unique()),
            "seeds": seeds_phrase(group),
            "normalized": spec.normalize(s.mean),
            "tier": placings[key].tier, "rank": placings[key].rank, "rank_provisional": placings[key].provisional,
            "best": s.mean == best, "within_2sd_of_best": key in marked, "noise_std": noise,
            "reference": None, "difference": None, "difference_ci_low": None, "difference_ci_high": None,
            "pairs": None, "significant": None, "direction": None, "comparison": None, "seeds_needed": None,
        }
        ref_key = (model, reference)
        if reference is not None and objective != reference and ref_key in groups:
            row.update(reference=reference, **paired_fields(group, groups[ref_key], column, judge, "the reference"))
        elif objective == reference:
            row.update(reference=reference, comparison="reference")
        rows.append(row)
    return rows


def versus_controls(task: str, judge: Judge, runs: pd.DataFrame, controls: set[tuple[str, str]]) -> list[dict]:
    """Each pretrained entry against each untrained control of its model; each classical baseline (a group of
    its own) against every model's control, named ``model/control`` when the suite has several models."""
    spec = judge.spec
    column = f"metrics.{spec.name}"
    groups = dict(list(runs.dropna(subset=[column]).groupby(ENTRY, sort=True)))
    ours = sorted(k for k in groups if k in controls)
    several = len({model for model, _ in ours}) > 1
    rows = []
    for control in ours:
        for (model, objective), group in groups.items():
            if (model, objective) in controls or model not in (control[0], BASELINE_GROUP):
                continue
            name = f"{control[0]}/{control[1]}" if model == BASELINE_GROUP and several else control[1]
            rows.append({"model": model, "objective": objective, "task": task, "control": name,
                         "metric": spec.name, **paired_fields(group, groups[control], column, judge, "no pretraining")})
    return rows
