"""Executors: a tiny suite through 2 local worker processes, through Ray on a local cluster and
through submitit's local backend (Slurm's job arrays, run here) records exactly what the serial
run records; a worker that dies costs only its job, which is recorded as failed."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from benchmark.cli import _executor_overrides, _parse
from benchmark.config import validate_suite
from benchmark.errors import ObjbenchError, ObjbenchWarning
from benchmark.executors import LocalExecutor, RayExecutor, SlurmExecutor
from benchmark.harness import run_suite
from benchmark.results import iter_failures, iter_records
from tests.helpers import tiny_raw


def _engine(package: str):
    """An optional engine's package: where CI installs the extras (CI set), missing it is a failure."""
    if os.environ.get("CI"):
        return importlib.import_module(package)
    return pytest.importorskip(package)


def _where(suite, job, on_run=None):
    """A unit of work that says which device and how many threads its worker was given."""
    import os
    import time

    import torch

    time.sleep(0.5)  # long enough that both workers take jobs
    return os.environ.get("CUDA_VISIBLE_DEVICES"), torch.get_num_threads()


def _dies_on_two(suite, job, on_run=None):
    """A unit of work whose worker process is killed on job 2, as the kernel kills one out of memory."""
    if job == 2:
        os._exit(9)
    return job


def _suite(root, objectives=("none", "clm", "mlm"), seeds=(0, 1)):
    raw = tiny_raw(root, objectives=list(objectives))
    raw["pretrain"] = {**raw["pretrain"], "seeds": list(seeds)}
    return validate_suite(raw)


def _metrics(suite) -> dict[str, dict]:
    return {r["run_id"]: r["metrics"] for r in iter_records(suite.results_dir, suite.name)}


@pytest.mark.slow
def test_two_workers_record_the_same_runs_and_metrics_as_one_process(tmp_path):
    serial, parallel = _suite(tmp_path / "serial"), _suite(tmp_path / "parallel")
    summary = run_suite(parallel, progress=False, executor=LocalExecutor(2, cpus=2))  # 1 thread each, as conftest
    assert summary.ran == len(summary.plan.runs) == 6 and summary.reused == 0
    run_suite(serial, progress=False)
    assert _metrics(parallel) == _metrics(serial)  # the same run ids, bit-identical metrics
    again = run_suite(parallel, progress=False, executor=LocalExecutor(2, cpus=2))
    assert (again.ran, again.reused) == (0, 6)  # recorded by the workers: nothing is redone


@pytest.mark.slow
def test_runs_finished_in_workers_are_reported_back_one_by_one(tmp_path):
    suite = _suite(tmp_path)
    from benchmark.harness import run_job
    from benchmark.plan import make_plan
    from benchmark.inputs import prepared_data

    plan = make_plan(suite, prepared_data(suite))
    seen = []
    outcomes = list(LocalExecutor(2, cpus=2).map(run_job, suite, plan.jobs,
                                                 on_run=lambda job, run: seen.append((job.objective, run.task))))
    assert sum(o.ran for o in outcomes) == 6
    assert sorted(seen) == sorted((job.objective, run.task) for job in plan.jobs for run in job.runs)


@pytest.mark.slow
def test_each_worker_gets_its_own_gpu_and_its_share_of_threads():
    outcomes = list(LocalExecutor(2, cpus=4, gpus=["3", "5"]).map(_where, None, list(range(6))))
    assert {device for device, _ in outcomes} == {"3", "5"}  # never every worker on the first GPU
    assert {threads for _, threads in outcomes} == {2}


def test_workers_share_the_cores_and_take_one_gpu_each():
    assert LocalExecutor(2, cpus=16, gpus=[]).threads == 8
    with pytest.warns(ObjbenchWarning, match="3 workers"):  # more workers than cores: said, and each gets one
        assert LocalExecutor(3, cpus=2, gpus=[]).threads == 1
    assert LocalExecutor(2, cpus=2, gpus=["0", "1"]).gpus == ["0", "1"]
    with pytest.raises(ValueError):
        LocalExecutor(0)


@pytest.mark.slow
def test_a_worker_that_dies_loses_only_jobs_in_its_pool_and_they_are_handed_back():
    lost = []
    outcomes = list(LocalExecutor(2, cpus=2).map(_dies_on_two, None, [0, 1, 2, 3],
                                                 on_lost=lambda job, reason: lost.append((job, reason)) or "lost"))
    assert len(outcomes) == 4  # every job answered: returned, or handed to on_lost; nothing raised
    assert 2 in [job for job, _ in lost] and all("worker process died" in reason for _, reason in lost)
    assert sorted([o for o in outcomes if o != "lost"] + [job for job, _ in lost]) == [0, 1, 2, 3]


