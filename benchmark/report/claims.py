"""Published findings about objectives, checked against a suite's runs: does the ordering hold at this budget?

``CLAIMS`` lists orderings the published comparisons reported (T5, ELECTRA, BART, BERT vs GPT,
Wang et al. 2022; see the protocol notes), each as "objective A beats objective B on tasks of
one format", with the paper's own figures and the pretraining compute it was seen at.
:func:`check_claims` tests every claim the records can test and says whether the runs
*agree*, *contradict* it or leave it *undecided*, with the interval behind the verdict;
:func:`claims_section` turns the checks into a report section that markdown.py and page.py
format like any other (``claims_markdown`` and ``claims_html`` render it alone).

How a verdict is reached (pooled over the family's tasks, paired by seeds):

1. Only final checkpoints count: records whose ``rung`` (share of the budget) is 1.0 or absent.
2. For each (model, claim), the tasks of the claim's format that both objectives ran (saturated
   ones left out: see 5).
3. Each run's primary metric is put on the 0..1 scale its ``primary_metric`` declares, 1 best
   (``MetricSpec.normalize``), so a lower-is-better metric points the right way and a 0..100
   metric weighs like a 0..1 one; runs that share (pretraining seed, finetuning seed) average
   their normalised scores over those tasks (only seed pairs that ran every such task for
   both objectives take part, so each pair averages the same tasks).
4. ``stats.paired_difference`` of A - B over those pairs, as the leaderboard compares
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
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from benchmark.metric_spec import MetricSpec
from benchmark.report import markdown, page
from benchmark.report.cells import Cell, signed_difference
from benchmark.report.noise import TOLERANCE_SHARE, TaskNoise, normalized_prior
from benchmark.report.sections import Note, Section, Table, prose
from benchmark.report.stats import CONFIDENCE, PROVISIONAL, Paired, paired_difference, within_range

TITLE = "Published findings at this budget"
FAR_FROM_OBSERVED = 10.0  # a test this many times below (or above) the published compute says so

Verdict = Literal["agrees", "contradicts", "indicative: agrees", "indicative: contradicts", "undecided",
                  "not testable here"]
MIN_AVERAGE_TASKS = 2  # a claim about a benchmark's average needs this many unsaturated tasks of its format

# Compute estimates shared by several claims (6 x parameters x tokens, Kaplan et al. 2020's rule).
_T5_BASE = (2.3e19, 4.5e19)
_T5_BASE_NOTE = ("estimate: 6 x N x D with D = 2^19 steps x 128 x 512 = 2^35 = 3.4e10 tokens (T5 sec. 3.1) and "
                 "N from 1.1e8 (each token passes one stack of the 220M-parameter T5-Base) to 2.2e8 (all of it)")
_BERT_BASE = (2.8e19, 8.6e19)
_BERT_BASE_NOTE = ("estimate: 6 x N x D with N = 1.1e8 (BERT-Base) and D from 4.3e10 tokens (1M steps of 256 "
                   "sequences, 90% of them at length 128, BERT sec. A.2) to 1.31e11 (all at length 512): "
                   "6 x 1.1e8 x 1.31e11 = 8.6e19")
_WANG = (5.1e21, 5.1e21)
_WANG_NOTE = ("estimate: 6 x N x D with the abstract's 'over 5 billion parameters for more than 170 billion "
              "tokens'; a lower bound")

# How the design tested here differs from a paper's: its claims are only indicative here.
_T4 = ("architecture: T5 ran both objectives on one encoder-decoder; here each runs on the architecture "
       "it needs, at the same FLOPs")
_T2 = ("size: T5's Table 2 compares architectures at equal parameters or equal compute per token; here "
       "the encoder-decoder has about twice the decoder's parameters, at the same FLOPs")
_WZ = ("zero-shot setting: Wang et al. scored prompted held-out tasks; here zero-shot is the likelihood "
       "of minimal pairs")
_WF = ("multitask vs single task: Wang et al. finetuned on a multitask prompted mixture and scored "
       "held-out tasks zero-shot; here each task is finetuned on itself")


@dataclass(frozen=True)
class Claim:
    """One published ordering: ``better`` beat ``worse`` on tasks of format ``family``.

    ``better`` and ``worse`` are objbench objective names, ``family`` a task format name;
    ``mapping`` says how the paper's setups correspond to objbench's objectives where they
    differ (architecture, data). ``figures`` quotes the paper's numbers; ``None`` marks a
    qualitative finding. ``flops`` is the (low, high) pretraining compute the ordering was
    observed at, per model, and ``flops_note`` where it comes from: the paper's own figure, or
    'estimate: ' and how it was derived. ``average`` marks a claim about an average over a
    benchmark's tasks (GLUE): one task cannot test it. ``mismatch`` states how the design it is
    tested on here differs from the paper's (architecture or size, multitask vs single-task
    finetuning, the zero-shot setting): its verdict is then only indicative.
    """

    name: str
    better: str
    worse: str
    family: str
    source: str
    finding: str
    figures: str | None
    flops: tuple[float, float]
    flops_note: str
    mapping: str = ""
    average: bool = False
    mismatch: str | None = None

    @property
    def qualitative(self) -> bool:
        return self.figures is None

    @property
    def flops_estimated(self) -> bool:
        """The compute was derived (``flops_note`` begins 'estimate:'), not printed in the paper."""
        return self.flops_note.startswith("estimate:")

    @property
    def objectives(self) -> tuple[str, str]:
        return self.better, self.worse


CLAIMS: tuple[Claim, ...] = (
    Claim("t5_bert_style_over_prefix_lm_glue", "mlm", "prefix_lm", "classification",
          "Raffel et al. 2020 (T5), Table 4",
          "BERT-style denoising beats prefix language modelling after finetuning on GLUE",
          "GLUE average 82.96 (BERT-style) vs 80.69 (prefix LM)", _T5_BASE, _T5_BASE_NOTE,
          "T5 ran both on its encoder-decoder; objbench's mlm is BERT masking on an encoder, prefix_lm a "
          "non-causal decoder",
          average=True, mismatch=_T4),
    Claim("t5_bert_style_over_prefix_lm_squad", "mlm", "prefix_lm", "extractive_qa",
          "Raffel et al. 2020 (T5), Table 4",
          "BERT-style denoising beats prefix language modelling after finetuning on SQuAD",
          "SQuAD EM 80.65 (BERT-style) vs 77.99 (prefix LM)", _T5_BASE, _T5_BASE_NOTE,
          "T5 ran both on its encoder-decoder; objbench's mlm is BERT masking on an encoder, prefix_lm a "
          "non-causal decoder",
          mismatch=_T4),
    Claim("t5_prefix_lm_over_deshuffling_glue", "prefix_lm", "deshuffle", "classification",
          "Raffel et al. 2020 (T5), Table 4",
          "Prefix language modelling beats deshuffling after finetuning on GLUE",
          "GLUE average 80.69 (prefix LM) vs 73.17 (deshuffling)", _T5_BASE, _T5_BASE_NOTE,
          "T5 ran both on its encoder-decoder; objbench's prefix_lm is a non-causal decoder",
          average=True, mismatch=_T4),
    Claim("t5_bert_style_over_deshuffling_squad", "mlm", "deshuffle", "extractive_qa",
          "Raffel et al. 2020 (T5), Table 4",
          "BERT-style denoising beats deshuffling after finetuning on SQuAD",
          "SQuAD EM 80.65 (BERT-style) vs 67.61 (deshuffling)", _T5_BASE, _T5_BASE_NOTE,
          "T5 ran both on its encoder-decoder; objbench's mlm is BERT masking on an encoder",
          mismatch=_T4),
    Claim("t5_denoising_over_lm_glue", "span_corruption", "prefix_lm", "classification",
          "Raffel et al. 2020 (T5), Table 2",
          "A denoising objective beats a language-modelling objective after finetuning on GLUE",
          "GLUE average 83.28 (encoder-decoder, denoising) vs 79.56 (encoder-decoder, LM objective)",
          _T5_BASE, _T5_BASE_NOTE,
          "T5's LM objective on an encoder-decoder is a prefix split; objbench's prefix_lm runs it on a "
          "non-causal decoder. T5 found denoising ahead in every architecture it tried",
          average=True, mismatch=_T2),
    Claim("t5_denoising_over_lm_squad", "span_corruption", "prefix_lm", "extractive_qa",
          "Raffel et al. 2020 (T5), Table 2",
          "A denoising objective beats a language-modelling objective after finetuning on SQuAD",
          "SQuAD EM 80.88 (encoder-decoder, denoising) vs 76.02 (encoder-decoder, LM objective)",
          _T5_BASE, _T5_BASE_NOTE,
          "T5's LM objective on an encoder-decoder is a prefix split; objbench's prefix_lm runs it on a "
          "non-causal decoder",
          mismatch=_T2),
    Claim("electra_small_over_bert_small", "electra", "mlm", "classification",
          "Clark et al. 2020 (ELECTRA), Table 1",
          "Replaced-token detection beats masked LM at equal pretraining FLOPs, generator counted",
          "GLUE dev 79.9 (ELECTRA-Small) vs 75.1 (BERT-Small), 14M parameters each", (1.4e18, 1.4e18),
          "the paper's figure: 1.4e18 training FLOPs for both models (Table 1)",
          average=True),
    Claim("electra_all_tokens_mlm_over_bert", "all_tokens_mlm", "mlm", "classification",
          "Clark et al. 2020 (ELECTRA), sec. 3.5 efficiency analysis",
          "A loss on every token, not only the masked 15%, is where most of ELECTRA's gain comes from",
          "GLUE 84.3 (all-tokens MLM) vs 82.2 (BERT)", _BERT_BASE,
          _BERT_BASE_NOTE + "; the analysis used base-sized models, assumed here on a BERT-Base-like schedule",
          average=True),
    Claim("electra_over_all_tokens_mlm", "electra", "all_tokens_mlm", "classification",
          "Clark et al. 2020 (ELECTRA), sec. 3.5 efficiency analysis",
          "Replaced-token detection beats all-tokens MLM",
          "GLUE 85.0 (ELECTRA) vs 84.3 (all-tokens MLM)", _BERT_BASE,
          _BERT_BASE_NOTE + "; the analysis used base-sized models, assumed here on a BERT-Base-like schedule",
          average=True),
    Claim("bart_infilling_over_lm_squad", "denoising", "clm", "extractive_qa",
          "Lewis et al. 2020 (BART), Table 1",
          "Text infilling beats left-to-right language modelling after finetuning on SQuAD",
          "SQuAD 1.1 F1 90.8 (text infilling) vs 76.7 (language model)", _BERT_BASE,
          _BERT_BASE_NOTE + "; BART's comparison models were base-sized, assumed here on a BERT-Base-like schedule",
          "objbench's denoising is BART's final recipe (text infilling + sentence permutation) on an "
          "encoder-decoder; BART's language model is a causal decoder, as objbench's clm"),
    Claim("bert_over_gpt_glue", "mlm", "clm", "classification",
          "Devlin et al. 2019 (BERT), Table 1",
          "Bidirectional masked LM beats left-to-right LM after finetuning on GLUE",
          "GLUE test average 79.6 (BERT-Base) vs 75.1 (OpenAI GPT)", _BERT_BASE, _BERT_BASE_NOTE + " (BERT-Base)",
          "sized alike, but data (BooksCorpus + Wikipedia vs BooksCorpus) and steps differ: a looser comparison "
          "than T5's or ELECTRA's",
          average=True),
    Claim("wang_causal_best_zero_shot_vs_span_corruption", "clm", "span_corruption", "zero_shot",
          "Wang et al. 2022, sec. 4 (without multitask finetuning)",
          "Right after pretraining, a causal decoder with full language modelling generalises best zero-shot",
          None, _WANG, _WANG_NOTE,
          "Wang et al.'s masked objective is T5's span corruption on an encoder-decoder, as objbench's",
          average=True, mismatch=_WZ),
    Claim("wang_causal_best_zero_shot_vs_prefix_lm", "clm", "prefix_lm", "zero_shot",
          "Wang et al. 2022, sec. 4 (without multitask finetuning)",
          "Right after pretraining, full language modelling on a causal decoder beats a non-causal decoder's "
          "prefix LM zero-shot",
          None, _WANG, _WANG_NOTE,
          average=True, mismatch=_WZ),
    Claim("wang_masked_best_after_finetuning", "span_corruption", "clm", "classification",
          "Wang et al. 2022, sec. 4 (after multitask finetuning)",
          "After finetuning, a masked objective with non-causal visibility beats a causal decoder's language "
          "modelling: the zero-shot ranking flips",
          None, _WANG, _WANG_NOTE,
          "Wang et al. finetuned on a multitask prompted mixture and evaluated held-out tasks zero-shot; "
          "objbench finetunes on each task itself, the nearest test it has",
          average=True, mismatch=_WF),
)


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

    @property
    def interval_text(self) -> str:
        """'+0.041 [+0.012, +0.070]', or the mean alone where there is no interval."""
        return signed_difference(self.difference, self.ci_low, self.ci_high)

    def to_dict(self) -> dict:
        """Plain fields for leaderboard.json: the claim by name and what it says, the verdict and its numbers."""
        claim = self.claim
        return {"claim": claim.name, "better": claim.better, "worse": claim.worse, "family": claim.family,
                "source": claim.source, "finding": claim.finding, "figures": claim.figures,
                "observed_flops": list(claim.flops), "observed_flops_note": claim.flops_note, "model": self.model,
                "verdict": self.verdict, "reason": self.reason, "tasks": list(self.tasks),
                "difference": self.difference, "ci_low": self.ci_low, "ci_high": self.ci_high, "pairs": self.pairs,
                "pretrain_seeds": self.pretrain_seeds,
                "tested_flops": list(self.tested_flops) if self.tested_flops else None,
                "compute_note": self.compute_note,
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

    @classmethod
    def of(cls, records: Iterable[dict]) -> _Runs:
        values: dict[tuple, dict[tuple[int, int], list[float]]] = defaultdict(lambda: defaultdict(list))
        metrics, formats, flops = {}, {}, defaultdict(dict)
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
        # runs of the same seeds (records combined from several stores) are averaged, as the board does
        scores = {key: {seeds: float(np.mean(v)) for seeds, v in by_seed.items()} for key, by_seed in values.items()}
        return cls(scores, metrics, formats, dict(flops))

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


def flops_text(value: float) -> str:
    """'1.4e18', '2e12': compute as the papers write it."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def flops_range_text(low: float, high: float) -> str:
    return flops_text(low) if math.isclose(low, high, rel_tol=0.05) else f"{flops_text(low)}-{flops_text(high)}"


