"""Paired differences between cells and the four verdicts they reach.

A paired difference is *better* or *worse* when its interval excludes 0, *equivalent* when it
lies inside +-delta (the task's tolerance, TOST in interval form, Schuirmann 1987), else
*undecided*; an undecided one carries a power estimate of the pretraining seeds that would
decide it. With one pretraining seed a difference has no interval, and its verdict is
*provisional*.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from scipy import stats as _scipy_stats

from benchmark.report.moderation import NoisePrior
from benchmark.report.stats import CONFIDENCE, PROVISIONAL, Seeds, Spread, t_quantile, two_level

POWER = 0.8  # what a seeds-needed estimate aims for
VERDICTS = ("better", "worse", "equivalent", "undecided")  # what a judged paired difference can say


def seeds_to_decide(difference: Spread, tolerance: float | None, prior: NoisePrior | None = None,
                    confidence: float = CONFIDENCE, power: float = POWER, most: int = 64) -> int | None:
    """A power estimate: the pretraining seeds at which a paired difference as large as the one observed,
    with the variance observed, would be decided (its interval clear of 0, or inside +-``tolerance``) with
    probability ``power``. ``None`` when even ``most`` seeds would not; an estimate, not a promise: the
    observed effect of a few seeds is itself noisy."""
    if difference.std is None or difference.std == 0:
        return None
    effect, sd = abs(difference.mean), difference.std
    z_power = float(_scipy_stats.norm.ppf(power))
    for seeds in range(max(difference.pretrain_seeds, 2), most + 1):
        dof = (prior.dof if prior else 0.0) + seeds - 1
        half = (t_quantile(dof, confidence) + z_power) * sd / math.sqrt(seeds)
        if half < effect or (tolerance and half < tolerance - effect):
            return seeds
    return None


@dataclass(frozen=True)
class Paired:
    """``candidate - reference`` over runs that share (pretraining seed, finetuning seed).

    ``tolerance`` is the task's delta: a difference whose interval lies inside +-delta is
    *equivalent*. ``seeds_needed`` is the power estimate for an undecided one.
    """

    pairs: int
    unpaired: int  # runs on either side with no partner
    difference: Spread | None  # None when nothing could be paired
    significant: bool | None  # the interval excludes 0; None when there is no interval
    tolerance: float | None = None
    seeds_needed: int | None = None

    @property
    def equivalent(self) -> bool:
        d = self.difference
        return bool(d is not None and d.has_interval and self.tolerance is not None
                    and -self.tolerance <= d.ci_low and d.ci_high <= self.tolerance)

    def direction(self, higher_is_better: bool = True) -> str:
        """'better', 'worse', 'equivalent', 'undecided', 'provisional' or 'unpaired'."""
        if self.difference is None:
            return "unpaired"
        if self.significant is None:
            return "provisional"
        if self.significant:
            return "better" if (self.difference.mean > 0) == higher_is_better else "worse"
        return "equivalent" if self.equivalent else "undecided"

    def verdict(self, higher_is_better: bool = True, against: str = "the reference") -> str:
        """One phrase a reader can act on; ``against`` names what the candidate was compared with."""
        direction = self.direction(higher_is_better)
        if direction == "unpaired":
            return "not pairable: no shared (pretraining seed, finetuning seed)"
        if direction == "provisional":
            return PROVISIONAL
        if direction == "equivalent":
            return f"equivalent to {against} (within ±{self.tolerance:.3g})"
        if direction == "undecided":
            needed = (f"≈{self.seeds_needed} pretraining seeds would decide it (power estimate)"
                      if self.seeds_needed else "more seeds than a suite runs would be needed (power estimate)")
            return f"undecided: {needed}"
        return f"{direction} than {against}"


def paired_difference(candidate: Mapping[Seeds, float], reference: Mapping[Seeds, float],
                      prior: NoisePrior | None = None, tolerance: float | None = None,
                      confidence: float = CONFIDENCE) -> Paired:
    """Pair runs by (pretraining seed, finetuning seed), then take the two-level spread of the differences.

    Pairing removes what both runs share (the data order of a pretraining seed, the batch order
    of a finetuning seed); the interval is still over pretraining seeds, so a difference that
    one pretraining run happened to show is not called significant. ``prior`` is the task's
    prior for *differences* (``noise.task_priors``: fitted on the per-seed differences of every
    pair of the task's cells), not its cells' prior: where cells' variances differ, a difference
    carries its noisier side's, and a prior of twice a cell's variance undercovered in the
    simulations (its harmonic scale is below that of a sum of two variances).
    """
    shared = sorted(set(candidate) & set(reference))
    unpaired = len(set(candidate) ^ set(reference))
    if not shared:
        return Paired(0, unpaired, None, None, tolerance)
    difference = two_level({k: candidate[k] - reference[k] for k in shared}, prior, confidence)
    significant = None
    if difference.has_interval:
        significant = not (difference.ci_low <= 0.0 <= difference.ci_high)
    paired = Paired(len(shared), unpaired, difference, significant, tolerance)
    if paired.direction() == "undecided":
        paired = replace(paired, seeds_needed=seeds_to_decide(difference, tolerance, prior, confidence))
    return paired
