"""The launcher seam: how one pretraining job runs, as one process or as several cooperating ones.

An executor decides *where* a job goes (this process, a local pool, Ray, Slurm); a launcher decides
*how many processes* the job itself is. The unit it launches is a function of plain, picklable
arguments (the suite and the job), so a launcher that starts N processes can hand each the same
call; every process computes, and the launcher returns what the first one (rank 0) returned, which
is the only one that writes checkpoints and records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

from benchmark.distributed import TorchrunLauncher, in_job

T = TypeVar("T")


@runtime_checkable
class Launcher(Protocol):
    processes: int  # how many cooperating processes a job becomes

    def launch(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``work(*args, **kwargs)`` as this launcher's processes; rank 0's result."""


class InProcess:
    """The job runs here, in the calling process: what every executor's worker does today."""

    processes = 1

    def launch(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return work(*args, **kwargs)


def launcher_for(suite: Any) -> Launcher:
    """The launcher a suite's jobs run under: one process, or ``pretrain.parallel.devices`` ranks started
    here by torchrun's agent. A process that is already a rank of a job (a task of a multi-task Slurm
    job) runs its share in place."""
    parallel = suite.pretrain.parallel
    if parallel.world_size == 1 or in_job():
        return InProcess()
    return TorchrunLauncher(parallel.devices)
