"""Result records -> the leaderboard's tables, as data frames (rendering lives elsewhere).

``Leaderboard.rows`` has one row per (model, objective, task): the task's primary metric with
its spread, its tie-respecting rank, T5's within-noise mark and the paired comparison against
the reference objective. ``Leaderboard.controls`` pairs every pretrained entry with each
untrained control (``none`` and its variants) of the same model on the same task: did
pretraining help at all? ``Leaderboard.aggregate`` has one row per (model, objective, use), a
use being finetuned or zero-shot tasks: the mean normalised score over those tasks and the mean
rank, shown beside the per-task rows, never alone.

Every table here reads the final rung of a compute ladder only (``runs.final_rung``). One task's
rows are built in task_tables.py, judged as judge.py says; the aggregate in aggregate.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from benchmark.errors import ObjbenchError
from benchmark.report.aggregate import aggregate_table
from benchmark.report.judge import Judge
from benchmark.report.metrics import MetricSpec, primary_metric
from benchmark.report.noise import TaskNoise, task_priors, tolerance_of
from benchmark.report.runs import ENTRY, baseline_runs, final_rung, task_uses, untrained_entries
from benchmark.report.stats import CONFIDENCE, METHOD, PROVISIONAL
from benchmark.report.task_tables import task_rows, versus_controls

DEFAULT_REFERENCE = "mlm"  # BERT-style denoising: the strongest finetuned baseline in T5's Table 4


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
    rows = [r for task, judge in judges.items() for r in task_rows(task, judge, df[df["task"] == task], reference)]
    table = pd.DataFrame(rows)
    uses = {task: task_uses(df)[task] for task in metrics}
    table["use"] = table["task"].map(uses)
    aggregate = aggregate_table(df, table, metrics, uses, priors)
    order = {key: i for i, key in enumerate(dict.fromkeys(zip(aggregate["model"], aggregate["objective"])))}
    table = (table.assign(_order=[order[k] for k in zip(table["model"], table["objective"])])
             .sort_values(["task", "_order"]).drop(columns="_order").reset_index(drop=True))

    controls = untrained_entries(df)
    control_columns = ["model", "objective", "task", "control", "metric", "difference", "difference_ci_low",
                       "difference_ci_high", "pairs", "significant", "direction", "comparison", "seeds_needed",
                       "tolerance", "interval_covers"]
    versus = pd.DataFrame([r for task, judge in judges.items()
                           for r in versus_controls(task, judge, df[df["task"] == task], controls)],
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
    if "pretrain.compute_source" in df:  # a published checkpoint: where its compute comes from, or "unknown"
        table = table.join(df.groupby(ENTRY)["pretrain.compute_source"].first().rename("compute_source"))
    return table.reset_index()
