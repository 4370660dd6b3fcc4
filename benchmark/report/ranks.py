"""Ranks that respect ties, T5's within-noise mark and the Pareto front of cost against score.

Two entries share a rank unless their intervals separate them; with one pretraining run
anywhere, ranks are the order of means and marked provisional.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from benchmark.report.stats import Spread

NOISE_SDS = 2.0  # T5 (Raffel et al. 2020, sec. 3.3): within 2 standard deviations of the best counts as equal


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
