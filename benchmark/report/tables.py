"""Result records -> the leaderboard's tables, as data frames (rendering lives elsewhere).

``Leaderboard.rows`` has one row per (model, objective, task): the task's primary metric with
its spread, its tie-respecting rank, T5's within-noise mark and the paired comparison against
the reference objective. ``Leaderboard.controls`` pairs every pretrained entry with each
untrained control (``none`` and its variants) of the same model on the same task: did
pretraining help at all? ``Leaderboard.aggregate`` has one row per (model, objective, use), a
use being finetuned or zero-shot tasks: the mean normalised score over those tasks and the mean
rank, shown beside the per-task rows, never alone.

Every table here reads the final rung of a compute ladder only (``final_rung``): a suite with
``pretrain.ladder`` also records runs from checkpoints at smaller shares of the budget, which
ladder.py draws against compute and nothing else counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats as _scipy_stats

from benchmark.errors import ObjbenchError
from benchmark.report import bootstrap
from benchmark.report.metrics import MetricSpec, primary_metric
from benchmark.report.noise import TaskNoise, at_bound, normalized_prior, task_priors, tolerance_of
from benchmark.report.stats import (
    CONFIDENCE,
    METHOD,
    PROVISIONAL,
    Paired,
    Spread,
    paired_difference,
    t_interval,
    tiered_ranks,
    two_level,
    within_noise_of_best,
    within_range,
)
from benchmark.results import BASELINE_GROUP, ITEMS_KEY

FINETUNED, ZERO_SHOT = "finetuned", "zero-shot"
DEFAULT_REFERENCE = "mlm"  # BERT-style denoising: the strongest finetuned baseline in T5's Table 4
ENTRY = ["model", "objective"]
SEEDS = ["pretrain_seed", "finetune_seed"]
FINAL_RUNG = 1.0  # the whole compute-matched budget: the only rung the leaderboard, verdicts and gate read


@dataclass(frozen=True)
class Notice:
    """A caveat the reader must see next to the numbers. Notices of one ``kind`` share their ``summary``
    and are shown on one line; each ``detail`` (what differs between them, or the longer reason) is
    shown only on request."""

    kind: str
    summary: str
    detail: str | None = None

    @property
    def text(self) -> str:
        return f"{self.kind}: {self.summary}" + (f". {self.detail}" if self.detail else "")


@dataclass
class Leaderboard:
    metrics: dict[str, MetricSpec]  # task -> its primary metric
    uses: dict[str, str]  # task -> "finetuned" or "zero-shot"
    rows: pd.DataFrame
    aggregate: pd.DataFrame
    controls: pd.DataFrame  # pretrained entry vs untrained control, per task
    reference: str | None
    notes: list[Notice] = field(default_factory=list)
    baselines: set[str] = field(default_factory=set)  # entries that are classical baselines, marked as such
    priors: dict[str, TaskNoise] = field(default_factory=dict)  # task -> its noise priors (moderated intervals)
    tolerances: dict[str, float] = field(default_factory=dict)  # task -> delta, within which is "equivalent"
    confidence: float = CONFIDENCE

    @property
    def tasks(self) -> list[str]:
        return list(self.metrics)

    @property
    def saturated_tasks(self) -> list[str]:
        """Tasks whose best entry sits at the metric's bound on every seed: their top cannot be told apart, so
        the summary ranks by the other tasks."""
        top = self.rows[self.rows["best"] & self.rows["saturated"]]
        return [t for t in self.tasks if t in set(top["task"])]

    @property
    def entries(self) -> list[tuple[str, str]]:
        """(model, objective) pairs, best first: by mean rank, then by aggregate score; the classical
        baselines after every neural entry (one task's rank 1 is not a board's)."""
        entries = list(dict.fromkeys(zip(self.aggregate["model"], self.aggregate["objective"])))
        return sorted(entries, key=lambda entry: entry[1] in self.baselines)


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


def _task_metrics(df: pd.DataFrame) -> dict[str, MetricSpec]:
    metrics = {}
    for task, formats in df.groupby("task", sort=True)["task_format"]:
        if formats.nunique() > 1:
            raise ObjbenchError(f"task {task!r} is recorded with several formats: {sorted(formats.unique())}")
        spec = primary_metric(task, df.loc[formats.index])
        if f"metrics.{spec.name}" not in df or df.loc[formats.index, f"metrics.{spec.name}"].isna().all():
            raise ObjbenchError(f"task {task!r}: records have no metrics.{spec.name}, its primary metric")
        metrics[task] = spec
    return metrics


def _resolve_reference(df: pd.DataFrame, reference: str | None, notes: list[Notice]) -> str | None:
    objectives = sorted(df["objective"].unique())
    if reference is None:
        if DEFAULT_REFERENCE in objectives:
            return DEFAULT_REFERENCE
        notes.append(Notice("No paired comparisons", f"the default reference objective {DEFAULT_REFERENCE!r} has "
                            f"no runs (choose one of {', '.join(objectives)} with --reference)"))
        return None
    if reference not in objectives:
        raise ObjbenchError(f"reference objective {reference!r} has no runs in these results "
                            f"(objectives: {', '.join(objectives)})")
    return reference


@dataclass(frozen=True)
class Judge:
    """How one task's numbers are judged: its metric, noise prior, tolerance and confidence level."""

    spec: MetricSpec
    noise: TaskNoise | None
    tolerance: float | None
    confidence: float = CONFIDENCE

    def spread(self, values: dict) -> Spread:
        spread = two_level(values, self.noise.cell if self.noise else None, self.confidence)
        return spread if self.spec.max_value is None else within_range(spread, 0.0, self.spec.max_value)

    def paired(self, candidate: dict, reference: dict) -> Paired:
        return paired_difference(candidate, reference, self.noise.difference if self.noise else None, self.tolerance,
                                 self.confidence)

    def against_constant(self, value: float, reference: dict, test_set: tuple | None = None) -> Paired:
        """A deterministic entry (one number: no seed moves it) against ``reference``'s runs: the difference
        varies as the reference does between seeds, judged with the cell prior over the reference's seeds,
        and with the test set drawn: ``test_set`` is the paired bootstrap's (difference, standard error, low,
        high) over test items (``bootstrap.difference``), whose standard error is added in quadrature."""
        paired = paired_difference({key: value for key in reference}, reference,
                                   self.noise.cell if self.noise else None, self.tolerance, self.confidence)
        d = paired.difference
        if test_set is None or d is None or not d.has_interval or not np.isfinite(test_set[1]):
            return paired
        z = float(_scipy_stats.norm.ppf(0.5 + self.confidence / 2))
        half = float(np.hypot(d.ci_high - d.mean, z * test_set[1]))
        low, high = d.mean - half, d.mean + half
        combined = replace(d, std=float(np.hypot(d.std, test_set[1])), ci_low=low, ci_high=high)
        return replace(paired, difference=combined, significant=bool(low > 0 or high < 0))

    def test_set_spread(self, value: float, test_set: tuple) -> Spread:
        """A deterministic entry's own interval: the test-set bootstrap's, the only noise it has."""
        _, se, low, high = test_set
        spread = Spread(value, se, low, high, 1, 1)
        return spread if self.spec.max_value is None else within_range(spread, 0.0, self.spec.max_value)


