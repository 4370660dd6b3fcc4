"""Two `objbench run` processes on one suite at once: each checkpoint trained once, each run recorded once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from benchmark.results import iter_records

from tests.helpers import tiny_raw, write_suite

pytestmark = pytest.mark.slow


def test_two_processes_on_one_suite_train_each_checkpoint_once_and_record_each_run_once(tmp_path):
    raw = tiny_raw(tmp_path, objectives=["none", "clm", "mlm", "prefix_lm"])
    raw["pretrain"] = {**raw["pretrain"], "budget": 40}  # long enough for the two processes to overlap
    raw["finetune"] = {**raw["finetune"], "seeds": [0, 1]}
    suite_file = write_suite(tmp_path / "suite.yaml", raw)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "benchmark", "run", str(suite_file), "--quiet", "--no-report"]
    workers = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    for worker, (out, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-2000:]

    records = list(iter_records(raw["results_dir"], raw["name"]))
    run_ids = [r["run_id"] for r in records]
    assert len(run_ids) == len(set(run_ids)) == 4 * 2  # four objectives x two finetuning seeds, once each
    # "N runs done, M reused": between them the two processes ran every run exactly once
    done = [int(out.split(": ", 1)[1].split(" runs done")[0]) for out, _ in outputs]
    assert sum(done) == 8, outputs

    # A checkpoint trained twice would show two trainings' statistics among the records that use it;
    # every record of one checkpoint must carry the one training's wall time and loss curve.
    trainings = defaultdict(set)
    for r in records:
        if r["checkpoint"] is not None:
            trainings[r["checkpoint"]].add((r["pretrain"]["wall_s"], r["pretrain"]["final_loss"]))
    assert len(trainings) == 3 and all(len(t) == 1 for t in trainings.values()), trainings
    checkpoints = Path(raw["results_dir"]) / "cache" / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == sorted(trainings)  # no leftovers, no resume files


class SpawnedProcessExecutor:
    """Runs each unit of work in a fresh spawned process: only what pickles gets there."""

    in_waves = False

    def __init__(self):
        self.jobs = []

    def map(self, work, suite, jobs, **options):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        options.pop("on_run", None)  # a callback into this process's progress bar does not travel
        options.pop("on_lost", None)  # nor one that records a dead worker's runs here
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            for job in jobs:
                self.jobs.append(job.objective)
                yield pool.submit(work, suite, job, **options).result()


def test_run_suite_hands_its_jobs_to_the_executor(tmp_path):
    from benchmark.config import validate_suite
    from benchmark.harness import run_suite

    suite = validate_suite(tiny_raw(tmp_path, objectives=["none", "mlm"]))
    executor = SpawnedProcessExecutor()
    summary = run_suite(suite, progress=False, executor=executor)
    assert executor.jobs == ["none", "mlm"]
    assert summary.ran == 2 and summary.reused == 0
    records = list(iter_records(suite.results_dir, suite.name))
    assert sorted(r["objective"] for r in records) == ["mlm", "none"]  # written by the worker process itself
    again = run_suite(suite, progress=False, executor=executor)
    assert again.ran == 0 and again.reused == 2 and executor.jobs == ["none", "mlm"]  # nothing left to hand out
