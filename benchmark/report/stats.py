"""Numbers with their spread over pretraining runs: two-level intervals, paired differences, tied ranks.

A run's score has two sources of noise: the pretraining run (its seed, and in effect the
machine's kernels and precision, which change the same weights the way a seed does) and the
finetuning run on top of it. Runs that share a pretraining seed are a cluster, and what a
reader wants to know ("is this objective better?") is a statement about pretraining runs, so
every interval here treats the pretraining seed as the unit:

1. each pretraining seed's runs are averaged over their finetuning seeds (the second level);
2. the interval is Student's t over those per-pretraining-seed means, with ``k - 1`` degrees
   of freedom for ``k`` seeds (the first level).

Why not the percentile bootstrap over clusters: with the 2-3 pretraining seeds a suite can
afford, resampling clusters can only return the observed means, so its 95% interval is their
range, which holds the truth 50% (two seeds) or 75% (three seeds) of the time. The t-interval
over cluster means is exact for normal seed effects and holds 95% at any number of seeds, at
the price of being wide when seeds are few (t = 12.7 for two seeds, 4.3 for three), which is
the honest width: two pretraining runs cannot settle a small difference. ``tests/test_two_level_stats.py``
checks both claims by simulation. Pooling the runs instead (one-level) would treat finetuning
runs of one checkpoint as independent draws and give intervals far too narrow.

With one pretraining seed there is no interval: the cell keeps its mean and its finetuning
spread, and every verdict, rank and tie built on it is *provisional (one pretraining run)*.
Everything is a pure function of its inputs, so the same records always give the same report.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as _scipy_stats

CONFIDENCE = 0.95
NOISE_SDS = 2.0  # T5 (Raffel et al. 2020, sec. 3.3): within 2 standard deviations of the best counts as equal
PROVISIONAL = "provisional (one pretraining run)"
METHOD = ("95% Student-t intervals over pretraining seeds: each pretraining seed's runs are first averaged over "
          "their finetuning seeds")

Seeds = tuple[int, int]  # (pretraining seed, finetuning seed)


@dataclass(frozen=True)
class Spread:
    """A cell's mean and spread, with the pretraining seed as the unit.

    ``mean`` is the mean over pretraining seeds of each seed's mean over its finetuning runs;
    ``std`` the standard deviation (ddof=1) of those per-seed means; ``ci_low``/``ci_high`` the
    t-interval of the mean. With one pretraining seed all three spread fields are ``None`` and
    ``finetune_std`` (runs around their own seed's mean, pooled) is the only spread there is.
    """

    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None
    n: int  # runs
    pretrain_seeds: int
    finetune_std: float | None = None

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


def t_interval(values: Sequence[float]) -> tuple[float, float] | None:
    """95% Student-t interval of the mean of ``values``; ``None`` for fewer than two values."""
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return None
    mean = float(data.mean())
    sem = float(data.std(ddof=1)) / math.sqrt(data.size)
    if sem == 0.0:
        return mean, mean
    half = float(_scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, data.size - 1)) * sem
    return mean - half, mean + half


def rerun_interval(mean: float, std: float | None, seeds: int, rerun_seeds: int) -> tuple[float, float] | None:
    """95% prediction interval for the mean a rerun on ``rerun_seeds`` other pretraining seeds will show.

    A 95% confidence interval holds the *true* mean 95% of the time, but a rerun's mean only
    about 83% of the time (Cumming & Maillardet 2006), since the rerun has its own noise. This
    interval adds it: Student's t with ``seeds - 1`` degrees of freedom times
    ``std * sqrt(1/seeds + 1/rerun_seeds)``. ``None`` with fewer than two seeds.
    """
    if std is None or seeds < 2 or rerun_seeds < 1 or math.isnan(std):
        return None
    half = float(_scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, seeds - 1)) * std * math.sqrt(1 / seeds + 1 / rerun_seeds)
    return mean - half, mean + half


def cluster_means(values: Mapping[Seeds, float]) -> dict[int, float]:
    """Each pretraining seed's mean over its finetuning seeds."""
    clusters: dict[int, list[float]] = defaultdict(list)
    for (pretrain_seed, _), value in values.items():
        clusters[pretrain_seed].append(float(value))
    return {seed: float(np.mean(runs)) for seed, runs in sorted(clusters.items())}


def _finetune_std(values: Mapping[Seeds, float], means: Mapping[int, float]) -> float | None:
    """Standard deviation of runs around their own pretraining seed's mean, pooled over seeds."""
    dof = len(values) - len(means)
    if dof <= 0:
        return None
    squares = sum((float(v) - means[p]) ** 2 for (p, _), v in values.items())
    return math.sqrt(squares / dof)


def two_level(values: Mapping[Seeds, float]) -> Spread:
    """The spread of runs keyed by (pretraining seed, finetuning seed), pretraining seed as the unit."""
    if not values:
        raise ValueError("spread of no values")
    means = cluster_means(values)
    per_seed = list(means.values())
    interval = t_interval(per_seed)
    low, high = interval if interval else (None, None)
    std = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else None
    return Spread(float(np.mean(per_seed)), std, low, high, len(values), len(per_seed), _finetune_std(values, means))


@dataclass(frozen=True)
class Paired:
    """``candidate - reference`` over runs that share (pretraining seed, finetuning seed)."""

    pairs: int
    unpaired: int  # runs on either side with no partner
    difference: Spread | None  # None when nothing could be paired
    significant: bool | None  # the interval excludes 0; None when there is no interval

    def direction(self, higher_is_better: bool = True) -> str:
        """'better', 'worse', 'tie' (no significant difference), 'provisional' or 'unpaired'."""
        if self.difference is None:
            return "unpaired"
        if self.significant is None:
            return "provisional"
        if not self.significant:
            return "tie"
        return "better" if (self.difference.mean > 0) == higher_is_better else "worse"

    def verdict(self, higher_is_better: bool = True, against: str = "the reference") -> str:
        """One phrase a reader can act on; ``against`` names what the candidate was compared with."""
        direction = self.direction(higher_is_better)
        if direction == "unpaired":
            return "not pairable: no shared (pretraining seed, finetuning seed)"
        if direction == "provisional":
            return PROVISIONAL
        if direction == "tie":
            return "no significant difference"
        return f"{direction} than {against}"


def paired_difference(candidate: Mapping[Seeds, float], reference: Mapping[Seeds, float]) -> Paired:
    """Pair runs by (pretraining seed, finetuning seed), then take the two-level spread of the differences.

    Pairing removes what both runs share (the data order of a pretraining seed, the batch order
    of a finetuning seed); the interval is still over pretraining seeds, so a difference that
    one pretraining run happened to show is not called significant.
    """
    shared = sorted(set(candidate) & set(reference))
    unpaired = len(set(candidate) ^ set(reference))
    if not shared:
        return Paired(0, unpaired, None, None)
    difference = two_level({k: candidate[k] - reference[k] for k in shared})
    significant = None
    if difference.has_interval:
        significant = not (difference.ci_low <= 0.0 <= difference.ci_high)
    return Paired(len(shared), unpaired, difference, significant)


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


def intervals_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


@dataclass(frozen=True)
class Placing:
    rank: int  # 1 + the number of entries better beyond doubt (1, 1, 3, ...)
    tier: int  # the rank's place among the distinct ranks (1, 1, 2, ...)
    provisional: bool = False  # some entry had one pretraining run: the order of means, not a finding


def clearly_better(a: Spread, b: Spread, higher_is_better: bool = True) -> bool:
    """``a`` beats ``b`` beyond doubt: their intervals do not overlap and ``a`` is on the better side."""
    if intervals_overlap(a.interval, b.interval):
        return False
    return (a.mean > b.mean) == higher_is_better


def tiered_ranks(entries: Mapping[Hashable, Spread], higher_is_better: bool = True) -> dict[Hashable, Placing]:
    """Ranks that respect ties: rank = 1 + the number of entries whose interval lies wholly beyond this one's.

    Entries that no interval separates share a rank, whatever their order of means, and the
    rule does not depend on the order entries are listed in. Where any entry has one
    pretraining run, its interval is the zero-width one at its mean, so the ranks are the
    order of means, and every placing is marked provisional.
    Tiers number the distinct ranks: ranks 1, 1, 3 are tiers 1, 1, 2.
    """
    provisional = any(s.provisional for s in entries.values())
    ranks = {k: 1 + sum(clearly_better(entries[j], s, higher_is_better) for j in entries if j != k)
             for k, s in entries.items()}
    tiers = {rank: i + 1 for i, rank in enumerate(sorted(set(ranks.values())))}
    return {k: Placing(rank=r, tier=tiers[r], provisional=provisional) for k, r in ranks.items()}


def pooled_std(entries: Sequence[Spread]) -> float | None:
    """The noise floor of one task: the between-pretraining-seed standard deviations, pooled over entries."""
    dof = sum(s.pretrain_seeds - 1 for s in entries if s.std is not None)
    if dof == 0:
        return None
    return math.sqrt(sum((s.pretrain_seeds - 1) * s.std**2 for s in entries if s.std is not None) / dof)


def within_noise_of_best(entries: Mapping[Hashable, Spread], higher_is_better: bool = True,
                         sds: float = NOISE_SDS) -> tuple[set, float | None]:
    """Entries whose mean is within ``sds`` pooled standard deviations of the best mean (T5's marking).

    The deviation is that between pretraining seeds (T5 measured its noise floor over ten
    pretraining runs). Returns the marked keys and the deviation; with one pretraining seed
    everywhere only the best itself is marked and the deviation is ``None``.
    """
    if not entries:
        return set(), None
    best = (max if higher_is_better else min)(s.mean for s in entries.values())
    noise = pooled_std(list(entries.values()))
    margin = sds * noise if noise is not None else 0.0
    marked = {k for k, s in entries.items() if abs(best - s.mean) <= margin + 1e-12}
    return marked, noise


def pareto_front(points: Mapping[Hashable, tuple[float, float]], higher_is_better: bool = True) -> set:
    """Keys of (cost, score) points that no other point beats on both: cheaper or equal and better or equal."""
    def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
        better_or_equal = a[1] >= b[1] if higher_is_better else a[1] <= b[1]
        strictly = a[0] < b[0] or (a[1] > b[1] if higher_is_better else a[1] < b[1])
        return a[0] <= b[0] and better_or_equal and strictly

    return {k for k, p in points.items() if not any(dominates(q, p) for j, q in points.items() if j != k)}
