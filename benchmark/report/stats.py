"""Numbers with their spread over pretraining runs: a cell's mean and interval, the pretraining seed as the unit.

A run's score has two sources of noise: the pretraining run (its seed, and in effect the
machine's kernels and precision, which change the same weights the way a seed does) and the
finetuning run on top of it. Runs that share a pretraining seed are a cluster, and what a
reader wants to know ("is this objective better?") is a statement about pretraining runs, so
the pretraining seed is the unit: each pretraining seed's runs are first averaged over their
finetuning seeds, and intervals are over those per-seed means. A cell's variance between seeds
is moderated toward its task's prior where one was fitted (moderation.py); paired differences
and their four verdicts are in verdicts.py, ranks that respect ties in ranks.py.

With one pretraining seed a cell has no interval of its own: it keeps its mean and its
finetuning spread, and every verdict, rank and tie built on it is *provisional (one
pretraining run)*. Everything is a pure function of its inputs, so the same records always
give the same report.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as _scipy_stats

from benchmark.report.moderation import NoisePrior

CONFIDENCE = 0.95
PROVISIONAL = "provisional (one pretraining run)"
METHOD = ("95% moderated-t intervals over pretraining seeds (Smyth 2004): each pretraining seed's runs are first "
          "averaged over their finetuning seeds, and each cell's variance between seeds is shrunk toward its task's, "
          "fitted over every cell of the task")

Seeds = tuple[int, int]  # (pretraining seed, finetuning seed)


@dataclass(frozen=True)
class Spread:
    """A cell's mean and spread, with the pretraining seed as the unit.

    ``mean`` is the mean over pretraining seeds of each seed's mean over its finetuning runs;
    ``std`` the standard deviation of one seed's mean (moderated toward the task's prior where
    there is one, else the sample's, ddof=1); ``ci_low``/``ci_high`` the t-interval of the mean
    with ``dof`` degrees of freedom. With one pretraining seed all spread fields are ``None``
    and ``finetune_std`` (runs around their own seed's mean, pooled) is the only spread there is.
    """

    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None
    n: int  # runs
    pretrain_seeds: int
    finetune_std: float | None = None
    dof: float | None = None  # the interval's degrees of freedom: seeds - 1, plus the prior's
    sample_std: float | None = None  # the cell's own standard deviation between seeds, before moderation

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None

    @property
    def provisional(self) -> bool:
        """One pretraining run: what this cell says about the objective cannot be told from luck."""
        return self.pretrain_seeds < 2

    @property
    def interval(self) -> tuple[float, float]:
        """The interval, or the mean itself as a zero-width interval where none can be given."""
        return (self.ci_low, self.ci_high) if self.has_interval else (self.mean, self.mean)


def within_range(spread: Spread, low: float, high: float) -> Spread:
    """``spread`` with its interval cut to the values the quantity can take (a 0..1 metric's mean is
    never below 0): few pretraining seeds give t-intervals wider than the range, and the part
    outside it holds no possible truth, so coverage is unchanged."""
    if not spread.has_interval:
        return spread
    return replace(spread, ci_low=max(spread.ci_low, low), ci_high=min(spread.ci_high, high))


def t_quantile(dof: float, confidence: float = CONFIDENCE) -> float:
    return float(_scipy_stats.t.ppf(0.5 + confidence / 2, dof))


def t_interval(values: Sequence[float], prior: NoisePrior | None = None,
               confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Interval of the mean of ``values`` (one per pretraining seed): Student's t on their own variance, or
    moderated toward ``prior``; ``None`` for fewer than two values."""
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return None
    mean = float(data.mean())
    variance, dof = float(data.var(ddof=1)), data.size - 1
    if prior is not None:
        variance, dof = prior.moderate(variance, dof)
    half = t_quantile(dof, confidence) * math.sqrt(variance / data.size)
    return mean - half, mean + half


def rerun_interval(mean: float, std: float | None, seeds: int, rerun_seeds: int,
                   dof: float | None = None) -> tuple[float, float] | None:
    """95% prediction interval for the mean a rerun on ``rerun_seeds`` other pretraining seeds will show.

    A 95% confidence interval holds the *true* mean 95% of the time, but a rerun's mean only
    about 83% of the time (Cumming & Maillardet 2006), since the rerun has its own noise. This
    interval adds it: Student's t with ``dof`` degrees of freedom (``seeds - 1`` unmoderated)
    times ``std * sqrt(1/seeds + 1/rerun_seeds)``. ``None`` with fewer than two seeds.
    """
    if std is None or seeds < 2 or rerun_seeds < 1 or math.isnan(std):
        return None
    dof = seeds - 1 if dof is None or math.isnan(dof) else dof
    half = t_quantile(dof) * std * math.sqrt(1 / seeds + 1 / rerun_seeds)
    return mean - half, mean + half


def cluster_means(values: Mapping[Seeds, float]) -> dict[int, float]:
    """Each pretraining seed's mean over its finetuning seeds."""
    clusters: dict[int, list[float]] = defaultdict(list)
    for (pretrain_seed, _), value in values.items():
        clusters[pretrain_seed].append(float(value))
    return {seed: float(np.mean(runs)) for seed, runs in sorted(clusters.items())}


def seed_variance(values: Mapping[Seeds, float]) -> tuple[float | None, int]:
    """(sample variance between pretraining seeds' means, its degrees of freedom): what a cell adds to its task's
    prior."""
    per_seed = list(cluster_means(values).values())
    if len(per_seed) < 2:
        return None, 0
    return float(np.var(per_seed, ddof=1)), len(per_seed) - 1


def _finetune_std(values: Mapping[Seeds, float], means: Mapping[int, float]) -> float | None:
    """Standard deviation of runs around their own pretraining seed's mean, pooled over seeds."""
    dof = len(values) - len(means)
    if dof <= 0:
        return None
    squares = sum((float(v) - means[p]) ** 2 for (p, _), v in values.items())
    return math.sqrt(squares / dof)


def two_level(values: Mapping[Seeds, float], prior: NoisePrior | None = None,
              confidence: float = CONFIDENCE) -> Spread:
    """The spread of runs keyed by (pretraining seed, finetuning seed), pretraining seed as the unit,
    its variance moderated toward ``prior`` (the task's) where one is given."""
    if not values:
        raise ValueError("spread of no values")
    means = cluster_means(values)
    per_seed = np.asarray(list(means.values()), dtype=float)
    mean, k = float(per_seed.mean()), per_seed.size
    finetune_std = _finetune_std(values, means)
    if k < 2:
        return Spread(mean, None, None, None, len(values), k, finetune_std)
    variance, dof = float(per_seed.var(ddof=1)), float(k - 1)
    sample_std = math.sqrt(variance)
    if prior is not None:
        variance, dof = prior.moderate(variance, k - 1)
    half = t_quantile(dof, confidence) * math.sqrt(variance / k)
    return Spread(mean, math.sqrt(variance), mean - half, mean + half, len(values), k, finetune_std, dof, sample_std)


def welch_difference(current: Sequence[float], baseline: Sequence[float]) -> tuple[float, float, float] | None:
    """(mean difference, 95% interval) of ``current - baseline`` for two independent sets of
    per-pretraining-seed means (Welch's t, Satterthwaite's degrees of freedom); ``None`` unless
    each side has two or more."""
    a, b = np.asarray(current, dtype=float), np.asarray(baseline, dtype=float)
    if a.size < 2 or b.size < 2:
        return None
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0.0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(_scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, dof)) * se
    return diff, diff - half, diff + half
