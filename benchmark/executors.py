"""Where the harness's units of work run: this process, local worker processes, Ray or Slurm.

An executor takes a unit of work (``harness.run_job``, or a wave's unit), the suite and the
jobs, and yields one outcome per job as each finishes. The unit of work takes plain,
picklable inputs (the suite's settings and the job's paths, never a model) and writes its own
records into the shared results directory, so an executor that runs it in other processes or
on other machines needs nothing back but the outcome, and a driver that dies loses nothing.

Two kinds of trouble come back differently:
- an error the unit of work lets through (the user's to fix, e.g. a bad task file) is raised
  again in the driver, whatever machine it happened on;
- a job whose worker died (killed for memory, a crash in native code, a cluster time limit) is
  handed to ``on_lost(job, reason)``, which records its runs as failed, so that the other jobs
  go on and the next ``objbench run`` does it again.

The engines do the scheduling: a process pool here, Ray's scheduler across a Ray cluster,
Slurm's job arrays (through submitit) on a cluster. This module imports nothing else of the
project.
"""

from __future__ import annotations

import concurrent.futures
import copy
import functools
import importlib.util
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from benchmark.errors import ObjbenchError, warn

Outcome = TypeVar("Outcome")
LostHandler = Callable[[Any, str], Any]  # (job, why its worker died) -> the job's outcome


class Executor(Protocol):
    # True: the harness sends two waves, every pretraining job and then every finetuning run,
    # for engines that schedule batches (a Slurm job array per wave) rather than a stream.
    in_waves: bool

    def map(self, work: Callable[..., Outcome], suite: Any, jobs: Sequence[Any], *, progress: bool = False,
            on_run: Callable[[Any, Any], None] | None = None,
            on_lost: LostHandler | None = None) -> Iterator[Outcome]:
        """``work(suite, job, ...)`` for every job; outcomes in the order the jobs finish."""


class SerialExecutor:
    """Every job in this process, one after another, in plan order."""

    in_waves = False

    def map(self, work: Callable[..., Outcome], suite: Any, jobs: Sequence[Any], *, progress: bool = False,
            on_run: Callable[[Any, Any], None] | None = None,
            on_lost: LostHandler | None = None) -> Iterator[Outcome]:
        for job in jobs:
            yield work(suite, job, progress=progress, on_run=on_run)


def _start_worker(slots: Any, threads: int, devices: Sequence[str]) -> None:
    """In a fresh worker process, before torch is imported: take a device slot and a thread share."""
    slot = slots.get()
    if devices:  # one GPU per worker, by the environment: a library's default would put all on GPU 0
        os.environ["CUDA_VISIBLE_DEVICES"] = devices[slot % len(devices)]
    _use_threads(threads)


def _use_threads(threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)


def _report_run(queue: Any) -> Callable[[Any, Any], None]:
    return functools.partial(_put, queue)


def _put(queue: Any, job: Any, run: Any) -> None:
    queue.put((job, run))


class LocalExecutor:
    """``workers`` processes on this machine, each with its own device: one GPU each where there are
    GPUs (``CUDA_VISIBLE_DEVICES`` set per worker), else an equal share of the CPU cores as torch
    threads. Jobs go out in plan order; each job pretrains, then finetunes its own runs at once.
    Runs finished by a worker are reported back as they finish, for one overall progress bar."""

    in_waves = False

    def __init__(self, workers: int, cpus: int | None = None, gpus: Sequence[str] | None = None):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.threads = max(1, (cpus or os.cpu_count() or 1) // workers)
        self.gpus = list(gpus) if gpus is not None else _visible_gpus()
        crowded = oversubscribed(workers, cpus or os.cpu_count() or 1, self.gpus)
        if crowded:
            warn(crowded)

    def map(self, work: Callable[..., Outcome], suite: Any, jobs: Sequence[Any], *, progress: bool = False,
            on_run: Callable[[Any, Any], None] | None = None,
            on_lost: LostHandler | None = None) -> Iterator[Outcome]:
        context = multiprocessing.get_context("spawn")  # no forked torch or thread pools
        with context.Manager() as manager:
            slots, runs = manager.Queue(), manager.Queue()
            for slot in range(self.workers):
                slots.put(slot)
            with concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker,
                                                        initargs=(slots, self.threads, self.gpus)) as pool:
                pending = {pool.submit(work, suite, job, on_run=_report_run(runs)): job for job in jobs}
                try:
                    while pending:
                        done, _ = concurrent.futures.wait(pending, timeout=0.2,
                                                          return_when=concurrent.futures.FIRST_COMPLETED)
                        _drain(runs, on_run)
                        for future in done:
                            job = pending.pop(future)
                            try:
                                outcome = future.result()
                            except concurrent.futures.process.BrokenProcessPool as error:
                                # A worker died; the pool cannot tell which job killed it, so every job
                                # not finished is lost with it: recorded as failed, done again next run.
                                yield _lost(on_lost, job, f"a worker process died ({error}): killed for memory "
                                                          "or a crash in native code, in this job or one beside it")
                            else:
                                yield outcome
                    _drain(runs, on_run)
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)  # what finished stays recorded
                    raise


