"""One pretraining job over several processes (torch.distributed, gloo on this CPU: the NCCL code path).

- the global batch splits into disjoint, covering shards, and every objective's loss splits into
  terms whose item-weighted parts add up to the whole batch's loss (so the split gradient is the
  whole batch's), for every registered objective;
- DDP and FSDP over 2 processes match one process: the same steps, tokens and loss-bearing tokens
  (the same rows, corrupted the same way), and a final loss within LOSS_TOLERANCE;
- a DDP job whose rank is killed is recorded as failed, and the next run resumes it on one process,
  finishes, and its checkpoint loads with from_pretrained and finetunes;
- ``--nproc-per-node 2`` runs a suite end to end, finetuning spread over ``--workers``;
- the Slurm path: a job of several tasks per node through submitit (its local backend runs the
  tasks as processes here, each a rank), and the sbatch script submitit writes for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch
import yaml
from transformers import AutoModel

from benchmark.cli import main
from benchmark.config import validate_suite
from benchmark.distributed import World
from benchmark.executors import SlurmExecutor, in_rank, in_worker
from benchmark.harness import run_job, run_suite
from benchmark.inputs import prepared_data
from benchmark.plan import make_plan
from benchmark.pretraining import load_cached_stats
from benchmark.results import iter_failures, iter_records
from tests.helpers import PRETRAINING, first_blocks, make, tiny_raw, write_suite

# How far the final loss of a 2-process job may lie from one process's after 40 steps, in nats. Only
# the order of the sums differs (the all-reduce, FSDP's reduce-scatter), and training amplifies that
# a little each step: measured on this suite, at most 0.003 (MLM under FSDP; CLM 0.0003), against a
# gap of 0.09 between two pretraining seeds of one process. Weighting each rank's loss by its rows
# instead of its target tokens, as a plain DDP average does, moves MLM by 0.015: this tolerance tells
# them apart, which is why MLM, whose rows bear different numbers of targets, is the one tested.
LOSS_TOLERANCE = 0.005


@pytest.mark.parametrize("batch, ranks, micro", [(8, 2, None), (32, 3, None), (7, 4, 1), (9, 2, 2), (5, 1, 2)])
def test_a_global_batch_splits_into_disjoint_shards_that_cover_it(batch, ranks, micro):
    worlds = [World(rank, ranks, micro_batch_size=micro) for rank in range(ranks)]
    shards = [w.rows(batch) for w in worlds]
    assert sorted(i for shard in shards for i in shard) == list(range(batch))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    for world, shard in zip(worlds, shards, strict=True):
        parts = world.micro_batches(batch)
        assert [i for part in parts for i in part] == list(shard)
        assert all(len(part) <= (micro or len(shard)) for part in parts)


@pytest.mark.parametrize("name", PRETRAINING)
def test_a_split_batch_weighs_its_loss_terms_to_the_whole_batchs_loss(name, tiny_setup, tiny_data):
    """What makes a job over N devices (or micro-batches) train on the single process's loss: each
    part's terms, weighted by its share of each term's items, add up to the whole batch's loss."""
    objective = make(name, tiny_setup)
    torch.manual_seed(0)
    network = objective.build().eval()  # no dropout: the same function of the batch, part or whole
    batch = objective.prepare(first_blocks(tiny_data, 8), torch.Generator().manual_seed(3))
    whole = objective.loss(network, batch)
    assert whole.terms is not None, f"{name}: its loss gives no terms, so a split batch is weighted by rows"
    assert sum(whole.terms).item() == pytest.approx(whole.loss.item(), rel=1e-6)
    totals = objective.loss_items(batch)
    split = 0.0
    for part in (range(0, 3), range(3, 8)):
        inputs = {k: v[part.start:part.stop] for k, v in batch.items()}
        out = objective.loss(network, inputs)
        split += sum(t.item() * n / total for t, n, total in zip(out.terms, objective.loss_items(inputs), totals,
                                                                  strict=True) if total)
    assert split == pytest.approx(whole.loss.item(), rel=1e-5, abs=1e-6)