def observed_text(claim: Claim) -> str:
    """'1.4e18 FLOPs', with '(estimate)' where the figure was derived rather than printed."""
    return f"{flops_range_text(*claim.flops)} FLOPs" + (" (estimate)" if claim.flops_estimated else "")


def _factor(ratio: float) -> str:
    return f"{ratio:.0f}" if ratio < 1000 else flops_text(ratio)


def scale_gap(claim: Claim, tested: tuple[float, float] | None) -> str | None:
    """'7e5x less compute than published; ...' when the tested compute is ``FAR_FROM_OBSERVED`` times or more
    below (or above) the compute the claim was observed at; ``None`` otherwise."""
    if tested is None:
        return None
    low, high = claim.flops
    if tested[1] * FAR_FROM_OBSERVED <= low:
        return f"{_factor(low / tested[1])}x less compute than published; the ordering may not hold this far down"
    if tested[0] >= high * FAR_FROM_OBSERVED:
        return f"{_factor(tested[0] / high)}x more compute than published; the ordering may not hold this far up"
    return None


def compute_note(claim: Claim, tested: tuple[float, float] | None) -> str | None:
    """'observed at 1.4e18 FLOPs, tested at 2e12: 7e5x less compute than published; ...', or ``None`` where the
    tested compute is within ``FAR_FROM_OBSERVED`` times the published one (or unknown)."""
    gap = scale_gap(claim, tested)
    return f"observed at {observed_text(claim)}, tested at {flops_range_text(*tested)}: {gap}" if gap else None


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


