"""The moderated intervals against simulated reports whose truth is known (see ``simulated_boards``).

* coverage: 95% intervals hold the truth in 93-97% of cells and of paired differences, at 2, 3
  and 4 pretraining seeds, with seed SDs 10x apart within a task, on continuous scores and on
  discrete ones (a few hundred test items) with cells at the ceiling;
* no interval is zero-width because two seeds agreed (at the ceiling or by coincidence);
* the four verdicts: better, worse, equivalent (inside the tolerance), undecided with a power estimate.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.report.moderation import NoisePrior, fit_priors
from benchmark.report.stats import rerun_interval, two_level, within_range
from benchmark.report.verdicts import paired_difference
from tests.simulated_boards import CELLS, as_runs, clipped_mean, difference_priors_of, draw, priors_of, true_cells

BOARDS = 60  # x 39 cells: about 2300 cells and 2200 differences per setting


def coverage(seeds: int, discrete: bool, spread: float = 10.0) -> tuple[float, float]:
    rng = np.random.default_rng(100 * seeds + discrete)
    cell_hits = cells = diff_hits = diffs = 0
    for _ in range(BOARDS):
        truths, tasks = [], []
        for size in CELLS:
            mus, sds = true_cells(rng, size, spread, ceilings=discrete)
            tasks.append(draw(rng, mus, sds, seeds, int(rng.integers(200, 401)) if discrete else None))
            truths.append([clipped_mean(m, s) for m, s in zip(mus, sds)])
        priors = priors_of(tasks)
        differences_prior = difference_priors_of(tasks, priors)
        for t, (scores, truth) in enumerate(zip(tasks, truths)):
            runs = [as_runs(row) for row in scores]
            for values, true in zip(runs, truth):
                s = within_range(two_level(values, priors.get(t)), 0.0, 1.0)
                cell_hits += s.ci_low <= true <= s.ci_high
                cells += 1
            for i in range(1, len(runs)):  # every cell against the task's first, as objectives against a control
                d = paired_difference(runs[i], runs[0], differences_prior.get(t), 0.02).difference
                diff_hits += d.ci_low <= truth[i] - truth[0] <= d.ci_high
                diffs += 1
    return cell_hits / cells, diff_hits / diffs


@pytest.mark.parametrize(("seeds", "discrete"), [
    (2, False), (2, True), (3, False), (3, True), (4, False), (4, True)],
    ids=["2-continuous", "2-discrete-with-ceilings", "3-continuous", "3-discrete-with-ceilings", "4-continuous",
         "4-discrete-with-ceilings"])
@pytest.mark.slow  # a coverage simulation
def test_moderated_intervals_cover_the_truth_with_heterogeneous_variances(seeds, discrete):
    cells, differences = coverage(seeds, discrete)
    assert 0.93 <= cells <= 0.97, cells
    assert 0.93 <= differences <= 0.97, differences


def test_unmoderated_intervals_are_what_the_prior_improves_on():
    """The same board without a prior: Student's t on one degree of freedom is 12.7 standard errors wide;
    the moderated interval, calibrated above, is several times narrower."""
    rng = np.random.default_rng(5)
    mus, sds = true_cells(rng, 15, 10.0, ceilings=False)
    scores = draw(rng, mus, sds, 2, None)
    prior = priors_of([scores])[0]
    own = [two_level(as_runs(row)) for row in scores]
    moderated = [two_level(as_runs(row), prior) for row in scores]
    ratio = np.median([(a.ci_high - a.ci_low) / (b.ci_high - b.ci_low) for a, b in zip(own, moderated)])
    assert ratio > 2.0, ratio


def test_two_seeds_at_the_ceiling_get_an_interval_of_width():
    """prefix_lm at 1.000 on both seeds: the cell is left out of the fit, and still gets the prior's width."""
    rng = np.random.default_rng(0)
    mus, sds = true_cells(rng, 8, 3.0, ceilings=False)
    scores = draw(rng, mus, sds, 2, None)
    prior = priors_of([np.vstack([scores, [1.0, 1.0]])])[0]
    ceiling = within_range(two_level({(0, 0): 1.0, (1, 0): 1.0}, prior), 0.0, 1.0)
    assert ceiling.ci_high == 1.0 and ceiling.ci_low < 1.0 - 0.01


