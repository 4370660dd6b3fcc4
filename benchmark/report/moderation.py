"""Variance that borrows strength: each task's empirical-Bayes prior on its cells' variance between pretraining seeds.

**Moderated t (Smyth 2004).** With the 2-4 pretraining seeds a suite can afford, a cell's own
variance has 1-3 degrees of freedom: Student's t over two seeds is 12.7 standard errors wide,
and two seeds that happen to agree give a zero-width interval. Every cell of a task measures
the same kind of noise (one metric, one test set, one recipe), so each task gets an
empirical-Bayes prior on its between-seed variance, ``s0^2`` with ``d0`` degrees of freedom,
fitted by maximum likelihood over every neural cell of the task (every objective, every rung of
a compute ladder): a cell's sample variance ``s^2`` with ``d`` degrees of freedom is then
``s0^2 F(d, d0)``. A cell's moderated variance is ``(d0 s0^2 + d s^2) / (d0 + d)`` and its
interval is Student's t with ``d0 + d`` degrees of freedom. ``d0`` is fitted, not chosen: where
variances really differ between cells (the records show sample SDs 10x apart on one task) it
comes out small and each cell keeps most of its own variance; where they agree it is large and
the task's noise floor decides, as T5's pooled sigma did (Raffel et al. 2020, sec. 3.3). Two
guards keep it calibrated with one or two degrees of freedom a cell, where the
maximum-likelihood ``d0`` runs high: ``d0`` is the lower end of its one-sided 95%
profile-likelihood interval, and never more than the degrees of freedom of the task's own cells
(a pooled variance over D degrees of freedom is worth D). Each task is fitted apart: a ``d0``
shared by tasks, each with its own ``s0^2``, came out biased high (every task's scale fitted
from a handful of cells) and undercovered in the simulations. Why this and not T5's pooled
sigma: pooling assumes one variance per task and, where that fails, gives the noisiest cell an
interval far too narrow; the moderated t shrinks only as far as the cells' spread allows. Why
not a mixed model: with 2 seeds a cell, a REML fit per task has too few cells to estimate the
variance of variances, which is exactly what ``d0`` is.
``tests/test_moderated_stats.py`` checks coverage by simulation (heterogeneous variances,
ceilings, discrete metrics on a few hundred test items; 2, 3 and 4 seeds).

A cell whose every run sits at the metric's bound (1.000 on every seed) says nothing about
the noise and is left out of the fit; it still gets the prior's width, so no interval is
zero-width because two seeds happened to agree. Sample variances below the metric's
resolution (a thousandth of its range) enter the fit as censored, not as zeros.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize as _optimize
from scipy import special as _special
from scipy import stats as _scipy_stats

RESOLUTION_SHARE = 1e-3  # sample SDs below this share of a metric's range are censored in the prior's fit
DOF_BOUNDS = (1.0, 1e4)  # d0 within these: below one degree of freedom a prior says nothing; 1e4 is one variance
DOF_LOWER_LEVEL = 0.95  # d0 is the lower end of its one-sided interval at this level (see fit_priors)
MIN_PRIOR_CELLS = 5  # fewer cells cannot tell their spread apart: 2-3 gave 6-12% false verdicts


@dataclass(frozen=True)
class NoisePrior:
    """An empirical-Bayes prior on the variance between pretraining seeds of one task's cells.

    ``variance`` is ``s0^2``, the typical variance of a pretraining seed's mean; ``dof`` is
    ``d0``, the degrees of freedom that knowledge is worth (large: every cell of the task shares
    one variance; small: cells differ and each keeps its own). ``cells`` counts the variances
    it was fitted on.
    """

    variance: float
    dof: float
    cells: int = 0

    def scaled(self, factor: float) -> NoisePrior:
        """The prior of a quantity whose variance is ``factor`` times a cell's (a paired difference: 2)."""
        return replace(self, variance=self.variance * factor)

    def moderate(self, variance: float | None, dof: int) -> tuple[float, float]:
        """(moderated variance, degrees of freedom) of a sample variance with ``dof`` degrees of freedom."""
        own = 0.0 if variance is None or dof == 0 else variance
        return (self.dof * self.variance + dof * own) / (self.dof + dof), self.dof + dof


