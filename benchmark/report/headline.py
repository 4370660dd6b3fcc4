"""What a report leads with: a few sentences made from its results, and the numbers of its heat map.

Nothing here is written about a result by hand: every count, name and budget comes from the
leaderboard (best means, ranks, paired verdicts against the untrained control) and the cost
table, so the opening says what the tables under it say, at the final rung of the budget.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from benchmark.report.cells import scientific
from benchmark.report.ladder import Ladder
from benchmark.report.tables import Leaderboard
from benchmark.results import BASELINE_GROUP

JUDGED = ("better", "worse", "equivalent", "undecided")


def entry_name(board: Leaderboard, model: str, objective: str) -> str:
    """The objective's name, with its model where a report has several neural models (a classical baseline
    sits under no model: its name alone)."""
    several = len({m for m, _ in board.entries if m != BASELINE_GROUP}) > 1
    return f"{model}/{objective}" if several and model != BASELINE_GROUP else objective


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def tally(counts: list[tuple[str, int, int]]) -> str:
    """'clm and mlm on 3 of 4 tasks, electra on none of 4' from (name, count, out of) in reading order:
    names with the same count and total share a phrase, largest count first."""
    groups: dict[tuple[int, int], list[str]] = {}
    for name, count, total in counts:
        groups.setdefault((count, total), []).append(name)
    parts = []
    for i, ((count, total), names) in enumerate(sorted(groups.items(), key=lambda g: (-g[0][0], -g[0][1]))):
        unit = f" task{'s' if total != 1 else ''}" if i == 0 else ""
        parts.append(f"{_names(names)} on {count if count else 'none'} of {total}{unit}")
    return ", ".join(parts)


def budget(costs: pd.DataFrame) -> str | None:
    """The pretraining FLOPs of the pretrained entries at the final rung: '2.0e12', or a range where they differ."""
    if "flops" not in costs:
        return None
    flops = pd.to_numeric(costs["flops"], errors="coerce")
    flops = flops[flops > 0]
    if not len(flops):
        return None
    low, high = float(flops.min()), float(flops.max())
    return scientific(float(flops.median())) if high <= 1.05 * low else f"{scientific(low)}-{scientific(high)}"


def control_matrix(board: Leaderboard) -> pd.DataFrame:
    """The heat map's cells: per pretrained entry and task, its difference from the untrained control in the
    task's primary metric; ``scaled`` is that difference over the metric's range with its sign turned so that
    positive is better (one colour scale for every task); ``significant`` is True where the paired 95% interval
    excludes 0, False where it holds 0, None where there is no interval (provisional or unpaired)."""
    columns = ["model", "objective", "task", "control", "difference", "difference_ci_low", "difference_ci_high",
               "scaled", "significant", "direction"]
    if not len(board.controls):
        return pd.DataFrame(columns=columns)
    rows = []
    for r in board.controls.itertuples():
        spec = board.metrics[r.task]
        missing = r.difference is None or pd.isna(r.difference)
        scaled = None if missing else (1 if spec.higher_is_better else -1) * float(r.difference) / spec.max_value
        significant = None if r.significant is None or pd.isna(r.significant) else bool(r.significant)
        rows.append({"model": r.model, "objective": r.objective, "task": r.task, "control": r.control,
                     "difference": None if missing else float(r.difference),
                     "difference_ci_low": r.difference_ci_low, "difference_ci_high": r.difference_ci_high,
                     "scaled": scaled, "significant": significant, "direction": r.direction})
    return pd.DataFrame(rows, columns=columns)


def _pretrained(board: Leaderboard, matrix: pd.DataFrame) -> list[tuple[str, str]]:
    compared = set(zip(matrix["model"], matrix["objective"]))
    return [e for e in board.entries if e in compared]


def _best_sentence(board: Leaderboard, costs: pd.DataFrame) -> str:
    saturated = board.saturated_tasks
    ranked = board.rows[board.rows["best"] & ~board.rows["task"].isin(saturated)]
    tasks = len(board.tasks) - len(saturated)
    best = Counter(zip(ranked["model"], ranked["objective"]))
    counts = [(entry_name(board, *e), best[e], tasks) for e in board.entries if best[e]]
    flops = budget(costs)
    where = f" at {flops} pretraining FLOPs" if flops else ""
    skipped = (f" ({_names(saturated)} left out: saturated, its best entry at the metric's bound on every seed)"
               if saturated else "")
    if not counts:
        return f"Best mean{where}: no task to rank by{skipped}."
    return f"Best mean{where}: {tally(counts)}{skipped}."


def _clear_winners(board: Leaderboard) -> str | None:
    if board.rows["rank_provisional"].all():
        return None
    won: dict[tuple[str, str], list[str]] = {}
    for task, rows in board.rows.groupby("task", sort=False):
        if task in board.saturated_tasks:
            continue
        first = rows[rows["rank"] == 1]
        if len(first) == 1 and len(rows) > 1 and not rows["rank_provisional"].any():
            won.setdefault((first["model"].iloc[0], first["objective"].iloc[0]), []).append(task)
    if not won:
        return "No entry is ahead of every other beyond doubt on any task: on each, some 95% intervals overlap."
    parts = [f"{entry_name(board, *e)} on {_names(won[e])}" for e in board.entries if e in won]
    return f"Ahead of every other entry beyond doubt (95% intervals apart): {_names(parts)}."


def _control_sentences(board: Leaderboard) -> list[str]:
    matrix = control_matrix(board)
    if not len(matrix):
        return ["No untrained control ran, so whether pretraining helped at all is not measured."]
    entries = _pretrained(board, matrix)
    own = {e: matrix[(matrix["model"] == e[0]) & (matrix["objective"] == e[1])] for e in entries}
    judged = matrix["direction"].isin(JUDGED)
    if not judged.any():
        above = [(entry_name(board, *e), int(rows.loc[rows["scaled"] > 0, "task"].nunique()),
                  int(rows["task"].nunique())) for e, rows in own.items()]
        return [f"Against no pretraining every verdict is provisional (one pretraining run); by mean alone, above it: "
                f"{tally(above)}."]
    better = [(entry_name(board, *e), int(rows.loc[rows["direction"] == "better", "task"].nunique()),
               int(rows["task"].nunique())) for e, rows in own.items() if e[1] not in board.baselines]
    classical = [(entry_name(board, *e), int(rows.loc[rows["direction"] == "better", "task"].nunique()),
                  int(rows["task"].nunique())) for e, rows in own.items() if e[1] in board.baselines]
    sentence = (f"Pretrained objectives better than no pretraining (paired 95% interval excludes 0): {tally(better)}"
                if better else "No pretrained objective was compared with no pretraining")
    unjudged = int((~judged).sum())
    sentence += f" ({unjudged} comparison{'s' if unjudged != 1 else ''} provisional)." if unjudged else "."
    lines = [sentence] + ([f"Classical baselines (not pretrained) better than no pretraining: {tally(classical)}."]
                          if classical else [])
    for verdict, said in (("worse", "Worse than no pretraining"),
                          ("equivalent", "Equivalent to no pretraining (interval within the task's tolerance)")):
        named = [f"{entry_name(board, *e)} on {_names(sorted(rows.loc[rows['direction'] == verdict, 'task']))}"
                 for e, rows in own.items() if (rows["direction"] == verdict).any()]
        lines += [f"{said}: {_names(named)}."] if named else []
    neural = matrix[~matrix["objective"].isin(board.baselines)]
    decided = int(neural["direction"].isin(("better", "worse", "equivalent")).sum())
    open_rows = neural[neural["direction"] == "undecided"]
    if len(neural):
        lines.append(f"Decided: {decided} of {len(neural)} pretrained-objective rows against no pretraining "
                     f"({decided / len(neural):.0%})" + (
                         f"; {len(open_rows)} undecided, each with a power estimate of the pretraining seeds that "
                         "would decide it (Against no pretraining)." if len(open_rows) else "."))
    return lines


def _reliability(board: Leaderboard) -> str:
    provisional = board.rows.loc[~board.rows["deterministic"], "provisional"]
    if provisional.all():
        return "Every verdict and rank is provisional: one pretraining seed per entry."
    if provisional.any():
        return (f"{int(provisional.sum())} of {len(provisional)} cells rest on one pretraining seed, so their "
                "verdicts and ranks are provisional.")
    seeds = sorted(int(n) for n in board.rows.loc[~board.rows["deterministic"], "pretrain_seed_count"].unique())
    counted = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    return f"Intervals are over {counted} pretraining seeds per entry."


def summary_sentences(board: Leaderboard, costs: pd.DataFrame, ladder: Ladder | None = None,
                      failures: int = 0) -> list[str]:
    """The report's opening, from the final rung: who has the best mean and on how many tasks, who is ahead
    beyond doubt, which objectives beat no pretraining, how far the verdicts can be trusted; then where the
    compute ladder's curves are and how many planned runs failed."""
    sentences = [_best_sentence(board, costs)]
    sentences += [s for s in [_clear_winners(board)] if s]
    sentences += _control_sentences(board)
    sentences.append(_reliability(board))
    if ladder is not None:
        rungs = [f"{r:g}" for r in ladder.rungs]
        sentences.append(f"Compute ladder: rungs {_names(rungs)} of the budget; curves, crossovers and trends are "
                         "under Score against compute.")
    if failures:
        sentences.append(f"{failures} planned run{'s' if failures != 1 else ''} failed and "
                         f"{'are' if failures != 1 else 'is'} not counted (see Failed runs).")
    return sentences


def heatmap_limit(matrix: pd.DataFrame) -> float:
    """The colour scale's half-width: the largest scaled difference, at least 0.05 of a metric's range."""
    scaled = pd.to_numeric(matrix["scaled"], errors="coerce").abs()
    return max(0.05, float(np.nanmax(scaled))) if scaled.notna().any() else 1.0
