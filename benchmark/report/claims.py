"""Published findings about objectives, checked against a suite's runs: does the ordering hold at this budget?

:func:`check_claims` tests every claim of ``published_claims.CLAIMS`` that the records can test
and says whether the runs *agree*, *contradict* it or leave it *undecided*, with the interval
behind the verdict; claims_section.py turns the checks into a report section.

How a verdict is reached (pooled over the family's tasks, paired by seeds):

1. Only final checkpoints count: records whose ``rung`` (share of the budget) is 1.0 or absent.
2. For each (model, claim), the tasks of the claim's format that both objectives ran (saturated
   ones left out: see 5).
3. Each run's primary metric is put on the 0..1 scale its ``primary_metric`` declares, 1 best
   (``MetricSpec.normalize``), so a lower-is-better metric points the right way and a 0..100
   metric weighs like a 0..1 one; runs that share (pretraining seed, finetuning seed) average
   their normalised scores over those tasks (only seed pairs that ran every such task for
   both objectives take part, so each pair averages the same tasks).
4. ``verdicts.paired_difference`` of A - B over those pairs, as the leaderboard compares
   objectives: a 95% moderated-t interval over pretraining seeds, its variance borrowed from
   the tasks' noise priors (``noise.normalized_prior``). It excludes 0 on A's side: *agrees*;
   on B's side: *contradicts*; lies within +-0.02 of the 0..1 scale (2% of the range, the
   tasks' default tolerance): *contradicts* too, saying *equivalent*: the two are the same at
   this budget, which the claim of a difference does not survive; otherwise, or with one
   pretraining seed, or with no seeds that pair: *undecided*, saying which.
5. Where the design tested here differs from the paper's in a stated way (``Claim.mismatch``),
   agrees and contradicts become *indicative: agrees* and *indicative: contradicts*, with the
   difference named. A task on which both objectives sit within the tolerance of the ceiling on
   every seed is *saturated* and left out; a claim about a benchmark's average (GLUE) needs two
   or more unsaturated tasks of its format, any other claim one: otherwise *not testable here*,
   with the reason.

Per-task paired differences, in each metric's own units, ride along for the reader.
Compute is the other half of the answer: a small suite tests an ordering many orders of
magnitude below where it was published, and the check says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from benchmark.metric_spec import MetricSpec
from benchmark.report.cells import signed_difference
from benchmark.report.claim_compute import compute_note
from benchmark.report.noise import TOLERANCE_SHARE, TaskNoise, normalized_prior
from benchmark.report.published_claims import CLAIMS, Claim, Focus
from benchmark.report.stats import CONFIDENCE, PROVISIONAL, within_range
from benchmark.report.verdicts import Paired, paired_difference

Verdict = Literal["agrees", "contradicts", "indicative: agrees", "indicative: contradicts", "undecided",
                  "not testable here"]
MIN_AVERAGE_TASKS = 2  # a claim about a benchmark's average needs this many unsaturated tasks of its format


@dataclass(frozen=True)
class TaskDifference:
    """``better - worse`` on one task, in the task's own metric (positive: ``better`` scored higher)."""

    task: str
    metric: MetricSpec
    paired: Paired

    @property
    def direction(self) -> str:
        """'better' (the claim's way), 'worse', 'tie', 'provisional' or 'unpaired'."""
        return self.paired.direction(self.metric.higher_is_better)


