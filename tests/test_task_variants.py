"""Task variants: two instances of one registered task side by side in one suite, each with its
own name in the plan, the records and the leaderboard."""

from __future__ import annotations

import json

import pytest

from benchmark.cli import main
from benchmark.config import validate_suite
from benchmark.errors import ObjbenchError
from benchmark.results import iter_records
from tests.helpers import tiny_raw, write_suite


def _files(root):
    """Two labelled datasets of one format: topics (4 classes) and a binary split of the same rows."""
    from pathlib import Path

    rows = Path(__file__).parents[1].joinpath("suites/data/topic-train.csv").read_text().splitlines()[1:]
    header = "sentence,topic"
    topics, binary = [header], [header]
    for line in rows:
        sentence, topic = line.rsplit(",", 1)
        topics.append(f"{sentence},{topic}")
        binary.append(f"{sentence},{'low' if topic < 'topic_3' else 'high'}")
    paths = {}
    for name, lines in (("topics", topics), ("halves", binary)):
        (root / f"{name}-train.csv").write_text("\n".join([lines[0], *lines[1:41]]) + "\n")
        (root / f"{name}-test.csv").write_text("\n".join([lines[0], *lines[41:61]]) + "\n")
        paths[name] = {"task": "local_classification", "train_path": str(root / f"{name}-train.csv"),
                       "test_path": str(root / f"{name}-test.csv"), "text_column": "sentence",
                       "label_column": "topic"}
    return paths


def test_two_variants_of_one_task_validate_with_their_own_settings(tmp_path):
    raw = tiny_raw(tmp_path, tasks=["topics", "halves", "synthetic_topic"], task_variants=_files(tmp_path))
    suite = validate_suite(raw)
    assert suite.task_entry("topics") is suite.task_entry("halves")
    assert suite.task_settings("topics").train_path != suite.task_settings("halves").train_path
    assert suite.task_settings("synthetic_topic").train_size == 32  # task_params still set registered tasks


@pytest.mark.parametrize("variants, message", [
    ({"sst2": {"task": "local_classification"}}, "task_variants.sst2: the name of a registered task"),
    ({"mine": {"task": "local_clasification"}}, "task_variants.mine.task: unknown task 'local_clasification'"),
    ({"mine": {"task": "local_classification", "train_path": "a.csv"}}, "task_variants.mine.test_path: Field required"),
    ({"mine": {"task": "local_classification", "train_path": "a", "test_path": "b", "colour": 1}},
     "task_variants.mine.colour: unknown key"),
])
def test_a_bad_variant_is_one_line_naming_it(tmp_path, variants, message):
    from benchmark.config import load_suite

    raw = {**tiny_raw(tmp_path), "tasks": list(variants), "task_variants": variants, "task_params": {}}
    with pytest.raises(ObjbenchError, match=message):
        load_suite(write_suite(tmp_path / "suite.yaml", raw))


def test_task_params_cannot_address_a_variant(tmp_path):
    raw = tiny_raw(tmp_path, tasks=["topics"], task_variants={"topics": _files(tmp_path)["topics"]},
                   task_params={"topics": {"train_size": 3}})
    with pytest.raises(Exception, match="task_params.topics: not among the suite's registered tasks"):
        validate_suite(raw)


@pytest.mark.slow
def test_both_variants_are_planned_run_recorded_and_on_one_leaderboard(tmp_path, monkeypatch, capsys):
    raw = tiny_raw(tmp_path, objectives=["none", "clm"], tasks=["topics", "halves"], task_variants=_files(tmp_path),
                   task_params={}, results_dir="results", reports_dir="reports")
    write_suite(tmp_path / "suite.yaml", raw)
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "suite.yaml"]) == 0
    plan = capsys.readouterr().out
    assert "topics" in plan and "halves" in plan
    assert main(["run", "suite.yaml", "--quiet"]) == 0
    records = list(iter_records("results", "tiny"))
    assert sorted({r["task"] for r in records}) == ["halves", "topics"] and len(records) == 4
    assert {r["task_entry"] for r in records} == {"local_classification"}
    paths = {r["task"]: r["task_params"]["train_path"] for r in records}
    assert paths["topics"].endswith("topics-train.csv") and paths["halves"].endswith("halves-train.csv")
    from benchmark.tasks.availability import task_splits

    suite = validate_suite(raw)
    classes = {name: task_splits(suite, name)[0]["train"].features["label"].names for name in ("topics", "halves")}
    assert classes["halves"] == ["high", "low"] and len(classes["topics"]) > 2  # two datasets, not one read twice
    board = json.loads((tmp_path / "reports" / "tiny" / "leaderboard.json").read_text())
    assert {"topics", "halves"} <= set(json.dumps(board).split('"'))