def _pretrained(root: Path, objective: str, parallel: dict, steps: int = 40) -> dict:
    raw = tiny_raw(root, objectives=[objective])
    raw["pretrain"] = {**raw["pretrain"], "budget": steps, "resume_every_steps": 0, "parallel": parallel}
    suite = validate_suite(raw)
    [job] = make_plan(suite, prepared_data(suite)).jobs
    assert run_job(suite, job, pretrain_only=True).failed == 0
    return load_cached_stats(job.checkpoint, suite.results_dir)


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["mlm"])  # its targets vary per row: the weighting is tested too
def test_ddp_and_fsdp_over_two_processes_match_one_process(tmp_path, objective):
    one = _pretrained(tmp_path / "one", objective, {})
    for strategy in ("ddp", "fsdp"):
        spread = _pretrained(tmp_path / strategy, objective, {"strategy": strategy, "devices": 2})
        assert spread["parallel"] == {"strategy": strategy, "world_size": 2, "micro_batch_size": None}
        for key in ("steps", "tokens", "samples", "loss_bearing_tokens", "flops"):
            assert spread[key] == one[key], (strategy, key)
        assert abs(spread["final_loss"] - one["final_loss"]) <= LOSS_TOLERANCE, strategy
        # throughput and MFU are the job's; per device as well
        assert spread["tokens_per_s_per_device"] == pytest.approx(spread["tokens_per_s"] / 2)


@pytest.mark.parametrize("missing, expect", [("fsdp", "needs FSDP2 (torch.distributed.fsdp.fully_shard"),
                                             ("gloo", "on a CPU needs the gloo backend")])
