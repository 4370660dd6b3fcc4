"""Two leaderboards of one suite compared cell by cell and verdict by verdict, the replica suite
``objbench replicate`` runs (disjoint seeds or another precision), and the report section that says
what held.

The boards are built from fixture records (``tests.report_fixtures``) whose values are chosen so
every interval and verdict can be checked by hand: with three pretraining seeds an interval is
mean -+ t_{0.975,2+d0} * sqrt((d0 s0^2 + 2 s^2) / (d0 + 2)) / sqrt(3), moderated toward the prior
(s0^2, d0) that each board fits for its task (``moderated_half_width``).
"""

from __future__ import annotations

import json

import pytest

from benchmark import replicate as replicate_module
from benchmark.cli import main
from benchmark.config import validate_suite
from benchmark.errors import ObjbenchError
from benchmark.replicate import disjoint, replica_suite
from benchmark.report.compare import MIN_CELLS_INSIDE, compare_boards
from benchmark.report.leaderboard import REPLICA, board_of, render_report
from tests.helpers import tiny_raw, write_suite
from tests.report_fixtures import (
    STANDARD,
    finetune_seeds,
    make_record,
    moderated_half_width,
    priors_from_few_cells,  # noqa: F401 (autouse)
)

GOAL_CELLS = f"cells inside the other's 95% prediction interval >= {MIN_CELLS_INSIDE:.0%}"


def by_pretraining_seed(*values: float, first: int = 0) -> dict[tuple[int, int], float]:
    """Values for pretraining seeds ``first``, ``first + 1``, ... each finetuned once (seed 0)."""
    return {(first + i, 0): v for i, v in enumerate(values)}


def board(values: dict, suite: str = "fixture"):
    """``values[objective][task][(pretrain_seed, finetune_seed)]`` -> the leaderboard of those records."""
    records = [make_record(objective, task, p, f, v, suite=suite) for objective, tasks in values.items()
               for task, by_seed in tasks.items() for (p, f), v in by_seed.items()]
    return board_of(records)


def shifted(values: dict, by: float, first: int) -> dict:
    """The same design on pretraining seeds ``first``, ``first + 1``, ..., every value moved by ``by``."""
    return {objective: {task: by_pretraining_seed(*(v + by for v in by_seed.values()), first=first)
                        for task, by_seed in tasks.items()} for objective, tasks in values.items()}


RERUN = "(a 95% interval of the mean holds a rerun's mean only ~83% of the time; this one 95%)"

# --- every cell and verdict holds ----------------------------------------------------------------

