"""Run records for the report tests: records the harness really wrote, with metric values the tests choose.

The tiny suite runs once per test process (on first use, into a temporary folder): the untrained
control, CLM and MLM on one task of each format the report tests use (classification, zero-shot
scoring, translation). Its records are the templates. :func:`make_record` copies one and sets
what the test chooses:

* the run's identity (objective, task, seeds, suite, model; a run id made from them), so one
  template stands for as many runs as a table needs;
* ``metrics``: only the values, under the keys the harness wrote; the primary metric is
  ``value`` (f1_macro for classification, accuracy for zero-shot scoring, chrF for translation)
  and so are the others, but for classification accuracy (0.02 above) and BLEU (a quarter of chrF);
* on request, ``corpus_id``, ``tokenizer_id``, ``config`` or ``created_at`` (to make runs that
  must not share a table, or a known date);
* on request, the compute-ladder fields: ``rung`` (absent unless given, as in records written
  before ladders) and ``pretrain.flops`` / ``pretrain.ladder_flops``.

Every other field (``pretrain``, ``finetune``, ``evaluate``, ``environment``, ``primary_metric``,
``config``, ...) is what the harness wrote. An objective the tiny suite did not run (say
``electra``, or a hostile name) borrows CLM's pretraining; a format's finetuning and evaluation
statistics come from CLM's run of that format, which every format supports.
"""

from __future__ import annotations

import atexit
import copy
import functools
import hashlib
import math
import shutil
import tempfile
from pathlib import Path

import pytest
from scipy import stats as scipy_stats

from benchmark.config import validate_suite
from benchmark.report import moderation as stats_module
from benchmark.results import DIGEST_KEY, iter_records, write_record
from tests.helpers import tiny_raw

# One task of each format, as small as still trains; the template runs cost a few seconds.
TASK_OF_FORMAT = {"classification": "synthetic_topic", "zero_shot": "synthetic_minimal_pairs",
                  "translation": "synthetic_translation"}
