"""The local executor: a tiny suite through 2 worker processes records what the serial run records."""

from __future__ import annotations

import pytest

from benchmark.config import validate_suite
from benchmark.executors import LocalExecutor
from benchmark.harness import run_suite
from benchmark.results import iter_records
from tests.helpers import tiny_raw


def _where(suite, job, on_run=None):
    """A unit of work that says which device and how many threads its worker was given."""
    import os
    import time

    import torch

    time.sleep(0.5)  # long enough that both workers take jobs
    return os.environ.get("CUDA_VISIBLE_DEVICES"), torch.get_num_threads()

pytestmark = pytest.mark.slow


def _suite(root):
    raw = tiny_raw(root, objectives=["none", "clm", "mlm"])
    raw["pretrain"] = {**raw["pretrain"], "seeds": [0, 1]}
    return validate_suite(raw)


def _metrics(suite) -> dict[str, dict]:
    return {r["run_id"]: r["metrics"] for r in iter_records(suite.results_dir, suite.name)}


def test_two_workers_record_the_same_runs_and_metrics_as_one_process(tmp_path):
    serial, parallel = _suite(tmp_path / "serial"), _suite(tmp_path / "parallel")
    summary = run_suite(parallel, progress=False, executor=LocalExecutor(2, cpus=2))  # 1 thread each, as conftest
    assert summary.ran == len(summary.plan.runs) == 6 and summary.reused == 0
    run_suite(serial, progress=False)
    assert _metrics(parallel) == _metrics(serial)  # the same run ids, bit-identical metrics
    again = run_suite(parallel, progress=False, executor=LocalExecutor(2, cpus=2))
    assert (again.ran, again.reused) == (0, 6)  # recorded by the workers: nothing is redone


def test_runs_finished_in_workers_are_reported_back_one_by_one(tmp_path):
    suite = _suite(tmp_path)
    from benchmark.harness import run_job
    from benchmark.plan import make_plan
    from benchmark.harness import prepared_data

    plan = make_plan(suite, prepared_data(suite))
    seen = []
    outcomes = list(LocalExecutor(2, cpus=2).map(run_job, suite, plan.jobs,
                                                 on_run=lambda job, run: seen.append((job.objective, run.task))))
    assert sum(o.ran for o in outcomes) == 6
    assert sorted(seen) == sorted((job.objective, run.task) for job in plan.jobs for run in job.runs)


def test_each_worker_gets_its_own_gpu_and_its_share_of_threads():
    outcomes = list(LocalExecutor(2, cpus=4, gpus=["3", "5"]).map(_where, None, list(range(6))))
    assert {device for device, _ in outcomes} == {"3", "5"}  # never every worker on the first GPU
    assert {threads for _, threads in outcomes} == {2}


def test_workers_share_the_cores_and_take_one_gpu_each():
    assert LocalExecutor(2, cpus=16, gpus=[]).threads == 8
    assert LocalExecutor(3, cpus=2, gpus=[]).threads == 1
    assert LocalExecutor(2, cpus=2, gpus=["0", "1"]).gpus == ["0", "1"]
    with pytest.raises(ValueError):
        LocalExecutor(0)
