"""Classical baselines through the harness: planned on the tasks whose format they serve (skipped
with the reason elsewhere), recorded like runs with their cost, and shown on the board as
baselines, compared with the untrained control rather than taken for one."""

from __future__ import annotations

import json

import pytest

from benchmark.cli import main
from benchmark.config import validate_suite
from benchmark.harness import prepared_data
from benchmark.plan import make_plan
from benchmark.results import iter_records
from tests.helpers import tiny_raw, write_suite

TASKS = {"synthetic_topic": {"train_size": 32, "test_size": 32}, "synthetic_minimal_pairs": {"test_size": 24}}


def _raw(tmp_path, **changes):
    return tiny_raw(tmp_path, **{"objectives": ["none", "clm"], "tasks": list(TASKS), "task_params": TASKS,
                                 "baselines": ["tfidf_lr", "kneser_ney"], **changes})


def test_baselines_are_planned_where_their_format_fits_once_per_pretraining_seed(tmp_path):
    raw = _raw(tmp_path)
    raw["pretrain"] = {**raw["pretrain"], "seeds": [0, 1]}
    suite = validate_suite(raw)
    plan = make_plan(suite, prepared_data(suite))
    runs = sorted((b.baseline, b.task, b.seed) for b in plan.baseline_runs)
    assert runs == [("kneser_ney", "synthetic_minimal_pairs", 0), ("kneser_ney", "synthetic_minimal_pairs", 1),
                    ("tfidf_lr", "synthetic_topic", 0), ("tfidf_lr", "synthetic_topic", 1)]
    reasons = dict(plan.skipped)
    assert "serves zero_shot, not classification" in reasons["llama/kneser_ney/synthetic_topic"]
    assert {b.run_id for b in plan.baseline_runs} <= plan.run_ids


@pytest.mark.parametrize("changes, message", [
    ({"baselines": ["tfidf_lrr"]}, "unknown baseline 'tfidf_lrr'"),
    ({"baseline_params": {"hmm": {"n_states": 4}}}, "baseline_params.hmm: not among the suite's baselines"),
    ({"baseline_params": {"tfidf_lr": {"colour": 1}}}, "baseline_params.tfidf_lr.colour: unknown key"),
])
def test_a_bad_baseline_setting_is_one_line(tmp_path, changes, message):
    from benchmark.config import load_suite
    from benchmark.errors import ObjbenchError

    with pytest.raises(ObjbenchError, match=message):
        load_suite(write_suite(tmp_path / "suite.yaml", _raw(tmp_path, **changes)))


@pytest.mark.slow
def test_baselines_are_recorded_with_their_cost_and_marked_on_the_board(tmp_path, monkeypatch):
    write_suite(tmp_path / "suite.yaml", _raw(tmp_path, results_dir="results", reports_dir="reports"))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "suite.yaml", "--quiet"]) == 0
    records = {(r["objective"], r["task"]): r for r in iter_records("results", "tiny")}
    tfidf = records["tfidf_lr", "synthetic_topic"]
    assert tfidf["baseline"] is True and tfidf["checkpoint"] is None and tfidf["pretrain"]["flops"] == 0
    assert set(tfidf["metrics"]) == set(records["clm", "synthetic_topic"]["metrics"])  # the format's own metrics
    assert tfidf["evaluate"]["fit_s"] >= 0 and tfidf["pretrain"]["parameters"] > 0
    assert "accuracy" in records["kneser_ney", "synthetic_minimal_pairs"]["metrics"]
    # the companion metric, declared as in a network's record: a likelihood where the baseline has one
    assert tfidf["companion_metric"] == records["clm", "synthetic_topic"]["companion_metric"]
    assert tfidf["metrics"]["gold_logprob"] < 0
    assert records["kneser_ney", "synthetic_minimal_pairs"]["companion_metric"]["name"] == "logprob_margin"
    report = (tmp_path / "reports" / "tiny" / "README.md").read_text()
    assert "tfidf\\_lr (baseline)" in report and "kneser\\_ney (baseline)" in report  # Markdown escapes _
    board = json.loads((tmp_path / "reports" / "tiny" / "leaderboard.json").read_text())
    controls = {(c["objective"], c["control"]) for c in board["controls"]}
    assert ("tfidf_lr", "none") in controls  # compared with no pretraining, never a control itself
    assert not any(control == "tfidf_lr" for _, control in controls)
    assert main(["run", "suite.yaml", "--quiet"]) == 0  # all recorded: nothing is fitted again
    assert len(list(iter_records("results", "tiny"))) == len(records)
