"""The report's statistics against hand-computed cases: a tie, a clear win, a single seed."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmark.errors import ObjbenchError
from benchmark.report.cells import control_summary, leaderboard_grid
from benchmark.report.metrics import MetricSpec, primary_metric
from benchmark.report.stats import (
    Spread,
    bootstrap_interval,
    paired_difference,
    pareto_front,
    pooled_std,
    spread,
    tiered_ranks,
    within_noise_of_best,
)
from benchmark.report.tables import build_leaderboard, seeds_phrase
from benchmark.results import flatten
from tests.report_fixtures import STANDARD, make_record, seeds


def frame(values: dict) -> pd.DataFrame:
    records = [make_record(o, t, p, f, v) for o, tasks in values.items() for t, by_seed in tasks.items()
               for (p, f), v in by_seed.items()]
    return pd.DataFrame([flatten(r) for r in records])


# --- spread ---------------------------------------------------------------------------------------

def test_spread_of_three_values_by_hand():
    s = spread([0.7, 0.8, 0.9])
    assert s.mean == pytest.approx(0.8)
    assert s.std == pytest.approx(0.1)  # sqrt(((-.1)^2 + 0 + .1^2) / 2)
    assert s.n == 3
    # P(all three draws are 0.7) = 1/27 = 3.7% > 2.5%: the percentiles are the extreme means.
    assert (s.ci_low, s.ci_high) == pytest.approx((0.7, 0.9))


def test_two_values_interval_is_their_range():
    # Resampling {a, b}: P(both draws are a) = 1/4 > 2.5%, so both percentiles land on the extremes.
    assert bootstrap_interval([0.1, 0.3]) == pytest.approx((0.1, 0.3))


def test_identical_values_have_a_zero_width_interval():
    assert bootstrap_interval([0.5, 0.5, 0.5]) == (0.5, 0.5)


def test_single_seed_has_no_std_and_no_interval():
    s = spread([0.73])
    assert (s.mean, s.std, s.ci_low, s.ci_high, s.n) == (0.73, None, None, None, 1)
    assert not s.has_interval
    assert s.interval == (0.73, 0.73)


def test_interval_is_deterministic():
    values = [0.61, 0.64, 0.59, 0.70, 0.66]
    assert bootstrap_interval(values) == bootstrap_interval(list(values))


def test_spread_of_nothing_is_an_error():
    with pytest.raises(ValueError):
        spread([])


# --- paired comparison ----------------------------------------------------------------------------

def test_paired_tie_is_not_significant():
    reference = {(0, 0): 0.80, (0, 1): 0.81, (0, 2): 0.80}
    candidate = {(0, 0): 0.79, (0, 1): 0.84, (0, 2): 0.78}  # differences -0.01, +0.03, -0.02
    result = paired_difference(candidate, reference)
    assert result.pairs == 3 and result.unpaired == 0
    assert result.difference.mean == pytest.approx(0.0, abs=1e-12)
    assert result.difference.ci_low < 0 < result.difference.ci_high
    assert result.significant is False
    assert result.verdict() == "no significant difference"


def test_paired_clear_win_is_significant():
    reference = {(0, 0): 0.60, (0, 1): 0.61, (0, 2): 0.62}
    candidate = {(0, 0): 0.90, (0, 1): 0.91, (0, 2): 0.92}  # every difference is exactly +0.30
    result = paired_difference(candidate, reference)
    assert result.difference.mean == pytest.approx(0.30)
    assert result.difference.ci_low == pytest.approx(0.30) and result.difference.ci_high == pytest.approx(0.30)
    assert result.significant is True
    assert result.verdict(higher_is_better=True) == "better than the reference"
    assert result.verdict(higher_is_better=False) == "worse than the reference"


def test_pairing_uses_seeds_not_order():
    reference = {(0, 0): 0.5, (0, 1): 0.9}
    candidate = {(0, 1): 1.0, (0, 0): 0.6}  # +0.1 on each seed; unpaired order would give -0.3 and +0.5
    result = paired_difference(candidate, reference)
    assert result.difference.ci_low == pytest.approx(0.1) and result.difference.ci_high == pytest.approx(0.1)


def test_single_pair_gives_a_difference_but_no_verdict():
    result = paired_difference({(0, 0): 0.7}, {(0, 0): 0.6})
    assert result.difference.mean == pytest.approx(0.1)
    assert result.significant is None
    assert "no interval" in result.verdict()


def test_disjoint_seeds_are_not_pairable():
    result = paired_difference({(1, 0): 0.7, (1, 1): 0.8}, {(0, 0): 0.6})
    assert result.pairs == 0 and result.unpaired == 3 and result.difference is None
    assert result.verdict().startswith("not pairable")


def test_partial_overlap_pairs_only_shared_seeds():
    result = paired_difference({(0, 0): 0.7, (0, 1): 0.8, (0, 2): 0.9}, {(0, 0): 0.6, (0, 1): 0.7})
    assert result.pairs == 2 and result.unpaired == 1
    assert result.difference.mean == pytest.approx(0.1)


# --- ranks, ties and T5's marking -----------------------------------------------------------------

def _s(mean, low, high, std=0.01, n=3):
    return Spread(mean, std, low, high, n)


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


def test_single_seeds_tie_only_when_equal():
    entries = {"a": spread([0.7]), "b": spread([0.7]), "c": spread([0.69])}
    placings = tiered_ranks(entries)
    assert [placings[k].rank for k in "abc"] == [1, 1, 3]


def test_pooled_std_by_hand():
    # variances 0.01^2 (n=3) and 0.03^2 (n=3): pooled = sqrt((2 * 1e-4 + 2 * 9e-4) / 4) = sqrt(5e-4)
    assert pooled_std([_s(0, 0, 0, std=0.01), _s(0, 0, 0, std=0.03)]) == pytest.approx(math.sqrt(5e-4))
    assert pooled_std([spread([0.5])]) is None


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
    marked, noise = within_noise_of_best({"a": spread([0.8]), "b": spread([0.79])})
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

def test_leaderboard_tie_and_clear_win_by_hand():
    board = build_leaderboard(frame(STANDARD))
    rows = board.rows.set_index(["objective", "task"])
    topic_mlm, topic_clm = rows.loc[("mlm", "synthetic_topic")], rows.loc[("clm", "synthetic_topic")]
    assert topic_mlm["mean"] == pytest.approx(2.41 / 3) and topic_clm["mean"] == pytest.approx(2.41 / 3)
    assert topic_mlm["rank"] == topic_clm["rank"] == 1  # tie: intervals overlap
    assert topic_clm["comparison"] == "no significant difference"
    sentiment_clm = rows.loc[("clm", "sentiment")]
    assert sentiment_clm["difference"] == pytest.approx(-0.10)
    assert bool(sentiment_clm["significant"]) is True
    assert sentiment_clm["comparison"] == "worse than the reference"
    assert sentiment_clm["rank"] == 2 and not sentiment_clm["within_2sd_of_best"]
    assert rows.loc[("mlm", "sentiment")]["comparison"] == "reference"
    assert rows.loc[("none", "synthetic_topic")]["rank"] == 3
    assert sentiment_clm["seeds"] == "3 runs: 1 pretraining seed x 3 finetuning seeds (finetuning seeds varied)"


def test_aggregate_is_mean_of_normalised_scores_and_ranks():
    board = build_leaderboard(frame(STANDARD))
    agg = board.aggregate.set_index("objective")
    # mlm: per seed pair (0.80+0.70)/2, (0.81+0.71)/2, (0.80+0.72)/2 -> mean 0.7567
    assert agg.loc["mlm", "score"] == pytest.approx((0.75 + 0.76 + 0.76) / 3)
    assert agg.loc["mlm", "score_ci_low"] == pytest.approx(0.75)
    assert agg.loc["mlm", "mean_rank"] == 1.0
    assert agg.loc["clm", "mean_rank"] == 1.5  # rank 1 (tie) on topic, 2 on sentiment
    assert board.entries[0] == ("llama", "mlm") and board.entries[-1] == ("llama", "none")


def test_single_seed_report_says_no_interval():
    board = build_leaderboard(frame({"mlm": {"t": {(0, 0): 0.8}}, "clm": {"t": {(0, 0): 0.7}}}))
    row = board.rows.set_index("objective").loc["clm"]
    assert row["std"] is None or math.isnan(row["std"])
    assert row["ci_low"] is None or math.isnan(row["ci_low"])
    assert "no interval" in row["comparison"]  # the rendered wording is checked in test_report_outputs


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
    assert any("default reference objective 'mlm' has no runs" in n for n in board.notes)


def test_every_pretrained_entry_is_compared_with_the_untrained_control():
    values = {**STANDARD, "electra": {"synthetic_topic": seeds(0.41, 0.40, 0.45), "sentiment": seeds(0.40, 0.41, 0.42)}}
    board = build_leaderboard(frame(values))
    controls = board.controls.set_index(["objective", "task"])
    assert set(board.controls["control"]) == {"none"} and "none" not in set(board.controls["objective"])
    assert len(board.controls) == 6  # 3 pretrained objectives x 2 tasks
    assert controls.loc[("mlm", "sentiment"), "difference"] == pytest.approx(0.20)
    assert controls.loc[("mlm", "sentiment"), "comparison"] == "better than no pretraining"
    assert controls.loc[("clm", "synthetic_topic"), "difference"] == pytest.approx((0.39 + 0.42 + 0.34) / 3)
    assert controls.loc[("electra", "synthetic_topic"), "comparison"] == "no significant difference"  # +0.01, -0.02, +0.01
    assert controls.loc[("electra", "sentiment"), "comparison"] == "worse than no pretraining"  # -0.10 each
    summary = dict(line.split(": ", 1) for line in control_summary(board))
    assert summary["sentiment (vs none)"] in ("2 of 3 pretrained objectives better (mlm, clm)",
                                              "2 of 3 pretrained objectives better (clm, mlm)")
    assert summary["synthetic_topic (vs none)"].startswith("2 of 3 pretrained objectives better")


def test_single_runs_against_the_control_get_no_verdict():
    board = build_leaderboard(frame({"none": {"t": {(0, 0): 0.5}}, "clm": {"t": {(0, 0): 0.6}}}))
    row = board.controls.iloc[0]
    assert row["difference"] == pytest.approx(0.1) and row["comparison"] == "one pair: no interval, no verdict"
    assert control_summary(board) == ["t (vs none): 0 of 1 pretrained objectives better; 1 without a verdict (no interval)"]


def test_results_without_an_untrained_control_say_so():
    board = build_leaderboard(frame({"clm": {"t": seeds(0.5, 0.6)}, "mlm": {"t": seeds(0.4, 0.5)}}))
    assert board.controls.empty
    assert any("No untrained control" in note for note in board.notes)


def test_seeds_phrase_names_what_varied():
    df = pd.DataFrame({"pretrain_seed": [0, 0, 1, 1], "finetune_seed": [0, 1, 0, 1]})
    assert seeds_phrase(df) == ("4 runs: 2 pretraining seeds x 2 finetuning seeds "
                                "(pretraining and finetuning seeds varied)")
    assert seeds_phrase(df.iloc[:1]) == "1 run: 1 pretraining seed x 1 finetuning seed (no seed varied)"


def test_aggregate_without_a_full_seed_pair_has_no_interval():
    values = {"mlm": {"a": seeds(0.8, 0.9), "b": {(0, 0): 0.6}}}  # pair (0, 1) missed task b
    board = build_leaderboard(frame(values))
    agg = board.aggregate.iloc[0]
    assert agg["score"] == pytest.approx((0.85 + 0.6) / 2)  # mean over tasks of the per-task means
    assert agg["score_ci_low"] is None or math.isnan(agg["score_ci_low"])
    assert any("no interval for the finetuned aggregate score" in n for n in board.notes)


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
    assert any("rankings can flip" in n for n in board.notes)
    headers, rows = leaderboard_grid(board)
    assert headers == ["model", "objective", "topic: f1_macro", "pairs: accuracy (zero-shot)",
                       "aggregate score, finetuned (0-1)", "mean rank, finetuned",
                       "aggregate score, zero-shot (0-1)", "mean rank, zero-shot"]
    assert [c.text for c in rows[1]][-1] == "1"  # clm: first on the zero-shot task
