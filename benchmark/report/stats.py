"""Numbers with their spread: bootstrap intervals, paired differences, tied ranks, Pareto fronts.

Everything here works on plain sequences of floats, so each rule can be checked by hand.
Intervals are 95% percentile-bootstrap intervals of the mean over runs (10,000 resamples,
a fixed random seed so that the same records always give the same report). With one run no
interval exists and every function here says so with ``None`` rather than inventing one.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy_stats

CONFIDENCE = 0.95
RESAMPLES = 10_000
BOOTSTRAP_SEED = 0  # fixed: a report is a pure function of its records
NOISE_SDS = 2.0  # T5 (Raffel et al. 2020, sec. 3.3): within 2 standard deviations of the best counts as equal


@dataclass(frozen=True)
class Spread:
    """Mean of ``n`` values, their sample standard deviation and a bootstrap interval of the mean."""

    mean: float
    std: float | None  # None for a single value: no spread can be measured
    ci_low: float | None
    ci_high: float | None
    n: int

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None

    @property
    def interval(self) -> tuple[float, float]:
        """The interval, or the mean itself as a zero-width interval where none can be given."""
        return (self.ci_low, self.ci_high) if self.has_interval else (self.mean, self.mean)


def bootstrap_interval(values: Sequence[float]) -> tuple[float, float] | None:
    """95% percentile-bootstrap interval of the mean; ``None`` for fewer than two values."""
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return None
    if np.all(data == data[0]):
        return float(data[0]), float(data[0])
    result = _scipy_stats.bootstrap((data,), np.mean, confidence_level=CONFIDENCE, n_resamples=RESAMPLES,
                                    method="percentile", rng=np.random.default_rng(BOOTSTRAP_SEED))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def spread(values: Sequence[float]) -> Spread:
    """Mean, sample standard deviation (ddof=1) and bootstrap interval of ``values``."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("spread of no values")
    interval = bootstrap_interval(data)
    std = float(np.std(data, ddof=1)) if data.size > 1 else None
    low, high = interval if interval else (None, None)
    return Spread(float(np.mean(data)), std, low, high, int(data.size))


@dataclass(frozen=True)
class Paired:
    """``candidate - reference`` over runs that share (pretraining seed, finetuning seed)."""

    pairs: int
    unpaired: int  # runs on either side with no partner
    difference: Spread | None  # None when nothing could be paired
    significant: bool | None  # the interval excludes 0; None when there is no interval

    def verdict(self, higher_is_better: bool = True, against: str = "the reference") -> str:
        """One phrase a reader can act on; ``against`` names what the candidate was compared with."""
        if self.difference is None:
            return "not pairable: no shared (pretraining seed, finetuning seed)"
        if self.significant is None:
            return "one pair: no interval, no verdict"
        if not self.significant:
            return "no significant difference"
        better = (self.difference.mean > 0) == higher_is_better
        return f"{'better' if better else 'worse'} than {against}"


def paired_difference(candidate: Mapping[Hashable, float], reference: Mapping[Hashable, float]) -> Paired:
    """Pair runs by key (``(pretrain_seed, finetune_seed)``) and bootstrap the mean difference.

    Pairing removes what both runs share (the data order of a pretraining seed, the batch order
    of a finetuning seed), so a paired interval is narrower than comparing two means.
    """
    shared = sorted(set(candidate) & set(reference), key=repr)
    unpaired = len(set(candidate) ^ set(reference))
    if not shared:
        return Paired(0, unpaired, None, None)
    difference = spread([candidate[k] - reference[k] for k in shared])
    significant = None
    if difference.has_interval:
        significant = not (difference.ci_low <= 0.0 <= difference.ci_high)
    return Paired(len(shared), unpaired, difference, significant)


def intervals_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


@dataclass(frozen=True)
class Placing:
    rank: int  # 1 + the number of entries better beyond doubt (1, 1, 3, ...)
    tier: int  # the rank's place among the distinct ranks (1, 1, 2, ...)


def clearly_better(a: Spread, b: Spread, higher_is_better: bool = True) -> bool:
    """``a`` beats ``b`` beyond doubt: their intervals do not overlap and ``a`` is on the better side."""
    if intervals_overlap(a.interval, b.interval):
        return False
    return (a.mean > b.mean) == higher_is_better


def tiered_ranks(entries: Mapping[Hashable, Spread], higher_is_better: bool = True) -> dict[Hashable, Placing]:
    """Ranks that respect ties: rank = 1 + the number of entries whose interval lies wholly beyond this one's.

    Entries that no interval separates share a rank, whatever their order of means, and the
    rule does not depend on the order entries are listed in. An entry with one run counts as
    the zero-width interval at its mean, so with single seeds only exactly equal means tie.
    Tiers number the distinct ranks: ranks 1, 1, 3 are tiers 1, 1, 2.
    """
    ranks = {k: 1 + sum(clearly_better(entries[j], s, higher_is_better) for j in entries if j != k)
             for k, s in entries.items()}
    tiers = {rank: i + 1 for i, rank in enumerate(sorted(set(ranks.values())))}
    return {k: Placing(rank=r, tier=tiers[r]) for k, r in ranks.items()}


def pooled_std(entries: Sequence[Spread]) -> float | None:
    """The noise floor of one task: standard deviations pooled over every entry with two or more runs."""
    dof = sum(s.n - 1 for s in entries if s.std is not None)
    if dof == 0:
        return None
    return math.sqrt(sum((s.n - 1) * s.std**2 for s in entries if s.std is not None) / dof)


def within_noise_of_best(entries: Mapping[Hashable, Spread], higher_is_better: bool = True,
                         sds: float = NOISE_SDS) -> tuple[set, float | None]:
    """Entries whose mean is within ``sds`` pooled standard deviations of the best mean (T5's marking).

    Returns the marked keys and the pooled standard deviation used; with no spread anywhere
    (single seeds) only the best itself is marked and the deviation is ``None``.
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