@dataclass(frozen=True)
class ClaimCheck:
    """What the records say about one claim, for one model.

    ``difference``, ``ci_low`` and ``ci_high`` are the pooled ``better - worse`` on the 0..1
    normalised scale (positive: the claim's way), with its 95% interval over pretraining seeds
    (``None`` with one pretraining seed); ``pairs`` and ``pretrain_seeds`` what it rests on.
    ``tested_flops`` is the (lowest, highest) pretraining compute of the runs compared, and
    ``compute_note`` a sentence when that is far from the compute the claim was published at.
    """

    claim: Claim
    model: str
    verdict: Verdict
    reason: str
    tasks: tuple[str, ...]
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    pairs: int
    pretrain_seeds: int
    per_task: tuple[TaskDifference, ...]
    tested_flops: tuple[float, float] | None
    compute_note: str | None
    epochs: tuple[float, float] | None = None  # how many times the runs compared saw the corpus (lowest, highest)

    @property
    def interval_text(self) -> str:
        """'+0.041 [+0.012, +0.070]', or the mean alone where there is no interval."""
        return signed_difference(self.difference, self.ci_low, self.ci_high)

    def to_dict(self) -> dict:
        """Plain fields for leaderboard.json: the claim by name and what it says, the verdict and its numbers."""
        claim = self.claim
        return {"claim": claim.name, "better": str(claim.better), "worse": str(claim.worse), "family": claim.family,
                "source": claim.source, "finding": claim.finding, "figures": claim.figures,
                "observed_flops": list(claim.flops), "observed_flops_note": claim.flops_note, "model": self.model,
                "verdict": self.verdict, "reason": self.reason, "tasks": list(self.tasks),
                "difference": self.difference, "ci_low": self.ci_low, "ci_high": self.ci_high, "pairs": self.pairs,
                "pretrain_seeds": self.pretrain_seeds,
                "tested_flops": list(self.tested_flops) if self.tested_flops else None,
                "compute_note": self.compute_note, "epochs": list(self.epochs) if self.epochs else None,
                "per_task": [{"task": t.task, "metric": t.metric.name, "direction": t.direction,
                              "difference": t.paired.difference.mean if t.paired.difference else None,
                              "ci_low": t.paired.difference.ci_low if t.paired.difference else None,
                              "ci_high": t.paired.difference.ci_high if t.paired.difference else None}
                             for t in self.per_task]}


def is_final(record: dict) -> bool:
    """A record of a finished checkpoint: its ``rung`` (share of the budget) is 1.0, ``None`` or absent."""
    rung = record.get("rung")
    return rung is None or math.isclose(float(rung), 1.0)


