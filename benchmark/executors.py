"""Where the harness's units of work run.

An executor takes the unit of work (``harness.run_job``), the suite and the pretraining jobs,
and yields one outcome per job as each finishes. The unit of work takes plain, picklable
inputs and writes its own records, so an executor that runs it in other processes or on other
machines needs nothing back but the outcome. This module imports nothing else of the project.
"""

from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

Outcome = TypeVar("Outcome")


class Executor(Protocol):
    def map(self, work: Callable[..., Outcome], suite: Any, jobs: Sequence[Any], **options: Any) -> Iterator[Outcome]:
        """``work(suite, job, **options)`` for every job; outcomes in the order the jobs finish."""


class SerialExecutor:
    """Every job in this process, one after another, in plan order."""

    def map(self, work: Callable[..., Outcome], suite: Any, jobs: Sequence[Any], **options: Any) -> Iterator[Outcome]:
        for job in jobs:
            yield work(suite, job, **options)


def _start_worker(slots: Any, threads: int, devices: Sequence[str]) -> None:
    """In a fresh worker process, before torch is imported: take a device slot and a thread share."""
    import os

    slot = slots.get()
    if devices:  # one GPU per worker, by the environment: a library's default would put all on GPU 0
        os.environ["CUDA_VISIBLE_DEVICES"] = devices[slot % len(devices)]
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

    def __init__(self, workers: int, cpus: int | None = None, gpus: Sequence[str] | None = None):
        import os

        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.threads = max(1, (cpus or os.cpu_count() or 1) // workers)
        self.gpus = list(gpus) if gpus is not None else _visible_gpus()

    def map(self, work: Callable[..., Outcome], suite: Any, jobs: Sequence[Any], progress: bool = False,
            on_run: Callable[[Any, Any], None] | None = None, **options: Any) -> Iterator[Outcome]:
        context = multiprocessing.get_context("spawn")  # no forked torch or thread pools
        with context.Manager() as manager:
            slots, runs = manager.Queue(), manager.Queue()
            for slot in range(self.workers):
                slots.put(slot)
            with concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker,
                                                        initargs=(slots, self.threads, self.gpus)) as pool:
                pending = {pool.submit(work, suite, job, on_run=_report_run(runs), **options) for job in jobs}
                try:
                    while pending:
                        done, pending = concurrent.futures.wait(pending, timeout=0.2,
                                                                return_when=concurrent.futures.FIRST_COMPLETED)
                        _drain(runs, on_run)
                        for future in done:
                            yield future.result()
                    _drain(runs, on_run)
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)  # what finished stays recorded
                    raise


def _drain(queue: Any, on_run: Callable[[Any, Any], None] | None) -> None:
    while not queue.empty():
        job, run = queue.get()
        if on_run is not None:
            on_run(job, run)


def _visible_gpus() -> list[str]:
    """The GPU indices this process may use (``CUDA_VISIBLE_DEVICES``, else every one nvidia-smi lists)."""
    import os
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