def _covers(group: pd.DataFrame, spread: Spread) -> str | None:
    """Which sources of noise a cell's interval covers."""
    if not spread.has_interval:
        return None
    if deterministic(group):
        return "test set (paired bootstrap over test items)"
    return "pretraining seeds" + (", finetuning seeds" if group["finetune_seed"].nunique() > 1 else "")


def _task_rows(task: str, judge: Judge, runs: pd.DataFrame, reference: str | None) -> list[dict]:
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
            row.update(reference=reference, **_paired(group, groups[ref_key], column, judge, "the reference"))
        elif objective == reference:
            row.update(reference=reference, comparison="reference")
        rows.append(row)
    return rows


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


def _control_rows(task: str, judge: Judge, runs: pd.DataFrame, controls: set[tuple[str, str]]) -> list[dict]:
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
                         "metric": spec.name, **_paired(group, groups[control], column, judge, "no pretraining")})
    return rows


def _paired(candidate: pd.DataFrame, other: pd.DataFrame, column: str, judge: Judge, against: str) -> dict:
    """The paired difference ``candidate - other`` by seeds, as report fields, with its verdict; a deterministic
    candidate is one number against the other's runs."""
    spec = judge.spec
    covers = "pretraining seeds"
    if deterministic(candidate):
        own, theirs = test_items(candidate), [test_items(other.iloc[[i]]) for i in range(len(other))]
        test_set = bootstrap.difference(own, theirs, judge.confidence) if bootstrap.pairable(own, theirs) else None
        paired = judge.against_constant(float(candidate[column].mean()), by_seed(other, column), test_set)
        covers = "the other side's pretraining seeds" + (", and the test set (paired bootstrap over test items)"
                                                         if test_set else "; not the test set (no test items recorded)")
    else:
        paired = judge.paired(by_seed(candidate, column), by_seed(other, column))
    d = paired.difference
    if d is not None and spec.max_value is not None:
        d = within_range(d, -spec.max_value, spec.max_value)
    comparison = paired.verdict(spec.higher_is_better, against)
    if paired.unpaired and d is not None:
        comparison += f" ({paired.unpaired} run(s) without a partner left out)"
    return {"difference": d.mean if d else None, "difference_ci_low": d.ci_low if d else None,
            "difference_ci_high": d.ci_high if d else None, "pairs": paired.pairs,
            "significant": paired.significant, "direction": paired.direction(spec.higher_is_better),
            "comparison": comparison, "seeds_needed": paired.seeds_needed, "tolerance": judge.tolerance,
            "interval_covers": covers if d is not None and d.has_interval else None}


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