def test_a_torch_build_that_cannot_run_the_layout_is_one_line_before_training(tmp_path, monkeypatch, capsys,
                                                                              missing, expect):
    if missing == "fsdp":
        monkeypatch.setitem(sys.modules, "torch.distributed.fsdp", None)  # what a build without FSDP2 gives
    else:
        monkeypatch.setattr(torch.distributed, "is_gloo_available", lambda: False)
    monkeypatch.chdir(tmp_path)
    suite_file = _suite_file(tmp_path, budget=6)
    assert main(["run", str(suite_file), "--quiet", "--nproc-per-node", "2", "--parallel", "fsdp"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expect in err, err
    assert not (tmp_path / "results" / "cache" / "checkpoints").exists()


def _suite_file(root: Path, **pretrain) -> Path:
    raw = tiny_raw(root, objectives=["none", "clm"])
    raw["pretrain"] = {**raw["pretrain"], **pretrain}
    return write_suite(root / "suite.yaml", raw)


def _workers_of(process: psutil.Process) -> list[psutil.Process]:
    """The ranks a launcher started: spawned Python processes below it (not multiprocessing's tracker)."""
    found = []
    for child in process.children(recursive=True):
        try:
            line = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in line and "resource_tracker" not in line:
            found.append(child)
    return found


@pytest.mark.slow
def test_a_killed_rank_fails_the_job_and_the_next_run_resumes_it_on_one_process(tmp_path):
    suite_file = _suite_file(tmp_path, budget=240, resume_every_steps=10)
    command = [sys.executable, "-m", "benchmark", "run", str(suite_file), "--quiet", "--no-report"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    driver = subprocess.Popen([*command, "--nproc-per-node", "2"], cwd=tmp_path, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    checkpoints = tmp_path / "results" / "cache" / "checkpoints"
    deadline = time.monotonic() + 240
    while not list(checkpoints.glob("*.resume.pt")):  # a resume state saved: the job is midway
        assert driver.poll() is None and time.monotonic() < deadline, "the job ended before saving a resume state"
        time.sleep(0.2)
    ranks = _workers_of(psutil.Process(driver.pid))
    assert len(ranks) == 2
    ranks[-1].send_signal(signal.SIGKILL)
    out, _ = driver.communicate(timeout=240)
    assert driver.returncode == 1, out
    failures = list(iter_failures(tmp_path / "results", "tiny"))
    assert failures and all(f["phase"] == "pretraining" for f in failures)
    assert all("Signal 9" in f["error"] or "SIGKILL" in f["error"] for f in failures), failures[0]["error"]
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in ranks)  # nothing left behind

    rerun = subprocess.run(command, cwd=tmp_path, env=env, text=True, capture_output=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    [trained] = [r for r in iter_records(tmp_path / "results", "tiny") if r["objective"] == "clm"]
    assert trained["pretrain"]["resumed_from_step"] >= 10 and trained["pretrain"]["steps"] == 240
    assert "parallel" not in trained["pretrain"]  # finished by one process
    assert not list(iter_failures(tmp_path / "results", "tiny"))
    assert 0 <= trained["metrics"]["accuracy"] <= 1  # finetuned and evaluated
    [folder] = [p for p in checkpoints.iterdir() if p.is_dir()]
    assert AutoModel.from_pretrained(folder).config.model_type == "llama"


@pytest.mark.slow
def test_nproc_per_node_runs_a_suite_end_to_end_and_finetunes_over_the_workers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite_file = _suite_file(tmp_path, budget=8, ladder=[0.5, 1.0])  # a rung branches off the job, on both ranks
    assert main(["run", str(suite_file), "--quiet", "--nproc-per-node", "2", "--workers", "2"]) == 0
    records = list(iter_records(tmp_path / "results", "tiny"))
    plan = make_plan(validate_suite(yaml.safe_load(suite_file.read_text())),
                     prepared_data(validate_suite(yaml.safe_load(suite_file.read_text()))))
    assert {r["run_id"] for r in records} == {r.run_id for r in plan.runs}
    trained = {r["rung"]: r["pretrain"] for r in records if r["objective"] == "clm"}
    assert sorted(trained) == [0.5, 1.0] and [trained[r]["steps"] for r in (0.5, 1.0)] == [4, 8]
    assert all(p["parallel"]["world_size"] == 2 for p in trained.values())
    assert (tmp_path / "reports" / "tiny" / "README.md").is_file()


def test_the_slurm_description_of_a_job_over_nodes(tmp_path, monkeypatch):
    """What submitit is asked for: one Slurm job per pretraining job, M nodes x G tasks (one per GPU),
    each task a rank; and the sbatch script submitit writes from it (a stand-in srun lets it build one)."""
    submitit = pytest.importorskip("submitit")
    executor = SlurmExecutor(tmp_path / "logs", partition="gpu", gpus_per_job=1, cpus_per_job=8,
                             sbatch={"account": "nlp"})
    ranked = executor.ranked(nodes=2, tasks_per_node=8)
    assert ranked.description() == {
        "name": "objbench-pretrain_job", "timeout_min": 60, "gpus_per_node": 8, "cpus_per_task": 8,
        "slurm_array_parallelism": 64, "slurm_additional_parameters": {"account": "nlp"}, "slurm_partition": "gpu",
        "nodes": 2, "tasks_per_node": 8, "cluster": None, "ranks": 16}
    assert executor.description()["ranks"] == 1 and "nodes" not in executor.parameters  # runs stay one task

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("srun", "sbatch"):
        (bin_dir / tool).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    auto = submitit.AutoExecutor(folder=tmp_path / "logs" / "%j", cluster="slurm")
    auto.update_parameters(name="objbench-pretrain_job", **ranked.parameters)
    script = auto._executor._make_submission_file_text("python -m submitit.core._submit", "uid")
    for line in ("#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=8", "#SBATCH --gpus-per-node=8",
                 "#SBATCH --cpus-per-task=8", "#SBATCH --partition=gpu", "#SBATCH --account=nlp"):
        assert line in script, script
    assert "srun" in script  # every task started by srun: each one a rank


def _rank_and_world(suite, job):
    """A unit of work that reports the rank variables its task was given."""
    return {k: os.environ.get(k) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}


def test_every_task_of_a_slurm_job_is_a_rank(tmp_path, monkeypatch):
    """in_rank sets the variables torch.distributed reads from the task's Slurm environment."""
    pytest.importorskip("submitit")
    monkeypatch.chdir(tmp_path)  # where in_worker goes, and comes back from after the test
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    for name, value in {"SLURM_JOB_ID": "42", "SLURM_PROCID": "3", "SLURM_NTASKS": "4", "SLURM_LOCALID": "1",
                        "SLURM_JOB_NODELIST": "gpu[01-02]", "SLURM_JOB_NUM_NODES": "2", "SLURM_NODEID": "1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    try:
        seen = in_rank(_rank_and_world, str(tmp_path), 0, None, None)
    finally:
        for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "LOCAL_WORLD_SIZE"):
            os.environ.pop(name, None)  # exported into this process by the call, unknown to monkeypatch
    assert seen["RANK"] == "3" and seen["WORLD_SIZE"] == "4" and seen["LOCAL_RANK"] == "1"
    assert seen["MASTER_ADDR"] == "gpu01" and seen["MASTER_PORT"].isdigit()
    assert in_worker(_rank_and_world, str(tmp_path), 0, None, None)["RANK"] is None


@pytest.mark.slow
def test_a_slurm_job_of_two_tasks_pretrains_as_two_ranks(tmp_path):
    """submitit's local backend runs a job's tasks as processes here, with Slurm's task variables:
    the same path as a cluster's, from the rank variables to the gloo process group."""
    pytest.importorskip("submitit")
    raw = tiny_raw(tmp_path, objectives=["clm"])
    raw["pretrain"] = {**raw["pretrain"], "budget": 6, "parallel": {"devices": 2}}
    suite = validate_suite(raw)
    summary = run_suite(suite, progress=False, executor=SlurmExecutor(tmp_path / "logs", cluster="local", poll_s=0.5))
    assert (summary.ran, summary.failed) == (1, 0)
    [trained] = [r for r in iter_records(suite.results_dir, suite.name) if r["objective"] == "clm"]
    assert trained["pretrain"]["parallel"]["world_size"] == 2