def test_two_seeds_that_agree_by_coincidence_get_an_interval_of_width():
    """mlm's two seeds read 0.724697 and 0.724718: its own variance is ~0, the moderated one is not."""
    rng = np.random.default_rng(1)
    mus, sds = true_cells(rng, 10, 3.0, ceilings=False)
    scores = np.vstack([draw(rng, mus, sds, 2, None), [0.724697, 0.724718]])
    prior = priors_of([scores])[0]
    s = two_level(as_runs(scores[-1]), prior)
    typical = float(np.sqrt(prior.variance))
    assert s.std > 0.3 * typical and s.ci_high - s.ci_low > typical


def test_sample_variances_below_the_resolution_are_censored_not_zero():
    """A fit over cells some of which are exactly 0 (equal seeds) still finds a positive prior variance."""
    samples = [(0.0, 1, 1e-3)] * 4 + [(v, 1, 1e-3) for v in (0.001, 0.002, 0.0005, 0.003)]
    prior = fit_priors({"task": samples})["task"]
    assert prior.variance > 1e-5 and prior.dof > 0


def test_a_prior_is_worth_at_most_the_degrees_of_freedom_it_was_fitted_on():
    prior = fit_priors({"task": [(v, 1, 1e-3) for v in (0.01, 0.011, 0.009, 0.0105, 0.0095)]})["task"]
    assert prior.dof <= 5


def test_too_few_cells_fit_no_prior():
    """Four cells cannot tell their spread apart (2-3 gave 6-12% false verdicts): their cells keep Student's t."""
    assert fit_priors({"task": [(v, 1, 1e-3) for v in (0.01, 0.011, 0.009, 0.0105)]}) == {}


def test_four_verdicts():
    prior = NoisePrior(variance=0.0004, dof=20)  # a paired difference's prior: sd 0.02 between seeds
    wobble = [0.02, -0.02, 0.015, -0.015]
    reference = {(s, 0): 0.50 for s in range(4)}
    shifted = lambda by: {(s, 0): 0.50 + by + wobble[s] for s in range(4)}  # noqa: E731
    better = paired_difference(shifted(0.10), reference, prior, 0.02)
    worse = paired_difference(shifted(-0.10), reference, prior, 0.02)
    same = paired_difference(shifted(0.001), reference, prior, 0.04)
    open_ = paired_difference(shifted(0.012), reference, prior, 0.02)
    assert better.direction() == "better" and worse.direction() == "worse"
    assert same.direction() == "equivalent" and -0.04 <= same.difference.ci_low <= same.difference.ci_high <= 0.04
    assert open_.direction() == "undecided" and open_.difference.ci_low < 0 < open_.difference.ci_high
    assert open_.seeds_needed is not None and open_.seeds_needed > 4
    assert "power estimate" in open_.verdict() and "equivalent" in same.verdict()
    assert better.direction(higher_is_better=False) == "worse"
    assert better.seeds_needed is None and same.seeds_needed is None  # decided: nothing to estimate


def test_power_estimate_grows_as_the_effect_shrinks():
    prior = NoisePrior(variance=0.0025, dof=10)
    wobble = [0.03, -0.01, -0.02]
    needed = []
    for effect in (0.05, 0.03, 0.02):
        a = {(s, 0): 0.5 + effect + wobble[s] for s in range(3)}
        b = {(s, 0): 0.5 for s in range(3)}
        paired = paired_difference(a, b, prior, None)
        assert paired.direction() == "undecided"
        needed.append(paired.seeds_needed)
    assert None not in needed and needed == sorted(needed) and needed[0] < needed[-1], needed


def test_rerun_interval_uses_the_moderated_degrees_of_freedom():
    narrow = rerun_interval(0.5, 0.02, 2, 2, dof=21)
    wide = rerun_interval(0.5, 0.02, 2, 2)
    assert narrow[1] - narrow[0] < (wide[1] - wide[0]) / 4
