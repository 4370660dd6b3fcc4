"""How much the report decides: verdicts against no pretraining counted, the continuous companion metric's
verdicts beside the primary metric's, and the compute ladder's decision accuracy.

A reader who asks "which objective should I use?" needs to know how many of the board's rows
answer it, and whether an undecided row is a real tie or an experiment too small to tell
(every undecided row carries a power estimate). Two more lenses on the same question:

* **Companion metrics.** Every format records a continuous, likelihood-based score beside its
  primary metric (the gold label's log-probability, a minimal pair's likelihood margin, the
  gold span's log-probability, the reference's per-token log-likelihood). DataDecide
  (Magnusson et al. 2025) found such scores decide more reliably at small scale than accuracy
  does. Each task's verdicts against its control are judged again on the companion, with its
  own noise prior, and counted beside the primary metric's: how many each decides and how
  often both agree. The primary metric stays the headline.
* **Decision accuracy** (``decision_accuracy.py``): how many objective pairs each smaller
  rung of a compute ladder already orders as the full budget does.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from benchmark.metric_spec import MetricSpec
from benchmark.report.decision_accuracy import decision_accuracy
from benchmark.report.judge import Judge
from benchmark.report.noise import task_priors, tolerance_of
from benchmark.report.runs import final_rung, untrained_entries
from benchmark.report.tables import Leaderboard
from benchmark.report.task_tables import versus_controls

DECIDED = ("better", "worse", "equivalent")
COMPANION = ["companion_metric.name", "companion_metric.higher_is_better"]


def neural_controls(board: Leaderboard) -> pd.DataFrame:
    """The board's rows against an untrained control, classical baselines left out: pretrained objectives only."""
    return board.controls[~board.controls["objective"].isin(board.baselines)]


@dataclass(frozen=True)
class Share:
    """Verdicts of pretrained objectives against no pretraining, counted."""

    counts: dict[str, int]  # verdict -> rows

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def decided(self) -> int:
        return sum(self.counts.get(v, 0) for v in DECIDED)

    @property
    def share(self) -> float | None:
        return self.decided / self.rows if self.rows else None

    def sentence(self) -> str:
        if not self.rows:
            return "No pretrained objective was compared with an untrained control."
        parts = ", ".join(f"{self.counts[v]} {v}" for v in (*DECIDED, "undecided", "provisional", "unpaired")
                          if self.counts.get(v))
        return (f"Against no pretraining, {self.decided} of {self.rows} pretrained-objective rows are decided "
                f"({self.share:.0%}): {parts}.")

    def to_dict(self) -> dict:
        return {"rows": self.rows, "decided": self.decided, "share": self.share, "counts": self.counts}


def decided_share(board: Leaderboard) -> Share:
    rows = neural_controls(board)
    return Share({str(k): int(v) for k, v in rows["direction"].value_counts().items()} if len(rows) else {})


def companion_spec(df: pd.DataFrame, task: str) -> MetricSpec | None:
    """The companion metric the records of ``task`` declare, where they all declare the same one."""
    if any(c not in df for c in COMPANION):
        return None
    declared = df.loc[df["task"] == task, COMPANION].dropna().drop_duplicates()
    if len(declared) != 1:
        return None
    name, higher = declared.iloc[0]
    return MetricSpec(str(name), bool(higher), None) if f"metrics.{name}" in df else None


def companion_agreement(every_rung: pd.DataFrame, board: Leaderboard) -> pd.DataFrame:
    """Per task: the rows against no pretraining that the primary metric and the companion each decide, and how
    many of the rows both decide agree. ``every_rung`` holds every rung's flattened records (the priors read
    them all); the verdicts are the final rung's, as the board's are."""
    final = final_rung(every_rung)
    controls = untrained_entries(final)
    primary = neural_controls(board).set_index(["model", "objective", "task", "control"])["direction"]
    specs = {task: companion_spec(final, task) for task in board.metrics}
    specs = {task: spec for task, spec in specs.items() if spec is not None}
    priors = task_priors(every_rung, specs)
    out = []
    for task, spec in specs.items():
        judge = Judge(spec, priors.get(task), tolerance_of(final, task, spec), board.confidence)
        runs = final[final["task"] == task]
        runs = runs[~runs["objective"].isin(board.baselines)]
        theirs = {(r["model"], r["objective"], task, r["control"]): r["direction"]
                  for r in versus_controls(task, judge, runs, controls)}
        keys = [k for k in primary.index if k[2] == task and k in theirs]
        both = [k for k in keys if primary[k] in DECIDED and theirs[k] in DECIDED]
        out.append({"task": task, "companion": spec.name, "rows": len(keys),
                    "primary_decided": sum(primary[k] in DECIDED for k in keys),
                    "companion_decided": sum(theirs[k] in DECIDED for k in keys),
                    "both_decided": len(both), "agree": sum(primary[k] == theirs[k] for k in both),
                    "disagree": sum(primary[k] != theirs[k] for k in both)})
    return pd.DataFrame(out, columns=["task", "companion", "rows", "primary_decided", "companion_decided",
                                      "both_decided", "agree", "disagree"])


@dataclass(frozen=True)
class Decisions:
    """What the report's section on decisions shows."""

    share: Share
    companion: pd.DataFrame  # companion_agreement
    ladder: pd.DataFrame | None  # decision_accuracy.decision_accuracy, where there is a ladder

    def to_dict(self) -> dict:
        return {"against_control": self.share.to_dict(), "companion": self.companion.to_dict(orient="records"),
                "ladder_decision_accuracy": [] if self.ladder is None else self.ladder.to_dict(orient="records")}


def decisions_of(every_rung: pd.DataFrame, board: Leaderboard, with_ladder: bool) -> Decisions:
    ladder = decision_accuracy(every_rung, board.metrics) if with_ladder else None
    return Decisions(decided_share(board), companion_agreement(every_rung, board), ladder)


def agreement_sentences(table: pd.DataFrame) -> list[str]:
    lines = []
    for r in table.itertuples():
        agree = f"; of the {r.both_decided} both decide, {r.agree} agree" if r.both_decided else ""
        lines.append(f"{r.task}: the primary metric decides {r.primary_decided} of {r.rows}, {r.companion} "
                     f"decides {r.companion_decided}{agree}.")
    return lines