def test_a_replica_that_agrees_keeps_every_cell_and_verdict():
    """STANDARD on pretraining seeds 0-2 against the same design 0.005 higher on seeds 3-5 (what a
    replica on disjoint seeds looks like when nothing changed)."""
    first = board(STANDARD)
    second = board(shifted(STANDARD, 0.005, first=3), suite="fixture-replica")
    comparison = compare_boards(first, second)

    # 3 objectives x 2 tasks; the narrowest interval is about -+0.0167 (mlm on sentiment: std 0.01 on every
    # sentiment cell, so s0 = 0.01 too), three times the shift, so each mean lies inside the other's interval
    assert len(comparison.cells) == 6
    assert comparison.cells_judged == comparison.cells_inside == 6 and comparison.share_inside == 1.0
    assert comparison.cells["second_inside_first"].all() and comparison.cells["first_inside_second"].all()
    assert comparison.cells["inside_rerun_intervals"].all()
    mlm = comparison.cells.set_index(["objective", "task"]).loc[("mlm", "sentiment")]
    assert (mlm["first_mean"], mlm["second_mean"]) == pytest.approx((0.71, 0.715))
    half = moderated_half_width(first.priors["sentiment"].cell, 0.01**2, 3)
    assert 0.005 < half < 0.02
    assert (mlm["first_ci_low"], mlm["first_ci_high"]) == pytest.approx((0.71 - half, 0.71 + half))

    # against the reference mlm: clm and none on two tasks; against the control none: clm and mlm on two
    verdicts = comparison.verdicts
    assert len(verdicts) == 8
    assert sorted(verdicts["against"].unique()) == ["control none", "reference mlm"]
    assert (verdicts["change"] == "same").all()
    assert (verdicts["direction_first"] == verdicts["direction_second"]).all()
    by = verdicts.set_index(["objective", "task", "against"])
    assert by.loc[("clm", "synthetic_topic", "reference mlm"), "direction_first"] == "undecided"
    assert by.loc[("clm", "sentiment", "reference mlm"), "direction_first"] == "worse"
    assert by.loc[("mlm", "sentiment", "control none"), "direction_first"] == "better"
    assert [comparison.count(c) for c in ("same", "moved", "reversal", "not compared")] == [8, 0, 0, 0]
    assert comparison.reversals.empty and comparison.moves.empty

    assert comparison.goals() == {"no reversal": True, GOAL_CELLS: True}
    assert comparison.summary() == [
        "cells: 6 of 6 with each mean inside the other's interval (100%); 0 without an interval on a side",
        "cells: 6 of 6 with each mean inside the other's 95% prediction interval for a rerun's mean " + RERUN,
        "verdicts: 8 same, 0 moved (to or from undecided, or between a direction and equivalent within the "
        "tolerance), 0 reversed (better ↔ worse, or equivalent ↔ "
        "an effect beyond the tolerance), 0 not compared (provisional or unpaired on a side)",
        "goal no reversal: met", f"goal {GOAL_CELLS}: met"]
    data = comparison.to_dict()
    assert data["verdicts"] == {"same": 8, "moved": 0, "reversal": 0, "not compared": 0}
    assert (data["cells_judged"], data["cells_inside"]) == (6, 6)
    json.dumps(data)  # plain enough for replication.json


# --- a reversal, a move, a cell outside, a provisional side ---------------------------------------
# Each board fits its own prior; every value below is a board's interval of about -+0.015 (first) or -+0.02
# (second) around a cell's mean, and of -+0.001-0.002 around a constant paired difference (a prior at the
# metric's resolution).

# One task, no mlm (so no reference: every verdict is against the control none). First board on
# pretraining seeds 0-2, second on 3-5; none is 0.50, 0.51, 0.52 in both, so each objective's
# difference from it is its own values minus those.
FIRST = {
    "none": {"t": by_pretraining_seed(0.50, 0.51, 0.52)},
    "clm": {"t": by_pretraining_seed(0.70, 0.71, 0.72)},  # +0.20 each: better
    "electra": {"t": by_pretraining_seed(0.60, 0.62, 0.61)},  # +0.10, +0.11, +0.09: better
    "ul2": {"t": by_pretraining_seed(0.65, 0.66, 0.67)},  # +0.15 each: better
    "prefix_lm": {"t": by_pretraining_seed(0.55, 0.56, 0.57)},  # +0.05 each: better
}
SECOND = {
    "none": {"t": by_pretraining_seed(0.50, 0.51, 0.52, first=3)},
    # -0.05 each: worse than no pretraining, a reversal; mean 0.46, far outside the first's [0.695, 0.725]
    "clm": {"t": by_pretraining_seed(0.45, 0.46, 0.47, first=3)},
    # +0.11, +0.14, +0.02: mean 0.09, sample variance (0.02^2 + 0.05^2 + 0.07^2) / 2 = 0.0039, moderated toward
    # the second board's prior for differences: about [-0.004, 0.184] holds 0: undecided, a move
    "electra": {"t": by_pretraining_seed(0.61, 0.65, 0.54, first=3)},
    "ul2": {"t": by_pretraining_seed(0.66, 0.67, 0.68, first=3)},  # +0.16 each: better again, the same
    # one pretraining run (seed 3) finetuned twice: a provisional verdict, and no interval for its cell
    "prefix_lm": {"t": finetune_seeds(0.55, 0.57, pretrain_seed=3)},
}


@pytest.fixture(scope="module")
def changed():
    return compare_boards(board(FIRST), board(SECOND, suite="fixture-replica"))