@pytest.fixture(scope="module")
def ray_cluster():
    ray = _engine("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # a local cluster of this machine's 2 cores
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_records_the_same_runs_and_metrics_as_one_process(tmp_path, ray_cluster):
    serial, on_ray = _suite(tmp_path / "serial"), _suite(tmp_path / "ray")
    summary = run_suite(on_ray, progress=False, executor=RayExecutor(cpus_per_job=1))
    assert (summary.ran, summary.reused, summary.failed) == (6, 0, 0)
    run_suite(serial, progress=False)
    assert _metrics(on_ray) == _metrics(serial)  # 1 thread per task, as the serial run here


@pytest.mark.slow
def test_a_crashed_ray_worker_is_handed_back_and_the_rest_finish(ray_cluster):
    lost = []
    outcomes = list(RayExecutor().map(_dies_on_two, None, [0, 1, 2, 3],
                                      on_lost=lambda job, reason: lost.append((job, reason)) or "lost"))
    assert sorted(o for o in outcomes if o != "lost") == [0, 1, 3]  # Ray isolates the crash to its task
    assert [job for job, _ in lost] == [2] and "Ray worker died" in lost[0][1]


@pytest.mark.slow
def test_slurm_job_arrays_record_the_same_runs_and_metrics_as_one_process(tmp_path):
    _engine("submitit")
    # two pretraining jobs are enough for an array per wave; each array task is a process of its own
    serial, arrays = _suite(tmp_path / "serial", ["none", "clm"], [0]), _suite(tmp_path / "slurm", ["none", "clm"], [0])
    executor = SlurmExecutor(tmp_path / "slurm-logs", cluster="local", poll_s=0.5)
    summary = run_suite(arrays, progress=False, executor=executor)  # wave 1: 2 pretraining jobs; wave 2: 2 runs
    assert (summary.ran, summary.reused, summary.failed) == (2, 0, 0)
    run_suite(serial, progress=False)
    assert _metrics(arrays) == _metrics(serial)
    logs = sorted(p.name for p in (tmp_path / "slurm-logs").rglob("*_submitted.pkl"))
    assert len(logs) == 2 + 2  # one array task per pretraining job (2 objectives x 1 seed), then one per run


@pytest.mark.slow
def test_a_slurm_task_that_dies_fails_only_its_runs(tmp_path):
    _engine("submitit")
    suite = _suite(tmp_path)
    from benchmark import harness
    from benchmark.inputs import prepared_data
    from benchmark.plan import make_plan

    lost = []
    executor = SlurmExecutor(tmp_path / "logs", cluster="local", poll_s=0.5)
    outcomes = list(executor.map(_dies_on_two, None, [0, 1, 2, 3],
                                 on_lost=lambda job, reason: lost.append((job, reason)) or "lost"))
    assert sorted(o for o in outcomes if o != "lost") == [0, 1, 3]
    assert [job for job, _ in lost] == [2] and "ended without a result" in lost[0][1]
    plan = make_plan(suite, prepared_data(suite))  # what the harness does with a lost job
    outcome = harness.lost_job(suite, plan.jobs[0], lost[0][1])
    assert outcome.failed == len(plan.jobs[0].runs) == len(iter_failures(suite.results_dir, suite.name))


def test_the_executor_block_and_its_flags():
    raw = tiny_raw(Path("/tmp"))
    assert validate_suite(raw).executor.kind == "local"
    slurm = validate_suite({**raw, "executor": {"kind": "slurm", "partition": "gpu", "gpus_per_job": 1,
                                                "sbatch": {"account": "nlp"}}}).executor
    assert (slurm.partition, slurm.gpus_per_job, slurm.sbatch) == ("gpu", 1, {"account": "nlp"})
    with pytest.raises(Exception, match="workers: not a setting of the ray executor"):
        validate_suite({**raw, "executor": {"kind": "ray", "workers": 4}})
    args = _parse(["run", "suite.yaml", "--executor", "slurm", "--partition", "gpu", "--time-limit", "90",
                   "--sbatch", "time=1:00:00", "--sbatch", "account=nlp"])
    overrides = _executor_overrides(args)
    from benchmark.config import apply_overrides

    block = validate_suite(apply_overrides(raw, overrides)).executor
    assert (block.kind, block.partition, block.time_limit_min) == ("slurm", "gpu", 90)
    assert block.sbatch == {"time": "1:00:00", "account": "nlp"}  # text, not YAML's sexagesimal 3600
    with pytest.raises(ObjbenchError, match="expected KEY=VALUE"):
        _executor_overrides(_parse(["run", "suite.yaml", "--sbatch", "account"]))
