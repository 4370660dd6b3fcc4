"""Suspicious splits are not refused but never pass unseen: a test set that is the training set, or
test labels that training never shows, give a warning with counts, and the counts go into every record."""

from __future__ import annotations

import pytest

from benchmark.config import validate_suite
from benchmark.errors import ObjbenchWarning
from benchmark.harness import run_suite
from benchmark.results import to_dataframe

from tests.helpers import tiny_raw

pytestmark = pytest.mark.slow

ROWS = [(f"the cat sat on mat number {i}", "ab"[i % 2]) for i in range(16)]


def _csv(rows) -> str:
    return "text,label\n" + "".join(f"{text},{label}\n" for text, label in rows)


def _run(tmp_path, train: str, test: str):
    (tmp_path / "train.csv").write_text(train)
    if test != "train.csv":
        (tmp_path / "test.csv").write_text(test)
    raw = tiny_raw(tmp_path, objectives=["none"], tasks=["local_classification"],
                   task_params={"local_classification": {"train_path": str(tmp_path / "train.csv"),
                                                         "test_path": str(tmp_path / ("train.csv" if test ==
                                                                                      "train.csv" else "test.csv"))}})
    suite = validate_suite(raw)
    with pytest.warns(ObjbenchWarning) as caught:
        run_suite(suite, progress=False)
    record = to_dataframe(suite.results_dir, suite.name).iloc[0]
    return [str(w.message) for w in caught], record


def test_a_test_file_that_is_the_training_file_is_counted_and_warned(tmp_path):
    messages, record = _run(tmp_path, _csv(ROWS), "train.csv")
    assert any("16 of 16 test rows also occur in training" in m for m in messages), messages
    assert record["evaluate.data_checks.test_rows_also_in_train"] == 16
    assert record["evaluate.data_checks.test_rows"] == 16


def test_test_labels_that_training_never_shows_are_counted_and_warned(tmp_path):
    test = _csv([(f"a dog ran past house {i}", "c") for i in range(3)] + [("a bird flew by", "a")])
    messages, record = _run(tmp_path, _csv(ROWS), test)
    assert any("3 of 4 test rows have a label that training never shows" in m for m in messages), messages
    assert record["evaluate.data_checks.test_rows_with_a_label_train_never_shows"] == 3
    assert record["evaluate.data_checks.test_rows_also_in_train"] == 0