def test_directions_of_each_board_by_hand(changed):
    by = changed.verdicts.set_index("objective")
    assert set(changed.verdicts["against"]) == {"control none"}  # no reference objective in these boards
    assert by.loc["clm", "direction_first"] == "better" and by.loc["clm", "direction_second"] == "worse"
    assert by.loc["electra", "direction_first"] == "better" and by.loc["electra", "direction_second"] == "undecided"
    assert by.loc["ul2", "direction_first"] == by.loc["ul2", "direction_second"] == "better"
    assert by.loc["prefix_lm", "direction_second"] == "provisional"
    assert by.loc["electra", "difference_second"] == pytest.approx(0.09)
    half = moderated_half_width(board(SECOND, suite="fixture-replica").priors["t"].difference, 0.0039, 3)
    assert by.loc["electra", "difference_ci_low_second"] == pytest.approx(0.09 - half)
    assert by.loc["electra", "difference_ci_low_second"] < 0  # holds 0, and reaches past +-0.02: undecided


def test_changes_are_classified(changed):
    change = changed.verdicts.set_index("objective")["change"]
    assert change.to_dict() == {"clm": "reversal", "electra": "moved", "ul2": "same", "prefix_lm": "not compared"}
    assert [changed.count(c) for c in ("same", "moved", "reversal", "not compared")] == [1, 1, 1, 1]
    assert list(changed.reversals["objective"]) == ["clm"] and list(changed.moves["objective"]) == ["electra"]


def test_cells_inside_outside_and_without_an_interval(changed):
    cells = changed.cells.set_index("objective")
    # clm: 0.46 outside [0.695, 0.725] and 0.71 outside [0.440, 0.480]
    assert cells.loc["clm", "second_inside_first"] == False and cells.loc["clm", "first_inside_second"] == False  # noqa: E712
    assert cells.loc["clm", "inside_both_ways"] == False  # noqa: E712
    # electra: 0.60 inside [0.61 -+ 0.015] = [0.595, 0.625]; 0.61 inside [0.60 -+ 0.085]
    assert cells.loc["electra", "inside_both_ways"] == True  # noqa: E712
    assert cells.loc["none", "inside_both_ways"] == True and cells.loc["ul2", "inside_both_ways"] == True  # noqa: E712
    # prefix_lm: the second side has no interval (one pretraining run), so the cell is not judged,
    # although its mean 0.56 lies inside the first's interval
    assert cells.loc["prefix_lm", "second_inside_first"] == True  # noqa: E712
    assert cells.loc["prefix_lm", "first_inside_second"] is None and cells.loc["prefix_lm", "inside_both_ways"] is None
    assert (changed.cells_judged, changed.cells_inside) == (4, 3)
    assert changed.share_inside == pytest.approx(0.75)


def test_goals_and_summary_name_what_changed(changed):
    # one reversal; 3 of 4 cells inside both rerun intervals (75% < 90%); a move is no goal's concern
    assert changed.goals() == {"no reversal": False, GOAL_CELLS: False}
    lines = changed.summary()
    assert lines[0] == "cells: 3 of 4 with each mean inside the other's interval (75%); 1 without an interval on a side"
    # clm's rerun interval too misses: 0.71 +- t * 0.01 * sqrt(1/3 + 1/3), a few hundredths, does not reach 0.46
    assert lines[1] == ("cells: 3 of 4 with each mean inside the other's 95% prediction interval for a rerun's mean "
                        + RERUN)
    assert changed.cells.set_index("objective").loc["clm", "inside_rerun_intervals"] == False  # noqa: E712
    del lines[1]
    assert lines[1] == ("verdicts: 1 same, 1 moved (to or from undecided, or between a direction and equivalent within the "
                        "tolerance), 1 reversed (better ↔ worse, "
                        "or equivalent ↔ an effect beyond the tolerance), 1 not compared (provisional or unpaired "
                        "on a side)")
    assert lines[2:4] == ["goal no reversal: NOT MET", f"goal {GOAL_CELLS}: NOT MET"]
    assert lines[4] == "REVERSED: llama/clm on t vs control none: better → worse"  # reversals first
    assert lines[5] == "moved: llama/electra on t vs control none: better → undecided"
    assert lines[6:] == ["outside: llama/clm on t: 0.710 [0.695, 0.725] vs 0.460 [0.440, 0.480]"]
    assert not any("prefix_lm" in line or "ul2" in line for line in lines)  # unchanged or not compared: no line
    data = changed.to_dict()
    assert data["verdicts"] == {"same": 1, "moved": 1, "reversal": 1, "not compared": 1}
    assert data["goals"]["no reversal"] is False


