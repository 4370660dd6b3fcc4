"""The report's statistics against hand-computed cases: an undecided difference, an equivalent one, a clear win,
one pretraining seed (provisional), and boards whose intervals are moderated toward each task's noise prior."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmark.errors import ObjbenchError
from benchmark.report.cells import control_summary, leaderboard_grid
from benchmark.report.metrics import MetricSpec, primary_metric
from benchmark.report.moderation import NoisePrior
from benchmark.report.ranks import clearly_better, pareto_front, pooled_std, tiered_ranks, within_noise_of_best
from benchmark.report.runs import seeds_phrase
from benchmark.report.stats import PROVISIONAL, Spread, cluster_means, t_interval, two_level, within_range
from benchmark.report.tables import build_leaderboard
from benchmark.report.verdicts import paired_difference
from benchmark.results import flatten
from tests.report_fixtures import (
    ONE_PRETRAINING_RUN,
    STANDARD,
    finetune_seeds,
    make_record,
    moderated_half_width,
    priors_from_few_cells,  # noqa: F401 (autouse)
    seeds,
)


def notes_of(board) -> list[str]:
    """Each notice of the board as one line of text, kind first."""
    return [n.text for n in board.notes]


def frame(values: dict) -> pd.DataFrame:
    records = [make_record(o, t, p, f, v) for o, tasks in values.items() for t, by_seed in tasks.items()
               for (p, f), v in by_seed.items()]
    return pd.DataFrame([flatten(r) for r in records])


# --- two-level spread ----------------------------------------------------------------------------
# Quantiles of Student's t used below (scipy.stats.t.ppf(0.975, df)): t_{0.975,1} = 12.706,
# t_{0.975,2} = 4.303.
T1, T2 = 12.706205, 4.302653


def test_t_interval_of_three_values_by_hand():
    # mean 0.8, std sqrt((0.1^2 + 0 + 0.1^2) / 2) = 0.1, sem 0.1 / sqrt(3) = 0.057735
    # half-width 4.303 * 0.057735 = 0.248414
    low, high = t_interval([0.7, 0.8, 0.9])
    assert (low, high) == pytest.approx((0.8 - T2 * 0.1 / math.sqrt(3), 0.8 + T2 * 0.1 / math.sqrt(3)))
    assert (low, high) == pytest.approx((0.551586, 1.048414), abs=1e-6)


def test_t_interval_of_two_values_is_wide():
    # mean 0.2, std |0.3 - 0.1| / sqrt(2) = 0.141421, sem 0.141421 / sqrt(2) = 0.1, half 12.706 * 0.1
    assert t_interval([0.1, 0.3]) == pytest.approx((0.2 - 1.2706205, 0.2 + 1.2706205))


def test_identical_values_have_a_zero_width_interval():
    assert t_interval([0.5, 0.5, 0.5]) == (0.5, 0.5)
    assert t_interval([0.5]) is None  # one value: no interval at all


def test_three_pretraining_seeds_one_finetuning_seed_by_hand():
    s = two_level({(0, 0): 0.7, (1, 0): 0.8, (2, 0): 0.9})
    assert s.mean == pytest.approx(0.8)
    assert s.std == pytest.approx(0.1)  # sqrt(((-.1)^2 + 0 + .1^2) / 2)
    assert (s.n, s.pretrain_seeds) == (3, 3) and not s.provisional
    assert (s.ci_low, s.ci_high) == pytest.approx((0.8 - T2 * 0.1 / math.sqrt(3), 0.8 + T2 * 0.1 / math.sqrt(3)))
    assert s.finetune_std is None  # one run per pretraining seed: no finetuning spread to measure


def test_two_pretraining_seeds_by_two_finetuning_seeds_by_hand():
    values = {(0, 0): 0.70, (0, 1): 0.74, (1, 0): 0.81, (1, 1): 0.83}
    assert cluster_means(values) == pytest.approx({0: 0.72, 1: 0.82})  # each seed over its finetuning runs
    s = two_level(values)
    assert (s.n, s.pretrain_seeds) == (4, 2) and not s.provisional
    assert s.mean == pytest.approx(0.77)  # (0.72 + 0.82) / 2
    assert s.std == pytest.approx(0.1 / math.sqrt(2))  # |0.82 - 0.72| / sqrt(2) = 0.070711
    # sem = 0.070711 / sqrt(2) = 0.05; half-width t_{0.975,1} * 0.05 = 12.706 * 0.05 = 0.635310
    assert (s.ci_low, s.ci_high) == pytest.approx((0.77 - T1 * 0.05, 0.77 + T1 * 0.05))
    assert (s.ci_low, s.ci_high) == pytest.approx((0.134690, 1.405310), abs=1e-6)
    # runs around their own seed's mean: -0.02, +0.02, -0.01, +0.01; 4 runs - 2 means = 2 dof
    # finetune_std = sqrt((0.0004 + 0.0004 + 0.0001 + 0.0001) / 2) = sqrt(0.0005) = 0.022361
    assert s.finetune_std == pytest.approx(math.sqrt(0.0005))


def test_finetuning_runs_do_not_narrow_the_interval():
    """Nine runs of three pretraining seeds give the interval of three values, not of nine."""
    per_seed = {0: 0.7, 1: 0.8, 2: 0.9}
    runs = {(p, f): mean + offset for p, mean in per_seed.items() for f, offset in enumerate((-0.01, 0.0, 0.01))}
    s = two_level(runs)
    assert (s.n, s.pretrain_seeds) == (9, 3)
    assert s.interval == pytest.approx(t_interval(list(per_seed.values())))
    assert s.finetune_std == pytest.approx(math.sqrt(3 * 2e-4 / 6))  # sqrt(3 * (0.01^2 + 0 + 0.01^2) / (9 - 3))


def test_one_pretraining_seed_is_provisional_with_its_finetuning_spread():
    s = two_level({(0, 0): 0.79, (0, 1): 0.80, (0, 2): 0.81})
    assert s.mean == pytest.approx(0.80)
    assert (s.std, s.ci_low, s.ci_high) == (None, None, None)
    assert (s.n, s.pretrain_seeds) == (3, 1)
    assert s.provisional and not s.has_interval
    assert s.interval == pytest.approx((0.80, 0.80))  # the zero-width stand-in that ranks use
    assert s.finetune_std == pytest.approx(0.01)  # sqrt((0.01^2 + 0 + 0.01^2) / (3 - 1))


def test_single_run_has_no_std_and_no_interval():
    s = two_level({(0, 0): 0.73})
    assert (s.mean, s.std, s.ci_low, s.ci_high, s.n, s.pretrain_seeds) == (0.73, None, None, None, 1, 1)
    assert s.finetune_std is None and s.provisional
    assert s.interval == (0.73, 0.73)


def test_two_level_is_deterministic():
    values = {(p, f): 0.6 + 0.01 * p + 0.003 * f for p in range(3) for f in range(2)}
    assert two_level(values) == two_level(dict(reversed(list(values.items()))))


def test_spread_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        two_level({})


# --- paired comparison ----------------------------------------------------------------------------

def test_paired_difference_holding_zero_is_undecided_or_equivalent():
    reference = {(0, 0): 0.80, (1, 0): 0.81, (2, 0): 0.80}
    candidate = {(0, 0): 0.79, (1, 0): 0.84, (2, 0): 0.78}  # differences -0.01, +0.03, -0.02
    result = paired_difference(candidate, reference)
    assert result.pairs == 3 and result.unpaired == 0
    assert result.difference.mean == pytest.approx(0.0, abs=1e-12)
    # std sqrt((0.0001 + 0.0009 + 0.0004) / 2) = 0.026458; half 4.303 * 0.026458 / sqrt(3) = 0.065725
    assert result.difference.ci_high == pytest.approx(T2 * math.sqrt(0.0007) / math.sqrt(3))
    assert result.difference.ci_low < 0 < result.difference.ci_high
    assert result.significant is False
    # no tolerance: nothing counts as "the same", and an observed effect of 0 is never decided by more seeds
    assert result.direction() == "undecided" and result.seeds_needed is None
    assert result.verdict() == "undecided: more seeds than a suite runs would be needed (power estimate)"
    # [-0.0657, +0.0657] lies inside +-0.1: the two are the same within that tolerance (TOST in interval form)
    same = paired_difference(candidate, reference, tolerance=0.1)
    assert same.direction() == "equivalent" and same.significant is False and same.seeds_needed is None
    assert same.verdict(against="mlm") == "equivalent to mlm (within ±0.1)"
    # ... but not inside +-0.05: undecided, with the seeds that would put (t_{n-1} + z_0.8) * sd / sqrt(n)
    # below 0.05: n = 4: (3.182 + 0.842) * 0.026458 / 2 = 0.0532; n = 5: (2.776 + 0.842) * 0.026458 / 2.236 = 0.0428
    open_ = paired_difference(candidate, reference, tolerance=0.05)
    assert open_.direction() == "undecided" and open_.seeds_needed == 5
    assert open_.verdict() == "undecided: ≈5 pretraining seeds would decide it (power estimate)"


def test_paired_clear_win_is_significant():
    reference = {(0, 0): 0.60, (1, 0): 0.61, (2, 0): 0.62}
    candidate = {(0, 0): 0.90, (1, 0): 0.91, (2, 0): 0.92}  # every difference is exactly +0.30
    result = paired_difference(candidate, reference)
    assert result.difference.mean == pytest.approx(0.30)
    assert result.difference.ci_low == pytest.approx(0.30) and result.difference.ci_high == pytest.approx(0.30)
    assert result.significant is True
    assert result.direction(higher_is_better=True) == "better"
    assert result.direction(higher_is_better=False) == "worse"
    assert result.verdict(higher_is_better=True) == "better than the reference"
    assert result.verdict(higher_is_better=False, against="mlm") == "worse than mlm"


def test_pairing_uses_seeds_not_order():
    reference = {(0, 0): 0.5, (1, 0): 0.9}
    candidate = {(1, 0): 1.0, (0, 0): 0.6}  # +0.1 on each seed; unpaired order would give -0.3 and +0.5
    result = paired_difference(candidate, reference)
    assert result.difference.ci_low == pytest.approx(0.1) and result.difference.ci_high == pytest.approx(0.1)


def test_pairing_by_pretraining_seed_removes_the_seed_effect():
    """Seed effects of 0.4 swamp a gain of 0.05 in each cell's interval; pairing takes them out,
    and the finetuning runs of a seed are averaged before the interval over seeds."""
    reference = {(0, 0): 0.50, (0, 1): 0.52, (1, 0): 0.90, (1, 1): 0.92, (2, 0): 0.70, (2, 1): 0.72}
    candidate = {(0, 0): 0.56, (0, 1): 0.56, (1, 0): 0.96, (1, 1): 0.98, (2, 0): 0.73, (2, 1): 0.77}
    # differences by pretraining seed: seed 0: +0.06, +0.04 -> 0.05; seed 1: +0.06, +0.06 -> 0.06;
    # seed 2: +0.03, +0.05 -> 0.04. Over seeds: mean 0.05, std 0.01, half 4.303 * 0.01 / sqrt(3) = 0.024841
    result = paired_difference(candidate, reference)
    assert result.pairs == 6 and result.unpaired == 0
    d = result.difference
    assert (d.n, d.pretrain_seeds) == (6, 3)
    assert d.mean == pytest.approx(0.05) and d.std == pytest.approx(0.01)
    assert (d.ci_low, d.ci_high) == pytest.approx((0.05 - T2 * 0.01 / math.sqrt(3), 0.05 + T2 * 0.01 / math.sqrt(3)))
    # finetuning spread of the differences: -+0.01, 0, 0, -+0.01 around 0.05, 0.06, 0.04; 6 - 3 dof
    assert d.finetune_std == pytest.approx(math.sqrt(4e-4 / 3))
    assert result.significant is True and result.verdict() == "better than the reference"
    # unpaired, the two cells' intervals overlap widely: neither is better beyond doubt
    assert not clearly_better(two_level(candidate), two_level(reference))


def test_one_pretraining_seed_gives_a_difference_but_a_provisional_verdict():
    # three finetuning runs, each +0.1: consistent, but one pretraining run cannot be told from luck
    result = paired_difference({(0, 0): 0.70, (0, 1): 0.71, (0, 2): 0.72}, {(0, 0): 0.60, (0, 1): 0.61, (0, 2): 0.62})
    assert result.pairs == 3
    assert result.difference.mean == pytest.approx(0.1)
    assert result.difference.provisional and not result.difference.has_interval
    assert result.significant is None
    assert result.direction() == "provisional"
    assert result.verdict() == "provisional (one pretraining run)" == PROVISIONAL


def test_single_pair_gives_a_difference_but_no_verdict():
    result = paired_difference({(0, 0): 0.7}, {(0, 0): 0.6})
    assert result.difference.mean == pytest.approx(0.1)
    assert result.significant is None
    assert result.verdict() == PROVISIONAL


def test_disjoint_seeds_are_not_pairable():
    result = paired_difference({(1, 0): 0.7, (1, 1): 0.8}, {(0, 0): 0.6})
    assert result.pairs == 0 and result.unpaired == 3 and result.difference is None
    assert result.direction() == "unpaired"
    assert result.verdict().startswith("not pairable")


def test_partial_overlap_pairs_only_shared_seeds():
    result = paired_difference({(0, 0): 0.7, (1, 0): 0.8, (2, 0): 0.9}, {(0, 0): 0.6, (1, 0): 0.7})
    assert result.pairs == 2 and result.unpaired == 1
    assert result.difference.mean == pytest.approx(0.1)
    assert result.difference.pretrain_seeds == 2  # seed 2 has no partner and is left out


# --- ranks, ties and T5's marking -----------------------------------------------------------------

def _s(mean, low, high, std=0.01, n=3, pretrain_seeds=3):
    return Spread(mean, std, low, high, n, pretrain_seeds)


def test_overlapping_intervals_share_a_tier():
    entries = {"a": _s(0.80, 0.78, 0.82), "b": _s(0.79, 0.77, 0.81), "c": _s(0.60, 0.58, 0.62)}
    placings = tiered_ranks(entries)
    assert (placings["a"].tier, placings["a"].rank) == (1, 1)
    assert (placings["b"].tier, placings["b"].rank) == (1, 1)
    assert (placings["c"].tier, placings["c"].rank) == (2, 3)  # competition ranking: two entries ahead


def test_rank_counts_only_entries_better_beyond_doubt():
    # b overlaps a; c overlaps b but lies wholly below a: one entry is clearly better than c.
    entries = {"a": _s(0.90, 0.85, 0.95), "b": _s(0.84, 0.80, 0.88), "c": _s(0.79, 0.75, 0.83)}
    placings = tiered_ranks(entries)
    assert [placings[k].rank for k in "abc"] == [1, 1, 2]
    assert [placings[k].tier for k in "abc"] == [1, 1, 2]


def test_equal_means_with_different_certainty():
    # a is clearly above the narrow c but not above the wide b, although b and c have the same mean.
    entries = {"a": _s(0.84, 0.83, 0.85), "b": _s(0.80, 0.78, 0.84), "c": _s(0.80, 0.80, 0.81)}
    placings = tiered_ranks(entries)
    assert [placings[k].rank for k in "abc"] == [1, 1, 2]
    assert tiered_ranks(dict(reversed(list(entries.items())))) == placings  # order of listing is irrelevant


def test_lower_is_better_ranks_the_smallest_first():
    entries = {"a": _s(3.0, 2.9, 3.1), "b": _s(2.0, 1.9, 2.1)}
    placings = tiered_ranks(entries, higher_is_better=False)
    assert placings["b"].rank == 1 and placings["a"].rank == 2


def test_ranks_with_intervals_are_not_provisional():
    placings = tiered_ranks({"a": _s(0.80, 0.78, 0.82), "b": _s(0.60, 0.58, 0.62)})
    assert not any(p.provisional for p in placings.values())


def test_single_seeds_tie_only_when_equal():
    entries = {"a": two_level({(0, 0): 0.7}), "b": two_level({(0, 0): 0.7}), "c": two_level({(0, 0): 0.69})}
    placings = tiered_ranks(entries)
    assert [placings[k].rank for k in "abc"] == [1, 1, 3]
    assert all(p.provisional for p in placings.values())


def test_one_pretraining_seed_ranks_by_means_and_marks_every_placing_provisional():
    # b's three finetuning runs (0.79, 0.80, 0.81) spread more than a and b differ, but without a
    # second pretraining run there is no interval: the ranks are the order of means, provisional
    entries = {"a": two_level({(0, 0): 0.80, (0, 1): 0.81, (0, 2): 0.82}),
               "b": two_level({(0, 0): 0.79, (0, 1): 0.80, (0, 2): 0.81}),
               "c": _s(0.60, 0.58, 0.62)}  # c has an interval, but ranks among provisional entries
    placings = tiered_ranks(entries)
    assert [(placings[k].rank, placings[k].tier) for k in "abc"] == [(1, 1), (2, 2), (3, 3)]
    assert all(p.provisional for p in placings.values())


def test_pooled_std_by_hand():
    # variances 0.01^2 (3 pretraining seeds) and 0.03^2 (3): pooled = sqrt((2 * 1e-4 + 2 * 9e-4) / 4) = sqrt(5e-4)
    assert pooled_std([_s(0, 0, 0, std=0.01), _s(0, 0, 0, std=0.03)]) == pytest.approx(math.sqrt(5e-4))
    assert pooled_std([two_level({(0, 0): 0.5, (0, 1): 0.6})]) is None  # one pretraining seed: no std between seeds


def test_pooled_std_weighs_by_pretraining_seeds_not_runs():
    # 0.01 over 3 pretraining seeds (6 runs) and 0.03 over 2 (8 runs): the degrees of freedom are
    # 3 - 1 = 2 and 2 - 1 = 1, so pooled = sqrt((2 * 1e-4 + 1 * 9e-4) / 3) = sqrt(11e-4 / 3) = 0.019149
    entries = [_s(0, 0, 0, std=0.01, n=6, pretrain_seeds=3), _s(0, 0, 0, std=0.03, n=8, pretrain_seeds=2)]
    assert pooled_std(entries) == pytest.approx(math.sqrt(11e-4 / 3))


def test_within_two_std_of_best():
    entries = {"best": _s(0.80, 0.79, 0.81, std=0.01), "close": _s(0.785, 0.78, 0.79, std=0.01),
               "far": _s(0.75, 0.74, 0.76, std=0.01)}
    marked, noise = within_noise_of_best(entries)
    assert noise == pytest.approx(0.01)
    assert marked == {"best", "close"}  # 0.015 <= 0.02 < 0.05


def test_within_two_std_of_the_best_when_lower_is_better():
    # a loss: the best is the smallest mean; "close" is 0.015 above it, "far" 0.05 above, "below" under it
    entries = {"best": _s(2.00, 1.99, 2.01, std=0.01), "close": _s(2.015, 2.01, 2.02, std=0.01),
               "far": _s(2.05, 2.04, 2.06, std=0.01), "worst": _s(2.30, 2.29, 2.31, std=0.01)}
    marked, noise = within_noise_of_best(entries, higher_is_better=False)
    assert noise == pytest.approx(0.01)
    assert marked == {"best", "close"}  # measured from 2.00, the smallest mean, not from 2.30, the largest
    assert within_noise_of_best(entries)[0] == {"worst"}  # read as higher-is-better, the other end is marked


def test_single_seed_marks_only_the_best():
    marked, noise = within_noise_of_best({"a": two_level({(0, 0): 0.8}), "b": two_level({(0, 0): 0.79})})
    assert marked == {"a"} and noise is None


def test_pareto_front():
    points = {"none": (0.0, 0.4), "cheap": (1e12, 0.7), "costly_better": (4e12, 0.8),
              "costly_worse": (4e12, 0.6), "same_cost_tie": (1e12, 0.7)}
    assert pareto_front(points) == {"none", "cheap", "costly_better", "same_cost_tie"}
    assert pareto_front({"a": (1.0, 3.0), "b": (2.0, 2.0)}, higher_is_better=False) == {"a", "b"}


# --- metric mapping -------------------------------------------------------------------------------

def test_metric_normalisation_both_directions():
    assert MetricSpec("bleu", True, 100.0).normalize(25.0) == pytest.approx(0.25)
    assert MetricSpec("error", False, 1.0).normalize(0.25) == pytest.approx(0.75)


def test_primary_metric_is_read_from_the_records():
    runs = frame({"mlm": {"topic": seeds(0.8, 0.81)}})
    assert primary_metric("topic", runs) == MetricSpec("f1_macro", higher_is_better=True, max_value=1.0)
    translation = pd.DataFrame([flatten(make_record("clm", "en-xx", 0, 0, 30.0, task_format="translation"))])
    assert primary_metric("en-xx", translation) == MetricSpec("chrf", higher_is_better=True, max_value=100.0)


def test_records_without_or_disagreeing_on_the_primary_metric_are_refused():
    runs = frame({"mlm": {"topic": seeds(0.8, 0.81)}})
    with pytest.raises(ObjbenchError, match=r"task 'topic': records carry no primary_metric"):
        primary_metric("topic", runs.drop(columns=["primary_metric.name"]))
    other = runs.copy()
    other.loc[0, "primary_metric.name"] = "accuracy"
    with pytest.raises(ObjbenchError, match=r"task 'topic': records disagree on the primary metric"):
        primary_metric("topic", other)


# --- the leaderboard table ------------------------------------------------------------------------

def test_leaderboard_undecided_and_clear_win_by_hand():
    board = build_leaderboard(frame(STANDARD))
    rows = board.rows.set_index(["objective", "task"])
    topic_mlm, topic_clm = rows.loc[("mlm", "synthetic_topic")], rows.loc[("clm", "synthetic_topic")]
    assert topic_mlm["mean"] == pytest.approx(2.41 / 3) and topic_clm["mean"] == pytest.approx(2.41 / 3)
    assert topic_mlm["rank"] == topic_clm["rank"] == 1  # tie of ranks: intervals overlap
    # clm - mlm on topic: -0.01, +0.03, -0.02 (sample variance 0.0007 on 2 dof), moderated toward the task's
    # prior for differences; the interval holds 0 and reaches beyond the tolerance of +-0.02: undecided
    topic_prior = board.priors["synthetic_topic"].difference
    half = moderated_half_width(topic_prior, 0.0007, 3)
    assert (topic_clm["difference_ci_low"], topic_clm["difference_ci_high"]) == pytest.approx((-half, half))
    assert board.tolerances["synthetic_topic"] == pytest.approx(0.02) and half > 0.02
    assert topic_clm["direction"] == "undecided" and topic_clm["seeds_needed"] > 3
    assert topic_clm["comparison"] == (f"undecided: ≈{int(topic_clm['seeds_needed'])} pretraining seeds would "
                                       "decide it (power estimate)")
    sentiment_clm = rows.loc[("clm", "sentiment")]
    assert sentiment_clm["difference"] == pytest.approx(-0.10)
    # -0.10 on every seed: every sentiment pair differs by a constant, so the prior for differences sits at the
    # metric's resolution (0.001 of the range, squared) and the interval is narrow but never zero-width
    sentiment_prior = board.priors["sentiment"].difference
    assert sentiment_prior.variance == pytest.approx(1e-6)
    half = moderated_half_width(sentiment_prior, 0.0, 3)
    assert 0 < half < 0.01
    assert (sentiment_clm["difference_ci_low"], sentiment_clm["difference_ci_high"]) == pytest.approx(
        (-0.10 - half, -0.10 + half))
    assert bool(sentiment_clm["significant"]) is True
    assert sentiment_clm["comparison"] == "worse than the reference"
    assert sentiment_clm["direction"] == "worse"
    assert sentiment_clm["rank"] == 2 and not sentiment_clm["within_2sd_of_best"]
    assert rows.loc[("mlm", "sentiment")]["comparison"] == "reference"
    assert rows.loc[("none", "synthetic_topic")]["rank"] == 3
    assert sentiment_clm["seeds"] == "3 runs: 3 pretraining seeds x 1 finetuning seed (pretraining seeds varied)"
    # mlm on sentiment: 0.70, 0.71, 0.72 over pretraining seeds: std 0.01. Every sentiment cell has std 0.01, so
    # the task's cell prior is s0^2 = 0.01^2: the moderated variance stays 0.01^2 and only the degrees of freedom
    # grow, from 2 (Student's t: half 4.303 * 0.01 / sqrt(3) = 0.024841) to 2 + d0
    sentiment_mlm = rows.loc[("mlm", "sentiment")]
    cell_prior = board.priors["sentiment"].cell
    assert cell_prior.variance == pytest.approx(1e-4, rel=1e-4) and cell_prior.dof >= 1
    half = moderated_half_width(cell_prior, 1e-4, 3)
    assert (sentiment_mlm["ci_low"], sentiment_mlm["ci_high"]) == pytest.approx((0.71 - half, 0.71 + half))
    assert half < T2 * 0.01 / math.sqrt(3)  # narrower than Student's t on the cell's own 2 degrees of freedom
    assert sentiment_mlm["std"] == pytest.approx(0.01, rel=1e-4) and sentiment_mlm["sample_std"] == pytest.approx(0.01)
    assert sentiment_mlm["dof"] == pytest.approx(2 + cell_prior.dof)
    # mlm on topic: 0.80, 0.81, 0.80, sample std 0.005774, pulled toward the task's prior
    topic_prior = board.priors["synthetic_topic"].cell
    moderated = (topic_prior.dof * topic_prior.variance + 2 * (0.01 / math.sqrt(3)) ** 2) / (topic_prior.dof + 2)
    assert topic_mlm["sample_std"] == pytest.approx(0.01 / math.sqrt(3))
    assert topic_mlm["std"] == pytest.approx(math.sqrt(moderated))
    half = moderated_half_width(topic_prior, (0.01 / math.sqrt(3)) ** 2, 3)
    assert (topic_mlm["ci_low"], topic_mlm["ci_high"]) == pytest.approx((2.41 / 3 - half, 2.41 / 3 + half))
    assert sentiment_mlm["pretrain_seed_count"] == 3 and sentiment_mlm["runs"] == 3
    assert not board.rows["provisional"].any() and not board.rows["rank_provisional"].any()
    assert board.rows["finetune_std"].isna().all()  # one finetuning seed each: no finetuning spread
    assert not any(n.startswith("Provisional") for n in notes_of(board))
    assert any(n.startswith("Intervals: 95% moderated-t intervals over pretraining seeds") for n in notes_of(board))


def test_aggregate_is_mean_of_normalised_scores_and_ranks():
    board = build_leaderboard(frame(STANDARD))
    agg = board.aggregate.set_index("objective")
    # mlm per pretraining seed: (0.80+0.70)/2, (0.81+0.71)/2, (0.80+0.72)/2 = 0.75, 0.76, 0.76 -> mean 0.7567,
    # std sqrt((0.00667^2 + 2 * 0.00333^2) / 2) = 0.005774 (Student's t: half 4.303 * 0.005774 / sqrt(3) = 0.014342)
    assert agg.loc["mlm", "score"] == pytest.approx((0.75 + 0.76 + 0.76) / 3)
    assert agg.loc["mlm", "score_std"] == pytest.approx(math.sqrt(1 / 3) * 0.01)
    # the interval is moderated toward the prior of a mean of two 0-1 tasks: their cell variances averaged,
    # (s0_a^2 + s0_b^2) / 2^2, worth the fewer of their degrees of freedom
    a, b = board.priors["sentiment"].cell, board.priors["synthetic_topic"].cell
    prior = NoisePrior((a.variance + b.variance) / 4, min(a.dof, b.dof))
    half = moderated_half_width(prior, (math.sqrt(1 / 3) * 0.01) ** 2, 3)
    assert agg.loc["mlm", "score_ci_low"] == pytest.approx((0.75 + 0.76 + 0.76) / 3 - half)
    assert agg.loc["mlm", "score_ci_high"] == pytest.approx((0.75 + 0.76 + 0.76) / 3 + half)
    assert agg.loc["mlm", "score_pretrain_seeds"] == 3
    assert agg.loc["mlm", "mean_rank"] == 1.0 and not agg["rank_provisional"].any()
    assert agg.loc["clm", "mean_rank"] == 1.5  # rank 1 (tie) on topic, 2 on sentiment
    assert board.entries[0] == ("llama", "mlm") and board.entries[-1] == ("llama", "none")


def test_single_seed_report_says_no_interval():
    board = build_leaderboard(frame({"mlm": {"t": {(0, 0): 0.8}}, "clm": {"t": {(0, 0): 0.7}}}))
    row = board.rows.set_index("objective").loc["clm"]
    assert row["std"] is None or math.isnan(row["std"])
    assert row["ci_low"] is None or math.isnan(row["ci_low"])
    assert row["finetune_std"] is None or math.isnan(row["finetune_std"])  # one run: no spread of any kind
    assert row["comparison"] == PROVISIONAL and row["direction"] == "provisional"
    assert bool(row["provisional"]) and bool(row["rank_provisional"])


def test_reference_is_configurable_and_checked():
    board = build_leaderboard(frame(STANDARD), reference="none")
    rows = board.rows.set_index(["objective", "task"])
    assert rows.loc[("mlm", "sentiment")]["difference"] == pytest.approx(0.20)
    assert rows.loc[("mlm", "sentiment")]["comparison"] == "better than the reference"
    with pytest.raises(ObjbenchError, match="reference objective 'electra' has no runs"):
        build_leaderboard(frame(STANDARD), reference="electra")


def test_missing_default_reference_is_a_note_not_an_error():
    board = build_leaderboard(frame({"clm": {"t": seeds(0.5, 0.6)}, "none": {"t": seeds(0.3, 0.4)}}))
    assert board.reference is None
    assert board.rows["comparison"].isna().all()
    assert any("default reference objective 'mlm' has no runs" in n for n in notes_of(board))


def test_every_pretrained_entry_is_compared_with_the_untrained_control():
    values = {**STANDARD, "electra": {"synthetic_topic": seeds(0.41, 0.40, 0.45), "sentiment": seeds(0.40, 0.41, 0.42)}}
    board = build_leaderboard(frame(values))
    controls = board.controls.set_index(["objective", "task"])
    assert set(board.controls["control"]) == {"none"} and "none" not in set(board.controls["objective"])
    assert len(board.controls) == 6  # 3 pretrained objectives x 2 tasks
    assert controls.loc[("mlm", "sentiment"), "difference"] == pytest.approx(0.20)
    assert controls.loc[("mlm", "sentiment"), "comparison"] == "better than no pretraining"
    assert controls.loc[("clm", "synthetic_topic"), "difference"] == pytest.approx((0.39 + 0.42 + 0.34) / 3)
    # electra - none on topic: +0.01, -0.02, +0.01 over pretraining seeds: the interval holds 0 and is wider
    # than the tolerance of +-0.02, so more seeds could decide it
    electra = controls.loc[("electra", "synthetic_topic")]
    assert electra["difference_ci_low"] < -0.02 < 0 < 0.02 < electra["difference_ci_high"]
    assert electra["direction"] == "undecided" and electra["tolerance"] == pytest.approx(0.02)
    assert electra["comparison"] == (f"undecided: ≈{int(electra['seeds_needed'])} pretraining seeds would decide "
                                     "it (power estimate)")
    assert controls.loc[("electra", "sentiment"), "comparison"] == "worse than no pretraining"  # -0.10 each
    summary = dict(line.split(": ", 1) for line in control_summary(board))
    assert summary["sentiment (vs none)"] in ("of 3 pretrained objectives, 2 better (mlm, clm); 1 worse (electra)",
                                              "of 3 pretrained objectives, 2 better (clm, mlm); 1 worse (electra)")
    assert summary["synthetic_topic (vs none)"] in (
        "of 3 pretrained objectives, 2 better (mlm, clm); 1 undecided (electra)",
        "of 3 pretrained objectives, 2 better (clm, mlm); 1 undecided (electra)")
    rows = board.rows.set_index(["objective", "task"])
    assert rows.loc[("electra", "synthetic_topic"), "verdict_vs_control"] == "undecided (vs none)"
    assert rows.loc[("mlm", "sentiment"), "verdict_vs_control"] == "better (vs none)"
    assert pd.isna(rows.loc[("none", "sentiment"), "verdict_vs_control"])  # the control itself


def test_single_runs_against_the_control_get_no_verdict():
    board = build_leaderboard(frame({"none": {"t": {(0, 0): 0.5}}, "clm": {"t": {(0, 0): 0.6}}}))
    row = board.controls.iloc[0]
    assert row["difference"] == pytest.approx(0.1) and row["comparison"] == "provisional (one pretraining run)"
    assert row["direction"] == "provisional"
    assert control_summary(board) == [
        "t (vs none): of 1 pretrained objective, 1 without a verdict (one pretraining run: no interval)"]


def test_results_without_an_untrained_control_say_so():
    board = build_leaderboard(frame({"clm": {"t": seeds(0.5, 0.6)}, "mlm": {"t": seeds(0.4, 0.5)}}))
    assert board.controls.empty
    assert any("No untrained control" in note for note in notes_of(board))


def test_seeds_phrase_names_what_varied():
    df = pd.DataFrame({"pretrain_seed": [0, 0, 1, 1], "finetune_seed": [0, 1, 0, 1]})
    assert seeds_phrase(df) == ("4 runs: 2 pretraining seeds x 2 finetuning seeds "
                                "(pretraining and finetuning seeds varied)")
    assert seeds_phrase(df.iloc[:1]) == "1 run: 1 pretraining seed x 1 finetuning seed (no seed varied)"


def test_aggregate_without_a_full_seed_pair_has_no_interval():
    values = {"mlm": {"a": seeds(0.8, 0.9), "b": {(0, 0): 0.6}}}  # pretraining seed 1 missed task b
    board = build_leaderboard(frame(values))
    agg = board.aggregate.iloc[0]
    assert agg["score"] == pytest.approx((0.85 + 0.6) / 2)  # mean over tasks of the per-task means
    assert agg["score_ci_low"] is None or math.isnan(agg["score_ci_low"])
    assert any("no interval for the finetuned aggregate score" in n for n in notes_of(board))


def test_zero_shot_and_finetuned_tasks_are_aggregated_apart():
    values = {"mlm": {"topic": seeds(0.80, 0.82), "pairs": seeds(0.55, 0.56)},
              "clm": {"topic": seeds(0.60, 0.62), "pairs": seeds(0.75, 0.76)}}
    records = [make_record(o, t, p, f, v, task_format="zero_shot" if t == "pairs" else "classification")
               for o, tasks in values.items() for t, by_seed in tasks.items() for (p, f), v in by_seed.items()]
    board = build_leaderboard(pd.DataFrame([flatten(r) for r in records]))
    assert board.uses == {"pairs": "zero-shot", "topic": "finetuned"}
    agg = board.aggregate.set_index(["objective", "use"])
    assert agg.loc[("mlm", "finetuned"), "score"] == pytest.approx(0.81)  # f1_macro on topic only
    assert agg.loc[("mlm", "zero-shot"), "score"] == pytest.approx(0.555)  # accuracy on pairs only
    assert agg.loc[("mlm", "finetuned"), "mean_rank"] == 1 and agg.loc[("clm", "zero-shot"), "mean_rank"] == 1
    assert board.entries == [("llama", "mlm"), ("llama", "clm")]  # listed by the finetuned rank
    assert any("Rankings can flip" in n for n in notes_of(board))
    headers, rows = leaderboard_grid(board)
    assert headers == ["model", "objective", "topic: f1_macro", "pairs: accuracy (zero-shot)",
                       "aggregate score, finetuned (0-1)", "mean rank, finetuned",
                       "aggregate score, zero-shot (0-1)", "mean rank, zero-shot"]
    assert [c.text for c in rows[1]][-1] == "1"  # clm: first on the zero-shot task


# --- one pretraining run: provisional ------------------------------------------------------------

def test_one_pretraining_run_gives_provisional_cells_verdicts_and_ranks():
    """STANDARD's numbers from one pretraining run finetuned three times (finetuning seeds 0, 1, 2)."""
    board = build_leaderboard(frame(ONE_PRETRAINING_RUN))
    rows = board.rows.set_index(["objective", "task"])
    mlm = rows.loc[("mlm", "sentiment")]
    assert mlm["mean"] == pytest.approx(0.71) and mlm["runs"] == 3 and mlm["pretrain_seed_count"] == 1
    assert mlm["std"] is None or math.isnan(mlm["std"])
    assert mlm["ci_low"] is None or math.isnan(mlm["ci_low"])
    assert mlm["finetune_std"] == pytest.approx(0.01)  # sqrt((0.01^2 + 0 + 0.01^2) / (3 - 1))
    # clm on topic: 0.79, 0.84, 0.78 around 0.80333: sqrt((0.01333^2 + 0.03667^2 + 0.02333^2) / 2) = 0.032146
    assert rows.loc[("clm", "synthetic_topic")]["finetune_std"] == pytest.approx(math.sqrt(0.0020667 / 2), rel=1e-4)
    assert board.rows["provisional"].all() and board.rows["rank_provisional"].all()
    # clm loses by 0.10 on every finetuning run, yet one pretraining run is no finding either way
    clm = rows.loc[("clm", "sentiment")]
    assert clm["difference"] == pytest.approx(-0.10) and clm["significant"] is None
    assert clm["direction"] == "provisional" and clm["comparison"] == "provisional (one pretraining run)"
    assert (board.controls["comparison"] == PROVISIONAL).all()
    assert (board.controls["direction"] == "provisional").all()
    # the ranks are the order of means: mlm 0.71 > clm 0.61 > none 0.51 on sentiment
    assert [rows.loc[(o, "sentiment")]["rank"] for o in ("mlm", "clm", "none")] == [1, 2, 3]
    agg = board.aggregate.set_index("objective")
    assert agg["rank_provisional"].all()
    assert agg["score_ci_low"].isna().all() and agg["score_pretrain_seeds"].isna().all()
    provisional = [n for n in notes_of(board) if n.startswith("Provisional")]
    assert len(provisional) == 1 and provisional[0].startswith("Provisional: every entry had one pretraining run")
    assert not any(n.startswith("Intervals:") for n in notes_of(board))  # no cell has an interval to explain
    assert not any("no interval for the finetuned aggregate score" in n for n in notes_of(board))  # the note covers it


