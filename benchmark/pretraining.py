"""Pretraining as one recipe object, top to bottom: ``setup`` -> ``train`` (branching the ladder's rungs) -> ``save``.

:class:`Pretraining` holds what every step needs (the suite, the job, the data, the device, the
precision) and the training state (network, optimizer, schedule, corruption generator, progress).
One :meth:`~Pretraining.snapshot` / :meth:`~Pretraining.restore` pair, under the key names below,
serves both an interrupted run's resume state on disk and a ladder rung's branch in memory.

:func:`pretrain` is the cache around it: a checkpoint is trained under a file lock (lock, check
again, train, publish by one rename), so two processes on one suite train each checkpoint once.
"""

from __future__ import annotations

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

from benchmark import files, registry
from benchmark.cache import cache_dir, lock
from benchmark.config import Suite
from benchmark.data.packing import block_indices
from benchmark.attention import held_out_attention
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
                 loggers: Sequence[MetricLogger] = ()):
        self.suite, self.job, self.data, self.device, self.precision = suite, job, data, device, precision
        self.recipe = suite.pretrain
        self.loggers = list(loggers)
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

    def snapshot(self, copied: bool = True) -> dict:
        """Everything a step reads or changes; ``copied=False`` for a snapshot written to disk at once."""
        network = self.network.state_dict()
        optimizer = self.optimizer.state_dict()
        return {NETWORK_KEY: {k: v.detach().clone() for k, v in network.items()} if copied else network,
                OPTIMIZER_KEY: copy.deepcopy(optimizer) if copied else optimizer,
                SCHEDULE_KEY: copy.deepcopy(self.schedule.state_dict()),
                CORRUPTION_RNG_KEY: self.corruption_gen.get_state(), TORCH_RNG_KEY: torch.get_rng_state(),
                PROGRESS_KEY: copy.deepcopy(self.progress)}

    def restore(self, state: dict) -> None:
        self.network.load_state_dict(state[NETWORK_KEY])
        self.optimizer.load_state_dict(state[OPTIMIZER_KEY])
        self.schedule.load_state_dict(state[SCHEDULE_KEY])
        self.corruption_gen.set_state(state[CORRUPTION_RNG_KEY])
        torch.set_rng_state(state[TORCH_RNG_KEY])
        self.progress = copy.deepcopy(state[PROGRESS_KEY])

    def resume(self) -> int:
        """Continue an interrupted run exactly where it stopped; returns the step it resumes from (0: none).

        A resume state that cannot be read is moved to quarantine, named in a warning, and the run
        starts again from step 0.
        """
        if not self.resume_file.is_file():
            return 0
        try:
            state = torch.load(self.resume_file, weights_only=False)
        except Exception as err:  # torch raises several types for a cut-short or foreign file
            moved = files.quarantine(self.resume_file, cache_dir(self.suite.results_dir, "quarantine"))
            warn(f"resume state {self.resume_file} cannot be read ({type(err).__name__}); moved to {moved}; "
                 "starting from step 0")
            return 0
        self.restore(state)
        return self.progress["step"]

    def next_batch(self) -> dict[str, torch.Tensor]:
        """The prepared batch of step ``progress["step"]`` (its blocks, corrupted by the objective), on the device."""
        blocks = self.data.blocks
        index = block_indices(self.progress["step"], len(blocks), self.recipe.batch_size, self.job.seed)
        batch = self.objective.prepare(blocks.select(index).to_dict(), self.corruption_gen)
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """One optimizer step on ``batch``, counted in the progress; returns its loss."""
        with autocast(self.device, self.precision):
            out = self.objective.loss(self.network, batch)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(self.network.parameters(), self.recipe.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        p = self.progress
        p["step"] += 1
        p["flops"] += self.objective.flops(self.network, batch)
        p["loss_bearing_tokens"] += out.loss_bearing_tokens
        return out.loss.detach()

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
        bar = tqdm(total=job.steps, initial=self.progress["step"], unit="step", disable=not progress, leave=False,
                   desc=f"pretrain {model}/{job.objective} seed {job.seed}")
        branches = {rung.branch_at: rung for rung in job.rungs}
        for sink in self.loggers:
            sink.start(f"{model}/{job.objective}/seed{job.seed}", self.suite.model_dump(mode="json"))
        with PeakMemory(self.device) as memory:
            while (self.progress["step"] < job.steps) if job.steps is not None else (time.perf_counter() < deadline):
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
                    files.publish(self.resume_file, lambda tmp: torch.save(self.snapshot(copied=False), tmp))
        bar.close()
        stats = self.statistics(meter, memory, time.perf_counter() - began, peak)
        for sink in self.loggers:
            sink.finish(stats)
        return stats

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
        if load_cached_stats(rung.checkpoint, self.suite.results_dir) is not None:
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
                 "branch_wall_s": time.perf_counter() - began}
        branch_flops = p["flops"] - saved[PROGRESS_KEY]["flops"]
        with lock(self.suite.results_dir, "checkpoint-" + rung.key):
            self.save(rung.checkpoint, stats)
        self.restore(saved)
        self.progress["ladder_flops"] = self.progress.get("ladder_flops", 0.0) + branch_flops

    def statistics(self, meter: Throughput, memory: PeakMemory, wall_s: float, peak: tuple[float, str]) -> dict:
        """What a pretraining run records: its cost in steps, tokens, loss-bearing tokens, FLOPs, time and memory,
        and its speed as MFU: steady-state model FLOP/s over the device's peak, with the peak's source
        (``measure.mfu_peak``: "datasheet" or "measured")."""
        p, recipe, job = self.progress, self.recipe, self.job
        tokens = p["step"] * recipe.tokens_per_step
        rates = meter.summary()
        flops_per_s = rates["tokens_per_s"] * p["flops"] / tokens if rates["tokens_per_s"] and tokens else None
        return {
            **rates, "flops_per_s": flops_per_s, "peak_flops_per_s": peak[0], "peak_source": peak[1],
            "mfu": mfu(flops_per_s, peak[0]),
            "steps": p["step"],  # totals over the whole run; the meter's rates cover this process's share
            "tokens": tokens, "samples": p["step"] * recipe.batch_size, "wall_s": wall_s,
            "objective": job.objective, "kind": str(self.objective.kind),
            "loss_bearing_tokens": p["loss_bearing_tokens"], "flops": p["flops"],
            "flops_per_token": p["flops"] / tokens if tokens else None,
            "parameters": sum(t.numel() for t in self.network.parameters()),
            "peak_memory_bytes": memory.peak_bytes, "peak_memory_kind": memory.kind,
            "final_loss": p["curve"][-1]["loss"] if p["curve"] else None, "loss_curve": p["curve"],
            "epochs_over_data": p["step"] * recipe.batch_size / len(self.data.blocks),
            # A ladder's decay branches: spent beside this checkpoint's own FLOPs, on the rungs' checkpoints.
            "ladder_flops": p.get("ladder_flops", 0.0) if job.rungs else None,
            "rungs": [{"fraction": r.fraction, "steps": r.steps, "key": r.key} for r in job.rungs] or None,
        }

    def save(self, checkpoint: Path, stats: dict) -> None:
        """The backbone (safetensors), the tokenizer and the statistics, published whole by one rename."""
        def write(folder: Path) -> None:
            self.objective.backbone(self.network).save_pretrained(folder)
            self.data.tokenizer.save_pretrained(folder)
            files.write_json(folder / "pretrain.json", stats)
        files.publish_folder(checkpoint, write)


