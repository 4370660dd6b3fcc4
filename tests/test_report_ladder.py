"""Compute ladders in the report: only the final rung reaches the board and the gate; the other rungs give
curves, crossovers and fitted trends. And the opening the report leads with: its sentences and heat map."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from benchmark.report import write_report
from benchmark.report.gate import check_records
from benchmark.report.headline import control_matrix, summary_sentences, tally
from benchmark.report.ladder import MIN_R_SQUARED, build_ladder, fit_trend, has_ladder
from benchmark.report.leaderboard import board_of
from benchmark.report.runs import final_rung, run_rungs
from benchmark.report.tables import build_leaderboard, cost_table
from benchmark.results import flatten
from tests.report_fixtures import (
    LADDER,
    ONE_PRETRAINING_RUN,
    STANDARD,
    budget_flops,
    make_record,
    moderated_half_width,
    priors_from_few_cells,  # noqa: F401 (autouse)
    seeds,
    write_ladder,
)

T1 = 12.706205  # Student's t, 97.5% quantile, 1 degree of freedom
# What a board's rows hold that does not depend on a task's noise prior: the final rung's runs themselves.
OWN_COLUMNS = ["model", "objective", "task", "mean", "sample_std", "runs", "pretrain_seed_count", "finetune_std",
               "pretrain_seeds", "finetune_seeds", "seeds", "difference", "pairs"]


def ladder_records(values: dict) -> list[dict]:
    budget = budget_flops()
    return [make_record(o, t, p, f, v, rung=rung,
                        **({} if rung is None else {"flops": rung * budget, "ladder_flops": 0.15 * budget}))
            for o, tasks in values.items() for t, rungs in tasks.items() for rung, by_seed in rungs.items()
            for (p, f), v in by_seed.items()]


def plain_records(values: dict) -> list[dict]:
    return [make_record(o, t, p, f, v) for o, tasks in values.items() for t, by_seed in tasks.items()
            for (p, f), v in by_seed.items()]


def frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([flatten(r) for r in records])


@pytest.fixture(scope="module")
def ladder_frame() -> pd.DataFrame:
    return frame(ladder_records(LADDER))


@pytest.fixture(scope="module")
def ladder(ladder_frame):
    return build_ladder(ladder_frame, build_leaderboard(ladder_frame))


# --- only the final rung counts outside the curves ------------------------------------------------------

def test_rungs_of_records_with_and_without_the_key(ladder_frame):
    rungs = run_rungs(ladder_frame)
    assert set(rungs.dropna()) == {0.25, 0.5, 1.0}
    assert rungs[ladder_frame["objective"] == "none"].isna().all()  # the control has no rung
    older = frame(plain_records({"mlm": {"t": seeds(0.8)}, "none": {"t": seeds(0.4)}}))
    rungs = run_rungs(older)  # no key: a pretrained run is the final rung, a control has none
    assert rungs.iloc[0] == 1.0 and math.isnan(rungs.iloc[1])
    assert len(final_rung(older)) == 2


def test_the_board_reads_the_final_rung_only(ladder_frame):
    board = build_leaderboard(ladder_frame)
    rows = board.rows.set_index(["objective", "task"])
    assert rows.loc[("clm", "synthetic_topic"), "mean"] == pytest.approx(0.615)  # 0.60, 0.63 at rung 1
    assert rows.loc[("clm", "synthetic_topic"), "runs"] == 2  # not the 6 runs of three rungs
    assert rows.loc[("none", "synthetic_topic"), "mean"] == pytest.approx(0.41)
    controls = board.controls.set_index(["objective", "task"])
    assert controls.loc[("clm", "synthetic_topic"), "difference"] == pytest.approx(0.205)
    # the same cells as from the final-rung records alone ...
    final = {o: {t: {1.0: r[1.0]} if 1.0 in r else r for t, r in tasks.items()} for o, tasks in LADDER.items()}
    alone = build_leaderboard(frame(ladder_records(final)))
    pd.testing.assert_frame_equal(board.rows[OWN_COLUMNS], alone.rows[OWN_COLUMNS])
    # ... whose intervals are moderated toward a prior that every rung informs: on synthetic_topic 7 cells (none,
    # and clm and mlm at three rungs) and 9 pairs (clm - mlm at each rung, each rung of each against none),
    # where the final rung alone has 3 cells and 3 pairs
    topic = board.priors["synthetic_topic"]
    assert (topic.cell.cells, topic.difference.cells) == (7, 9)
    assert (alone.priors["synthetic_topic"].cell.cells, alone.priors["synthetic_topic"].difference.cells) == (3, 3)
    for row in board.rows.itertuples():
        half = moderated_half_width(board.priors[row.task].cell, row.sample_std**2, row.pretrain_seed_count)
        assert (row.ci_low, row.ci_high) == pytest.approx((row.mean - half, row.mean + half)), row
    costs = cost_table(ladder_frame).set_index("objective")
    assert costs.loc["clm", "flops"] == pytest.approx(budget_flops())  # the final rung's compute, not a mean
    assert costs.loc["clm", "ladder_flops"] == pytest.approx(0.15 * budget_flops())


def test_board_of_and_the_gate_ignore_smaller_rungs():
    records = ladder_records(LADDER)
    assert board_of(records).rows["runs"].sum() == len(final_rung(frame(records)))
    worse_early = ladder_records({o: {t: {r: ({k: 0.0 for k in v} if r not in (None, 1.0) else v)
                                          for r, v in rungs.items()} for t, rungs in tasks.items()}
                                  for o, tasks in LADDER.items()})
    gate = check_records(records, worse_early)
    assert not gate.regressed and set(gate.quality["verdict"]) == {"unchanged"}
    assert gate.quality["baseline"].tolist() == gate.quality["current"].tolist()
    assert all(not changed for changed in gate.cost["flops_changed_seeds"])  # each job's FLOPs: the final rung's


# --- crossovers -----------------------------------------------------------------------------------------

def crossover(ladder, objective: str, task: str) -> dict:
    rows = ladder.crossovers
    return rows[(rows["objective"] == objective) & (rows["task"] == task)].iloc[0].to_dict()


def test_first_rung_better_than_no_pretraining(ladder):
    budget = budget_flops()
    (clm,) = crossover(ladder, "clm", "synthetic_topic")["versus_control"]
    assert clm["control"] == "none" and clm["rung"] == 0.5 and clm["flops"] == pytest.approx(0.5 * budget)
    (mlm,) = crossover(ladder, "mlm", "synthetic_topic")["versus_control"]
    assert mlm["rung"] == 0.25  # +0.10 in both seeds: a narrow interval above 0 from the first rung
    (sentiment,) = crossover(ladder, "clm", "sentiment")["versus_control"]
    assert sentiment["rung"] == 1.0  # +0.02/+0.06 at 0.5 is undecided: its interval holds 0


def test_overtaking_needs_no_win_at_the_rung_before(ladder):
    clm = crossover(ladder, "clm", "synthetic_topic")
    assert [(e["objective"], e["rung"]) for e in clm["overtakes"]] == [("mlm", 1.0)]
    assert crossover(ladder, "mlm", "synthetic_topic")["overtakes"] == []  # ahead at 0.25 already: no overtaking
    assert crossover(ladder, "clm", "sentiment")["overtakes"] == []  # one shared rung: nothing before it


def test_ladder_points_are_two_level_spreads_per_rung(ladder_frame, ladder):
    points = ladder.points.set_index(["objective", "task", "rung"])
    clm = points.loc[("clm", "synthetic_topic", 0.25)]
    # 0.40, 0.45: mean 0.425, sample variance 0.05^2 / 2 = 0.00125 on 1 degree of freedom, moderated toward the
    # task's cell prior as on the board (Student's t alone: half-width 12.706 * 0.025 = 0.318)
    prior = build_leaderboard(ladder_frame).priors["synthetic_topic"].cell
    half = moderated_half_width(prior, 0.00125, 2)
    assert clm["mean"] == pytest.approx(0.425) and clm["pretrain_seed_count"] == 2
    assert (clm["ci_low"], clm["ci_high"]) == pytest.approx((0.425 - half, 0.425 + half))
    assert half < T1 * 0.025
    assert clm["flops"] == pytest.approx(0.25 * budget_flops())
    band = ladder.bands.set_index(["control", "task"]).loc[("none", "synthetic_topic")]
    # none: 0.40, 0.42, sample variance 0.0002
    assert band["mean"] == pytest.approx(0.41)
    assert band["ci_low"] == pytest.approx(0.41 - moderated_half_width(prior, 0.0002, 2))
    assert ladder.rungs == [0.25, 0.5, 1.0]


def test_no_ladder_without_two_rungs():
    df = frame(plain_records(STANDARD))
    assert not has_ladder(df) and build_ladder(df, build_leaderboard(df)) is None


# --- the trend rule -------------------------------------------------------------------------------------

def test_trends_on_the_ladder(ladder):
    clm = crossover(ladder, "clm", "synthetic_topic")
    # means 0.425, 0.515, 0.615 at log10 FLOPs x, x + 0.301, x + 0.602: slope 0.19 / 0.602 = 0.3156 per decade
    assert clm["trend_fits"] and clm["trend_slope"] == pytest.approx(0.19 / math.log10(4))
    assert clm["trend_r_squared"] == pytest.approx(0.99908, abs=1e-4)
    # the seeds' own slopes, 0.20 / 0.602 and 0.18 / 0.602, are 0.01 / log10(4) either side of the mean: Student's t
    # over the two seeds (the trend rule is no moderated interval), 0.316 -+ 12.706 * 0.0166, excludes 0
    assert clm["trend_slope_ci_low"] == pytest.approx(clm["trend_slope"] - T1 * 0.01 / math.log10(4))
    assert crossover(ladder, "mlm", "synthetic_topic")["trend_slope_ci_low"] == pytest.approx(
        crossover(ladder, "mlm", "synthetic_topic")["trend_slope"])  # both of mlm's seeds have the same slope
    assert crossover(ladder, "mlm", "synthetic_topic")["trend_r_squared"] == pytest.approx(0.9643, abs=1e-3)
    sentiment = crossover(ladder, "clm", "sentiment")
    assert not sentiment["trend_fits"] and sentiment["trend_reason"] == "2 rungs, 3 needed"


def test_trend_rule_rejects_a_poor_fit():
    up_and_down = {(1e9, 0): 0.50, (1e9, 1): 0.52, (2e9, 0): 0.70, (2e9, 1): 0.72, (4e9, 0): 0.52, (4e9, 1): 0.54}
    trend = fit_trend(up_and_down)
    assert trend.r_squared < MIN_R_SQUARED and not trend.fits and trend.reason.startswith("R² 0.")


def test_trend_rule_rejects_a_slope_whose_interval_holds_zero():
    # seed 0 rises 0.05 per doubling, seed 1 stays flat: the means rise in a straight line (R² 1), but the
    # per-seed slopes 0.166 and 0 per decade have a t-interval 0.083 -+ 12.706 * 0.083, which holds 0
    scores = {(1e9, 0): 0.50, (2e9, 0): 0.55, (4e9, 0): 0.60, (1e9, 1): 0.60, (2e9, 1): 0.60, (4e9, 1): 0.60}
    trend = fit_trend(scores)
    assert trend.r_squared == pytest.approx(1.0)
    assert trend.slope_ci_low < 0 < trend.slope_ci_high and not trend.fits
    assert trend.reason == "the slope's interval includes 0"


def test_trend_rule_needs_two_seeds_on_every_rung():
    trend = fit_trend({(1e9, 0): 0.5, (2e9, 0): 0.6, (4e9, 0): 0.7, (1e9, 1): 0.55})
    assert trend.r_squared > MIN_R_SQUARED and not trend.fits
    assert trend.reason.startswith("one pretraining seed ran every rung")


def test_trend_rule_accepts_a_clear_straight_rise():
    scores = {(x, s): 0.4 + 0.1 * math.log2(x / 1e9) + 0.01 * s for x in (1e9, 2e9, 4e9, 8e9) for s in (0, 1, 2)}
    trend = fit_trend(scores)
    assert trend.fits and trend.rungs == 4 and trend.slope == pytest.approx(0.1 / math.log10(2))


# --- the report's opening -------------------------------------------------------------------------------

# Three tasks, three pretraining seeds. Against none, clm and mlm are better everywhere; electra's differences
# (0.01, 0, 0.01 and the like) have intervals that hold 0 and lie inside the tolerance of +-0.02: equivalent.
# clm has the best mean on a and b, mlm on c, each with an interval clear of every other entry's.
OPENING = {
    "none": {"a": seeds(0.40, 0.42, 0.44), "b": seeds(0.50, 0.52, 0.54), "c": seeds(0.30, 0.31, 0.32)},
    "clm": {"a": seeds(0.80, 0.82, 0.84), "b": seeds(0.72, 0.74, 0.76), "c": seeds(0.50, 0.51, 0.52)},
    "mlm": {"a": seeds(0.60, 0.62, 0.64), "b": seeds(0.60, 0.62, 0.64), "c": seeds(0.60, 0.61, 0.62)},
    "electra": {"a": seeds(0.41, 0.42, 0.45), "b": seeds(0.50, 0.53, 0.54), "c": seeds(0.30, 0.32, 0.32)},
}


def test_tally_groups_equal_counts():
    assert tally([("clm", 3, 4), ("mlm", 3, 4), ("electra", 0, 4), ("sop", 1, 3)]) == \
        "clm and mlm on 3 of 4 tasks, sop on 1 of 3, electra on none of 4"


def test_summary_sentences_say_what_the_board_says():
    records = plain_records(OPENING)
    df = frame(records)
    board = build_leaderboard(df)
    flops = sorted(budget_flops(o) for o in ("clm", "mlm", "electra"))  # electra borrows clm's pretraining
    shown = "-".join(f"{f:.1e}".replace("e+0", "e") for f in (flops[0], flops[-1])) if flops[-1] > 1.05 * flops[0] \
        else f"{flops[1]:.1e}".replace("e+0", "e")
    sentences = summary_sentences(board, cost_table(df), failures=2)
    assert sentences == [
        f"Best mean at {shown} pretraining FLOPs: clm on 2 of 3 tasks, mlm on 1 of 3.",
        "Ahead of every other entry beyond doubt (95% intervals apart): clm on a and b and mlm on c.",
        "Pretrained objectives better than no pretraining (paired 95% interval excludes 0): clm and mlm on 3 of 3 "
        "tasks, electra on none of 3.",
        "Equivalent to no pretraining (interval within the task's tolerance): electra on a, b and c.",
        "Decided: 9 of 9 pretrained-objective rows against no pretraining (100%).",
        "Intervals are over 3 pretraining seeds per entry.",
        "2 planned runs failed and are not counted (see Failed runs).",
    ]


def test_summary_sentences_count_the_undecided_and_name_the_worse():
    # STANDARD and electra: on sentiment 0.10 below none on every seed (worse); on topic +0.01, -0.02, +0.01
    # (undecided: the interval holds 0 and reaches past +-0.02)
    values = {**STANDARD, "electra": {"synthetic_topic": seeds(0.41, 0.40, 0.45), "sentiment": seeds(0.40, 0.41, 0.42)}}
    df = frame(plain_records(values))
    sentences = summary_sentences(build_leaderboard(df), cost_table(df))
    assert "Worse than no pretraining: electra on sentiment." in sentences
    assert ("Decided: 5 of 6 pretrained-objective rows against no pretraining (83%); 1 undecided, each with a power "
            "estimate of the pretraining seeds that would decide it (Against no pretraining).") in sentences
    assert not any(s.startswith("Equivalent to no pretraining") for s in sentences)


def test_summary_of_one_pretraining_run_says_every_verdict_is_provisional():
    df = frame(plain_records(ONE_PRETRAINING_RUN))
    sentences = summary_sentences(build_leaderboard(df), cost_table(df))
    assert "Against no pretraining every verdict is provisional (one pretraining run); by mean alone, above it: " \
           "mlm and clm on 2 of 2 tasks." in sentences
    assert sentences[-1] == "Every verdict and rank is provisional: one pretraining seed per entry."
    assert not any(s.startswith("Ahead of every other entry") for s in sentences)


def test_summary_without_a_control_says_so():
    df = frame(plain_records({"mlm": {"t": seeds(0.8, 0.81)}, "clm": {"t": seeds(0.7, 0.72)}}))
    sentences = summary_sentences(build_leaderboard(df), cost_table(df))
    assert "No untrained control ran, so whether pretraining helped at all is not measured." in sentences


def test_heat_map_values_and_significance():
    board = build_leaderboard(frame(plain_records(OPENING)))
    matrix = control_matrix(board).set_index(["objective", "task"])
    assert matrix.loc[("clm", "a"), "difference"] == pytest.approx(0.40)
    assert matrix.loc[("clm", "a"), "significant"] == True
    assert matrix.loc[("clm", "a"), "control"] == "none"
    # electra on a: 0.01, 0, 0.01: mean 0.0067, sample std 0.0058, moderated toward the task's prior for
    # differences: an interval that holds 0 and lies within +-0.02
    assert matrix.loc[("electra", "a"), "difference"] == pytest.approx(0.02 / 3)
    assert matrix.loc[("electra", "a"), "significant"] == False
    assert matrix.loc[("electra", "a"), "direction"] == "equivalent"
    assert matrix.loc[("clm", "a"), "direction"] == "better"
    assert set(matrix.index.get_level_values("objective")) == {"clm", "mlm", "electra"}  # not the control
    provisional = control_matrix(build_leaderboard(frame(plain_records(ONE_PRETRAINING_RUN))))
    assert provisional["significant"].isna().all() and provisional["difference"].notna().all()


def test_heat_map_colour_is_scaled_so_that_positive_is_better():
    board = build_leaderboard(frame(plain_records(OPENING)))
    spec = board.metrics["a"]
    lower = type(spec)(spec.name, False, 100.0)  # the same differences on a lower-is-better 0..100 metric
    board.metrics["a"] = lower
    matrix = control_matrix(board).set_index(["objective", "task"])
    assert matrix.loc[("clm", "a"), "scaled"] == pytest.approx(-0.40 / 100)
    assert matrix.loc[("clm", "b"), "scaled"] == pytest.approx(0.22)


# --- in the written report ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ladder_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("ladder")
    write_ladder(root / "results", LADDER)
    return write_report(root / "results", "fixture", root / "reports")


def test_report_with_a_ladder_has_curves_and_crossovers(ladder_report):
    out = ladder_report
    assert (out / "figures" / "compute_curves.png").is_file() and (out / "figures" / "control_heatmap.png").is_file()
    readme = (out / "README.md").read_text()
    titles = [line for line in readme.splitlines() if line.startswith("## ")]
    assert titles[:3] == ["## Difference from no pretraining", "## Leaderboard", "## Notices"]
    # the report says how much it decided between what pretraining did and the compute ladder's curves
    assert titles.index("## How much is decided") == titles.index("## Against no pretraining") + 1
    assert titles.index("## Score against compute") == titles.index("## How much is decided") + 1
    curves = readme.split("## Score against compute")[1].split("\n## ")[0]
    budget = budget_flops()
    assert f"| llama | clm | synthetic\\_topic | 0.25, 0.5, 1 | 0.5 ({0.5 * budget:.1e}".replace("e+0", "e") in curves
    assert "| mlm at 1 (" in curves and "not shown: 2 rungs, 3 needed" in curves
    assert "R² ≥ 0.8" in curves and "](figures/compute_curves.png)" in curves
    assert "Compute ladder: rungs 0.25, 0.5 and 1 of the budget" in readme.split("\n## ")[0]
    data = json.loads((out / "leaderboard.json").read_text())
    assert data["ladder"]["rungs"] == [0.25, 0.5, 1.0]
    assert {(c["objective"], c["task"]) for c in data["ladder"]["crossovers"]} == {
        (o, t) for o in ("clm", "mlm") for t in ("synthetic_topic", "sentiment")}
    assert sum(r["runs"] for r in data["rows"]) == 12  # final rung: 2 tasks x 3 entries x 2 seeds


def test_report_without_a_ladder_has_no_curves(tmp_path):
    from tests.report_fixtures import write_runs

    write_runs(tmp_path / "results", STANDARD)
    out = write_report(tmp_path / "results", "fixture", tmp_path / "reports")
    assert not (out / "figures" / "compute_curves.png").exists()
    assert "Score against compute" not in (out / "README.md").read_text()
    assert "ladder" not in json.loads((out / "leaderboard.json").read_text())


def test_a_classical_baseline_is_a_reference_level_on_the_curves(tmp_path):
    """TF-IDF on a laddered task: no compute to place it at, so a level beside the control's band, drawn."""
    from benchmark.report.plots import compute_curves
    from benchmark.results import BASELINE_GROUP

    tfidf = [{**make_record("tfidf_lr", "synthetic_topic", p, 0, v, model=BASELINE_GROUP), "baseline": True,
              "checkpoint": None} for p, v in ((0, 0.55), (1, 0.57))]
    df = frame(ladder_records(LADDER) + tfidf)
    board = build_leaderboard(df)
    ladder = build_ladder(df, board)
    [reference] = ladder.references.to_dict(orient="records")
    assert (reference["objective"], reference["task"]) == ("tfidf_lr", "synthetic_topic")
    assert reference["mean"] == pytest.approx(0.56) and reference["model"] == BASELINE_GROUP
    assert "tfidf_lr" not in set(ladder.points["objective"])  # no rung: not a curve
    assert ladder.to_dict()["references"][0]["objective"] == "tfidf_lr"
    assert compute_curves(ladder, board, tmp_path / "curves.png").is_file()
