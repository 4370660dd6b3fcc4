"""Pretraining as one recipe object, top to bottom: ``setup`` -> ``train`` (branching the ladder's rungs) -> ``save``.

:class:`Pretraining` holds what every step needs (the suite, the job, the data, the device, the
precision) and the training state (network, optimizer, schedule, corruption generator, progress).
One set of key names (below) serves both an interrupted run's resume state on disk
(:meth:`~Pretraining.save_resume`, :meth:`~Pretraining.resume`) and a ladder rung's branch in memory
(:meth:`~Pretraining.snapshot`, :meth:`~Pretraining.restore`).

A job may be one process or several (``benchmark.distributed``): every rank runs this same recipe
on its rows of each global batch, and only rank 0 writes (checkpoints, resume states, logs).

:func:`pretrain` is the cache around it: a checkpoint is trained under a file lock (lock, check
again, train, publish by one rename), so two processes on one suite train each checkpoint once.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import get_cosine_schedule_with_warmup

from benchmark import distributed, files, registry
from benchmark.attention import held_out_attention
from benchmark.cache import cache_dir, lock
from benchmark.config import Suite
from benchmark.data.packing import block_indices
from benchmark.distributed import SINGLE, World
from benchmark.errors import warn
from benchmark.loggers import MetricLogger
from benchmark.measure import PeakMemory, Throughput, autocast, mfu, mfu_peak
from benchmark.objectives.base import Setup
from benchmark.plan import PretrainJob, Rung, wsd_steps

LOSS_POINTS = 50  # points kept on each pretraining loss curve

# The keys of a training-state snapshot (named once, as torchtune names its checkpoint keys).
NETWORK_KEY, OPTIMIZER_KEY, SCHEDULE_KEY = "network", "optimizer", "schedule"
CORRUPTION_RNG_KEY, TORCH_RNG_KEY, PROGRESS_KEY = "corruption_gen", "torch_rng", "progress"


def wsd_factor(step: int, warmup: int, stable_end: int, total: int) -> float:
    """The learning-rate multiplier of a warmup-stable-decay run: a linear warmup (as the cosine
    schedule's), 1 until ``stable_end``, then a linear decay towards 0 at ``total``."""
    if step < warmup:
        return step / max(1, warmup)
    if step < stable_end:
        return 1.0
    return max(0.0, (total - step) / max(1, total - stable_end))


class Pretraining:
    """One (model, objective, seed) pretrained on the suite's packed stream within its budget."""

    def __init__(self, suite: Suite, job: PretrainJob, data, device: torch.device, precision: str,
                 loggers: Sequence[MetricLogger] = (), world: World = SINGLE):
        self.suite, self.job, self.data, self.device, self.precision = suite, job, data, device, precision
        self.recipe, self.world = suite.pretrain, world
        self.loggers = list(loggers) if world.is_main else []  # one run, logged once
        self.resume_file = resume_path(job.checkpoint)

    def setup(self) -> None:
        """A freshly initialised network (seeded by the job), its optimizer, schedule and corruption generator."""
        entry = registry.models.get(self.job.model)
        setup = Setup(entry.tokenizer(self.data.tokenizer), entry, self.job.size)
        self.objective = self.suite.build_objective(self.job.objective, setup)
        recipe, job = self.recipe, self.job
        torch.manual_seed(job.seed)
        self.network = self.objective.build().to(self.device).train()
        if recipe.compile:
            self.network.compile()  # in place: the weights keep their names, so the checkpoint is saved as ever
        # What a step calls: the objective's loss, replicated or sharded over the job's devices (FSDP
        # shards the network's parameters in place, so the optimizer is made after it).
        self.module = distributed.wrap(self.objective, self.network, self.world)
        # On a GPU, AdamW's fused kernel: one launch for every parameter (tests/benchmarks/test_gpu_levers.py).
        self.optimizer = torch.optim.AdamW(self.network.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay,
                                           betas=(0.9, 0.98), fused=True if self.device.type == "cuda" else None)
        if recipe.ladder:  # warmup-stable-decay: rungs branch off the stable phase (see wsd_factor)
            first = job.rungs[0].steps if job.rungs else job.steps  # the shortest run the ladder stands for
            stable_end, _ = wsd_steps(job.steps, recipe.decay_fraction)
            self.schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, functools.partial(
                wsd_factor, warmup=min(recipe.warmup_steps, first // 10), stable_end=stable_end, total=job.steps))
        else:
            horizon = job.steps or 10**9  # a wall-clock budget decays over no fixed horizon
            self.schedule = get_cosine_schedule_with_warmup(self.optimizer, min(recipe.warmup_steps, horizon // 10),
                                                            horizon)
        self.corruption_gen = torch.Generator().manual_seed(job.seed + 1)
        self.progress = {"step": 0, "flops": 0.0, "loss_bearing_tokens": 0, "curve": [], "elapsed_s": 0.0}

    def snapshot(self) -> dict:
        """A copy of everything a step reads or changes, in memory (a ladder rung's branch point).

        This rank's own state: its shards under FSDP (:meth:`save_resume` writes the whole state)."""
        network = self.network.state_dict()
        return {NETWORK_KEY: {k: v.detach().clone() for k, v in network.items()},
                OPTIMIZER_KEY: copy.deepcopy(self.optimizer.state_dict()), **self._counters()}

    def _counters(self) -> dict:
        return {SCHEDULE_KEY: copy.deepcopy(self.schedule.state_dict()),
                CORRUPTION_RNG_KEY: self.corruption_gen.get_state(), TORCH_RNG_KEY: torch.get_rng_state(),
                PROGRESS_KEY: copy.deepcopy(self.progress)}

    def restore(self, state: dict, whole: bool = False) -> None:
        """Put back a :meth:`snapshot`, or (``whole``) a resume state in the single process's layout."""
        if whole:
            distributed.load_full_state(self.module, self.optimizer, self.world, state[NETWORK_KEY],
                                        state[OPTIMIZER_KEY])
        else:
            self.network.load_state_dict(state[NETWORK_KEY])
            self.optimizer.load_state_dict(state[OPTIMIZER_KEY])
        self.schedule.load_state_dict(state[SCHEDULE_KEY])
        self.corruption_gen.set_state(state[CORRUPTION_RNG_KEY])
        torch.set_rng_state(state[TORCH_RNG_KEY])
        self.progress = copy.deepcopy(state[PROGRESS_KEY])

    def save_resume(self) -> None:
        """The whole training state on disk, in the single process's layout, so that a job of any size
        resumes it; every rank takes part (FSDP gathers its shards), rank 0 writes."""
        network, optimizer = distributed.full_state(self.module, self.optimizer, self.world)
        if self.world.is_main:
            state = {NETWORK_KEY: network, OPTIMIZER_KEY: optimizer, **self._counters()}
            files.publish(self.resume_file, lambda tmp: torch.save(state, tmp))

    def resume(self) -> int:
        """Continue an interrupted run exactly where it stopped; returns the step it resumes from (0: none).

        A resume state that cannot be read is moved to quarantine, named in a warning, and the run
        starts again from step 0. Rank 0 decides; every rank then reads the same file.
        """
        readable = None
        if self.world.is_main and self.resume_file.is_file():
            try:
                torch.load(self.resume_file, weights_only=False, mmap=True)
                readable = True
            except Exception as err:  # torch raises several types for a cut-short or foreign file
                moved = files.quarantine(self.resume_file, cache_dir(self.suite.results_dir, "quarantine"))
                warn(f"resume state {self.resume_file} cannot be read ({type(err).__name__}); moved to {moved}; "
                     "starting from step 0")
        if not self.world.broadcast(readable):
            return 0
        self.restore(torch.load(self.resume_file, weights_only=False), whole=True)
        return self.progress["step"]

    def next_batch(self) -> dict[str, torch.Tensor]:
        """The prepared global batch of step ``progress["step"]`` (its blocks, corrupted by the objective).

        Every rank prepares the whole batch with the same generator, so the corruption is the single
        process's whatever the job's size; :meth:`step` then takes this rank's rows of it.
        """
        blocks = self.data.blocks
        index = block_indices(self.progress["step"], len(blocks), self.recipe.batch_size, self.job.seed)
        return self.objective.prepare(blocks.select(index).to_dict(), self.corruption_gen)

    def step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """One optimizer step on the global ``batch``, counted in the progress; returns its loss.

        This rank computes its rows, in micro-batches where asked. Each part's loss terms are
        weighted by the part's share of each term's items in the global batch (times the ranks,
        which the gradient average divides out), so the step's gradient is the global batch's loss's,
        however the batch is split; only the order of the sums differs from one process.
        """
        world, rows = self.world, len(batch["input_ids"])
        parts = world.micro_batches(rows)
        split = len(parts) > 1 or world.distributed
        whole = self.objective.loss_items(batch) if split and hasattr(self.objective, "loss_items") else None
        total, bearing = torch.zeros((), device=self.device), 0
        for i, part in enumerate(parts):
            inputs = {k: v[part.start:part.stop].to(self.device, non_blocking=True) for k, v in batch.items()}
            with distributed.gradient_sync(self.module, sync=i == len(parts) - 1):
                with autocast(self.device, self.precision):
                    out = self.module(inputs)
                loss, shares = self.weighted(out, inputs, whole, len(part) / rows)
                (loss * world.size if world.size > 1 else loss).backward()
            total = total + sum(t.detach().float() * w for t, w in shares)
            bearing += out.loss_bearing_tokens
        if world.distributed:  # the job's loss and targets, for the curve and the record
            total, bearing = self._summed(total, bearing)
        torch.nn.utils.clip_grad_norm_(self.network.parameters(), self.recipe.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        p = self.progress
        p["step"] += 1
        p["flops"] += self.objective.flops(self.network, batch)  # of the global batch: the whole job's FLOPs
        p["loss_bearing_tokens"] += bearing
        return total

    def weighted(self, out, inputs: dict[str, torch.Tensor], whole: tuple[int, ...] | None,
                 row_share: float) -> tuple[torch.Tensor, list[tuple[torch.Tensor, float]]]:
        """A part's loss for backward, and its terms with their weights: each term by the part's share of
        that term's items in the global batch (``whole``); by its share of the rows where the objective
        gives no terms or counts no items; the loss itself when the batch is not split."""
        if row_share == 1.0:
            return out.loss, [(out.loss, 1.0)]
        if out.terms is None or whole is None:
            return out.loss * row_share, [(out.loss, row_share)]
        shares = [(term, items / total if total else 0.0)
                  for term, items, total in zip(out.terms, self.objective.loss_items(inputs), whole, strict=True)]
        return sum(term * w for term, w in shares), shares

    def _summed(self, loss: torch.Tensor, bearing: int) -> tuple[torch.Tensor, int]:
        both = self.world.sum(torch.stack([loss.double(), torch.tensor(float(bearing), device=loss.device,
                                                                        dtype=torch.float64)]))
        return both[0].float(), round(both[1].item())

    def train_step(self) -> torch.Tensor:
        return self.step(self.next_batch())

    def train(self, progress: bool = False) -> dict:
        """The pretraining loop: one batch of blocks per step until the budget is spent; returns its statistics."""
        recipe, job = self.recipe, self.job
        peak = mfu_peak(self.device, self.precision)  # MFU's denominator: a datasheet peak, or a matmul timed now
        meter = Throughput(self.device)
        log_every = max(1, (job.steps or 1000) // LOSS_POINTS)
        running = []
        began = time.perf_counter() - self.progress["elapsed_s"]
        deadline = began + recipe.budget if recipe.budget_unit == "seconds" else math.inf
        model = job.model if len(self.suite.sizes) == 1 else f"{job.model}-{job.size}"  # as the report names it
        bar = tqdm(total=job.steps, initial=self.progress["step"], unit="step", leave=False,
                   disable=not (progress and self.world.is_main),
                   desc=f"pretrain {model}/{job.objective} seed {job.seed}")
        branches = {rung.branch_at: rung for rung in job.rungs}
        for sink in self.loggers:
            sink.start(f"{model}/{job.objective}/seed{job.seed}", self.suite.model_dump(mode="json"))
        with PeakMemory(self.device) as memory:
            while self.progress["step"] < job.steps if job.steps is not None else self.before(deadline):
                running.append(self.train_step())
                self.schedule.step()
                # Tokens are block tokens taken from the stream, whatever the objective feeds the network
                # (an encoder-decoder's input is shorter than its block): one unit for every objective.
                meter.step(tokens=recipe.tokens_per_step, samples=recipe.batch_size)
                p = self.progress
                if p["step"] % log_every == 0 or p["step"] == job.steps:
                    self.log_point(torch.stack(running).float().mean().item())
                    running.clear()
                    bar.set_postfix(loss=f"{p['curve'][-1]['loss']:.3f}")
                bar.update()
                if p["step"] in branches:
                    started = time.perf_counter()
                    self.branch_rung(branches[p["step"]])  # restores the progress as it was, ladder FLOPs added
                    meter.exclude(time.perf_counter() - started)  # the main run's speed is its own steps'
                p = self.progress
                if recipe.resume_every_steps and p["step"] % recipe.resume_every_steps == 0 and p["step"] != job.steps:
                    p["elapsed_s"] = time.perf_counter() - began
                    self.save_resume()
        bar.close()
        stats = self.statistics(meter, memory, time.perf_counter() - began, peak)
        for sink in self.loggers:
            sink.finish(stats)
        return stats

    def before(self, deadline: float) -> bool:
        """Whether a clock budget has time left: rank 0's clock decides for every rank, so all stop together."""
        return self.world.broadcast(time.perf_counter() < deadline)

    def log_point(self, loss: float) -> None:
        """A point of the loss curve, kept with the run and handed to every metric logger."""
        p = self.progress
        point = {"step": p["step"], "tokens": p["step"] * self.recipe.tokens_per_step, "flops": p["flops"],
                 "loss": loss}
        p["curve"].append(point)
        for sink in self.loggers:
            sink.log({"loss": loss, "lr": self.schedule.get_last_lr()[0], "tokens": point["tokens"],
                      "flops": point["flops"]}, step=p["step"])

    def branch_rung(self, rung: Rung) -> None:
        """Make ``rung``'s checkpoint: decay from here for its decay steps, save, and put everything back.

        Everything a step reads or changes is restored from a snapshot afterwards, so the main run
        goes on as if it had never branched. The branch's FLOPs are added to the run's ``ladder_flops``;
        a rung saved before a resume is not made again.
        """
        made = load_cached_stats(rung.checkpoint, self.suite.results_dir) is not None if self.world.is_main else None
        if self.world.broadcast(made):
            return
        saved = self.snapshot()
        began, losses = time.perf_counter(), []
        for i in range(rung.decay_steps):  # the same multipliers as wsd_factor over a run of rung.steps
            factor = wsd_factor(rung.branch_at + i, 0, rung.branch_at, rung.steps)
            for group in self.optimizer.param_groups:
                group["lr"] = group["initial_lr"] * factor
            losses.append(self.train_step())
        p, loss = self.progress, torch.stack(losses).float().mean().item()
        tokens = p["step"] * self.recipe.tokens_per_step
        stats = {"objective": self.job.objective, "kind": str(self.objective.kind), "rung": rung.fraction,
                 "branched_at": rung.branch_at, "decay_steps": rung.decay_steps, "steps": p["step"], "tokens": tokens,
                 "samples": p["step"] * self.recipe.batch_size, "flops": p["flops"],
                 "flops_per_token": p["flops"] / tokens, "loss_bearing_tokens": p["loss_bearing_tokens"],
                 "parameters": sum(t.numel() for t in self.network.parameters()), "final_loss": loss,
                 "loss_curve": [*p["curve"], {"step": p["step"], "tokens": tokens, "flops": p["flops"], "loss": loss}],
                 "branch_wall_s": time.perf_counter() - began, **self.layout()}
        branch_flops = p["flops"] - saved[PROGRESS_KEY]["flops"]
        network = self.plain_network()
        with lock(self.suite.results_dir, "checkpoint-" + rung.key) if self.world.is_main else contextlib.nullcontext():
            self.save(rung.checkpoint, stats, network)
        self.restore(saved)
        self.progress["ladder_flops"] = self.progress.get("ladder_flops", 0.0) + branch_flops

    def statistics(self, meter: Throughput, memory: PeakMemory, wall_s: float, peak: tuple[float, str]) -> dict:
        """What a pretraining run records: its cost in steps, tokens, loss-bearing tokens, FLOPs, time and memory,
        and its speed as MFU: steady-state model FLOP/s over the device's peak, with the peak's source
        (``measure.mfu_peak``: "datasheet" or "measured")."""
        p, recipe, job, world = self.progress, self.recipe, self.job, self.world
        tokens = p["step"] * recipe.tokens_per_step
        rates = meter.summary()  # the whole job's: every step takes a global batch
        flops_per_s = rates["tokens_per_s"] * p["flops"] / tokens if rates["tokens_per_s"] and tokens else None
        per_device = {"tokens_per_s_per_device": rates["tokens_per_s"] / world.size if rates["tokens_per_s"] else None,
                      **self.layout()} if world.distributed or world.micro_batch_size else {}
        return {
            **rates, **per_device, "flops_per_s": flops_per_s, "peak_flops_per_s": peak[0], "peak_source": peak[1],
            "mfu": mfu(flops_per_s, peak[0] * world.size),  # over every device's peak: one number per job
            "steps": p["step"],  # totals over the whole run; the meter's rates cover this process's share
            "tokens": tokens, "samples": p["step"] * recipe.batch_size, "wall_s": wall_s,
            "objective": job.objective, "kind": str(self.objective.kind),
            "loss_bearing_tokens": p["loss_bearing_tokens"], "flops": p["flops"],
            "flops_per_token": p["flops"] / tokens if tokens else None,
            "parameters": sum(t.numel() for t in self.network.parameters()),
            "peak_memory_bytes": world.max(memory.peak_bytes), "peak_memory_kind": memory.kind,  # the fullest device
            "final_loss": p["curve"][-1]["loss"] if p["curve"] else None, "loss_curve": p["curve"],
            "epochs_over_data": p["step"] * recipe.batch_size / len(self.data.blocks),
            # A ladder's decay branches: spent beside this checkpoint's own FLOPs, on the rungs' checkpoints.
            "ladder_flops": p.get("ladder_flops", 0.0) if job.rungs else None,
            "rungs": [{"fraction": r.fraction, "steps": r.steps, "key": r.key} for r in job.rungs] or None,
        }

    def layout(self) -> dict:
        """How the job's batches were split, for its record: over how many processes, in which micro-batches
        (nothing for one process that takes each batch whole)."""
        world = self.world
        if not (world.distributed or world.micro_batch_size):
            return {}
        return {"parallel": {"strategy": world.strategy, "world_size": world.size,
                             "micro_batch_size": world.micro_batch_size}}

    def plain_network(self) -> torch.nn.Module | None:
        """The trained network as one ordinary module on rank 0, for saving and looking at (None on the
        other ranks). Under FSDP every rank takes part: the shards are gathered into a fresh copy."""
        if self.world.strategy != "fsdp" or not self.world.distributed:
            return self.network if self.world.is_main else None
        state, _ = distributed.full_state(self.module, self.optimizer, self.world)
        if not self.world.is_main:
            return None
        network = self.objective.build()
        network.load_state_dict(state)
        return network

    def save(self, checkpoint: Path, stats: dict, network: torch.nn.Module | None) -> None:
        """The backbone (safetensors), the tokenizer and the statistics, published whole by one rename
        (by rank 0, which alone holds ``network``)."""
        if not self.world.is_main:
            return

        def write(folder: Path) -> None:
            self.objective.backbone(network).save_pretrained(folder)
            self.data.tokenizer.save_pretrained(folder)
            files.write_json(folder / "pretrain.json", stats)
        files.publish_folder(checkpoint, write)


def pretrain(job: PretrainJob, suite: Suite, data, device: torch.device, precision: str, progress: bool = False,
             loggers: Sequence[MetricLogger] = (), world: World = SINGLE) -> dict:
    """Pretrain one (model, objective, seed) and save it, or load what an earlier run saved.

    Under the checkpoint's lock: check again (another process may have published it while this
    one waited), restore an interrupted run's state, train, publish, drop the resume state. In a
    job of several ranks, rank 0 holds the lock, decides, writes and returns the statistics; the
    others train beside it and return an empty dict.
    """
    untrained = _untrained(job)
    if untrained is not None:
        return untrained
    main = world.is_main
    with lock(suite.results_dir, "checkpoint-" + job.key) if main else contextlib.nullcontext():
        cached = load_cached_stats(job.checkpoint, suite.results_dir) if main else None
        done = main and cached is not None and all(load_cached_stats(r.checkpoint, suite.results_dir) is not None
                                                   for r in job.rungs)
        saved, done = world.broadcast((cached is not None, done))
        if done:
            return {**cached, "cache_hit": True} if main else {}
        for leftover in files.leftovers(job.checkpoint.parent, job.checkpoint.name) if main else ():
            files.remove(leftover)  # a save cut short by a kill
        recipe = Pretraining(suite, job, data, device, precision, loggers, world)
        recipe.setup()
        resumed_from = recipe.resume()
        stats = recipe.train(progress)
        network = recipe.plain_network()
        if not main:
            return {}
        stats["resumed_from_step"] = resumed_from or None
        stats["attention"] = held_out_attention(suite, recipe.data.tokenizer, recipe.objective, network)
        if not saved:
            recipe.save(job.checkpoint, stats, network)
        else:  # trained again only for rungs a longer ladder added: the stored checkpoint is the same one
            stats = cached
        recipe.resume_file.unlink(missing_ok=True)
    return {**stats, "cache_hit": saved}


def _untrained(job: PretrainJob) -> dict | None:
    """The statistics of a job that pretrains nothing here: an untrained control, or a published checkpoint."""
    if job.checkpoint is None:
        return {"objective": job.objective, "cache_hit": None, "steps": 0, "tokens": 0, "loss_bearing_tokens": 0,
                "flops": 0.0, "parameters": None, "loss_curve": []}
    if job.published:  # pretrained elsewhere: what its source says it cost, or unknown
        return {"objective": job.objective, "cache_hit": None, "steps": None, "tokens": job.tokens,
                "flops": job.flops, "parameters": None, "loss_curve": [], "published": job.published["path"],
                "compute_source": job.published["source"] or "unknown"}
    return None


def settled(job: PretrainJob, suite: Suite) -> dict | None:
    """The statistics of a job with nothing left to train (untrained, published, or saved whole with every
    rung), as :func:`pretrain` would return them; None when it has to be trained. Lets a launcher of
    several processes start none for a job that is done."""
    untrained = _untrained(job)
    if untrained is not None:
        return untrained
    cached = load_cached_stats(job.checkpoint, suite.results_dir)
    if cached is None or any(load_cached_stats(r.checkpoint, suite.results_dir) is None for r in job.rungs):
        return None
    return {**cached, "cache_hit": True}


def load_cached_stats(checkpoint: Path, results_dir: str) -> dict | None:
    """The statistics of a finished, whole checkpoint, or None when there is none.

    This is where a checkpoint's integrity is checked: a damaged one (a file missing, cut short or
    changed since it was saved) is moved to the cache's quarantine folder, named in a warning, and
    trained again.
    """
    stats = files.load_whole(checkpoint, lambda folder: json.loads((folder / "pretrain.json").read_text()),
                             cache_dir(results_dir, "quarantine"), _retrained)
    if stats is not None:
        resume_path(checkpoint).unlink(missing_ok=True)  # left if a kill fell between publishing and tidying up
    return stats


def _retrained(checkpoint: Path, problem: str, moved: Path | None) -> None:
    warn(f"checkpoint {checkpoint} is damaged ({problem}); moved to {moved}; training it again")


def resume_path(checkpoint: Path | None) -> Path | None:
    return None if checkpoint is None else checkpoint.with_name(checkpoint.name + ".resume.pt")