def pretrain(job: PretrainJob, suite: Suite, data, device: torch.device, precision: str, progress: bool = False,
             loggers: Sequence[MetricLogger] = ()) -> dict:
    """Pretrain one (model, objective, seed) and save it, or load what an earlier run saved.

    Under the checkpoint's lock: check again (another process may have published it while this
    one waited), restore an interrupted run's state, train, publish, drop the resume state.
    """
    if job.checkpoint is None:
        return {"objective": job.objective, "cache_hit": None, "steps": 0, "tokens": 0, "loss_bearing_tokens": 0,
                "flops": 0.0, "parameters": None, "loss_curve": []}
    if job.published:  # pretrained elsewhere: what its source says it cost, or unknown
        return {"objective": job.objective, "cache_hit": None, "steps": None, "tokens": job.tokens,
                "flops": job.flops, "parameters": None, "loss_curve": [], "published": job.published["path"],
                "compute_source": job.published["source"] or "unknown"}
    with lock(suite.results_dir, "checkpoint-" + job.key):
        cached = load_cached_stats(job.checkpoint, suite.results_dir)
        if cached is not None and all(load_cached_stats(r.checkpoint, suite.results_dir) is not None
                                     for r in job.rungs):
            return {**cached, "cache_hit": True}
        for leftover in files.leftovers(job.checkpoint.parent, job.checkpoint.name):  # a save cut short by a kill
            files.remove(leftover)
        recipe = Pretraining(suite, job, data, device, precision, loggers)
        recipe.setup()
        resumed_from = recipe.resume()
        stats = recipe.train(progress)
        stats["resumed_from_step"] = resumed_from or None
        stats["attention"] = held_out_attention(suite, recipe.data.tokenizer, recipe.objective, recipe.network)
        if cached is None:
            recipe.save(job.checkpoint, stats)
        else:  # trained again only for rungs a longer ladder added: the stored checkpoint is the same one
            stats = cached
        recipe.resume_file.unlink(missing_ok=True)
    return {**stats, "cache_hit": cached is not None}


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