@dataclass
class _Runs:
    """The final-rung records indexed for checking: scores by seeds, metrics, formats, pretraining FLOPs."""

    scores: dict[tuple[str, str, str], dict[tuple[int, int], float]]  # (model, objective, task) -> seeds -> value
    metrics: dict[str, MetricSpec]  # task -> its primary metric
    formats: dict[str, str]  # task -> its format
    flops: dict[tuple[str, str], dict[int, float]]  # (model, objective) -> pretraining seed -> FLOPs
    # (model, objective) -> (the registered objective it runs, its settings): a variant's identity
    identities: dict[tuple[str, str], tuple[str, dict]] = field(default_factory=dict)
    epochs: dict[tuple[str, str], dict[int, float]] = field(default_factory=dict)  # passes over the corpus
    sizes: dict[str, tuple[str, int]] = field(default_factory=dict)  # model -> (its family, its size's place)

    @classmethod
    def of(cls, records: Iterable[dict]) -> _Runs:
        values: dict[tuple, dict[tuple[int, int], list[float]]] = defaultdict(lambda: defaultdict(list))
        metrics, formats, flops, epochs, identities, sizes = {}, {}, defaultdict(dict), defaultdict(dict), {}, {}
        for record in filter(is_final, records):
            spec = MetricSpec.from_dict(record["primary_metric"])
            value = (record.get("metrics") or {}).get(spec.name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            model, objective, task = record["model"], record["objective"], record["task"]
            metrics.setdefault(task, spec)
            formats.setdefault(task, record["task_format"])
            seeds = (int(record["pretrain_seed"]), int(record["finetune_seed"]))
            values[(model, objective, task)][seeds].append(float(value))
            spent = (record.get("pretrain") or {}).get("flops")
            if spent:
                flops[(model, objective)][seeds[0]] = float(spent)
            passes = (record.get("pretrain") or {}).get("epochs_over_data")
            if passes is not None:
                epochs[(model, objective)][seeds[0]] = float(passes)
            config = record.get("config") or {}
            variant = (config.get("variants") or {}).get(objective) or {}
            identities.setdefault((model, objective), (variant.get("objective", objective),
                                                       dict(record.get("objective_params") or {})))
            listed = config.get("size") if isinstance(config.get("size"), list) else [record.get("size")]
            sizes.setdefault(model, (record.get("family") or model,
                                     listed.index(record.get("size")) if record.get("size") in listed else 0))
        # runs of the same seeds (records combined from several stores) are averaged, as the board does
        scores = {key: {seeds: float(np.mean(v)) for seeds, v in by_seed.items()} for key, by_seed in values.items()}
        return cls(scores, metrics, formats, dict(flops), identities, dict(epochs), sizes)

    def named(self, model: str, arm: str | Focus) -> list[str]:
        """The objectives ``model`` ran that an arm of a claim names: the objective itself, or every variant
        whose setting puts it in a :class:`Focus` (the objective's default where the variant leaves it)."""
        if isinstance(arm, str):
            return [arm]
        found = []
        for (own, objective), (base, params) in sorted(self.identities.items()):
            if own != model or base != arm.objective:
                continue
            value = params.get(arm.setting, arm.default)
            if value is not None and arm.holds(float(value)):
                found.append(objective)
        return found

    def concrete(self, model: str, claim: Claim) -> list[Claim]:
        """The claim once per pair of objectives ``model`` ran that its arms name (one pair where both are names)."""
        return [replace(claim, better=b, worse=w) for b in self.named(model, claim.better)
                for w in self.named(model, claim.worse) if b != w]

    def seen(self, model: str, claim: Claim) -> tuple[float, float] | None:
        """The fewest and most passes over the corpus among the runs of the claim's objectives (None: unrecorded)."""
        passes = [e for objective in claim.objectives for e in self.epochs.get((model, objective), {}).values()]
        return (min(passes), max(passes)) if passes else None

    @property
    def models(self) -> list[str]:
        return sorted({model for model, _, _ in self.scores})

    def tested_flops(self, model: str, claim: Claim) -> tuple[float, float] | None:
        spent = [f for objective in claim.objectives for f in self.flops.get((model, objective), {}).values()]
        return (min(spent), max(spent)) if spent else None

    def saturated(self, model: str, claim: Claim, task: str) -> bool:
        """Both of the claim's objectives within the tolerance (2% of the range) of the metric's best value on
        every seed: the task cannot tell them apart, whatever the objectives are worth."""
        spec = self.metrics[task]
        if spec.max_value is None:
            return False
        return all(spec.normalize(v) >= 1.0 - TOLERANCE_SHARE
                   for objective in claim.objectives for v in self.scores[(model, objective, task)].values())

    def shared_tasks(self, model: str, claim: Claim) -> tuple[str, ...]:
        """Tasks of the claim's format on which ``model`` ran both of the claim's objectives."""
        return tuple(task for task, fmt in sorted(self.formats.items())
                     if fmt == claim.family and all((model, o, task) in self.scores for o in claim.objectives))



def _verdict(paired: Paired) -> tuple[Verdict, str]:
    direction = paired.direction(higher_is_better=True)  # normalised scores: higher is always better
    if direction == "better":
        return "agrees", "the interval excludes 0 on the claim's side"
    if direction == "worse":
        return "contradicts", "the interval excludes 0 on the other side"
    if direction == "equivalent":
        return "contradicts", (f"equivalent: the interval lies within ±{paired.tolerance:g} of 0 on the 0-1 scale, "
                               "no difference of the claimed kind at this budget")
    if direction == "undecided":
        return "undecided", "the interval includes 0" + (
            f"; ≈{paired.seeds_needed} pretraining seeds would decide it (power estimate)"
            if paired.seeds_needed else "")
    if direction == "provisional":
        return "undecided", f"{PROVISIONAL}: no interval"
    return "undecided", "no (pretraining seed, finetuning seed) ran every task for both objectives"


def _pooled(runs: _Runs, claim: Claim, model: str, tasks: Sequence[str]) -> tuple[dict, dict]:
    """Each side's normalised score averaged over ``tasks``, per (pretraining seed, finetuning seed) that ran them
    all for both objectives."""
    def side(objective: str) -> list[dict]:
        return [{k: runs.metrics[t].normalize(v) for k, v in runs.scores[(model, objective, t)].items()} for t in tasks]

    better, worse = side(claim.better), side(claim.worse)
    shared = set.intersection(*(set(s) for s in better + worse))
    return ({k: float(np.mean([s[k] for s in better])) for k in shared},
            {k: float(np.mean([s[k] for s in worse])) for k in shared})


def _indicative(claim: Claim, verdict: Verdict, reason: str) -> tuple[Verdict, str]:
    if claim.mismatch and verdict in ("agrees", "contradicts"):
        return f"indicative: {verdict}", f"{reason}; indicative only, the design differs: {claim.mismatch}"
    return verdict, reason


def _check(runs: _Runs, claim: Claim, model: str, tasks: Sequence[str], priors: dict[str, TaskNoise],
           confidence: float) -> ClaimCheck:
    per_task = []
    for task in tasks:
        a, b = runs.scores[(model, claim.better, task)], runs.scores[(model, claim.worse, task)]
        spec = runs.metrics[task]
        noise = priors.get(task)
        per_task.append(TaskDifference(task, spec, paired_difference(
            a, b, noise.difference if noise else None, TOLERANCE_SHARE * spec.max_value, confidence)))
    pooled = paired_difference(*_pooled(runs, claim, model, tasks),
                               normalized_prior(priors, runs.metrics, list(tasks), "difference"), TOLERANCE_SHARE,
                               confidence)
    verdict, reason = _indicative(claim, *_verdict(pooled))
    d = pooled.difference and within_range(pooled.difference, -1.0, 1.0)
    tested = runs.tested_flops(model, claim)
    return ClaimCheck(claim, model, verdict, reason, tuple(tasks), d.mean if d else None, d.ci_low if d else None,
                      d.ci_high if d else None, pooled.pairs, d.pretrain_seeds if d else 0, tuple(per_task),
                      tested, compute_note(claim, tested), runs.seen(model, claim))


def _trend(runs: _Runs, claim: Claim, family: str, models: Sequence[str], confidence: float) -> ClaimCheck | None:
    """A claim about model size on a family run at several sizes: does ``better``'s lead over ``worse`` (0..1
    scale, pooled over the tasks both sizes ran) shrink from the smallest size to the largest?

    Per seed pair, the lead at the smallest size minus the lead at the largest; its interval over pretraining
    seeds decides as any paired difference does (runs of one seed number at two sizes are independent, so the
    pairing only lines them up)."""
    small, large = models[0], models[-1]
    tasks = [t for t in runs.shared_tasks(small, claim) if t in runs.shared_tasks(large, claim)]
    if not tasks:
        return None
    leads = []
    for model in (small, large):
        better, worse = _pooled(runs, claim, model, tasks)
        leads.append({k: better[k] - worse[k] for k in better})
    shrinks = paired_difference(leads[0], leads[1], None, TOLERANCE_SHARE, confidence)
    verdict, reason = _verdict(shrinks)
    reason = (f"the lead of {claim.better} over {claim.worse} at {small} minus its lead at {large}: {reason}")
    verdict, reason = _indicative(claim, verdict, reason)
    d = shrinks.difference and within_range(shrinks.difference, -1.0, 1.0)
    spent = [f for m in (small, large) for o in claim.objectives for f in runs.flops.get((m, o), {}).values()]
    tested = (min(spent), max(spent)) if spent else None
    return ClaimCheck(claim, f"{family} ({small} to {large})", verdict, reason, tuple(tasks), d.mean if d else None,
                      d.ci_low if d else None, d.ci_high if d else None, shrinks.pairs, d.pretrain_seeds if d else 0,
                      (), tested, compute_note(claim, tested))


def check_claims(records: list[dict], claims: Sequence[Claim] = CLAIMS, priors: dict[str, TaskNoise] | None = None,
                 confidence: float = CONFIDENCE) -> list[ClaimCheck]:
    """Every claim the records can test, checked: one :class:`ClaimCheck` per (claim, model), in claim order.
    ``priors`` are the tasks' noise priors (the leaderboard's); without them intervals are each cell's own.

    A claim is checked for a model that ran both of its objectives on at least one task of its
    format; the others are left out. Saturated tasks (:meth:`_Runs.saturated`) are left out of the
    pool; with none left, or with fewer than ``MIN_AVERAGE_TASKS`` for a claim about a benchmark's
    average, the verdict is "not testable here", with the reason. Only final-rung records count
    (see :func:`is_final`).
    """
    runs = _Runs.of(published_together(records))
    checks = []
    for general in claims:
        trended = _trends(runs, general, confidence) if general.trend else {}
        checks.extend(trended.values())
        for model in runs.models:
            if runs.sizes.get(model, (model, 0))[0] in trended:
                continue
            for claim in runs.concrete(model, general):
                tasks = runs.shared_tasks(model, claim)
                if not tasks:
                    continue
                full = [t for t in tasks if runs.saturated(model, claim, t)]
                open_ = [t for t in tasks if t not in full]
                seen = runs.seen(model, claim)
                if claim.min_epochs and (seen is None or seen[0] < claim.min_epochs):
                    checks.append(_too_few_passes(runs, claim, model, tasks, seen))
                elif len(open_) < (MIN_AVERAGE_TASKS if claim.average else 1):
                    checks.append(_untestable(runs, claim, model, tasks, full))
                else:
                    check = _check(runs, claim, model, open_, priors or {}, confidence)
                    checks.append(_annotated(check, seen))
    return checks


def _trends(runs: _Runs, claim: Claim, confidence: float) -> dict[str, ClaimCheck]:
    """A trend claim checked on every family the records hold at two sizes or more (smallest against largest)."""
    families: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for model in runs.models:
        family, place = runs.sizes.get(model, (model, 0))
        families[family].append((place, model))
    out = {}
    for family, sized in families.items():
        if len(sized) > 1:
            check = _trend(runs, claim, family, [m for _, m in sorted(sized)], confidence)
            if check is not None:
                out[family] = check
    return out


def _annotated(check: ClaimCheck, seen: tuple[float, float] | None) -> ClaimCheck:
    """What a check says beyond its verdict: one size for a trend claim, the passes over the corpus for a claim
    about repeated data."""
    claim, reason = check.claim, check.reason
    if claim.trend:
        reason += ("; one size: checked as the ordering the paper reports at small sizes (the trend needs a suite "
                   "with two or more sizes of one model family)")
    if claim.min_epochs and seen:
        reason += f"; the runs saw the corpus {_passes(seen)} times"
    return replace(check, reason=reason)


def _passes(seen: tuple[float, float]) -> str:
    low, high = seen
    return f"{low:.1f}" if math.isclose(low, high, rel_tol=0.05) else f"{low:.1f}-{high:.1f}"


def _too_few_passes(runs: _Runs, claim: Claim, model: str, tasks: Sequence[str],
                    seen: tuple[float, float] | None) -> ClaimCheck:
    """A claim about repeated data on runs that saw the corpus too few times (or did not record how many)."""
    why = (f"the runs saw the corpus {_passes(seen)} times; the claim is about data repeated "
           f"{claim.min_epochs:g} or more times" if seen else "the records do not say how many times the corpus "
           "was seen")
    tested = runs.tested_flops(model, claim)
    return ClaimCheck(claim, model, "not testable here", why, tuple(tasks), None, None, None, 0, 0, (), tested,
                      compute_note(claim, tested), seen)


PUBLISHED = "published checkpoints"


def published_together(records: list[dict]) -> list[dict]:
    """Published checkpoints checked against one another, as the papers compared them (ELECTRA-Small against
    BERT-Small): their records under one model, ``PUBLISHED``, when no two of them share an objective; else
    each stays its own model."""
    published = [r for r in records if r.get("published")]
    objectives = [r["objective"] for r in {r["model"]: r for r in published}.values()]
    if len(objectives) < 2 or len(set(objectives)) < len(objectives):
        return records
    return [{**r, "model": PUBLISHED} if r.get("published") else r for r in records]


def _untestable(runs: _Runs, claim: Claim, model: str, tasks: Sequence[str], full: Sequence[str]) -> ClaimCheck:
    """A claim the suite's tasks cannot test: too few of them for a benchmark average, or all saturated."""
    unsaturated = len(tasks) - len(full)
    need = (f"a claim about a benchmark's average needs {MIN_AVERAGE_TASKS} or more unsaturated {claim.family} "
            f"tasks; this suite has {unsaturated}" if claim.average else
            f"every {claim.family} task of this suite is saturated")
    if full:
        need += (f" ({', '.join(full)} saturated: both objectives within {TOLERANCE_SHARE:g} of the ceiling on the "
                 "0-1 scale on every seed; a larger test set, fewer finetuning steps or a harder variant would "
                 "tell them apart)")
    tested = runs.tested_flops(model, claim)
    return ClaimCheck(claim, model, "not testable here", need, tuple(tasks), None, None, None, 0, 0, (), tested,
                      compute_note(claim, tested))