def _check(runs: _Runs, claim: Claim, model: str, tasks: Sequence[str], priors: dict[str, TaskNoise],
           confidence: float) -> ClaimCheck:
    per_task, better, worse = [], [], []
    for task in tasks:
        a, b = runs.scores[(model, claim.better, task)], runs.scores[(model, claim.worse, task)]
        spec = runs.metrics[task]
        noise = priors.get(task)
        per_task.append(TaskDifference(task, spec, paired_difference(
            a, b, noise.difference if noise else None, TOLERANCE_SHARE * spec.max_value, confidence)))
        better.append({k: runs.metrics[task].normalize(v) for k, v in a.items()})
        worse.append({k: runs.metrics[task].normalize(v) for k, v in b.items()})
    shared = set.intersection(*(set(s) for s in better + worse))
    pooled = paired_difference({k: float(np.mean([s[k] for s in better])) for k in shared},
                               {k: float(np.mean([s[k] for s in worse])) for k in shared},
                               normalized_prior(priors, runs.metrics, list(tasks), "difference"), TOLERANCE_SHARE,
                               confidence)
    verdict, reason = _verdict(pooled)
    if claim.mismatch and verdict in ("agrees", "contradicts"):
        verdict, reason = f"indicative: {verdict}", f"{reason}; indicative only, the design differs: {claim.mismatch}"
    d = pooled.difference and within_range(pooled.difference, -1.0, 1.0)
    tested = runs.tested_flops(model, claim)
    return ClaimCheck(claim, model, verdict, reason, tuple(tasks), d.mean if d else None, d.ci_low if d else None,
                      d.ci_high if d else None, pooled.pairs, d.pretrain_seeds if d else 0, tuple(per_task),
                      tested, compute_note(claim, tested))


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
    runs = _Runs.of(records)
    checks = []
    for claim in claims:
        for model in runs.models:
            tasks = runs.shared_tasks(model, claim)
            if not tasks:
                continue
            full = [t for t in tasks if runs.saturated(model, claim, t)]
            open_ = [t for t in tasks if t not in full]
            if len(open_) < (MIN_AVERAGE_TASKS if claim.average else 1):
                checks.append(_untestable(runs, claim, model, tasks, full))
            else:
                checks.append(_check(runs, claim, model, open_, priors or {}, confidence))
    return checks


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