def test_one_pretraining_run_reads_provisional_in_the_table():
    board = build_leaderboard(frame(ONE_PRETRAINING_RUN))
    headers, rows = leaderboard_grid(board)
    by_objective = {row[1].text: row for row in rows}
    sentiment = headers.index("sentiment: f1_macro")
    mlm_cell = by_objective["mlm"][sentiment]
    assert mlm_cell.text == "0.710 (finetuning sd 0.010; one pretraining run: no interval)"
    assert mlm_cell.provisional and mlm_cell.rank_label == "rank 1 (provisional)"
    assert by_objective["none"][sentiment].rank_label == "rank 3 (provisional)"
    assert by_objective["clm"][-1].text == "1.5 (provisional)"  # mean rank: 2 on sentiment, 1 (tie of means) on topic
    assert control_summary(board) == [
        "sentiment (vs none): of 2 pretrained objectives, 2 without a verdict (one pretraining run: no interval)",
        "synthetic_topic (vs none): of 2 pretrained objectives, 2 without a verdict "
        "(one pretraining run: no interval)"]


def test_a_provisional_entry_makes_every_rank_of_its_task_provisional():
    """mlm has three pretraining seeds, clm one: their order on the task is only an order of means."""
    values = {"mlm": {"t": seeds(0.80, 0.81, 0.82), "u": seeds(0.5, 0.6, 0.7)},
              "clm": {"t": finetune_seeds(0.70, 0.72), "u": seeds(0.4, 0.5, 0.6)}}
    board = build_leaderboard(frame(values))
    rows = board.rows.set_index(["objective", "task"])
    assert bool(rows.loc[("clm", "t")]["provisional"]) and not bool(rows.loc[("mlm", "t")]["provisional"])
    assert rows.loc[("mlm", "t")]["rank_provisional"] and rows.loc[("clm", "t")]["rank_provisional"]
    assert not rows.loc[("mlm", "u")]["rank_provisional"] and not rows.loc[("clm", "u")]["rank_provisional"]
    # one shared run, (0, 0); clm's (0, 1) and mlm's (1, 0), (2, 0) have no partner
    assert rows.loc[("clm", "t")]["comparison"] == f"{PROVISIONAL} (3 run(s) without a partner left out)"
    assert rows.loc[("clm", "t")]["pairs"] == 1 and rows.loc[("clm", "t")]["direction"] == "provisional"
    agg = board.aggregate.set_index("objective")
    assert agg.loc["mlm", "rank_provisional"] and agg.loc["clm", "rank_provisional"]  # any provisional task
    provisional = [n for n in notes_of(board) if n.startswith("Provisional")]
    assert provisional and provisional[0].startswith("Provisional: clm on t had one pretraining run")
    _, grid = leaderboard_grid(board)
    mlm = next(row for row in grid if row[1].text == "mlm")
    assert mlm[2].rank_label == "rank 1 (provisional)"  # t: provisional, though mlm's own cell has an interval
    assert mlm[3].rank_label == "rank 1"  # u: 0.6 and 0.5 with intervals of +-0.18: a tie, not provisional


