"""A run that raises is contained: the others are recorded, it is kept with its traceback, the exit
status is 1, the report lists it, and the next run does only it."""

from __future__ import annotations

import json

import pytest

from benchmark.cli import main
from benchmark.formats.classification import Classification
from benchmark.results import iter_failures, iter_records
from tests.helpers import tiny_raw, write_suite

pytestmark = pytest.mark.slow


def test_one_failing_run_of_six_is_recorded_reported_and_redone_alone(tmp_path, monkeypatch, capsys):
    raw = tiny_raw(tmp_path, objectives=["none", "clm", "mlm"], results_dir="results", reports_dir="reports")
    raw["finetune"] = {**raw["finetune"], "seeds": [0, 1]}  # 3 objectives x 2 finetuning seeds = 6 runs
    write_suite(tmp_path / "suite.yaml", raw)
    monkeypatch.chdir(tmp_path)
    evaluate = Classification.evaluate

    def broken(self, model, split, tokenizer, recipe, kind, device, precision):
        if broken.calls == 2:  # the third run evaluated, mid-suite
            broken.calls += 1
            raise RuntimeError("planted failure")
        broken.calls += 1
        return evaluate(self, model, split, tokenizer, recipe, kind, device, precision)
    broken.calls = 0
    monkeypatch.setattr(Classification, "evaluate", broken)

    assert main(["run", "suite.yaml", "--quiet"]) == 1
    out = capsys.readouterr().out
    [summary_line] = [line for line in out.splitlines() if line.startswith("FAILED")]  # one line names them
    assert summary_line.startswith("FAILED 1 run(s): ") and "planted failure" in out
    assert len(list(iter_records("results", "tiny"))) == 5  # the other five are recorded
    [failure] = iter_failures("results", "tiny")
    assert f"{failure['objective']}/{failure['task']} (seeds {failure['pretrain_seed']}/" in summary_line
    assert failure["phase"] == "finetuning or evaluation" and "RuntimeError: planted failure" in failure["traceback"]
    report = (tmp_path / "reports" / "tiny" / "README.md").read_text()
    assert "## Failed runs" in report and "planted failure" in report
    assert json.loads((tmp_path / "reports" / "tiny" / "leaderboard.json").read_text())["failed_runs"][0][
        "run_id"] == failure["run_id"]

    monkeypatch.setattr(Classification, "evaluate", evaluate)  # the cause is fixed
    assert main(["run", "suite.yaml", "--quiet"]) == 0
    assert "1 runs done, 5 reused from earlier" in capsys.readouterr().out  # only the failed one ran
    assert len(list(iter_records("results", "tiny"))) == 6 and iter_failures("results", "tiny") == []
    assert "Failed runs" not in (tmp_path / "reports" / "tiny" / "README.md").read_text()
