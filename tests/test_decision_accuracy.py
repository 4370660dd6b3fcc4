"""Decision accuracy across a compute ladder: pairs of pretrained objectives ordered at a smaller rung as at the
full budget, counted exactly on hand-made runs and checked on the committed quickstart records."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from benchmark.config import load_suite
from benchmark.report.decision_accuracy import OVERALL, decision_accuracy, decision_sentences
from benchmark.report.metrics import MetricSpec, primary_metric
from benchmark.results import flatten, read_records_file

QUICKSTART = Path(__file__).parents[1] / "reports" / "quickstart" / "records.jsonl"
METRICS = {"up": MetricSpec("accuracy"), "down": MetricSpec("loss", higher_is_better=False, max_value=10.0)}
FLOPS_PER_RUNG = 1000.0

# means[task][objective][rung] = {(pretrain_seed, finetune_seed): value}
UP = {
    "a": {0.25: {(0, 0): 0.5},
          # seed 0 three times at 0.9, seed 1 once at 0.5: 0.7 by seed (the unit), 0.8 by run
          0.5: {(0, 0): 0.9, (0, 1): 0.9, (0, 2): 0.9, (1, 0): 0.5},
          1.0: {(0, 0): 0.9}},
    "b": {0.25: {(0, 0): 0.6}, 0.5: {(0, 0): 0.75}, 1.0: {(0, 0): 0.8}},
    "c": {0.25: {(0, 0): 0.4}, 0.5: {(0, 0): 0.6}, 1.0: {(0, 0): 0.7}},
    "d": {0.5: {(0, 0): 0.6}, 1.0: {(0, 0): 0.6}},  # no 0.25 checkpoint: not counted there
}
DOWN = {  # lower is better
    "a": {0.25: {(0, 0): 9.0}, 0.5: {(0, 0): 3.0}, 1.0: {(0, 0): 1.0}},  # alone at 0.25: no pair, no row
    "b": {0.5: {(0, 0): 2.5}, 1.0: {(0, 0): 2.0}},
    "c": {0.5: {(0, 0): 2.5}, 1.0: {(0, 0): 2.0}},  # tied with b at both rungs: agrees
}


def _runs(task: str, objective: str, rungs: dict, **fields) -> list[dict]:
    column = f"metrics.{METRICS[task].name}"
    return [{"model": "llama", "objective": objective, "task": task, "rung": rung, "pretrain_seed": p,
             "finetune_seed": f, column: value, "checkpoint": f"ckpt/{objective}/{p}/{rung}",
             "pretrain.flops": rung * FLOPS_PER_RUNG, "baseline": None, **fields}
            for rung, by_seed in rungs.items() for (p, f), value in by_seed.items()]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rows = [r for o, rungs in UP.items() for r in _runs("up", o, rungs)]
    rows += [r for o, rungs in DOWN.items() for r in _runs("down", o, rungs)]
    # An untrained control and a classical baseline, given rungs and extreme scores so that counting
    # either would change every count below.
    outsiders = {0.25: {(0, 0): 0.99}, 0.5: {(0, 0): 0.0}, 1.0: {(0, 0): 0.5}}
    rows += _runs("up", "none", outsiders, checkpoint=None, **{"pretrain.flops": 0.0})
    rows += _runs("up", "kneser_ney", outsiders, checkpoint=None, baseline=True)
    rows += _runs("down", "none", {0.5: {(0, 0): 0.1}, 1.0: {(0, 0): 9.0}}, checkpoint=None)
    return decision_accuracy(pd.DataFrame(rows), METRICS)


def _row(table: pd.DataFrame, task: str, rung: float) -> pd.Series:
    found = table[(table["task"] == task) & (table["rung"] == rung)]
    assert len(found) == 1, found
    return found.iloc[0]


def test_rows_are_the_rungs_below_the_final_one_then_the_overall(table):
    assert list(zip(table["task"], table["rung"])) == [
        ("down", 0.5), ("up", 0.25), ("up", 0.5), (OVERALL, 0.25), (OVERALL, 0.5)]
    assert (table["model"] == "llama").all()


def test_a_missing_rung_leaves_the_objective_out_of_that_rung(table):
    row = _row(table, "up", 0.25)  # a, b, c: d has no 0.25 checkpoint
    assert (row.objectives, row.pairs, row.agreeing, row.ties) == (3, 3, 2, 0)
    assert row.accuracy == pytest.approx(2 / 3)
    assert row.disagreeing_pairs == [("a", "b")]  # b led at 0.25, a leads at the full budget
    assert row.rung_flops == pytest.approx(0.25 * FLOPS_PER_RUNG)


def test_means_are_over_pretraining_seeds_and_a_tie_at_one_rung_disagrees(table):
    row = _row(table, "up", 0.5)
    # a is 0.7 by pretraining seed (0.8 by run): behind b's 0.75, ahead at the full budget; c and d
    # tie at 0.5 only (0.6, 0.6 against 0.7, 0.6)
    assert (row.objectives, row.pairs, row.agreeing, row.ties) == (4, 6, 4, 1)
    assert row.disagreeing_pairs == [("a", "b"), ("c", "d")]
    assert row.rung_flops == pytest.approx(0.5 * FLOPS_PER_RUNG)  # a's two pretraining jobs, each once


def test_lower_is_better_and_a_tie_at_both_rungs(table):
    row = _row(table, "down", 0.5)
    # b and c tie at both rungs (agree); a is behind both at 0.5 and ahead of both (lower) at 1.0
    assert (row.objectives, row.pairs, row.agreeing, row.ties) == (3, 3, 1, 1)
    assert row.disagreeing_pairs == [("a", "b"), ("a", "c")]  # a is the better at the full budget


def test_the_overall_row_sums_the_pairs_of_every_task(table):
    at_half = _row(table, OVERALL, 0.5)
    assert (at_half.pairs, at_half.agreeing, at_half.ties) == (9, 5, 2)
    assert at_half.accuracy == pytest.approx(5 / 9)
    at_quarter = _row(table, OVERALL, 0.25)  # only 'up' has a 0.25 rung
    assert (at_quarter.pairs, at_quarter.agreeing) == (3, 2)
    assert at_quarter.rung_flops == pytest.approx(0.25 * FLOPS_PER_RUNG)


def test_sentences_for_a_report_opening(table):
    assert decision_sentences(table) == [
        "down: at 0.5 of the budget, 1 of 3 objective pairs (33%; 1 tied) are already ordered as at the full "
        "budget.",
        "up: at 0.25 of the budget, 2 of 3 objective pairs (67%) are already ordered as at the full budget; "
        "at 0.5, 4 of 6 (67%; 1 tied).",
        f"{OVERALL}: at 0.25 of the budget, 2 of 3 objective pairs (67%) are already ordered as at the full "
        "budget; at 0.5, 5 of 9 (56%; 2 tied).",
    ]


def test_no_ladder_gives_no_rows():
    rows = [r for o, rungs in UP.items() for r in _runs("up", o, {1.0: rungs[1.0]})]
    assert decision_accuracy(pd.DataFrame(rows), {"up": METRICS["up"]}).empty


def test_the_quickstart_records():
    df = pd.DataFrame([flatten(r) for r in read_records_file(QUICKSTART)])
    metrics = {task: primary_metric(task, runs) for task, runs in df.groupby("task")}
    table = decision_accuracy(df, metrics)
    pretrained = df[df["checkpoint"].notna() & ~df["baseline"].fillna(False).astype(bool)]
    ladder_tasks = set(pretrained.loc[pretrained["rung"] < 1.0, "task"])
    tasks = table[table["task"] != OVERALL]
    assert set(tasks["task"]) == ladder_tasks and ladder_tasks
    assert ((table["accuracy"] >= 0) & (table["accuracy"] <= 1)).all()
    assert (table["agreeing"] <= table["pairs"]).all()
    for row in tasks.itertuples():
        runs = pretrained[pretrained["task"] == row.task]
        n = len(set(runs.loc[runs["rung"] == row.rung, "objective"]) & set(runs.loc[runs["rung"] == 1.0, "objective"]))
        assert row.objectives == n >= 2
        assert row.pairs == math.comb(n, 2)
        assert row.rung_flops > 0
    suite = load_suite(Path(__file__).resolve().parent.parent / "suites" / "quickstart.yaml")
    assert sorted(tasks["rung"].unique()) == suite.pretrain.ladder[:-1]  # every rung below the whole budget
    overall = table[table["task"] == OVERALL].set_index("rung")
    assert (overall["pairs"] == tasks.groupby("rung")["pairs"].sum()).all()
