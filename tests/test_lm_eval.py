"""lm-evaluation-harness as a second evaluator, through a suite's ``lm_eval_tasks``: a task defined on a
local JSON file (its YAML's ``dataset_path: json``) scored by lm-eval on tiny causal checkpoints, recorded
like any zero-shot run with lm-eval's version and the task's; an encoder skipped with lm-eval's reason;
an unknown lm-eval task one line before anything trains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from benchmark.cli import main
from benchmark.config import validate_suite
from benchmark.harness import run_suite
from benchmark.results import iter_records
from tests.helpers import tiny_raw, write_suite

PAIRS = [("the cat sleeps .", "the cat sleep ."), ("the dogs run .", "the dogs runs ."),
         ("a bird sings .", "a bird sing ."), ("two cats sleep .", "two cats sleeps .")]


def _task_folder(root: Path) -> Path:
    folder = root / "lm_eval_tasks"
    folder.mkdir()
    data = root / "pairs.jsonl"
    data.write_text("".join(json.dumps({"good": g, "bad": b}) + "\n" for g, b in PAIRS))
    (folder / "pairs.yaml").write_text(yaml.safe_dump({
        "task": "objbench_pairs", "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": str(data)}},
        "test_split": "test", "output_type": "multiple_choice", "doc_to_text": "",
        "doc_to_choice": "{{[good, bad]}}", "doc_to_target": 0,
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": 2.0}}))
    return folder


@pytest.mark.slow
def test_a_local_lm_eval_task_scores_causal_checkpoints_and_skips_an_encoder(tmp_path, monkeypatch):
    pytest.importorskip("lm_eval")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    raw = tiny_raw(tmp_path, objectives=["none_causal", "clm", "mlm"], lm_eval_tasks=["objbench_pairs"],
                   lm_eval_include=str(_task_folder(tmp_path)),
                   variants={"none_causal": {"objective": "none", "kind": "causal_decoder"}})
    suite = validate_suite(raw)
    summary = run_suite(suite, progress=False)
    assert summary.failed == 0
    assert ("llama/mlm/lm_eval_objbench_pairs",
            "encoder: lm-evaluation-harness does not score masked language models (lm-eval #202, #1840)") \
        in summary.plan.skipped
    scored = {r["objective"]: r for r in iter_records(suite.results_dir, suite.name) if r["task_format"] == "lm_eval"}
    assert sorted(scored) == ["clm", "none_causal"]
    for record in scored.values():
        about = record["evaluate"]["lm_eval"]
        assert about["version"] == __import__("lm_eval").__version__
        assert (about["task"], about["task_version"], about["num_fewshot"], about["items"]) == (
            "objbench_pairs", 2.0, 0, len(PAIRS))
        items = record["test_items"]["values"]  # what the accuracy is the mean of, item by item
        assert record["metrics"]["accuracy"] == pytest.approx(sum(items) / len(items))
        assert record["metrics"]["gold_loglikelihood"] < 0 and record["finetune_mode"] is None
        assert record["task_entry"] == "lm_eval" and record["finetune"]["steps"] == 0


def test_an_unknown_lm_eval_task_is_one_line_before_training(tmp_path, monkeypatch, capsys):
    pytest.importorskip("lm_eval")
    monkeypatch.chdir(tmp_path)
    raw = tiny_raw(tmp_path, lm_eval_tasks=["no_such_task_anywhere"], lm_eval_include=str(_task_folder(tmp_path)))
    assert main(["run", str(write_suite(tmp_path / "suite.yaml", raw)), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lm_eval task no_such_task_anywhere: lm-eval knows no such task" in err
    assert not (tmp_path / "results" / "cache" / "checkpoints").exists()
