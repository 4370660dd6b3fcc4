"""Flattened result records -> which runs a table reads and how they are keyed.

A run belongs to an entry (model, objective) and is keyed by its (pretraining seed, finetuning
seed). Every table reads the final rung of a compute ladder only (``final_rung``): a suite with
``pretrain.ladder`` also records runs from checkpoints at smaller shares of the budget, which
ladder.py draws against compute and nothing else counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.results import ITEMS_KEY

FINETUNED, ZERO_SHOT = "finetuned", "zero-shot"
ENTRY = ["model", "objective"]
SEEDS = ["pretrain_seed", "finetune_seed"]
FINAL_RUNG = 1.0  # the whole compute-matched budget: the only rung the leaderboard, verdicts and gate read


def run_rungs(df: pd.DataFrame) -> pd.Series:
    """Each run's rung: the share of the pretraining budget its checkpoint had (``rung`` in the record).

    Records written before compute ladders carry no rung: a pretrained one is the final rung
    (1.0). An untrained control (no checkpoint) has no rung at all: NaN.
    """
    recorded = pd.to_numeric(df["rung"], errors="coerce") if "rung" in df else pd.Series(np.nan, index=df.index)
    pretrained = df["checkpoint"].notna() if "checkpoint" in df else pd.Series(True, index=df.index)
    absent = df["rung"].isna() if "rung" in df else pd.Series(True, index=df.index)
    return recorded.mask(absent & pretrained, FINAL_RUNG)


def final_rung(df: pd.DataFrame) -> pd.DataFrame:
    """The runs at the whole budget (rung 1.0) and the untrained controls: what every table compares."""
    rung = run_rungs(df)
    keep = rung.isna() | np.isclose(rung.fillna(FINAL_RUNG), FINAL_RUNG)
    return df[keep.to_numpy()].reset_index(drop=True)


def seeds_phrase(runs: pd.DataFrame) -> str:
    """What varied among ``runs``: e.g. '3 runs: 1 pretraining seed x 3 finetuning seeds'."""
    n_pre, n_fine = runs["pretrain_seed"].nunique(), runs["finetune_seed"].nunique()
    varied = [name for name, n in (("pretraining", n_pre), ("finetuning", n_fine)) if n > 1]
    what = " and ".join(varied) + " seeds varied" if varied else "no seed varied"
    return (f"{len(runs)} run{'s' if len(runs) != 1 else ''}: {n_pre} pretraining seed{'s' if n_pre != 1 else ''} "
            f"x {n_fine} finetuning seed{'s' if n_fine != 1 else ''} ({what})")


def test_items(runs: pd.DataFrame) -> dict | None:
    """The test items of ``runs``' one run (``test_items`` in its record, flattened), or None: a record
    written before runs kept them."""
    prefix = f"{ITEMS_KEY}."
    columns = [c for c in runs.columns if c.startswith(prefix)]
    if len(runs) != 1 or not columns:
        return None
    row = runs.iloc[0]
    items = {c[len(prefix):]: row[c] for c in columns if isinstance(row[c], (list, str))}
    return items if "kind" in items else None


def deterministic(runs: pd.DataFrame) -> bool:
    """The runs are a deterministic classical baseline's (``deterministic`` in its record): fitted once, with
    no seed that would move it."""
    return "deterministic" in runs and bool(runs["deterministic"].fillna(False).astype(bool).all())


def baseline_runs(df: pd.DataFrame) -> pd.Series:
    """Which runs are classical baselines (``baseline`` in the record): no network, so no control either."""
    if "baseline" not in df:
        return pd.Series(False, index=df.index)
    return df["baseline"].fillna(False).astype(bool)


def untrained_entries(df: pd.DataFrame) -> set[tuple[str, str]]:
    """(model, objective) entries none of whose runs started from a checkpoint: the controls."""
    untrained = (df["checkpoint"].isna() & ~baseline_runs(df)).groupby([df["model"], df["objective"]]).all()
    return {key for key, flag in untrained.items() if flag}


def by_seed(group: pd.DataFrame, column: str) -> dict[tuple[int, int], float]:
    """Metric by (pretrain_seed, finetune_seed); duplicates (combined incomparable runs) are averaged."""
    means = group.groupby(SEEDS)[column].mean()
    return {(int(p), int(f)): float(v) for (p, f), v in means.items()}


def task_uses(df: pd.DataFrame) -> dict[str, str]:
    """'zero-shot' for a task none of whose runs finetuned (``finetune.steps`` 0), else 'finetuned'."""
    if "finetune.steps" not in df:
        return dict.fromkeys(df["task"].unique(), FINETUNED)
    steps = pd.to_numeric(df["finetune.steps"], errors="coerce").fillna(1)
    return {task: ZERO_SHOT if (steps[df["task"] == task] == 0).all() else FINETUNED for task in df["task"].unique()}
