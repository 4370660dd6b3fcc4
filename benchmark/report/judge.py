"""How one task's numbers are judged: a cell's spread and a paired difference, under the task's noise and tolerance."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats as _scipy_stats

from benchmark.report import bootstrap
from benchmark.report.metrics import MetricSpec
from benchmark.report.noise import TaskNoise
from benchmark.report.runs import by_seed, deterministic, test_items
from benchmark.report.stats import CONFIDENCE, Spread, two_level, within_range
from benchmark.report.verdicts import Paired, paired_difference


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


def paired_fields(candidate: pd.DataFrame, other: pd.DataFrame, column: str, judge: Judge, against: str) -> dict:
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