def test_nothing_judged_leaves_the_goals_open():
    """Two boards of one pretraining run each: no cell has an interval, no verdict is a finding."""
    one = {"none": {"t": finetune_seeds(0.50, 0.52)}, "clm": {"t": finetune_seeds(0.70, 0.71)}}
    comparison = compare_boards(board(one), board(one, suite="fixture-replica"))
    assert comparison.cells_judged == 0 and comparison.share_inside is None
    assert comparison.count("not compared") == 1
    assert comparison.goals() == {"no reversal": None, GOAL_CELLS: None}
    assert comparison.summary()[3:] == ["goal no reversal: not judged", f"goal {GOAL_CELLS}: not judged"]


# --- equivalence: a finding of "the same" that an effect beyond the tolerance reverses --------------

NONE = (0.50, 0.51, 0.52)


def control_plus(*differences: float, first: int = 0) -> dict[tuple[int, int], float]:
    """The control ``NONE`` plus ``differences``, seed by seed: the paired differences are exactly these."""
    return by_pretraining_seed(*(round(c + d, 6) for c, d in zip(NONE, differences)), first=first)


def test_equivalent_against_an_effect_beyond_the_tolerance_is_a_reversal():
    """Three objectives the same as no pretraining (differences within +-0.002, so each interval lies well
    inside the tolerance of +-0.02), then on other seeds: clm +0.10 on every seed (better, its interval wholly
    beyond +0.02: the finding "the same" was wrong), ul2 -0.03, +0.03, 0 (undecided: its interval holds 0
    and reaches past +-0.02) and prefix_lm +0.005, +0.006, +0.005 (better, but inside the tolerance)."""
    first = board({"none": {"t": control_plus(0, 0, 0)}, "clm": {"t": control_plus(0.001, -0.001, 0.0)},
                   "ul2": {"t": control_plus(0.002, -0.002, 0.0)},
                   "prefix_lm": {"t": control_plus(0.001, 0.0, -0.001)}})
    second = board({"none": {"t": control_plus(0, 0, 0, first=3)}, "clm": {"t": control_plus(0.1, 0.1, 0.1, first=3)},
                    "ul2": {"t": control_plus(0.03, -0.03, 0.0, first=3)},
                    "prefix_lm": {"t": control_plus(0.005, 0.006, 0.005, first=3)}}, suite="fixture-replica")
    comparison = compare_boards(first, second)
    by = comparison.verdicts.set_index("objective")
    assert (by["direction_first"] == "equivalent").all()
    assert (by["difference_ci_low_first"] >= -0.02).all() and (by["difference_ci_high_first"] <= 0.02).all()
    assert [*by["tolerance_first"], *by["tolerance_second"]] == pytest.approx([0.02] * 6)
    assert by.loc["clm", "direction_second"] == "better" and by.loc["clm", "difference_ci_low_second"] > 0.02
    assert by.loc["ul2", "direction_second"] == "undecided"
    assert by.loc["prefix_lm", "direction_second"] == "better"
    assert 0 < by.loc["prefix_lm", "difference_ci_low_second"] < by.loc["prefix_lm", "difference_ci_high_second"] < 0.02
    assert by["change"].to_dict() == {"clm": "reversal", "ul2": "moved", "prefix_lm": "moved"}
    assert comparison.goals()["no reversal"] is False
    lines = comparison.summary()
    assert "REVERSED: llama/clm on t vs control none: equivalent → better" in lines
    assert "moved: llama/ul2 on t vs control none: equivalent → undecided" in lines
    # the other way round reads the same: equivalent in the second run, an effect beyond delta in the first
    assert compare_boards(second, first).verdicts.set_index("objective")["change"].to_dict() == by["change"].to_dict()


