"""Score against pretraining compute, from a compute ladder's rungs: curves, crossovers and fitted trends.

A suite with ``pretrain.ladder: [0.25, 0.5, 1.0]`` gives every pretrained objective a finished
(decayed) checkpoint at each share of its budget, branched off one warmup-stable-decay run
(MiniCPM, Hu et al. 2024; Hägele et al. 2024), and finetunes and evaluates each. Every run record
carries its ``rung`` and, in ``pretrain.flops``, the FLOPs that made its checkpoint. The
leaderboard reads the final rung only; this module reads every rung, with the board's statistics:

* points: per (model, objective, task, rung), the primary metric's two-level spread over
  pretraining seeds, at that rung's FLOPs;
* bands: each untrained control's spread on the task (it has no compute to be placed at);
* crossovers: the smallest rung at which an objective is better than no pretraining, paired by
  (pretraining seed, finetuning seed) as the verdicts are, and each rung at which it overtakes
  another objective: significantly better there, after an undecided verdict or a loss at the rung before;
* trends: score = a + b·log10 FLOPs, shown only where it fits (``TREND_RULE``);
* references: each classical baseline's level on a laddered task, drawn beside the control's band.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from benchmark.report.judge import Judge
from benchmark.report.runs import ENTRY, baseline_runs, by_seed, run_rungs, untrained_entries
from benchmark.report.stats import cluster_means, t_interval
from benchmark.report.tables import Leaderboard

MIN_TREND_RUNGS = 3  # two points always fit a line exactly: a third is the first that can disagree
MIN_R_SQUARED = 0.8
REFERENCE_COLUMNS = ["model", "objective", "task", "mean", "ci_low", "ci_high"]
TREND_RULE = (f"A trend, score = a + b·log10 FLOPs fitted by least squares to the mean at each rung, is shown only "
              f"where it fits: {MIN_TREND_RUNGS} or more rungs, R² ≥ {MIN_R_SQUARED:g}, and a 95% interval of the "
              "slope b that excludes 0. That interval is Student's t over pretraining seeds of each seed's own "
              "slope (the seed is the unit, as for every interval here), so it needs two or more pretraining seeds "
              "that ran every rung.")
JUDGED = ("better", "worse", "equivalent", "undecided")  # judged; 'provisional' and 'unpaired' are not


@dataclass(frozen=True)
class Trend:
    """A log-linear fit of score against FLOPs; ``slope`` is the change per tenfold FLOPs."""

    rungs: int
    intercept: float | None = None
    slope: float | None = None
    r_squared: float | None = None
    slope_ci_low: float | None = None
    slope_ci_high: float | None = None
    fits: bool = False
    reason: str = ""  # why it is not shown; empty where it fits

    def to_dict(self) -> dict:
        return {"trend_" + k: v for k, v in self.__dict__.items()}


def fit_trend(scores: Mapping[tuple[float, int], float]) -> Trend:
    """The trend of ``scores[(FLOPs, pretraining seed)]`` (each seed's score at the rung of those FLOPs,
    already averaged over its finetuning runs), judged by ``TREND_RULE``."""
    xs = sorted({x for x, _ in scores})
    if len(xs) < MIN_TREND_RUNGS:
        return Trend(len(xs), reason=f"{len(xs)} rung{'s' if len(xs) != 1 else ''}, {MIN_TREND_RUNGS} needed")
    logs = np.log10(xs)
    means = np.array([np.mean([v for (x, _), v in scores.items() if x == rung]) for rung in xs])
    slope, intercept = (float(c) for c in np.polyfit(logs, means, 1))
    total = float(((means - means.mean()) ** 2).sum())
    if total == 0.0:
        return Trend(len(xs), intercept, slope, reason="the score does not change across rungs")
    r_squared = 1.0 - float(((means - (intercept + slope * logs)) ** 2).sum()) / total
    complete = [s for s in sorted({s for _, s in scores}) if all((x, s) in scores for x in xs)]
    interval = t_interval([np.polyfit(logs, [scores[(x, s)] for x in xs], 1)[0] for s in complete])
    trend = Trend(len(xs), intercept, slope, r_squared, *(interval or (None, None)))
    if r_squared < MIN_R_SQUARED:
        return replace(trend, reason=f"R² {r_squared:.2f} < {MIN_R_SQUARED:g}")
    if interval is None:
        return replace(trend, reason="one pretraining seed ran every rung: no interval for the slope")
    if interval[0] <= 0.0 <= interval[1]:
        return replace(trend, reason="the slope's interval includes 0")
    return replace(trend, fits=True)


@dataclass
class Ladder:
    """Every rung's numbers: ``points`` per (model, objective, task, rung), ``bands`` per untrained
    control and task, ``crossovers`` per (model, objective, task), and ``references``: each classical
    baseline's score on a laddered task, a level a pretrained objective may or may not reach."""

    points: pd.DataFrame
    bands: pd.DataFrame
    crossovers: pd.DataFrame
    references: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REFERENCE_COLUMNS))

    @property
    def rungs(self) -> list[float]:
        return sorted(self.points["rung"].unique())

    def to_dict(self) -> dict:
        return {"rungs": self.rungs, "trend_rule": TREND_RULE, "points": self.points.to_dict(orient="records"),
                "bands": self.bands.to_dict(orient="records"),
                "references": self.references.to_dict(orient="records"),
                "crossovers": self.crossovers.to_dict(orient="records")}


