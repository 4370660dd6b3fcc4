"""One pretraining job over several devices, on PyTorch's own distributed stack.

A job of ``world_size`` processes is launched by torchrun's machinery (``TorchrunLauncher``, which
calls ``torch.distributed.launcher.elastic_launch``) on one machine, or by Slurm through submitit
(``executors.in_rank``) on several. Either way each process finds its rank in the
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), and
:func:`joined` makes it a member of the job's process group: NCCL on GPUs, gloo on CPUs, the same
code path.

What makes the job the single process's job, whatever its size:
- every rank prepares the same global batch (the same blocks, corrupted by the same generator) and
  computes its own rows of it (:meth:`World.rows`), in micro-batches where asked; so the ranks
  read disjoint shards of one block order and together see exactly the single process's tokens;
- each micro-batch's mean loss is weighted by its share of the global batch's rows, so the
  gradients averaged over the ranks are those of the global batch's row-weighted mean loss (the
  single process's loss itself wherever every row bears the same number of targets);
- the optimizer, schedule and budget count global steps, and only rank 0 writes anything.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

from benchmark.errors import ObjbenchError

T = TypeVar("T")

RANK_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class World:
    """Where this process stands in its job: its rank among ``size`` processes, and its device."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    strategy: str = "none"
    micro_batch_size: int | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def rows(self, batch_size: int) -> range:
        """This rank's rows of a global batch: contiguous, as even as the batch allows (sizes differ by one)."""
        share, extra = divmod(batch_size, self.size)
        start = self.rank * share + min(self.rank, extra)
        return range(start, start + share + (self.rank < extra))

    def micro_batches(self, batch_size: int) -> list[range]:
        """This rank's rows cut into forward passes of at most ``micro_batch_size`` rows."""
        rows = self.rows(batch_size)
        step = self.micro_batch_size or len(rows)
        return [rows[i:i + step] for i in range(0, len(rows), step)]

    def broadcast(self, value: T) -> T:
        """Rank 0's ``value`` on every rank (a small picklable object: a decision every rank must share)."""
        if not self.distributed:
            return value
        box = [value]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` summed over the ranks, in float64 (exact for counts), on the device its backend serves."""
        if not self.distributed:
            return values
        total = values.detach().to(torch.float64)
        torch.distributed.all_reduce(total)
        return total.to(values.device)

    def max(self, value: float | None) -> float | None:
        """The largest ``value`` over the ranks (peak memory: the busiest device's)."""
        if not self.distributed or value is None:
            return value
        return max(v for v in self.gather(value) if v is not None)

    def gather(self, value: Any) -> list[Any]:
        box: list[Any] = [None] * self.size
        torch.distributed.all_gather_object(box, value)
        return box


SINGLE = World()


def main_process() -> bool:
    """Whether this process is rank 0 of its job, or no rank at all (one process, or a launcher's driver)."""
    return int(os.environ.get("RANK", "0")) == 0


def in_job() -> bool:
    """Whether this process was started as a rank of a job (torchrun or submitit set ``WORLD_SIZE``)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@contextlib.contextmanager
def joined(parallel: Any, device_type: str) -> Iterator[World]:
    """This process as a member of its job's process group, for the block's duration; a single
    process (no ``WORLD_SIZE`` past 1 in the environment) is :data:`SINGLE` and starts nothing.

    Collectives time out after ``parallel.timeout_s``: a rank that died or hangs fails the job.
    """
    if not in_job():
        yield World(micro_batch_size=parallel.micro_batch_size)
        return
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if size != parallel.world_size:
        raise ObjbenchError(f"this job was launched as {size} processes but pretrain.parallel asks for "
                            f"{parallel.world_size} ({parallel.nodes} node(s) x {parallel.devices} devices)")
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    backend = "nccl" if device_type == "cuda" else "gloo"
    torch.distributed.init_process_group(backend, timeout=datetime.timedelta(seconds=parallel.timeout_s),
                                         **({"device_id": torch.device("cuda", local_rank)} if backend == "nccl"
                                            else {}))
    try:
        yield World(rank, size, local_rank, parallel.strategy, parallel.micro_batch_size)
    finally:
        torch.distributed.destroy_process_group()


def device_of(world: World, device: torch.device) -> torch.device:
    """The device this rank computes on: its own GPU (by local rank), or the CPU."""
    return torch.device("cuda", world.local_rank) if device.type == "cuda" and world.distributed else device


class LossModule(torch.nn.Module):
    """The objective's loss as one module's ``forward``, so that DDP's and FSDP's hooks see every call."""

    def __init__(self, objective: Any, network: torch.nn.Module):
        super().__init__()
        self.objective, self.network = objective, network

    def forward(self, batch: dict[str, torch.Tensor]):
        return self.objective.loss(self.network, batch)


def wrap(objective: Any, network: torch.nn.Module, world: World) -> torch.nn.Module:
    """The module a training step calls: the objective's loss over ``network``, replicated (DDP) or
    sharded (FSDP2) over the job's devices. FSDP shards each transformer layer, then the rest."""
    module = LossModule(objective, network)
    if not world.distributed:
        return module
    if world.strategy == "ddp":
        # Some steps leave a parameter out (a sentence-level objective with no target in a batch
        # skips its head): DDP must look for them rather than wait for their gradients.
        device_ids = [world.local_rank] if next(network.parameters()).is_cuda else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=device_ids, find_unused_parameters=True)
    from torch.distributed.fsdp import fully_shard

    for layer in transformer_layers(network):
        fully_shard(layer)
    fully_shard(module)
    return module


def transformer_layers(network: torch.nn.Module) -> list[torch.nn.Module]:
    """The repeated blocks of every stack in ``network`` (the units FSDP gathers one at a time):
    the children of every ``ModuleList`` whose members share one class."""
    layers = []
    for module in network.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) > 1 and len({type(m) for m in module}) == 1:
            layers.extend(module)
    return layers


@contextlib.contextmanager
def gradient_sync(module: torch.nn.Module, sync: bool) -> Iterator[None]:
    """Within the block, a backward pass all-reduces (DDP) or reduce-scatters (FSDP) gradients only
    when ``sync``: the last micro-batch of a step; the earlier ones accumulate locally."""
    if sync:
        yield
    elif isinstance(module, torch.nn.parallel.DistributedDataParallel):
        with module.no_sync():
            yield
    elif hasattr(module, "set_requires_gradient_sync"):  # an FSDP2 module
        module.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            module.set_requires_gradient_sync(True)
    else:
        yield


def inner(module: torch.nn.Module) -> LossModule:
    """The loss module under a DDP wrapper (FSDP2 wraps in place)."""
    return module.module if isinstance(module, torch.nn.parallel.DistributedDataParallel) else module


def full_state(module: torch.nn.Module, optimizer: torch.optim.Optimizer, world: World) -> tuple[dict, dict]:
    """The network's and the optimizer's state in the single process's layout (whole tensors on the
    CPU, the optimizer's keyed by parameter index), whatever the strategy: what a resume state on
    disk holds, so that any world size can resume it. Under FSDP every rank takes part and rank 0
    receives the gathered state (the others get empty dicts)."""
    network = inner(module).network
    if world.strategy != "fsdp" or not world.distributed:
        return network.state_dict(), optimizer.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    model_state, optim_state = get_state_dict(inner(module), optimizer, options=options)
    prefix = "network."
    model_state = {k.removeprefix(prefix): v for k, v in model_state.items()}
    if not world.is_main:
        return {}, {}
    index = {name: i for i, (name, _) in enumerate(inner(module).named_parameters())}
    optim_state = {"state": {index[name]: value for name, value in optim_state["state"].items()},
                   "param_groups": [{**g, "params": [index[name] for name in g["params"]]}
                                    for g in optim_state["param_groups"]]}
    return model_state, optim_state


def load_full_state(module: torch.nn.Module, optimizer: torch.optim.Optimizer, world: World, model_state: dict,
                    optim_state: dict) -> None:
    """Put a state in the single process's layout (:func:`full_state`) into a job of any strategy and size."""
    network = inner(module).network
    if world.strategy != "fsdp" or not world.distributed:
        network.load_state_dict(model_state)
        optimizer.load_state_dict(optim_state)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

    names = [name for name, _ in inner(module).named_parameters()]
    optim_state = {"state": {names[i]: value for i, value in optim_state["state"].items()},
                   "param_groups": [{**g, "params": [names[i] for i in g["params"]]}
                                    for g in optim_state["param_groups"]]}
    set_state_dict(inner(module), optimizer, model_state_dict={"network." + k: v for k, v in model_state.items()},
                   optim_state_dict=optim_state, options=StateDictOptions(full_state_dict=True))


def check_layout(parallel: Any, device: torch.device, executor_kind: str) -> None:
    """What can stop a job over several devices, checked before anything trains; each one line."""
    if parallel.world_size == 1:
        return
    if not torch.distributed.is_available():
        raise ObjbenchError(f"pretrain.parallel.strategy={parallel.strategy}: this torch build has no "
                            "torch.distributed; install a build with it, or pretrain on one device")
    if device.type == "cpu" and not torch.distributed.is_gloo_available():
        raise ObjbenchError(f"pretrain.parallel.strategy={parallel.strategy} on a CPU needs the gloo backend, "
                            "which this torch build lacks")
    if device.type == "cuda" and not torch.distributed.is_nccl_available():
        raise ObjbenchError(f"pretrain.parallel.strategy={parallel.strategy} on GPUs needs NCCL, "
                            "which this torch build lacks")
    if parallel.strategy == "fsdp":
        try:
            from torch.distributed.fsdp import fully_shard  # noqa: F401  (FSDP2: torch 2.6 and later)
        except ImportError:
            raise ObjbenchError(f"pretrain.parallel.strategy=fsdp needs FSDP2 (torch.distributed.fsdp.fully_shard, "
                                f"torch 2.6 or later); this is torch {torch.__version__}") from None
    if executor_kind == "ray":
        raise ObjbenchError("pretrain.parallel: one job over several devices runs under the local executor "
                            "(--nproc-per-node) or slurm (--nodes, --gpus-per-node), not ray (see README)")
    if executor_kind == "slurm":
        return  # the cluster's nodes are counted by Slurm, not here
    if parallel.nodes > 1:
        raise ObjbenchError(f"pretrain.parallel.nodes={parallel.nodes}: several machines need the slurm executor "
                            "(--executor slurm --nodes M); the local executor runs one machine's devices")
    here = torch.cuda.device_count() if device.type == "cuda" else (os.cpu_count() or 1)
    unit = "GPUs" if device.type == "cuda" else "CPU cores"
    if parallel.devices > here:
        raise ObjbenchError(f"pretrain.parallel.devices={parallel.devices}: this machine has {here} {unit}")


class TorchrunLauncher:
    """A job as ``processes`` ranks on this machine, started and watched by torchrun's own agent
    (``torch.distributed.launcher.elastic_launch``): rendezvous on a free local port, one process per
    device, and when one rank fails the agent stops the others and raises ``ChildFailedError``,
    which names the failed rank and carries its traceback (or the signal that killed it)."""

    def __init__(self, processes: int, threads: int | None = None, monitor_interval: float = 0.5):
        self.processes = processes
        self.threads = threads or max(1, (os.cpu_count() or 1) // processes)
        self.monitor_interval = monitor_interval

    def launch(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        from torch.distributed.launcher.api import LaunchConfig, elastic_launch

        config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=self.processes, run_id=f"objbench-{os.getpid()}",
                              rdzv_backend="c10d", rdzv_endpoint="localhost:0", max_restarts=0,
                              monitor_interval=self.monitor_interval, start_method="spawn")
        returned = elastic_launch(config, _as_rank)(self.threads, work, args, kwargs)
        return returned[0]


def _as_rank(threads: int, work: Callable[..., T], args: tuple, kwargs: dict) -> T:
    """One rank of a job: its share of the CPU threads (unless the environment set them), then the work."""
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(threads)
    return work(*args, **kwargs)