# --- the replica suite ---------------------------------------------------------------------------

def test_disjoint_seeds_start_past_the_largest():
    assert disjoint([0, 1]) == [2, 3]
    assert disjoint([0]) == [1]
    assert disjoint([3, 0, 5]) == [6, 7, 8]  # as many again, past 5, whatever the order
    assert set(disjoint([4, 2])).isdisjoint({4, 2})


def test_replica_runs_on_disjoint_seeds_under_its_own_name(tmp_path):
    raw = tiny_raw(tmp_path, pretrain={**tiny_raw(tmp_path)["pretrain"], "seeds": [0, 1]},
                   finetune={**tiny_raw(tmp_path)["finetune"], "seeds": [0]})
    suite = validate_suite(raw)
    replica = replica_suite(suite)
    assert replica.name == "tiny-replica"
    assert replica.pretrain.seeds == [2, 3] and replica.finetune.seeds == [1]
    assert set(replica.pretrain.seeds).isdisjoint(suite.pretrain.seeds)
    assert set(replica.finetune.seeds).isdisjoint(suite.finetune.seeds)
    assert replica.precision == suite.precision
    # nothing else changes: the same recipe, tasks and stores
    same = replica.model_dump(mode="json")
    same["name"] = suite.name
    same["pretrain"]["seeds"], same["finetune"]["seeds"] = suite.pretrain.seeds, suite.finetune.seeds
    assert same == suite.model_dump(mode="json")


def _explicit_precision(requested: str, device) -> str:
    """``resolve_precision`` where fp32 and bf16 both run and ``auto`` means fp32."""
    return "fp32" if requested == "auto" else requested


def test_replica_at_another_precision_keeps_the_seeds(tmp_path, monkeypatch):
    monkeypatch.setattr(replicate_module, "resolve_precision", _explicit_precision)
    suite = validate_suite(tiny_raw(tmp_path, precision="fp32"))
    replica = replica_suite(suite, "bf16")
    assert replica.name == "tiny-bf16" and replica.precision == "bf16"
    assert replica.pretrain.seeds == suite.pretrain.seeds and replica.finetune.seeds == suite.finetune.seeds
    auto = validate_suite(tiny_raw(tmp_path, precision="auto"))  # resolves to fp32 here
    assert replica_suite(auto, "bf16").name == "tiny-bf16"


@pytest.mark.parametrize("declared", ["fp32", "auto"])
def test_replica_at_the_precision_already_used_is_refused(tmp_path, monkeypatch, declared):
    monkeypatch.setattr(replicate_module, "resolve_precision", _explicit_precision)
    suite = validate_suite(tiny_raw(tmp_path, precision=declared))  # fp32, named or resolved from auto
    with pytest.raises(ObjbenchError, match="already computes in fp32 here"):
        replica_suite(suite, "fp32")


# --- a report with its replication ---------------------------------------------------------------

