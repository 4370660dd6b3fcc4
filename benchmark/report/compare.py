"""Two leaderboards of one suite, side by side: does each cell and each verdict of one hold in the other?

``compare_boards(first, second)`` matches cells by (model, objective, task) and verdicts by
(model, objective, task, what they were compared with: the reference or a control), and says
for each:

* cells: whether each side's mean lies inside the other side's interval (both ways, since
  either side could be the one a reader has), and inside the other's 95% prediction interval
  for a rerun's mean (``stats.rerun_interval``), which is what a calibrated 95% interval can
  promise about a rerun: an interval of the mean holds a rerun's mean only ~83% of the time;
* verdicts: whether the verdict (better, worse, equivalent, undecided) is the same; a move
  to or from undecided is a *move*; a *reversal* is the outcome that says a finding was
  wrong: better in one and worse in the other, or equivalent in one while the other's
  interval lies wholly beyond the tolerance (an effect larger than delta).

A provisional verdict (one pretraining run) on either side is not compared: it was never a
finding. Boards hold the final rung of a compute ladder only (``tables.build_leaderboard`` keeps
it), so two reports are compared on what their leaderboards show. ``objbench replicate`` runs a
suite on disjoint seeds (or another precision) and uses this to say how much of its report would
survive a rerun.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from benchmark.report.stats import rerun_interval
from benchmark.report.tables import Leaderboard

CELL = ["model", "objective", "task"]
FINDINGS = ("better", "worse", "equivalent", "undecided")
SAID = {"better": "better", "worse": "worse", "equivalent": "equivalent", "undecided": "undecided"}
# Replication goals: a report whose cells and verdicts hold this well on other seeds can be quoted. A move
# between undecided and a verdict is what intervals allow (a verdict near its edge goes either way); a
# reversal is not, and a calibrated prediction interval holds a rerun's mean 95% of the time.
MIN_CELLS_INSIDE = 0.90


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _inside(value: float, low: float, high: float) -> bool | None:
    if pd.isna(low) or pd.isna(high):
        return None
    return bool(low <= value <= high)


def _cells(first: Leaderboard, second: Leaderboard) -> pd.DataFrame:
    a = first.rows.set_index(CELL)
    b = second.rows.set_index(CELL)
    rows = []
    for key in a.index.intersection(b.index, sort=False):
        x, y = a.loc[key], b.loc[key]
        second_in_first = _inside(y["mean"], x["ci_low"], x["ci_high"])
        first_in_second = _inside(x["mean"], y["ci_low"], y["ci_high"])
        both = None if second_in_first is None or first_in_second is None else second_in_first and first_in_second
        predicted = [rerun_interval(p["mean"], _number(p["std"]), int(p["pretrain_seed_count"]),
                                    int(q["pretrain_seed_count"]), _number(p.get("dof"))) for p, q in ((x, y), (y, x))]
        rerun_inside = None if None in predicted else bool(
            predicted[0][0] <= y["mean"] <= predicted[0][1] and predicted[1][0] <= x["mean"] <= predicted[1][1])
        rows.append({**dict(zip(CELL, key)), "metric": x["metric"], "inside_rerun_intervals": rerun_inside,
                     "first_mean": x["mean"], "first_ci_low": x["ci_low"], "first_ci_high": x["ci_high"],
                     "second_mean": y["mean"], "second_ci_low": y["ci_low"], "second_ci_high": y["ci_high"],
                     "second_inside_first": second_in_first, "first_inside_second": first_in_second,
                     "inside_both_ways": both})
    return pd.DataFrame(rows, columns=[*CELL, "metric", "inside_rerun_intervals", "first_mean", "first_ci_low",
                                       "first_ci_high", "second_mean", "second_ci_low", "second_ci_high",
                                       "second_inside_first", "first_inside_second", "inside_both_ways"])


def _verdict_frame(board: Leaderboard) -> pd.DataFrame:
    """Every paired verdict of a board: against the reference objective and against each control."""
    reference = board.rows[board.rows["direction"].notna()]
    reference = reference.assign(against=reference["reference"].map(lambda r: f"reference {r}"))
    controls = board.controls.assign(against=board.controls["control"].map(lambda c: f"control {c}"))
    columns = [*CELL, "against", "direction", "difference", "difference_ci_low", "difference_ci_high", "tolerance"]
    frames = [f.reindex(columns=columns) for f in (reference, controls)]
    return pd.concat([f for f in frames if len(f)], ignore_index=True).reindex(columns=columns)


def _beyond(low, high, tolerance) -> bool:
    """The interval lies wholly outside +-tolerance: an effect larger than delta, whichever way."""
    if pd.isna(low) or pd.isna(high) or pd.isna(tolerance):
        return False
    return bool(low > tolerance or high < -tolerance)


def _change(a: str, b: str, a_beyond: bool = False, b_beyond: bool = False) -> str:
    if a not in FINDINGS or b not in FINDINGS:
        return "not compared"  # provisional or unpaired on a side: no finding to keep or lose
    if {a, b} == {"better", "worse"} or (a == "equivalent" and b_beyond) or (b == "equivalent" and a_beyond):
        return "reversal"
    return "same" if a == b else "moved"


def _verdicts(first: Leaderboard, second: Leaderboard) -> pd.DataFrame:
    key = [*CELL, "against"]
    merged = _verdict_frame(first).merge(_verdict_frame(second), on=key, suffixes=("_first", "_second"))
    merged["change"] = [
        _change(r.direction_first, r.direction_second,
                _beyond(r.difference_ci_low_first, r.difference_ci_high_first, r.tolerance_first),
                _beyond(r.difference_ci_low_second, r.difference_ci_high_second, r.tolerance_second))
        for r in merged.itertuples()]
    return merged


@dataclass
class Comparison:
    """Cell by cell and verdict by verdict, ``first`` against ``second``."""

    cells: pd.DataFrame
    verdicts: pd.DataFrame

    @property
    def cells_judged(self) -> int:
        return int(self.cells["inside_both_ways"].notna().sum())

    @property
    def cells_inside(self) -> int:
        return int((self.cells["inside_both_ways"] == True).sum())  # noqa: E712 (None is neither)

    @property
    def share_inside(self) -> float | None:
        return self.cells_inside / self.cells_judged if self.cells_judged else None

    @property
    def cells_inside_rerun_intervals(self) -> tuple[int, int]:
        """(cells whose means each lie inside the other's 95% prediction interval for a rerun, cells judged)."""
        judged = self.cells["inside_rerun_intervals"].notna()
        return int((self.cells.loc[judged, "inside_rerun_intervals"] == True).sum()), int(judged.sum())  # noqa: E712

    def count(self, change: str) -> int:
        return int((self.verdicts["change"] == change).sum())

    @property
    def reversals(self) -> pd.DataFrame:
        return self.verdicts[self.verdicts["change"] == "reversal"]

    @property
    def moves(self) -> pd.DataFrame:
        return self.verdicts[self.verdicts["change"] == "moved"]

    def goals(self) -> dict[str, bool | None]:
        """The replication goals, each True, False, or None where nothing could be judged."""
        judged = self.count("same") + self.count("moved") + self.count("reversal")
        inside, predicted = self.cells_inside_rerun_intervals
        return {
            "no reversal": self.count("reversal") == 0 if judged else None,
            f"cells inside the other's 95% prediction interval >= {MIN_CELLS_INSIDE:.0%}":
                None if not predicted else inside / predicted >= MIN_CELLS_INSIDE,
        }

    def summary(self) -> list[str]:
        """Plain lines: the counts, each goal, then every changed verdict, reversals first."""
        share = "n/a" if self.share_inside is None else f"{self.share_inside:.0%}"
        lines = [f"cells: {self.cells_inside} of {self.cells_judged} with each mean inside the other's interval "
                 f"({share}); {len(self.cells) - self.cells_judged} without an interval on a side",
                 "cells: {} of {} with each mean inside the other's 95% prediction interval for a rerun's mean "
                 "(a 95% interval of the mean holds a rerun's mean only ~83% of the time; this one 95%)".format(
                     *self.cells_inside_rerun_intervals),
                 f"verdicts: {self.count('same')} same, {self.count('moved')} moved (to or from undecided, or "
                 f"between a direction and equivalent within the tolerance), {self.count('reversal')} reversed "
                 "(better ↔ worse, or equivalent ↔ an effect beyond the tolerance), "
                 f"{self.count('not compared')} not compared (provisional or unpaired on a side)"]
        for goal, met in self.goals().items():
            lines.append(f"goal {goal}: {'met' if met else 'not judged' if met is None else 'NOT MET'}")
        for label, frame in (("REVERSED", self.reversals), ("moved", self.moves)):
            for r in frame.itertuples():
                lines.append(f"{label}: {r.model}/{r.objective} on {r.task} vs {r.against}: "
                             f"{SAID[r.direction_first]} → {SAID[r.direction_second]}")
        for r in self.cells[self.cells["inside_both_ways"] == False].itertuples():  # noqa: E712
            lines.append(f"outside: {r.model}/{r.objective} on {r.task}: {r.first_mean:.3f} "
                         f"[{r.first_ci_low:.3f}, {r.first_ci_high:.3f}] vs {r.second_mean:.3f} "
                         f"[{r.second_ci_low:.3f}, {r.second_ci_high:.3f}]")
        return lines

    def to_dict(self) -> dict:
        inside, judged = self.cells_inside_rerun_intervals
        return {"cells_judged": self.cells_judged, "cells_inside": self.cells_inside,
                "cells_judged_for_rerun_intervals": judged, "cells_inside_rerun_intervals": inside,
                "verdicts": {c: self.count(c) for c in ("same", "moved", "reversal", "not compared")},
                "goals": self.goals(), "cells": self.cells.to_dict(orient="records"),
                "verdict_changes": self.verdicts.to_dict(orient="records")}


@dataclass
class Replication:
    """A report's comparison with its rerun, and what differed between the two (seeds, precision)."""

    varied: str
    comparison: Comparison


def compare_boards(first: Leaderboard, second: Leaderboard) -> Comparison:
    """Every shared cell and verdict of ``first`` and ``second`` (two runs of one suite)."""
    return Comparison(_cells(first, second), _verdicts(first, second))
