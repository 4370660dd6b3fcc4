"""Numbers with their spread over pretraining runs: moderated intervals, four verdicts, tied ranks.

A run's score has two sources of noise: the pretraining run (its seed, and in effect the
machine's kernels and precision, which change the same weights the way a seed does) and the
finetuning run on top of it. Runs that share a pretraining seed are a cluster, and what a
reader wants to know ("is this objective better?") is a statement about pretraining runs, so
the pretraining seed is the unit: each pretraining seed's runs are first averaged over their
finetuning seeds, and intervals are over those per-seed means.

**Variance that borrows strength (moderated t, Smyth 2004).** With the 2-4 pretraining seeds
a suite can afford, a cell's own variance has 1-3 degrees of freedom: Student's t over two
seeds is 12.7 standard errors wide, and two seeds that happen to agree give a zero-width
interval. Every cell of a task measures the same kind of noise (one metric, one test set, one
recipe), so each task gets an empirical-Bayes prior on its between-seed variance,
``s0^2`` with ``d0`` degrees of freedom, fitted by maximum likelihood over every neural cell
of the task (every objective, every rung of a compute ladder): a cell's sample variance
``s^2`` with ``d`` degrees of freedom is then ``s0^2 F(d, d0)``. A cell's moderated variance is
``(d0 s0^2 + d s^2) / (d0 + d)`` and its interval is Student's t with ``d0 + d`` degrees of
freedom. ``d0`` is fitted, not chosen: where variances really differ between cells (the
records show sample SDs 10x apart on one task) it comes out small and each cell keeps most of
its own variance; where they agree it is large and the task's noise floor decides, as T5's
pooled sigma did (Raffel et al. 2020, sec. 3.3). Two guards keep it calibrated with one or
two degrees of freedom a cell, where the maximum-likelihood ``d0`` runs high: ``d0`` is the
lower end of its one-sided 95% profile-likelihood interval, and never more than the degrees
of freedom of the task's own cells (a pooled variance over D degrees of freedom is worth D).
Each task is fitted apart: a ``d0`` shared by tasks, each with its own ``s0^2``, came out
biased high (every task's scale fitted from a handful of cells) and undercovered in the
simulations. Why this and not T5's pooled sigma: pooling assumes one variance per task and,
where that fails, gives the noisiest cell an interval far too narrow; the moderated t
shrinks only as far as the cells' spread allows. Why not a mixed model: with 2 seeds a cell,
a REML fit per task has too few cells to estimate the variance of variances, which is
exactly what ``d0`` is.
``tests/test_moderated_stats.py`` checks coverage by simulation (heterogeneous variances,
ceilings, discrete metrics on a few hundred test items; 2, 3 and 4 seeds).

A cell whose every run sits at the metric's bound (1.000 on every seed) says nothing about
the noise and is left out of the fit; it still gets the prior's width, so no interval is
zero-width because two seeds happened to agree. Sample variances below the metric's
resolution (a thousandth of its range) enter the fit as censored, not as zeros.

**Four verdicts.** A paired difference is *better* or *worse* when its interval excludes 0,
*equivalent* when it lies inside +-delta (the task's tolerance, TOST in interval form,
Schuirmann 1987), else *undecided*; an undecided one carries a power estimate of the
pretraining seeds that would decide it.

With one pretraining seed a cell has no interval of its own: it keeps its mean and its
finetuning spread, and every verdict, rank and tie built on it is *provisional (one
pretraining run)*. Everything is a pure function of its inputs, so the same records always
give the same report.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize as _optimize
from scipy import special as _special
from scipy import stats as _scipy_stats

CONFIDENCE = 0.95
NOISE_SDS = 2.0  # T5 (Raffel et al. 2020, sec. 3.3): within 2 standard deviations of the best counts as equal
PROVISIONAL = "provisional (one pretraining run)"
METHOD = ("95% moderated-t intervals over pretraining seeds (Smyth 2004): each pretraining seed's runs are first "
          "averaged over their finetuning seeds, and each cell's variance between seeds is shrunk toward its task's, "
          "fitted over every cell of the task")
RESOLUTION_SHARE = 1e-3  # sample SDs below this share of a metric's range are censored in the prior's fit
DOF_BOUNDS = (1.0, 1e4)  # d0 within these: below one degree of freedom a prior says nothing; 1e4 is one variance
DOF_LOWER_LEVEL = 0.95  # d0 is the lower end of its one-sided interval at this level (see fit_priors)
MIN_PRIOR_CELLS = 5  # fewer cells cannot tell their spread apart: 2-3 gave 6-12% false verdicts
POWER = 0.8  # what a seeds-needed estimate aims for

Seeds = tuple[int, int]  # (pretraining seed, finetuning seed)
VERDICTS = ("better", "worse", "equivalent", "undecided")  # what a judged paired difference can say


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


def seed_variance(values: Mapping[Seeds, float]) -> tuple[float | None, int]:
    """(sample variance between pretraining seeds' means, its degrees of freedom): what a cell adds to its task's
    prior."""
    per_seed = list(cluster_means(values).values())
    if len(per_seed) < 2:
        return None, 0
    return float(np.var(per_seed, ddof=1)), len(per_seed) - 1


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