def _drain(queue: Any, on_run: Callable[[Any, Any], None] | None) -> None:
    while not queue.empty():
        job, run = queue.get()
        if on_run is not None:
            on_run(job, run)


def _lost(on_lost: LostHandler | None, job: Any, reason: str) -> Any:
    if on_lost is None:
        raise RuntimeError(reason)
    return on_lost(job, reason)


@dataclass(frozen=True)
class Escaped:
    """An error the unit of work let through (the user's to fix): carried back, raised in the driver."""

    error: BaseException


def in_worker(work: Callable[..., Any], cwd: str, threads: int, suite: Any, job: Any) -> Any:
    """A unit of work on another host or process: in the driver's working directory (shared, so that
    relative paths in the suite mean the same files), with ``threads`` torch threads."""
    try:
        os.chdir(cwd)
    except OSError:
        return Escaped(RuntimeError(f"the working directory {cwd} is not on host {os.uname().nodename}: run from a "
                                    "directory that every node shares at the same path"))
    if threads:
        _use_threads(threads)
    try:
        return work(suite, job)
    except Exception as error:  # the unit of work contains run failures; what escapes it is meant to stop
        return Escaped(error)


def in_rank(work: Callable[..., Any], cwd: str, threads: int, suite: Any, job: Any) -> Any:
    """A unit of work as one task (one rank) of a multi-task Slurm job: torch.distributed's variables
    set from Slurm's (the first node is the rendezvous), then :func:`in_worker`."""
    import submitit

    submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
    return in_worker(work, cwd, threads, suite, job)


def _returned(value: Any) -> Any:
    if isinstance(value, Escaped):
        raise value.error
    return value


class RayExecutor:
    """One Ray task per pretraining job (the job and then its runs), on the cluster at ``address``
    (``RAY_ADDRESS`` when None; a local cluster when neither is set). Each task asks for
    ``cpus_per_job`` CPUs and ``gpus_per_job`` GPUs, so Ray's scheduler places it and sets its
    ``CUDA_VISIBLE_DEVICES``; a task that uses a GPU runs in a fresh worker (``max_calls=1``), so the
    GPU memory it held is returned when it ends. Every node must see the working directory and the
    results directory at the same path (see docs/scale-out.md)."""

    in_waves = False

    def __init__(self, address: str | None = None, cpus_per_job: int = 1, gpus_per_job: float = 0,
                 init_options: Mapping[str, Any] | None = None):
        self.address = address
        self.cpus_per_job = cpus_per_job
        self.gpus_per_job = gpus_per_job
        self.init_options = dict(init_options or {})

    def map(self, work: Callable[..., Outcome], suite: Any, jobs: Sequence[Any], *, progress: bool = False,
            on_run: Callable[[Any, Any], None] | None = None,
            on_lost: LostHandler | None = None) -> Iterator[Outcome]:
        import ray

        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, log_to_driver=False, **self.init_options)
        task = ray.remote(num_cpus=self.cpus_per_job, num_gpus=self.gpus_per_job,
                          max_calls=1 if self.gpus_per_job else 0, max_retries=0)(in_worker)
        threads = max(1, int(self.cpus_per_job))
        pending = {task.remote(work, os.getcwd(), threads, suite, job): job for job in jobs}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        value = ray.get(ref)
                    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                            ray.exceptions.OutOfMemoryError, ray.exceptions.TaskCancelledError) as error:
                        yield _lost(on_lost, job, f"its Ray worker died: {type(error).__name__}: "
                                                  f"{str(error).splitlines()[0] if str(error) else ''}")
                    else:
                        yield _returned(value)
        except BaseException:
            for ref in pending:  # stop what is still running; what finished is recorded
                ray.cancel(ref, force=True)
            raise
        finally:
            if started:
                ray.shutdown()