def test_a_report_with_a_replica_says_what_held(tmp_path):
    records = [make_record(o, t, p, f, v) for o, tasks in FIRST.items() for t, by in tasks.items()
               for (p, f), v in by.items()]
    replica = [make_record(o, t, p, f, v, suite="fixture-replica") for o, tasks in SECOND.items()
               for t, by in tasks.items() for (p, f), v in by.items()]
    out = render_report(records, "fixture", tmp_path / "reports", replica=replica)
    data = json.loads((out / "leaderboard.json").read_text())["replication"]
    assert data["verdicts"] == {"same": 1, "moved": 1, "reversal": 1, "not compared": 1}
    assert data["goals"] == {"no reversal": False, GOAL_CELLS: False}
    assert data["varied"].startswith("pretraining seeds [0, 1, 2], finetuning seeds [0], precision ")
    assert "(this report) against pretraining seeds [3, 4, 5], finetuning seeds [0, 1], precision " in data["varied"]
    readme = (out / "README.md").read_text()
    section = readme.split("## Replication on other seeds")[1].split("\n## ")[0]
    assert "REVERSED: llama/clm on t vs control none: better → worse" in section
    assert "goal no reversal: NOT MET" in section
    assert len((out / REPLICA).read_text().splitlines()) == len(replica)  # kept beside the report's own records
    again = render_report(records, "fixture", tmp_path / "reports")  # remade without it: no stale replication
    assert not (again / REPLICA).exists() and "Replication" not in (again / "README.md").read_text()
    assert "replication" not in json.loads((again / "leaderboard.json").read_text())


# --- objbench replicate: the exit status ---------------------------------------------------------

@pytest.mark.parametrize("reversed_verdict", [True, False])
def test_cli_replicate_exits_1_exactly_on_a_reversal(tmp_path, capsys, monkeypatch, changed, reversed_verdict):
    """The runs stubbed out: the comparison above (one reversal) or one that agrees."""
    comparison = changed if reversed_verdict else compare_boards(board(FIRST), board(FIRST, suite="again"))

    def compared(suite, precision=None, progress=True, executor=None):
        return comparison, tmp_path / "out"

    monkeypatch.setattr(replicate_module, "replicate", compared)
    code = main(["replicate", str(write_suite(tmp_path / "tiny.yaml", tiny_raw(tmp_path))), "--quiet"])
    out = capsys.readouterr().out
    assert code == (1 if reversed_verdict else 0)
    assert ("REVERSED: llama/clm on t vs control none: better → worse" in out) is reversed_verdict
    assert out.splitlines()[-1] == f"report with its replication: {tmp_path / 'out' / 'README.md'}"


# --- objbench replicate, end to end ---------------------------------------------------------------

@pytest.mark.slow
def test_cli_replicate_reports_the_comparison_and_exits_by_reversals(tmp_path, capsys):
    raw = tiny_raw(tmp_path, objectives=["none", "clm"],
                   pretrain={**tiny_raw(tmp_path)["pretrain"], "seeds": [0, 1]},
                   finetune={**tiny_raw(tmp_path)["finetune"], "seeds": [0]})
    suite_file = write_suite(tmp_path / "tiny.yaml", raw)
    code = main(["replicate", str(suite_file), "--quiet"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    folder, replica_folder = tmp_path / "reports" / "tiny", tmp_path / "reports" / "tiny-replica"
    assert (replica_folder / "README.md").is_file()  # the replica's own report
    assert out.splitlines()[-1] == f"report with its replication: {folder / 'README.md'}"
    data = json.loads((folder / "leaderboard.json").read_text())["replication"]
    assert code == (1 if data["verdicts"]["reversal"] else 0)
    # one task, none and clm: one cell each and one verdict (clm against the control none)
    assert len(data["cells"]) == 2 and sum(data["verdicts"].values()) == 1
    assert data["varied"].startswith("pretraining seeds [0, 1], finetuning seeds [0], precision ")
    assert "against pretraining seeds [2, 3], finetuning seeds [1], precision " in data["varied"]
    readme = (folder / "README.md").read_text()
    assert "## Replication on other seeds" in readme and "goal no reversal: " in readme
    runs = {suite: len(list((tmp_path / "results" / suite / "runs").glob("*.json")))
            for suite in ("tiny", "tiny-replica")}
    assert runs == {"tiny": 4, "tiny-replica": 4}  # 2 objectives x 2 pretraining seeds x 1 finetuning seed each
    assert len((folder / REPLICA).read_text().splitlines()) == 4
    # `objbench report` from the store finds the replica again and keeps the section
    assert main(["report", str(suite_file)]) == 0
    assert json.loads((folder / "leaderboard.json").read_text())["replication"]["verdicts"] == data["verdicts"]
