"""Simulated reports whose truth is known, for the statistics' coverage and false-verdict tests.

A board is a few tasks, each with the shape of a real suite's (15 cells on a laddered task, 4-5
on the others). Every cell has its own true standard deviation between pretraining seeds, drawn
log-uniform over a ``spread``-fold range around the task's own level (the records show sample
standard deviations 10x apart on one task). Optionally the scores are what a metric on a few
hundred test items gives (a binomial draw around the seed's true accuracy), and some cells sit
at the ceiling (true accuracy 0.985-1.0, clipped at 1), so that both seeds often read 1.000.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as st

from benchmark.report.moderation import RESOLUTION_SHARE, fit_priors
from benchmark.report.noise import PAIR_DOF_SHARE

CELLS = (15, 15, 5, 4)


def clipped_mean(mu: float, sd: float) -> float:
    """E[clip(mu + sd Z, 0, 1)]: the true mean of a score that cannot leave 0..1."""
    a, b = (0 - mu) / sd, (1 - mu) / sd
    return float(mu * (st.norm.cdf(b) - st.norm.cdf(a)) + sd * (st.norm.pdf(a) - st.norm.pdf(b))
                 + (1 - st.norm.cdf(b)))


def true_cells(rng: np.random.Generator, cells: int, spread: float, ceilings: bool,
               mean: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(true means, true seed SDs) of one task's cells; ``mean`` gives them all one mean (no effect)."""
    level = rng.uniform(0.01, 0.06)
    sds = level * np.exp(rng.uniform(-0.5, 0.5, cells) * math.log(spread))
    mus = np.full(cells, mean) if mean is not None else rng.uniform(0.3, 0.7, cells)
    if ceilings and mean is None:
        top = rng.random(cells) < 0.15
        mus[top] = rng.uniform(0.985, 1.0, top.sum())
    return mus, sds


def draw(rng: np.random.Generator, mus: np.ndarray, sds: np.ndarray, seeds: int, items: int | None) -> np.ndarray:
    """Per cell and pretraining seed, the score: clipped to 0..1, binomial over ``items`` test items if given."""
    scores = np.clip(mus[:, None] + sds[:, None] * rng.standard_normal((len(mus), seeds)), 0, 1)
    return scores if items is None else rng.binomial(items, scores) / items


def as_runs(row: np.ndarray) -> dict[tuple[int, int], float]:
    return {(seed, 0): float(x) for seed, x in enumerate(row)}


def at_bound(row: np.ndarray) -> bool:
    return bool(np.all(row == 1.0) or np.all(row == 0.0))


def priors_of(tasks: list[np.ndarray]) -> dict:
    """Each task's prior, fitted as the report fits it: every cell with 2+ seeds not at the bound."""
    return fit_priors({t: [(float(np.var(row, ddof=1)), len(row) - 1, RESOLUTION_SHARE) for row in scores
                           if len(row) > 1 and not at_bound(row)] for t, scores in enumerate(tasks)})


def difference_priors_of(tasks: list[np.ndarray], cell_priors: dict) -> dict:
    """Each task's prior for paired differences, fitted as the report fits it (``noise.difference_variances``):
    every pair of its cells' per-seed differences but pairs of two saturated cells, worth at most the cells'
    own degrees of freedom (its pairs share cells: the data have no more)."""
    out = {}
    for t, scores in enumerate(tasks):
        samples = []
        for i in range(len(scores)):
            for j in range(i + 1, len(scores)):
                k = min(len(scores[i]), len(scores[j]))
                if k > 1 and not (at_bound(scores[i][:k]) and at_bound(scores[j][:k])):
                    samples.append((float(np.var(scores[i][:k] - scores[j][:k], ddof=1)), k - 1, RESOLUTION_SHARE))
        fitted = fit_priors({t: samples}).get(t)
        cells = sum(len(row) - 1 for row in scores if len(row) > 1 and not at_bound(row))
        if fitted is not None and t in cell_priors:
            dof = min(fitted.dof, PAIR_DOF_SHARE * cell_priors[t].dof, float(cells))
            out[t] = type(fitted)(fitted.variance, dof, fitted.cells)
    return out
