"""Saturated cells: every seed at the metric's bound. They are marked on the board, the summary does not
rank by a task whose best entry is saturated, and the report says how to make the task harder."""

from __future__ import annotations

import pandas as pd

from benchmark.report.cells import SATURATED, leaderboard_grid
from benchmark.report.headline import summary_sentences
from benchmark.report.tables import build_leaderboard, cost_table
from benchmark.results import flatten
from tests.report_fixtures import make_record


def board_of(values: dict[tuple[str, str], list[float]]):
    records = [make_record(objective, task, seed, 0, v) for (objective, task), vs in values.items()
               for seed, v in enumerate(vs)]
    df = pd.DataFrame([flatten(r) for r in records])
    return build_leaderboard(df), cost_table(df)


def test_a_task_whose_best_entry_is_at_the_ceiling_is_marked_and_not_ranked_by():
    board, costs = board_of({
        ("clm", "easy"): [1.0, 1.0, 1.0], ("mlm", "easy"): [0.95, 0.97, 0.96], ("none", "easy"): [0.5, 0.52, 0.51],
        ("clm", "hard"): [0.60, 0.62, 0.61], ("mlm", "hard"): [0.70, 0.71, 0.72], ("none", "hard"): [0.4, 0.42, 0.41],
    })
    rows = board.rows.set_index(["objective", "task"])
    assert bool(rows.loc[("clm", "easy"), "saturated"]) and not rows.loc[("mlm", "easy"), "saturated"]
    assert board.saturated_tasks == ["easy"]
    best = summary_sentences(board, costs)[0]
    assert "mlm on 1 of 1" in best and "easy left out: saturated" in best and "clm" not in best
    notice = next(n for n in board.notes if n.kind == "Saturated")
    assert "easy (clm)" in notice.summary and "a larger test set, fewer finetuning steps or a harder" in notice.summary
    _, grid = leaderboard_grid(board)
    texts = [cell.text for row in grid for cell in row]
    assert sum(SATURATED in t for t in texts) == 1


def test_no_saturated_cell_no_mark():
    board, costs = board_of({("clm", "a"): [0.6, 0.62, 0.61], ("mlm", "a"): [0.7, 0.71, 0.72]})
    assert not board.rows["saturated"].any() and board.saturated_tasks == []
    assert "left out" not in summary_sentences(board, costs)[0]
    assert not any(n.kind == "Saturated" for n in board.notes)