def has_ladder(df: pd.DataFrame) -> bool:
    """Some pretrained objective ran at two or more rungs: there is a curve to draw."""
    rung = run_rungs(df)
    trained = df[rung.notna().to_numpy()].assign(rung=rung.dropna().to_numpy())
    return bool(len(trained)) and int(trained.groupby(ENTRY)["rung"].nunique().max()) >= 2


def _flops(runs: pd.DataFrame) -> float:
    """The FLOPs that made a rung's checkpoints: each pretraining job counted once, averaged over seeds."""
    if "pretrain.flops" not in runs:
        return float("nan")
    return float(pd.to_numeric(runs.groupby("pretrain_seed")["pretrain.flops"].first(), errors="coerce").mean())


def _directions(rungs: dict[float, pd.DataFrame], other: pd.DataFrame | dict[float, pd.DataFrame], column: str,
                judge: Judge) -> dict[float, str]:
    """Per rung: a verdict (better, worse, equivalent, undecided), 'provisional' or 'unpaired', paired by seeds
    and judged with the task's prior, as the leaderboard's verdicts are;
    ``other`` is one set of runs (a control) or another entry's runs by rung (shared rungs only)."""
    out = {}
    for rung, runs in rungs.items():
        against = other if isinstance(other, pd.DataFrame) else other.get(rung)
        if against is not None:
            out[rung] = judge.paired(by_seed(runs, column), by_seed(against, column)).direction(
                judge.spec.higher_is_better)
    return out


def _versus_control(directions: dict[float, str], flops: dict[float, float], control: str) -> dict:
    first = next((r for r in sorted(directions) if directions[r] == "better"), None)
    return {"control": control, "rung": first, "flops": flops[first] if first is not None else None,
            "judged": any(d in JUDGED for d in directions.values())}


def _overtakes(directions: dict[float, str], flops: dict[float, float], other: str) -> list[dict]:
    """Rungs where the entry is significantly better than ``other`` after an undecided verdict or a loss at the
    shared rung before."""
    shared = sorted(directions)
    return [{"objective": other, "rung": now, "flops": flops[now]} for before, now in zip(shared, shared[1:])
            if directions[before] in ("undecided", "equivalent", "worse") and directions[now] == "better"]


def build_ladder(df: pd.DataFrame, board: Leaderboard) -> Ladder | None:
    """The ladder's tables from every run (all rungs) of the board's tasks; ``None`` where no pretrained
    objective ran at two or more rungs."""
    if not has_ladder(df):
        return None
    df = df.assign(rung=run_rungs(df).to_numpy())
    df = df[~baseline_runs(df).to_numpy()]  # a classical baseline spends no pretraining compute: no curve
    controls = untrained_entries(df)
    points, bands, crossovers = [], [], []
    for task, spec in board.metrics.items():
        column = f"metrics.{spec.name}"
        judge = Judge(spec, board.priors.get(task), board.tolerances.get(task, 0.0), board.confidence)
        runs = df[(df["task"] == task).to_numpy()].dropna(subset=[column])
        entries = {key: dict(list(group.groupby("rung", sort=True))) for key, group in runs.groupby(ENTRY, sort=True)
                   if key not in controls}
        control_runs = {key: group for key, group in runs.groupby(ENTRY, sort=True) if key in controls}
        if not any(len(rungs) >= 2 for rungs in entries.values()):  # a task left off the ladder: no curve to draw
            continue
        for (model, control), group in control_runs.items():
            s = judge.spread(by_seed(group, column))
            bands.append({"model": model, "control": control, "task": task, "mean": s.mean, "ci_low": s.ci_low,
                          "ci_high": s.ci_high, "pretrain_seed_count": s.pretrain_seeds, "provisional": s.provisional})
        for (model, objective), rungs in entries.items():
            flops = {rung: _flops(at) for rung, at in rungs.items()}
            scores = {}
            for rung, at in rungs.items():
                s = judge.spread(by_seed(at, column))
                points.append({"model": model, "objective": objective, "task": task, "rung": rung,
                               "flops": flops[rung], "mean": s.mean, "std": s.std, "ci_low": s.ci_low,
                               "ci_high": s.ci_high, "runs": s.n, "pretrain_seed_count": s.pretrain_seeds,
                               "provisional": s.provisional})
                x = rung if any(np.isnan(f) for f in flops.values()) else flops[rung]  # a slope per decade either way
                scores.update({(x, seed): mean for seed, mean in cluster_means(by_seed(at, column)).items()})
            versus = [_versus_control(_directions(rungs, control_runs[key], column, judge), flops,
                                      key[1]) for key in control_runs if key[0] == model]
            overtakes = [event for (other_model, other), other_rungs in entries.items()
                         if other_model == model and other != objective
                         for event in _overtakes(_directions(rungs, other_rungs, column, judge),
                                                 flops, other)]
            crossovers.append({"model": model, "objective": objective, "task": task, "rungs": sorted(rungs),
                               "versus_control": versus, "overtakes": sorted(overtakes, key=lambda e: e["rung"]),
                               **fit_trend(scores).to_dict()})
    laddered = {c["task"] for c in crossovers}
    references = board.rows[board.rows["objective"].isin(board.baselines) & board.rows["task"].isin(laddered)]
    order = {entry: i for i, entry in enumerate(board.entries)}
    crossovers.sort(key=lambda c: (c["task"], order.get((c["model"], c["objective"]), len(order)), c["objective"]))
    return Ladder(pd.DataFrame(points), pd.DataFrame(bands, columns=["model", "control", "task", "mean", "ci_low",
                                                                     "ci_high", "pretrain_seed_count", "provisional"]),
                  pd.DataFrame(crossovers), references[REFERENCE_COLUMNS].reset_index(drop=True))