def _neg_loglik(variances: np.ndarray, dofs: np.ndarray, censored: np.ndarray, floor: np.ndarray,
                log_s0: float, log_d0: float) -> float:
    """Minus the log-likelihood of sample variances ``s^2 ~ s0^2 F(d, d0)``, censored ones at ``floor``
    (the F density and distribution written out with scipy.special: the fit calls this thousands of times)."""
    d0 = math.exp(log_d0)
    total = 0.0
    seen = ~censored
    if seen.any():
        x, d = variances[seen] / math.exp(log_s0), dofs[seen]
        total += float(np.sum(0.5 * d * np.log(d / d0) + (0.5 * d - 1.0) * np.log(x)
                              - 0.5 * (d + d0) * np.log1p(d * x / d0) - _special.betaln(0.5 * d, 0.5 * d0) - log_s0))
    if censored.any():
        cdf = _special.fdtr(dofs[censored], d0, floor[censored] / math.exp(log_s0))
        total += float(np.sum(np.log(np.maximum(cdf, 1e-300))))
    return -total


def fit_priors(samples: Mapping[Hashable, Sequence[tuple[float, int, float]]],
               lower_level: float | None = None) -> dict[Hashable, NoisePrior]:
    """One prior per group (task) from its cells' ``(sample variance, dof, resolution)``.

    Maximum likelihood of ``s^2 / s0^2 ~ F(d, d0)``, each group on its own; a sample variance
    below ``resolution^2`` is censored there, and ``s0^2`` is never below it. ``d0`` is then
    lowered to the bottom of its one-sided profile-likelihood interval and capped at the group's
    degrees of freedom (see the module's docstring). A group with fewer than ``MIN_PRIOR_CELLS``
    sample variances gets no prior: its cells keep Student's t on their own variance.
    """
    priors = {}
    for key, cells in samples.items():
        cells = [(v, d, r) for v, d, r in cells if d >= 1 and v is not None and not math.isnan(v)]
        if len(cells) < MIN_PRIOR_CELLS:
            continue
        v, d, r = (np.asarray(c, dtype=float) for c in zip(*cells))
        floor = np.maximum(r, 1e-300) ** 2
        group = (np.maximum(v, 0.0), d, v < floor, floor)
        d0 = _fit_dof(group, DOF_LOWER_LEVEL if lower_level is None else lower_level)
        # never below the resolution: where every seed of every cell agreed, the data say only that the
        # variance is smaller than what the metric resolves, not that it is zero
        variance = max(math.exp(_best_scale(group, math.log(d0))[0]), float(floor.max()))
        priors[key] = NoisePrior(variance, min(d0, float(d.sum())), len(v))
    return priors


def _best_scale(group, log_d0: float) -> tuple[float, float]:
    """(log s0^2, negative log-likelihood) of a group at a given ``d0``."""
    v, d, censored, floor = group
    anchor = math.log(max(float(np.mean(np.maximum(v, floor))), 1e-300))
    res = _optimize.minimize_scalar(lambda ls: _neg_loglik(v, d, censored, floor, ls, log_d0),
                                    bounds=(anchor - 12, anchor + 6), method="bounded", options={"xatol": 1e-5})
    return float(res.x), float(res.fun)


def _fit_dof(group, lower_level: float) -> float:
    """``d0``: the lower end of its one-sided profile-likelihood interval at ``DOF_LOWER_LEVEL``. With one or
    two degrees of freedom a cell, heterogeneity is hard to see and the maximum-likelihood ``d0`` runs high;
    cells are pooled only as far as the data rule out that their variances differ."""
    def profile(log_d0: float) -> float:
        return _best_scale(group, log_d0)[1]

    lo, hi = (math.log(b) for b in DOF_BOUNDS)
    fit = _optimize.minimize_scalar(profile, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    log_d0, best = (float(fit.x), float(fit.fun)) if fit.fun <= profile(hi) else (hi, profile(hi))
    rise = float(_scipy_stats.chi2.ppf(2 * lower_level - 1, 1)) / 2
    if profile(lo) - best <= rise:
        return math.exp(lo)
    return math.exp(float(_optimize.brentq(lambda x: profile(x) - best - rise, lo, log_d0, xtol=1e-4)))