# --- the report section -------------------------------------------------------------------------

INTRO = prose(
    "Orderings that published comparisons reported, checked on this suite's runs wherever it ran both objectives "
    "on tasks of the claim's format. The difference is the first objective minus the second on the primary "
    "metric scaled to 0-1 (1 best), averaged over the format's tasks and paired by (pretraining seed, finetuning "
    "seed), with its 95% interval over pretraining seeds: agrees or contradicts only when the interval excludes "
    "0 (or contradicts when it lies within the tolerance: no difference of the claimed kind). A claim tested on a "
    "design that differs from the paper's in a stated way is only indicative, with the difference named; one "
    "about a benchmark's average needs two or more unsaturated tasks of its format, and a task on which both "
    "objectives reach the ceiling tells nothing: otherwise it is not testable here. Published figures are quoted "
    "as printed; their compute is the paper's where it printed one, else an estimate. Claims whose objectives or "
    "task format this suite did not run are left out.")


def _rows(checks: Sequence[ClaimCheck], with_model: bool) -> list[list[Cell]]:
    rows = []
    for check in checks:
        claim = check.claim
        said = f"{claim.finding} ({claim.figures or 'qualitative'})"
        said += f". In objbench: {claim.mapping}." if claim.mapping else ""
        objectives = f"{claim.better} > {claim.worse}" + (f" ({check.model})" if with_model else "")
        tested = (flops_range_text(*check.tested_flops) + " FLOPs") if check.tested_flops else "n/a"
        gap = scale_gap(claim, check.tested_flops)
        tested += f" ({gap})" if gap else ""
        verdict = f"{check.verdict}: {check.interval_text} over {len(check.tasks)} task(s); {check.reason}"
        rows.append([Cell(said, claim.name), Cell(claim.source, claim.source), Cell(objectives, objectives),
                     Cell(claim.family, claim.family), Cell(observed_text(claim), claim.flops[0]),
                     Cell(tested, check.tested_flops[1] if check.tested_flops else None),
                     Cell(verdict, check.verdict)])
    return rows