# --- intervals cut to the metric's range ---------------------------------------------------------

def test_within_range_cuts_an_interval_to_what_the_metric_can_take():
    # 0.95 and 0.99 over two pretraining seeds: std 0.04 / sqrt(2) = 0.028284, sem 0.02,
    # half-width 12.706 * 0.02 = 0.254124 -> [0.715876, 1.224124]; an F1 above 1 holds no possible truth
    s = two_level(seeds(0.95, 0.99))
    assert (s.ci_low, s.ci_high) == pytest.approx((0.97 - T1 * 0.02, 0.97 + T1 * 0.02))
    cut = within_range(s, 0.0, 1.0)
    assert (cut.ci_low, cut.ci_high) == pytest.approx((0.97 - T1 * 0.02, 1.0))
    assert (cut.mean, cut.std, cut.n, cut.pretrain_seeds) == (s.mean, s.std, s.n, s.pretrain_seeds)
    one = two_level(finetune_seeds(0.95, 0.99))
    assert within_range(one, 0.0, 1.0) == one  # no interval: nothing to cut

    # on a board both cells have sample variance 0.0008 (1 dof), and so has the task's prior: the moderated
    # variance stays 0.0008 with 1 + d0 degrees of freedom, and the interval still runs past 0 and 1
    board = build_leaderboard(frame({"mlm": {"t": seeds(0.95, 0.99)}, "clm": {"t": seeds(0.02, 0.06)}}))
    rows = board.rows.set_index("objective")
    prior = board.priors["t"].cell
    assert prior.variance == pytest.approx(0.0008, rel=1e-4)
    half = moderated_half_width(prior, 0.0008, 2)
    assert 0.97 + half > 1.0 and 0.04 - half < 0.0
    assert (rows.loc["mlm", "ci_low"], rows.loc["mlm", "ci_high"]) == pytest.approx((0.97 - half, 1.0))
    assert (rows.loc["clm", "ci_low"], rows.loc["clm", "ci_high"]) == pytest.approx((0.0, 0.04 + half))
    # paired, clm - mlm: -0.93 on each pretraining seed; one pair is too few to fit a difference prior, so it is
    # the sum of two cells' (twice the cell prior's variance); its interval runs past -1 and is cut there
    clm = rows.loc["clm"]
    assert board.priors["t"].difference.variance == pytest.approx(2 * prior.variance)
    half = moderated_half_width(board.priors["t"].difference, 0.0, 2)
    assert -0.93 - half < -1.0
    assert (clm["difference_ci_low"], clm["difference_ci_high"]) == pytest.approx((-1.0, -0.93 + half))
