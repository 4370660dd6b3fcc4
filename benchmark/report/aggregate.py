"""The aggregate table: per (model, objective) and use, the mean normalised score over tasks and the mean rank."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.report.metrics import MetricSpec
from benchmark.report.noise import TaskNoise, normalized_prior
from benchmark.report.runs import ENTRY, FINETUNED, ZERO_SHOT
from benchmark.report.stats import t_interval


def aggregate_table(df: pd.DataFrame, rows: pd.DataFrame, metrics: dict[str, MetricSpec],
                    uses: dict[str, str], priors: dict[str, TaskNoise] | None = None) -> pd.DataFrame:
    """Per (model, objective) and use: mean over tasks of the normalised per-task means, and the mean rank.

    Finetuned and zero-shot tasks are aggregated apart: rankings flip between the two (Wang et
    al. 2022). The interval is over pretraining seeds, as for cells: each pretraining seed that
    ran every task gives one score (its per-task means over finetuning seeds, normalised, then
    averaged over tasks). Where some seed missed a task the seeds would not average to the
    score, so the score is shown without an interval.
    """
    out = []
    for use in [u for u in (FINETUNED, ZERO_SHOT) if u in uses.values()]:
        tasks = [t for t in metrics if uses[t] == use]
        for (model, objective), own in rows[rows["task"].isin(tasks)].groupby(ENTRY, sort=True):
            covered = sorted(own["task"])
            missing = [t for t in tasks if t not in covered]
            runs = df[(df["model"] == model) & (df["objective"] == objective) & df["task"].isin(tasks)]
            per_seed = []  # one normalised mean across tasks per pretraining seed
            for _, seed_runs in runs.groupby("pretrain_seed"):
                per_task = []
                for task, task_runs in seed_runs.groupby("task"):
                    value = task_runs[f"metrics.{metrics[task].name}"].mean()
                    if not np.isnan(value):
                        per_task.append(metrics[task].normalize(float(value)))
                per_seed.append(float(np.mean(per_task)) if len(per_task) == len(tasks) else None)
            score = None if missing else float(own["normalized"].mean())
            complete = score is not None and len(per_seed) > 1 and None not in per_seed
            interval = t_interval(per_seed, normalized_prior(priors or {}, metrics, tasks)) if complete else None
            interval = (max(interval[0], 0.0), min(interval[1], 1.0)) if interval else None  # a 0-1 score
            out.append({
                "model": model, "objective": objective, "use": use, "score": score,
                "score_std": float(np.std(per_seed, ddof=1)) if interval else None,
                "score_ci_low": interval[0] if interval else None, "score_ci_high": interval[1] if interval else None,
                "score_pretrain_seeds": len(per_seed) if complete else None,
                "mean_rank": float(own["rank"].mean()), "rank_provisional": bool(own["rank_provisional"].any()),
                "tasks": len(covered), "missing_tasks": missing,
            })
    table = pd.DataFrame(out)
    # Entries are listed by their finetuned mean rank, then score; zero-shot numbers break remaining ties.
    sort_key = {}
    for (model, objective), own in table.groupby(ENTRY):
        by_use = own.set_index("use")
        sort_key[(model, objective)] = tuple(
            v for use in (FINETUNED, ZERO_SHOT) for v in (
                by_use.loc[use, "mean_rank"] if use in by_use.index else np.inf,
                -by_use.loc[use, "score"] if use in by_use.index and pd.notna(by_use.loc[use, "score"]) else np.inf))
    ordered = sorted(sort_key, key=lambda k: (sort_key[k], k))
    position = {key: i for i, key in enumerate(ordered)}
    table["_order"] = [position[k] for k in zip(table["model"], table["objective"])]
    return table.sort_values(["_order", "use"]).drop(columns="_order").reset_index(drop=True)