def claims_section(checks: Sequence[ClaimCheck]) -> Section:
    """The report section: one row per check (claim, source, objectives, family, observed at, tested at, verdict)."""
    if not checks:
        return Section(TITLE, INTRO, bullets=(prose("No published claim can be tested: this suite did not run both "
                                                    "objectives of any claim on tasks of its format."),))
    with_model = len({c.model for c in checks}) > 1
    headers = ["claim", "source", "objectives", "family", "observed at", "tested at", "verdict"]
    estimates = dict.fromkeys((flops_range_text(*c.claim.flops), c.claim.flops_note) for c in checks
                              if c.claim.flops_estimated)
    notes = tuple(Note(prose(f"Observed compute {shown} FLOPs, {how}.")) for shown, how in estimates)
    return Section(TITLE, INTRO, notes=notes, table=Table("claims", headers, _rows(checks, with_model)))


def claims_markdown(checks: Sequence[ClaimCheck]) -> str:
    """The section as Markdown, formatted as README.md formats every section."""
    return "\n".join(markdown._section(claims_section(checks), Path(".")))


def claims_html(checks: Sequence[ClaimCheck]) -> str:
    """The section as an HTML fragment (a heading, a paragraph and a ``<table>``), as index.html formats it."""
    return "\n".join(page._section(claims_section(checks)))
