"""Classical baselines through the harness: planned on the tasks whose format they serve (skipped
with the reason elsewhere), recorded like runs with their cost, and shown on the board as
baselines, compared with the untrained control rather than taken for one."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmark import registry
from benchmark.cli import main
from benchmark.config import validate_suite
from benchmark.formats.items import ITEMS_KEY, mean_items
from benchmark.inputs import prepared_data
from benchmark.plan import make_plan
from benchmark.report.headline import entry_name
from benchmark.report.tables import build_leaderboard
from benchmark.results import BASELINE_GROUP, flatten, iter_records
from tests.helpers import tiny_raw, write_suite
from tests.report_fixtures import make_record

TASKS = {"synthetic_topic": {"train_size": 32, "test_size": 32}, "synthetic_minimal_pairs": {"test_size": 24}}


def _raw(tmp_path, **changes):
    return tiny_raw(tmp_path, **{"objectives": ["none", "clm"], "tasks": list(TASKS), "task_params": TASKS,
                                 "baselines": ["tfidf_lr", "kneser_ney"], **changes})


@pytest.fixture
def two_models():
    """A second model entry beside llama (the same blocks under another name), for a suite of two models."""
    twin = type("Twin", (registry.models.get("llama"),), {})
    registry.models.register("twin")(twin)
    yield ["llama", "twin"]
    registry.models._entries.pop("twin")


def test_baselines_are_fitted_once_per_suite_and_per_seed_only_when_seeded(tmp_path, two_models):
    """Two models and two pretraining seeds: the deterministic kneser_ney is fitted once, the seeded tfidf_lr
    (its seed picks the validation split) once per seed; neither under a model's name."""
    raw = _raw(tmp_path, models=two_models)
    raw["pretrain"] = {**raw["pretrain"], "seeds": [0, 1]}
    suite = validate_suite(raw)
    plan = make_plan(suite, prepared_data(suite))
    runs = sorted((b.model, b.baseline, b.task, b.seed) for b in plan.baseline_runs)
    assert runs == [(BASELINE_GROUP, "kneser_ney", "synthetic_minimal_pairs", 0),
                    (BASELINE_GROUP, "tfidf_lr", "synthetic_topic", 0),
                    (BASELINE_GROUP, "tfidf_lr", "synthetic_topic", 1)]
    assert {j.model for j in plan.jobs} == {"llama", "twin"}
    reasons = dict(plan.skipped)
    assert "serves zero_shot, not classification" in reasons[f"{BASELINE_GROUP}/kneser_ney/synthetic_topic"]
    assert {b.run_id for b in plan.baseline_runs} <= plan.run_ids


def test_a_deterministic_baseline_sits_on_the_board_once_and_is_judged_against_each_models_control(two_models):
    """Records of two models' controls and one fit of a deterministic baseline: the board has one baseline row
    per task, no interval of its own (no zero-width one), and a verdict against each model's control, whose
    spread is the only noise in the difference."""
    def scored(record: dict, right: int) -> dict:  # right on ``right`` of 50 test items
        return {**record, ITEMS_KEY: mean_items("f1_macro", [1.0] * right + [0.0] * (50 - right))}

    records = [scored(make_record(o, "synthetic_topic", s, 0, v, model=m), round(50 * v))
               for m in two_models for o, vs in (("none", (0.40, 0.42, 0.44)), ("clm", (0.70, 0.72, 0.70)))
               for s, v in enumerate(vs)]
    fixed = scored(make_record("tfidf_lr", "synthetic_topic", 0, 0, 0.60, model=BASELINE_GROUP), 30)
    records.append({**fixed, "baseline": True, "deterministic": True, "checkpoint": None})
    board = build_leaderboard(pd.DataFrame([flatten(r) for r in records]))
    row = board.rows[board.rows["objective"] == "tfidf_lr"]
    assert len(row) == 1 and row["model"].iloc[0] == BASELINE_GROUP and bool(row["deterministic"].iloc[0])
    row = row.iloc[0]  # its own interval is the test set's: 30 of 50 items, BCa, about +-0.14
    assert 0.44 < row["ci_low"] < 0.50 and 0.70 < row["ci_high"] < 0.76 and "bootstrap" in row["interval_covers"]
    versus = board.controls[board.controls["objective"] == "tfidf_lr"].set_index("control")
    assert sorted(versus.index) == ["llama/none", "twin/none"]
    d = versus.loc["llama/none"]
    assert d["difference"] == pytest.approx(0.60 - 0.42) and d["direction"] == "better"
    assert "pretraining seeds" in d["interval_covers"] and "test set" in d["interval_covers"]
    seeds_only = build_leaderboard(pd.DataFrame([flatten({k: v for k, v in r.items() if k != ITEMS_KEY})
                                                 for r in records]))
    alone = seeds_only.controls.set_index(["objective", "control"]).loc[("tfidf_lr", "llama/none")]
    assert d["difference_ci_low"] < alone["difference_ci_low"] < d["difference"] < alone["difference_ci_high"] \
        < d["difference_ci_high"]  # the test set's noise widens it
    assert any(n.kind == "Deterministic baselines" for n in board.notes)
    assert not any(n.kind == "Provisional" for n in board.notes)
    # named by its objective alone, neural entries by model where there are several models
    assert entry_name(board, BASELINE_GROUP, "tfidf_lr") == "tfidf_lr" and entry_name(board, "twin", "clm") == "twin/clm"


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
    assert tfidf["model"] == BASELINE_GROUP and tfidf["deterministic"] is False
    assert records["kneser_ney", "synthetic_minimal_pairs"]["deterministic"] is True
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