_ROOT = Path(tempfile.mkdtemp(prefix="objbench-report-records-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
TEMPLATE_SUITE = validate_suite(tiny_raw(
    _ROOT, name="fixture", objectives=["none", "clm", "mlm"], tasks=list(TASK_OF_FORMAT.values()),
    pretrain={"budget_unit": "tokens", "budget": 3 * 8 * 32, "seq_len": 32, "batch_size": 8, "seeds": [0]},
    task_params={"synthetic_topic": {"train_size": 32, "test_size": 16},
                 "synthetic_minimal_pairs": {"test_size": 8},
                 "synthetic_translation": {"train_size": 16, "test_size": 10}}))
# The suite's config exactly as the harness writes it into every record.
CONFIG = TEMPLATE_SUITE.model_dump(mode="json")


@functools.cache
def real_records() -> tuple[dict, ...]:
    """The template suite's records, run through the harness once per process."""
    from benchmark.harness import run_suite

    summary = run_suite(TEMPLATE_SUITE, progress=False)
    records = tuple(iter_records(TEMPLATE_SUITE.results_dir, TEMPLATE_SUITE.name))
    assert summary.ran + summary.reused == len(records) == 7, len(records)  # 3 x 3, less MLM's and none's translation
    assert all(r["config"] == CONFIG for r in records)
    return records


def _template(objective: str, task_format: str) -> dict:
    records = real_records()
    by = {(r["objective"], r["task_format"]): r for r in records}
    if task_format not in TASK_OF_FORMAT:
        raise ValueError(f"no real record of format {task_format!r}; known: {', '.join(TASK_OF_FORMAT)}")
    own = objective if objective in ("none", "clm", "mlm") else "clm"
    record = copy.deepcopy(by.get((own, task_format)) or by[("clm", task_format)])
    if record["objective"] != own:  # this objective never ran this format: its own pretraining, CLM's finetuning
        donor = next(r for r in records if r["objective"] == own)
        for key in ("objective", "objective_params", "pretrain", "checkpoint"):
            record[key] = copy.deepcopy(donor[key])
    return record


def _metrics(real: dict, primary: str, value: float) -> dict:
    """The metric keys the harness wrote, every value ``value``; on classification accuracy is 0.02
    above it (so accuracy and f1 tell apart), on translation BLEU is a quarter of chrF."""
    assert primary in real, f"the harness wrote {sorted(real)}, without the primary metric {primary!r}"
    chosen = dict.fromkeys(real, value)
    if "f1_macro" in real:
        chosen["accuracy"] = min(1.0, value + 0.02)
    if "bleu" in real:
        chosen["bleu"] = value / 4
    return chosen


NO_RUNG = object()  # make_record's default: the record has no ``rung`` key at all


def make_record(objective: str, task: str, pretrain_seed: int, finetune_seed: int, value: float, *,
                suite: str = "fixture", model: str = "llama", task_format: str = "classification",
                corpus_id: str | None = None, tokenizer_id: str | None = None, config: dict | None = None,
                created_at: str | None = None, rung=NO_RUNG, flops: float | None = None,
                ladder_flops: float | None = None) -> dict:
    """A real record of ``objective`` on a task of ``task_format``, renamed to this run, with ``value``
    as its primary metric. ``None`` keeps what the harness wrote; ``rung`` (a share of the budget, or
    ``None`` for an untrained control) is written only when given."""
    record = _template(objective, task_format)
    del record[DIGEST_KEY]  # the store's seal on the template; write_record seals what it writes
    record["metrics"] = _metrics(record["metrics"], record["primary_metric"]["name"], value)
    record.update(suite=suite, model=model, objective=objective, task=task, pretrain_seed=pretrain_seed,
                  finetune_seed=finetune_seed)
    record["pretrain"]["objective"] = objective
    for key, chosen in (("corpus_id", corpus_id), ("tokenizer_id", tokenizer_id), ("created_at", created_at)):
        if chosen is not None:
            record[key] = chosen
    if config is not None:
        record["config"] = copy.deepcopy(config)
    for key, chosen in (("flops", flops), ("ladder_flops", ladder_flops)):
        if chosen is not None:
            record["pretrain"][key] = chosen
    identity = (suite, model, objective, task, pretrain_seed, finetune_seed, record["corpus_id"],
                record["tokenizer_id"], repr(config))
    if rung is not NO_RUNG:
        record["rung"] = rung
        identity += (rung,)
    record["run_id"] = hashlib.sha256(repr(identity).encode()).hexdigest()[:16]
    return record


def write_runs(results_dir: Path, values: dict[str, dict[str, dict[tuple[int, int], float]]],
               **record_options) -> list[Path]:
    """``values[objective][task][(pretrain_seed, finetune_seed)] = primary metric``: one record each."""
    paths = []
    for objective, tasks in values.items():
        for task, by_seed in tasks.items():
            for (pretrain_seed, finetune_seed), value in by_seed.items():
                record = make_record(objective, task, pretrain_seed, finetune_seed, value, **record_options)
                paths.append(write_record(results_dir, record))
    return paths


def budget_flops(objective: str = "clm") -> float:
    """The FLOPs the template run of ``objective`` pretrained with: the budget a ladder's final rung is at."""
    return float(_template(objective, "classification")["pretrain"]["flops"])


def write_ladder(results_dir: Path, values: dict[str, dict[str, dict[float | None, dict[tuple[int, int], float]]]],
                 **record_options) -> list[Path]:
    """``values[objective][task][rung][(pretrain_seed, finetune_seed)] = primary metric``, one record each, as
    a suite with ``pretrain.ladder`` writes them: a pretrained run at rung r has ``pretrain.flops`` = r x the
    budget and the decay branches' cost in ``ladder_flops``; an untrained control has rung ``None``."""
    budget = budget_flops()
    paths = []
    for objective, tasks in values.items():
        for task, rungs in tasks.items():
            for rung, by_seed in rungs.items():
                ladder = {} if rung is None else {"flops": rung * budget, "ladder_flops": 0.15 * budget}
                for (pretrain_seed, finetune_seed), value in by_seed.items():
                    record = make_record(objective, task, pretrain_seed, finetune_seed, value, rung=rung,
                                         **ladder, **record_options)
                    paths.append(write_record(results_dir, record))
    return paths


def seeds(*values: float, finetune_seed: int = 0) -> dict[tuple[int, int], float]:
    """Values for pretraining seeds 0, 1, 2, ... each finetuned once (pretraining seeds are the unit of
    every interval, so these cells get one)."""
    return {(i, finetune_seed): v for i, v in enumerate(values)}


def finetune_seeds(*values: float, pretrain_seed: int = 0) -> dict[tuple[int, int], float]:
    """Values for finetuning seeds 0, 1, 2, ... under one pretraining seed: a provisional cell, no interval."""
    return {(pretrain_seed, i): v for i, v in enumerate(values)}


def moderated_half_width(prior, sample_variance: float, seeds: int, confidence: float = 0.95) -> float:
    """Half-width of a board's interval over ``seeds`` pretraining seeds with sample variance ``sample_variance``
    between them, by the moderated t's formulas (Smyth 2004): variance (d0 s0^2 + d s^2) / (d0 + d) with
    d = seeds - 1, and Student's t with d0 + d degrees of freedom; ``prior`` is a ``moderation.NoisePrior``
    (s0^2 = ``variance``, d0 = ``dof``), as a board's ``priors`` hold them."""
    d = seeds - 1
    variance = (prior.dof * prior.variance + d * sample_variance) / (prior.dof + d)
    return float(scipy_stats.t.ppf(0.5 + confidence / 2, prior.dof + d)) * math.sqrt(variance / seeds)


# Three objectives, two tasks, 3 pretraining seeds x 1 finetuning seed: mlm clearly beats none,
# clm and mlm are undecided on topic (paired differences -0.01, +0.03, -0.02: the interval holds 0 and
# reaches past the tolerance of +-0.02) and clm loses clearly on the other task. On a board every interval
# is moderated toward its task's prior (``moderated_half_width``): e.g. every sentiment cell has std 0.01,
# so its prior is s0 = 0.01 and mlm's interval is 0.71 -+ t_{0.975,2+d0} * 0.01 / sqrt(3), about
# [0.693, 0.727], narrower than Student's t on its own two degrees of freedom ([0.685, 0.735]).
STANDARD = {
    "none": {"synthetic_topic": seeds(0.40, 0.42, 0.44), "sentiment": seeds(0.50, 0.51, 0.52)},
    "clm": {"synthetic_topic": seeds(0.79, 0.84, 0.78), "sentiment": seeds(0.60, 0.61, 0.62)},
    "mlm": {"synthetic_topic": seeds(0.80, 0.81, 0.80), "sentiment": seeds(0.70, 0.71, 0.72)},
}

# The same numbers from one pretraining run finetuned three times: every cell, verdict and rank is
# provisional (one pretraining run), with the finetuning spread as the only spread shown.
ONE_PRETRAINING_RUN = {
    objective: {task: finetune_seeds(*by_seed.values()) for task, by_seed in tasks.items()}
    for objective, tasks in STANDARD.items()
}

# A compute ladder: rungs 0.25, 0.5 and 1 of the budget, 2 pretraining seeds x 1 finetuning seed. Every
# paired difference below is d and d + e over the two seeds (sample variance e^2 / 2 on 1 degree of
# freedom), moderated toward the task's prior for differences, which every rung's pairs inform; most
# pairs have e = 0 or 0.01, so that prior is small and an e of 0.03 or more leaves a difference undecided.
# synthetic_topic, against none (0.40, 0.42):
#   clm +0.00/+0.03 at 0.25 (undecided: about [-0.03, +0.06]), +0.10/+0.11 at 0.5 (better), +0.20/+0.21 at 1:
#       clm first beats no pretraining at rung 0.5;
#   mlm +0.10/+0.10 at 0.25 (better: a narrow interval): mlm first beats no pretraining at rung 0.25.
# synthetic_topic, clm - mlm: -0.10/-0.07 at 0.25 (worse), -0.02/-0.01 at 0.5 (undecided: about
#   [-0.034, +0.004]), +0.07/+0.08 at 1 (better): clm overtakes mlm at rung 1; mlm, ahead from the first
#   rung, overtakes nothing.
# Trends on synthetic_topic: clm's means rise by 0.09 then 0.10 (seed 0 by 0.10 and 0.10, seed 1 by 0.08 and
#   0.10: slopes 0.332 and 0.299 per decade), mlm's by 0.02 then 0.01 on each seed (a zero-width interval);
#   R^2 is 0.999 (clm) and 0.964 (mlm): both fit.
# sentiment: clm at two rungs only (no trend: 3 needed): +0.02/+0.06 at 0.5 (undecided: about [-0.02, +0.10]),
#   +0.10/+0.10 at 1 (better).
LADDER = {
    "none": {"synthetic_topic": {None: seeds(0.40, 0.42)}, "sentiment": {None: seeds(0.50, 0.51)}},
    "clm": {"synthetic_topic": {0.25: seeds(0.40, 0.45), 0.5: seeds(0.50, 0.53), 1.0: seeds(0.60, 0.63)},
            "sentiment": {0.5: seeds(0.52, 0.57), 1.0: seeds(0.60, 0.61)}},
    "mlm": {"synthetic_topic": {0.25: seeds(0.50, 0.52), 0.5: seeds(0.52, 0.54), 1.0: seeds(0.53, 0.55)},
            "sentiment": {1.0: seeds(0.70, 0.71)}},
}


@pytest.fixture(scope="module", autouse=True)
def priors_from_few_cells():
    """Imported by a test module, for every test in it: its boards have 2-4 cells a task, fewer than a report
    fits a prior on (``MIN_PRIOR_CELLS``); here priors are fitted anyway, so that the moderated arithmetic can
    be checked by hand on small boards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stats_module, "MIN_PRIOR_CELLS", 2)
        yield