def _aggregate(df: pd.DataFrame, rows: pd.DataFrame, metrics: dict[str, MetricSpec],
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


def build_leaderboard(df: pd.DataFrame, reference: str | None = None, confidence: float = CONFIDENCE) -> Leaderboard:
    """Every table of the report from the flattened records ``df`` (see ``benchmark.results.flatten``), at the
    final rung only: runs from smaller shares of a compute ladder's budget are left out here, but every rung's
    cells inform each task's noise prior (``noise.task_priors``)."""
    every_rung = df
    df = final_rung(df)
    notes: list[Notice] = []
    metrics = _task_metrics(df)
    priors = task_priors(every_rung, metrics)
    tolerances = {task: tolerance_of(df, task, spec) for task, spec in metrics.items()}
    judges = {task: Judge(spec, priors.get(task), tolerances[task], confidence) for task, spec in metrics.items()}
    reference = _resolve_reference(df, reference, notes)
    rows = [r for task, judge in judges.items() for r in _task_rows(task, judge, df[df["task"] == task], reference)]
    table = pd.DataFrame(rows)
    uses = {task: task_uses(df)[task] for task in metrics}
    table["use"] = table["task"].map(uses)
    aggregate = _aggregate(df, table, metrics, uses, priors)
    order = {key: i for i, key in enumerate(dict.fromkeys(zip(aggregate["model"], aggregate["objective"])))}
    table = (table.assign(_order=[order[k] for k in zip(table["model"], table["objective"])])
             .sort_values(["task", "_order"]).drop(columns="_order").reset_index(drop=True))

    controls = untrained_entries(df)
    control_columns = ["model", "objective", "task", "control", "metric", "difference", "difference_ci_low",
                       "difference_ci_high", "pairs", "significant", "direction", "comparison", "seeds_needed",
                       "tolerance", "interval_covers"]
    versus = pd.DataFrame([r for task, judge in judges.items()
                           for r in _control_rows(task, judge, df[df["task"] == task], controls)],
                          columns=control_columns)
    if len(versus):
        versus = (versus.assign(_order=[order[k] for k in zip(versus["model"], versus["objective"])])
                  .sort_values(["task", "control", "_order"]).drop(columns="_order").reset_index(drop=True))
    else:
        notes.append(Notice("No untrained control", "add `none` to the suite's objectives to see whether "
                            "pretraining helped at all"))
    verdicts: dict[tuple, list[str]] = {}
    for r in versus.itertuples():
        verdicts.setdefault((r.model, r.objective, r.task), []).append(f"{r.direction} (vs {r.control})")
    table["verdict_vs_control"] = ["; ".join(verdicts[k]) if k in verdicts else None
                                   for k in zip(table["model"], table["objective"], table["task"])]

    phrases = table["seeds"].unique()
    notes.append(Notice("Spread across seeds", f"every entry has {phrases[0]}" if len(phrases) == 1 else
                        "entries differ in their seeds; the per-task details list each one's"))
    fixed = table[table["deterministic"]]
    if len(fixed):
        notes.append(Notice("Deterministic baselines", f"{', '.join(sorted(set(fixed['objective'])))}: fitted once, "
                            "no seed moves them, so their intervals are the test set's (a paired bootstrap over "
                            "test items, BCa)",
                            "Against a control, the difference's interval combines the control's pretraining seeds "
                            "with the bootstrap over test items, on which both sides are resampled together; a "
                            "neural entry's interval covers its pretraining seeds (and finetuning seeds where "
                            "several ran), not the test set's sampling, which every entry shares"))
    provisional = table[table["provisional"] & ~table["deterministic"]]
    if len(provisional):
        who = ("every entry" if len(provisional) == len(table) else
               ", ".join(sorted({f"{r.objective} on {r.task}" for r in provisional.itertuples()})))
        notes.append(Notice("Provisional", f"{who} had one pretraining run, so the verdicts, ranks and ≈ marks "
                            f"built on it are {PROVISIONAL}, not findings",
                            "Another pretraining seed, or another machine's kernels and precision, moves a score "
                            "by more than the finetuning spread that one run shows"))
    if table["ci_low"].notna().any():
        notes.append(Notice("Intervals", METHOD, "Each task's priors, fitted over its cells at every rung (a cell's "
            "SD between seeds, and a paired difference's, each with what it is worth in degrees of freedom): "
            + "; ".join(f"{t}: cell sd {p.cell.variance ** 0.5:.3g} ({p.cell.dof:.3g} df, {p.cell.cells} cells), "
                        f"difference sd {p.difference.variance ** 0.5:.3g} ({p.difference.dof:.3g} df, "
                        f"{p.difference.cells} pairs)" for t, p in priors.items() if p.cell and p.difference)
            + ". Verdicts against a control or the reference: better or worse when the "
            "interval excludes 0, equivalent when it lies within the task's tolerance (" + "; ".join(
            f"{t}: ±{d:.3g}" for t, d in tolerances.items()) + "), else undecided, with a power estimate of the "
            "pretraining seeds that would decide it"))
    if confidence != CONFIDENCE:
        notes.append(Notice("Sequential level", f"every interval and verdict is at {confidence:.2%} confidence, not "
                            f"{CONFIDENCE:.0%}: pretraining seeds were added until verdicts were decided "
                            "(objbench run --until-decided), and Bonferroni's alpha-spending over the planned looks "
                            "keeps the chance of any false verdict at 5%"))
    saturated = table[table["saturated"]]
    if len(saturated):
        notes.append(Notice("Saturated", ", ".join(f"{t} ({', '.join(sorted(set(g['objective'])))})"
                                                    for t, g in saturated.groupby("task", sort=True))
                            + ": every seed at the metric's bound, so these cells cannot be told apart; a larger "
                            "test set, fewer finetuning steps or a harder variant of the task would separate them",
                            "The summary does not rank entries by a task whose best entry is saturated"))
    if len(set(uses.values())) > 1:
        notes.append(Notice("Finetuned and zero-shot tasks", "separate aggregate scores and mean ranks",
                            "Rankings can flip between the two (Wang et al. 2022)"))
    for r in aggregate.itertuples():
        if r.missing_tasks:
            notes.append(Notice("Missing tasks", "an entry without runs on every task of a use has no aggregate "
                                "score for it", f"{r.model}/{r.objective} has no runs on {', '.join(r.missing_tasks)}: "
                                f"no {r.use} aggregate score"))
        elif pd.isna(r.score_ci_low) and not provisional_entry(table, r.model, r.objective):
            notes.append(Notice("No aggregate interval", "an aggregate score's interval needs two or more "
                                "pretraining seeds that each ran every task of its use",
                                f"{r.model}/{r.objective}: no interval for the {r.use} aggregate score"))
    return Leaderboard(metrics, uses, table, aggregate, versus, reference, notes,
                       set(df.loc[baseline_runs(df), "objective"]), priors, tolerances, confidence)


def provisional_entry(rows: pd.DataFrame, model: str, objective: str) -> bool:
    """Every cell of the entry had one pretraining run (the provisional note covers its aggregate too)."""
    own = rows[(rows["model"] == model) & (rows["objective"] == objective)]
    return bool(own["provisional"].all())


def cost_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per (model, objective): what pretraining cost, each pretraining seed counted once.

    Every run of one pretraining job carries the same ``pretrain`` stats, so runs are first
    reduced to one per (model, objective, pretrain_seed); numbers are then mean and std over seeds.
    The final rung only: a compute ladder's decay branches show as ``ladder_flops``, its extra cost.
    """
    df = final_rung(df)
    columns = {
        "pretrain.parameters": "parameters", "pretrain.steps": "steps", "pretrain.tokens": "tokens",
        "pretrain.loss_bearing_tokens": "loss_bearing_tokens", "pretrain.flops": "flops",
        "pretrain.ladder_flops": "ladder_flops",
        "pretrain.flops_per_token": "flops_per_token", "pretrain.tokens_per_s": "tokens_per_s",
        "pretrain.peak_memory_bytes": "peak_memory_bytes", "pretrain.wall_s": "wall_s",
        "finetune.samples_per_s": "finetune_samples_per_s", "finetune.peak_memory_bytes": "finetune_peak_memory_bytes",
    }
    present = [c for c in columns if c in df]
    jobs = df.groupby([*ENTRY, "pretrain_seed"], sort=True).agg(
        {**{c: "first" for c in present if c.startswith("pretrain.")},
         **{c: "mean" for c in present if not c.startswith("pretrain.")}})
    jobs = jobs.apply(pd.to_numeric, errors="coerce").rename(columns=columns)
    grouped = jobs.groupby(level=ENTRY, sort=True)
    table = grouped.mean().join(grouped.std(ddof=1).add_suffix("_std")).join(grouped.size().rename("pretrain_seeds"))
    kind = df.groupby(ENTRY)["pretrain.peak_memory_kind"].first() if "pretrain.peak_memory_kind" in df else None
    if kind is not None:
        table = table.join(kind.rename("peak_memory_kind"))
    return table.reset_index()