class SlurmExecutor:
    """Slurm through submitit: one job array per wave (every pretraining job, then every finetuning
    run), each array task given ``gpus_per_job`` GPUs and ``cpus_per_job`` CPUs for at most
    ``time_limit_min`` minutes on ``partition``, at most ``array_parallelism`` at once, with extra
    ``#SBATCH`` flags from ``sbatch``. Tasks record their own runs in the shared results directory,
    so a driver that dies loses nothing: ``objbench run`` again submits only what is not recorded.
    ``cluster`` is submitit's: None picks Slurm where ``sbatch`` exists; ``local`` runs the array as
    local processes (for tests and for trying a suite before a cluster run)."""

    in_waves = True

    def __init__(self, folder: str | Path, cluster: str | None = None, partition: str | None = None,
                 time_limit_min: int = 60, gpus_per_job: int = 0, cpus_per_job: int = 1,
                 array_parallelism: int = 64, sbatch: Mapping[str, str] | None = None, poll_s: float = 5.0):
        self.folder = Path(folder)
        self.cluster = cluster
        self.parameters: dict[str, Any] = {
            "timeout_min": time_limit_min, "gpus_per_node": gpus_per_job, "cpus_per_task": cpus_per_job,
            "slurm_array_parallelism": array_parallelism,
            "slurm_additional_parameters": dict(sbatch or {}),
        }
        if partition:
            self.parameters["slurm_partition"] = partition
        self.threads = cpus_per_job
        self.poll_s = poll_s
        self.ranks = 1

    def ranked(self, nodes: int, tasks_per_node: int) -> SlurmExecutor:
        """This executor for units of ``nodes`` x ``tasks_per_node`` ranks: each unit one Slurm job of that
        many tasks (one per device, each with ``gpus_per_job`` GPUs of its node), every task a rank of
        one torch.distributed job; the unit's outcome is rank 0's."""
        other = copy.copy(self)
        other.parameters = {**self.parameters, "nodes": nodes, "tasks_per_node": tasks_per_node,
                            "gpus_per_node": self.parameters["gpus_per_node"] * tasks_per_node}
        other.ranks = nodes * tasks_per_node
        return other

    def description(self, name: str = "objbench-pretrain_job") -> dict[str, Any]:
        """The job description submitit turns into ``#SBATCH`` lines: its parameters, as given to it."""
        return {"name": name, **self.parameters, "cluster": self.cluster, "ranks": self.ranks}

    def map(self, work: Callable[..., Outcome], suite: Any, jobs: Sequence[Any], *, progress: bool = False,
            on_run: Callable[[Any, Any], None] | None = None,
            on_lost: LostHandler | None = None) -> Iterator[Outcome]:
        import submitit

        if not jobs:
            return
        executor = submitit.AutoExecutor(folder=self.folder / "%j", cluster=self.cluster)
        executor.update_parameters(name=f"objbench-{getattr(work, '__name__', 'work')}", **self.parameters)
        n = len(jobs)
        submitted = executor.map_array(in_worker if self.ranks == 1 else in_rank, [work] * n, [os.getcwd()] * n,
                                       [self.threads] * n, [suite] * n, list(jobs))
        pending = dict(zip(submitted, jobs))
        try:
            while pending:
                for array_task in [t for t in pending if t.done()]:
                    job = pending.pop(array_task)
                    try:
                        value = array_task.results()[0]  # a job of several tasks (ranks): rank 0's
                    except (submitit.core.utils.FailedJobError, submitit.core.utils.UncompletedJobError) as error:
                        first = next((line for line in str(error).splitlines() if line.strip()), "")
                        yield _lost(on_lost, job, f"Slurm job {array_task.job_id} ended without a result "
                                                  f"({type(error).__name__}: {first}); its log: "
                                                  f"{array_task.paths.stderr}")
                    else:
                        yield _returned(value)
                if pending:
                    import time

                    time.sleep(self.poll_s)
        except BaseException:
            for array_task in pending:  # Ctrl-C: cancel what has not finished; what finished is recorded
                array_task.cancel(check=False)
            raise


EXECUTORS = ("local", "ray", "slurm")


def make_executor(kind: str, workers: int = 1, results_folder: str | Path = "results", **settings: Any) -> Any:
    """The executor a suite's ``executor:`` block names (plain settings in, an executor out)."""
    if kind == "local":
        return SerialExecutor() if workers == 1 else LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(settings.get("address"), settings.get("cpus_per_job", 1), settings.get("gpus_per_job", 0))
    if kind == "slurm":
        keys = ("cluster", "partition", "time_limit_min", "gpus_per_job", "cpus_per_job", "array_parallelism",
                "sbatch")
        return SlurmExecutor(Path(results_folder) / "slurm", **{k: settings[k] for k in keys if k in settings})
    raise ValueError(f"executor {kind!r}: not one of {', '.join(EXECUTORS)}")


def executor_for(suite: Any) -> Any:
    """The engine that a suite's ``executor:`` block names, its optional package checked first."""
    kind = suite.executor.kind
    package = {"ray": "ray", "slurm": "submitit"}.get(kind)
    if package is not None and importlib.util.find_spec(package) is None:
        raise ObjbenchError(f"the {kind} executor needs {package}: pip install 'objbench[{kind}]'")
    return make_executor(kind, results_folder=Path(suite.results_dir) / suite.name,
                         **suite.executor.model_dump(exclude={"kind"}))


def oversubscribed(workers: int, cpus: int, gpus: Sequence[str]) -> str | None:
    """What is wrong with more local workers than devices to give them (one GPU each, else at least a core
    each), or None: the surplus workers share devices and every run slows down."""
    if gpus and workers > len(gpus):
        return (f"{workers} workers (--workers) on {len(gpus)} GPU{'s' if len(gpus) > 1 else ''}: the workers "
                f"beyond {len(gpus)} share a GPU with another; {len(gpus)} workers are as fast or faster")
    if not gpus and workers > cpus:
        return (f"{workers} workers (--workers) on {cpus} CPU core{'s' if cpus > 1 else ''}: each still gets a "
                f"thread, so they contend for the cores and every run slows down; {cpus} workers or fewer are faster")
    return None


def _visible_gpus() -> list[str]:
    """The GPU indices this process may use (``CUDA_VISIBLE_DEVICES``, else every one nvidia-smi lists)."""
    import shutil
    import subprocess

    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d for d in listed.split(",") if d.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True,
                         timeout=10)
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []
