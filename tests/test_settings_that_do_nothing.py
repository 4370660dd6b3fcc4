"""Settings that would spend compute for nothing, or report numbers that mean nothing, are said before compute:
rungs that no task finetunes are not pretrained, more workers than devices is a warning, a task of one class is
a warning, and one long row is cut before it is tokenized, so it costs what a short one costs."""

from __future__ import annotations

import warnings

import datasets
import pytest

from benchmark.config import validate_suite
from benchmark.errors import ObjbenchWarning
from benchmark.executors import LocalExecutor, oversubscribed
from benchmark.formats import classification, generation, training
from benchmark.plan import make_plan
from benchmark.tasks.checks import split_checks
from tests.helpers import tiny_raw


def test_rungs_that_no_task_finetunes_are_not_pretrained(tmp_path, tiny_data):
    ladder = {"budget": 8, "ladder": [0.5, 1.0]}
    raw = tiny_raw(tmp_path, objectives=["none", "clm"])
    used = make_plan(validate_suite({**raw, "pretrain": {**raw["pretrain"], **ladder}}), tiny_data)
    assert all(job.rungs for job in used.jobs if job.objective == "clm")
    # the ladder's one task is known, but this suite does not run it: the rungs would be pretrained for nothing
    elsewhere = {**raw, "pretrain": {**raw["pretrain"], **ladder, "ladder_tasks": ["synthetic_sentiment"]}}
    with pytest.warns(ObjbenchWarning, match=r"synthetic_sentiment is no task that llama/clm runs here, so their "
                                             r"rungs below 1.0 are not pretrained"):
        plan = make_plan(validate_suite(elsewhere), tiny_data)
    clm = [job for job in plan.jobs if job.objective == "clm"]
    assert clm and not any(job.rungs for job in clm)
    assert not any(run.rung for job in clm for run in job.runs)
    # the final checkpoint is the one the ladder's schedule trains: the same key as with its rungs
    assert [job.key for job in clm] == [job.key for job in used.jobs if job.objective == "clm"]


def test_more_workers_than_devices_is_said_before_any_run():
    assert oversubscribed(2, cpus=2, gpus=[]) is None and oversubscribed(4, cpus=16, gpus=["0", "1", "2", "3"]) is None
    assert "100 workers (--workers) on 2 CPU cores" in oversubscribed(100, cpus=2, gpus=[])
    assert "3 workers (--workers) on 2 GPUs" in oversubscribed(3, cpus=64, gpus=["0", "1"])
    with pytest.warns(ObjbenchWarning, match="contend for the cores"):
        LocalExecutor(8, cpus=2, gpus=[])


def test_a_task_of_one_class_is_a_warning():
    test = datasets.Dataset.from_dict({"text": ["d"], "label": [1]})
    one = datasets.Dataset.from_dict({"text": ["a", "b", "c"], "label": [1, 1, 1]})
    with pytest.warns(ObjbenchWarning, match="every row has the one label 1: any model scores perfectly"):
        split_checks("mine", datasets.DatasetDict(train=one, test=test))
    two = datasets.Dataset.from_dict({"text": ["a", "b", "c"], "label": [0, 1, 1]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        split_checks("mine", datasets.DatasetDict(train=two, test=test))
    assert not caught, [str(w.message) for w in caught]


def test_a_long_row_is_cut_to_what_truncation_keeps_before_it_is_tokenized(tiny_setup):
    tokenizer = tiny_setup.tokenizer
    long_row = " ".join(f"kat{i % 7} birdim" for i in range(200_000))  # 2,399,999 characters
    clipped = training.clipped([long_row, "a kat ."], tokenizer, 32)
    assert len(clipped[0]) < 5_000 and clipped[1] == "a kat ."
    plain = tokenizer([long_row], add_special_tokens=False, truncation=True, max_length=31)["input_ids"]
    assert classification.encode([long_row], tokenizer, 32)[0, :-1].tolist() == plain[0]
    assert generation.tokenize([long_row], tokenizer, 32)[0][:31] == plain[0]
