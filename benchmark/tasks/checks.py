"""Checks of a task's splits that do not stop a run but must not pass unseen: test rows that also
occur in training (or a test file that is the training file), and test labels that training never
shows. Each gives a warning with counts, and the counts go into every record of the task."""

from __future__ import annotations

import datasets

from benchmark.errors import warn

INPUT_ROLES = ("text", "text_pair", "question", "context", "source", "good", "bad")  # what a model reads


def split_checks(task: str, splits: datasets.DatasetDict) -> dict[str, int]:
    """Counts of the test split's suspicious rows; warns when any is above zero."""
    train, test = splits["train"], splits["test"]
    roles = [r for r in INPUT_ROLES if r in test.column_names and r in train.column_names]
    seen = set(zip(*(train[r] for r in roles))) if roles else set()
    in_train = sum(row in seen for row in zip(*(test[r] for r in roles))) if roles else 0
    checks = {"test_rows": len(test), "test_rows_also_in_train": in_train}
    if "label" in test.column_names and "label" in train.column_names:
        train_labels = set(train["label"])
        checks["test_rows_with_a_label_train_never_shows"] = sum(y not in train_labels for y in test["label"])
    if in_train:
        warn(f"task {task}: {in_train} of {len(test)} test rows also occur in training; their scores measure "
             f"memory, not generalisation")
    if "label" in train.column_names:
        classes = set(train["label"]) | (set(test["label"]) if "label" in test.column_names else set())
        if len(classes) == 1:
            warn(f"task {task}: every row has the one label {next(iter(classes))!r}: any model scores perfectly, so "
                 "the task cannot tell objectives apart (a label column that was misread, or a file of one class?)")
    unseen = checks.get("test_rows_with_a_label_train_never_shows", 0)
    if unseen:
        warn(f"task {task}: {unseen} of {len(test)} test rows have a label that training never shows; "
             f"no finetuned model can get them right")
    return checks
