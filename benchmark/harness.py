"""The harness, top to bottom: plan -> pretrain -> finetune -> evaluate -> record.

Every (model, objective, pretraining seed) is pretrained once on the same packed stream with
the same budget rule, saved with ``save_pretrained`` under a hash of everything that
determines it, and reused by every task and finetuning seed, in this and later runs. Every
finished run is one record in the result store; a run already recorded is not repeated.

The unit of work is :func:`run_job`: one pretraining job and its runs, from plain, picklable
inputs (the suite and the job; the suite says where results live). It writes its own records,
so an executor may run it anywhere that sees the results directory, and a driver that dies
loses nothing. A checkpoint is trained under a file lock (lock, check again, train, publish
by one rename), and each run is recorded under one, so two processes on one suite train each
checkpoint once and record each run once.
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import json
import math
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
import transformers
from tqdm.auto import tqdm
from transformers import get_cosine_schedule_with_warmup

from benchmark import files, registry
from benchmark.cache import cache_dir, lock, stable_hash
from benchmark.config import Suite
from benchmark.data import corpus
from benchmark.data.packing import block_indices
from benchmark.errors import ObjbenchError, warn
from benchmark.executors import Executor, SerialExecutor
from benchmark.measure import (
    PeakMemory,
    Throughput,
    autocast,
    environment,
    mfu,
    mfu_peak,
    resolve_device,
    resolve_precision,
)
from benchmark.formats.items import ITEMS_KEY
from benchmark.objectives.base import Setup
from benchmark.plan import BaselineRun, Plan, PretrainJob, Run, Rung, make_plan, wsd_steps
from benchmark.results import SCHEMA_VERSION, clear_failure, has_record, write_failure, write_record
from benchmark.tasks.availability import check_tasks_available
from benchmark.tasks.checks import split_checks

LOSS_POINTS = 50  # points kept on each pretraining loss curve

# The keys of a pretraining resume state (named once, as torchtune names its checkpoint keys).
NETWORK_KEY, OPTIMIZER_KEY, SCHEDULE_KEY = "network", "optimizer", "schedule"
CORRUPTION_RNG_KEY, TORCH_RNG_KEY, PROGRESS_KEY = "corruption_gen", "torch_rng", "progress"


@dataclass
class Summary:
    plan: Plan
    ran: int
    reused: int
    seconds: float
    failed: int = 0  # runs that raised: kept under results/<suite>/failed/, to do again on the next run


@dataclass(frozen=True)
class JobOutcome:
    """What one unit of work did: runs it recorded, and runs it found recorded already."""

    ran: int
    reused: int
    failed: int = 0


def run_suite(suite: Suite, progress: bool = True, executor: Executor | None = None) -> Summary:
    """Run every planned run of ``suite`` that is not already recorded, job by job on ``executor``."""
    start = time.perf_counter()
    _quiet_transformers()
    resolve_precision(suite.precision, resolve_device(suite.device))  # hardware that cannot serve stops here
    # so does a task whose data cannot be read, before anything is written (every missing Hub dataset at once)
    check_tasks_available(suite, load=lambda name: task_splits(suite, name))
    plan = make_plan(suite, prepared_data(suite))
    todo = [job for job in plan.jobs if not all(r.done for r in job.runs)]
    reused = sum(r.done for job in plan.jobs if job not in todo for r in job.runs)
    overall = tqdm(total=sum(not r.done for r in plan.runs), desc=f"{suite.name} runs", unit="run",
                   disable=not progress)

    def on_run(job: PretrainJob, run: Run) -> None:
        overall.set_postfix_str(f"{job.objective} / {run.task} / seed {run.seed}")
        overall.update()

    def on_lost(job: PretrainJob, reason: str) -> JobOutcome:
        return lost_job(suite, job, reason)

    executor = executor or SerialExecutor()
    if executor.in_waves:
        outcomes = in_waves(executor, suite, todo, on_lost)
    else:
        outcomes = executor.map(run_job, suite, todo, progress=progress, on_run=on_run, on_lost=on_lost)
    ran = failed = 0
    for outcome in outcomes:
        ran, reused, failed = ran + outcome.ran, reused + outcome.reused, failed + outcome.failed
        overall.update(max(0, ran + failed - overall.n))  # engines that report whole jobs, not runs
    overall.close()
    baselines = run_baselines(suite, plan, progress)  # seconds each: here, after the networks
    ran, reused, failed = ran + baselines.ran, reused + baselines.reused, failed + baselines.failed
    return Summary(plan, ran, reused, time.perf_counter() - start, failed)


def run_baselines(suite: Suite, plan: Plan, progress: bool = False) -> JobOutcome:
    """Fit and score every planned baseline run not yet recorded, each recorded like a run."""
    todo = [b for b in plan.baseline_runs if not b.done]
    if not todo:
        return JobOutcome(0, len(plan.baseline_runs))
    data = prepared_data(suite)
    # Classical models compute on the CPU (scikit-learn, nltk, hmmlearn); the environment recorded is the
    # suite's, so that a baseline's record shares the precision field every run of a table must agree on.
    device = resolve_device(suite.device)
    env = environment(device, resolve_precision(suite.precision, device))
    documents = corpus.documents(suite) if any(registry.baselines.get(b.baseline).uses_corpus for b in todo) else None
    ran = failed = 0
    for b in tqdm(todo, desc=f"{suite.name} baselines", unit="run", disable=not progress, leave=False):
        with lock(suite.results_dir, "run-" + b.run_id):
            if has_record(suite.results_dir, suite.name, b.run_id):
                continue
            entry = registry.baselines.get(b.baseline)
            try:
                splits, checks = task_splits(suite, b.task)
                metrics, cost = entry(suite.baseline_settings(b.baseline)).fit_and_evaluate(
                    splits, documents if entry.uses_corpus else None, data.tokenizer, b.seed)
            except ObjbenchError:
                raise
            except Exception as error:
                write_failure(suite.results_dir, suite.name, {
                    "run_id": b.run_id, "model": b.model, "objective": b.baseline, "task": b.task,
                    "pretrain_seed": b.seed, "finetune_seed": suite.finetune.seeds[0], "phase": "baseline",
                    "error": f"{type(error).__name__}: {error}",
                    "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
                    "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
                failed += 1
                continue
            record_baseline(suite, data, b, metrics, cost, checks, env)
            clear_failure(suite.results_dir, suite.name, b.run_id)
            ran += 1
    return JobOutcome(ran, len(plan.baseline_runs) - len(todo), failed)


def in_waves(executor: Executor, suite: Suite, jobs: list[PretrainJob], on_lost) -> Iterator[JobOutcome]:
    """Two batches for engines that schedule batches: every pretraining job, then every run whose
    checkpoint exists, one unit each. A job whose pretraining failed has its runs recorded as
    failed in the first wave and is left out of the second."""
    yield from executor.map(pretrain_job, suite, jobs, on_lost=on_lost)
    trained = [job for job in jobs if job.checkpoint is None or job.checkpoint.exists()]
    runs = [replace(job, runs=[run]) for job in trained for run in job.runs
            if not has_record(suite.results_dir, suite.name, run.run_id)]
    yield from executor.map(run_job, suite, runs, on_lost=on_lost)


def pretrain_job(suite: Suite, job: PretrainJob, progress: bool = False,
                 on_run: Callable[[PretrainJob, Run], None] | None = None) -> JobOutcome:
    """The first wave's unit of work: pretrain (or find) ``job``'s checkpoint; its runs come later."""
    return run_job(suite, job, progress, on_run, pretrain_only=True)


def lost_job(suite: Suite, job: PretrainJob, reason: str) -> JobOutcome:
    """A job whose worker died: its runs not yet recorded are recorded as failed, to do again."""
    todo = [r for r in job.runs if not has_record(suite.results_dir, suite.name, r.run_id)]
    for run in todo:
        record_failure(suite, job, run, "a worker that died", RuntimeError(reason))
    return JobOutcome(0, len(job.runs) - len(todo), failed=len(todo))


def run_job(suite: Suite, job: PretrainJob, progress: bool = False,
            on_run: Callable[[PretrainJob, Run], None] | None = None, pretrain_only: bool = False) -> JobOutcome:
    """Pretrain (or load) ``job``'s checkpoint, then finetune, evaluate and record each of its runs."""
    _quiet_transformers()
    device = resolve_device(suite.device)
    precision = resolve_precision(suite.precision, device)
    if not pretrain_only and all(has_record(suite.results_dir, suite.name, r.run_id) for r in job.runs):
        return JobOutcome(ran=0, reused=len(job.runs))
    data = prepared_data(suite)
    env = environment(device, precision)
    try:
        pretrain_stats = pretrain(job, suite, data, device, precision, progress)
    except ObjbenchError:
        raise  # the user's to fix, the same for every job: one line, not a failure per run
    except Exception as error:  # contained: this job's runs fail, the others go on
        todo = [r for r in job.runs if not has_record(suite.results_dir, suite.name, r.run_id)]
        for run in todo:
            record_failure(suite, job, run, "pretraining", error)
        return JobOutcome(0, len(job.runs) - len(todo), failed=len(todo))
    if pretrain_only:
        return JobOutcome(0, 0)
    rung_stats = {r.key: {**load_cached_stats(r.checkpoint, suite.results_dir), "cache_hit": True} for r in job.rungs
                  if any(run.rung is r for run in job.runs)}  # read once per job, not once per run
    ran = reused = failed = 0
    for run in job.runs:
        with lock(suite.results_dir, "run-" + run.run_id):
            if has_record(suite.results_dir, suite.name, run.run_id):  # recorded by another process meanwhile
                reused += 1
                continue
            try:
                stats = pretrain_stats if run.rung is None else rung_stats[run.rung.key]
                finish_run(suite, data, job, run, stats, env, device, precision)
            except ObjbenchError:
                raise
            except Exception as error:
                record_failure(suite, job, run, "finetuning or evaluation", error)
                failed += 1
                continue
        ran += 1
        if on_run is not None:
            on_run(job, run)
    return JobOutcome(ran, reused, failed)


def finish_run(suite: Suite, data, job: PretrainJob, run: Run, pretrain_stats: dict, env: dict, device,
               precision: str) -> None:
    """Finetune and evaluate one run, then write its record (and drop a failure an earlier attempt left)."""
    splits, checks = task_splits(suite, run.task)
    metrics, finetune_stats, eval_stats = finetune_and_evaluate(job, run, splits, suite, data, device, precision)
    record(suite, data, job, run, pretrain_stats, finetune_stats, {**eval_stats, "data_checks": checks}, metrics, env)
    clear_failure(suite.results_dir, suite.name, run.run_id)


def record_failure(suite: Suite, job: PretrainJob, run: Run, phase: str, error: Exception) -> None:
    """Keep what went wrong, with its traceback, where the report finds it; the run stays to do."""
    write_failure(suite.results_dir, suite.name, {
        "run_id": run.run_id, "model": job.model, "objective": job.objective, "task": run.task,
        "pretrain_seed": job.seed, "finetune_seed": run.seed, "phase": phase,
        "error": f"{type(error).__name__}: {error}",
        "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    })


_DATA: dict[str, corpus.PretrainingData] = {}
_SPLITS: dict[str, object] = {}


def prepared_data(suite: Suite) -> corpus.PretrainingData:
    """The suite's tokenizer and packed blocks, read from the cache once per process."""
    key = stable_hash(str(Path(suite.results_dir).resolve()), corpus.corpus_identity(suite.corpus),
                      suite.tokenizer, suite.pretrain.seq_len)  # the identity hashes local files' contents
    if key not in _DATA:
        _DATA[key] = corpus.prepare(suite)
    corpus.check_fills_a_batch(_DATA[key].blocks, suite)  # the batch size is not part of the data
    return _DATA[key]


def task_splits(suite: Suite, name: str):
    """A task's train and test splits and the counts of their checks, loaded and checked once per process."""
    params = suite.task_settings(name)
    key = stable_hash(name, params, suite.corpus, str(Path.cwd()))  # local task files: relative paths
    if key not in _SPLITS:
        splits = suite.task_entry(name)(params).load(suite.corpus)
        _SPLITS[key] = splits, split_checks(name, splits)
    return _SPLITS[key]


def _quiet_transformers() -> None:
    transformers.logging.set_verbosity_error()  # "newly initialized score.weight" is expected, not news
    transformers.utils.logging.disable_progress_bar()


# --- pretraining -------------------------------------------------------------------------------

@dataclass
class TrainState:
    """Everything a pretraining run carries from one step to the next, and what a resume restores."""

    objective: object
    network: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler
    corruption_gen: torch.Generator
    progress: dict = field(default_factory=lambda: {"step": 0, "flops": 0.0, "loss_bearing_tokens": 0,
                                                    "curve": [], "elapsed_s": 0.0})


def pretrain(job: PretrainJob, suite: Suite, data, device: torch.device, precision: str, progress: bool) -> dict:
    """Pretrain one (model, objective, seed) and save it, or load what an earlier run saved.

    Under the checkpoint's lock: check again (another process may have published it while this
    one waited), restore an interrupted run's state, train, publish, drop the resume state.
    """
    if job.checkpoint is None:
        return {"objective": job.objective, "cache_hit": None, "steps": 0, "tokens": 0, "loss_bearing_tokens": 0,
                "flops": 0.0, "parameters": None, "loss_curve": []}
    with lock(suite.results_dir, "checkpoint-" + job.key):
        cached = load_cached_stats(job.checkpoint, suite.results_dir)
        rungs_made = all(load_cached_stats(r.checkpoint, suite.results_dir) is not None for r in job.rungs)
        if cached is not None and rungs_made:
            return {**cached, "cache_hit": True}
        for leftover in files.leftovers(job.checkpoint.parent, job.checkpoint.name):  # a save cut short by a kill
            files.remove(leftover)
        resume = resume_path(job.checkpoint)
        state = setup_training(job, suite, data, device)
        resumed_from = restore_resume_state(state, resume, suite.results_dir)
        stats = train(state, job, suite, data, device, precision, progress, resume)
        stats["resumed_from_step"] = resumed_from or None
        stats["attention"] = held_out_attention(state, suite, data)
        if cached is None:
            save_checkpoint(state, job.checkpoint, data.tokenizer, stats)
        else:  # trained again only for rungs a longer ladder added: the stored checkpoint is the same one
            stats = cached
        resume.unlink(missing_ok=True)
    return {**stats, "cache_hit": cached is not None}


def load_cached_stats(checkpoint: Path, results_dir: str) -> dict | None:
    """The statistics of a finished, whole checkpoint, or None when there is none.

    A damaged checkpoint (a file missing, cut short or changed since it was saved) is moved to
    the cache's quarantine folder, named in a warning, and trained again.
    """
    if not checkpoint.exists():
        return None
    problem = files.damage(checkpoint)
    if problem is not None:
        moved = files.quarantine(checkpoint, cache_dir(results_dir, "quarantine"))
        warn(f"checkpoint {checkpoint} is damaged ({problem}); moved to {moved}; training it again")
        return None
    resume_path(checkpoint).unlink(missing_ok=True)  # left if a kill fell between publishing and tidying up
    return json.loads((checkpoint / "pretrain.json").read_text())


def resume_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.name + ".resume.pt")


def setup_training(job: PretrainJob, suite: Suite, data, device: torch.device) -> TrainState:
    """A freshly initialised network (seeded by the job), its optimizer, schedule and corruption generator."""
    setup = Setup(data.tokenizer, registry.models.get(job.model), suite.size)
    objective = suite.build_objective(job.objective, setup)
    recipe = suite.pretrain
    torch.manual_seed(job.seed)
    network = objective.build().to(device).train()
    if recipe.compile:
        network.compile()  # in place: the weights keep their names, so the checkpoint is saved as ever
    # On a GPU, AdamW's fused kernel: one launch for every parameter (tests/benchmarks/test_gpu_levers.py).
    optimizer = torch.optim.AdamW(network.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay,
                                  betas=(0.9, 0.98), fused=True if device.type == "cuda" else None)
    if recipe.ladder:  # warmup-stable-decay: rungs branch off the stable phase (see wsd_factor)
        first = job.rungs[0].steps if job.rungs else job.steps  # the shortest run the ladder stands for
        stable_end, _ = wsd_steps(job.steps, recipe.decay_fraction)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(
            wsd_factor, warmup=min(recipe.warmup_steps, first // 10), stable_end=stable_end, total=job.steps))
    else:
        horizon = job.steps or 10**9  # a wall-clock budget decays over no fixed horizon
        schedule = get_cosine_schedule_with_warmup(optimizer, min(recipe.warmup_steps, horizon // 10), horizon)
    return TrainState(objective, network, optimizer, schedule, torch.Generator().manual_seed(job.seed + 1))


def restore_resume_state(state: TrainState, path: Path, results_dir: str) -> int:
    """Continue an interrupted run exactly where it stopped; returns the step it resumes from (0: none).

    A resume state that cannot be read is moved to quarantine, named in a warning, and the run
    starts again from step 0.
    """
    if not path.is_file():
        return 0
    try:
        saved = torch.load(path, weights_only=False)
    except Exception as err:  # torch raises several types for a cut-short or foreign file
        moved = files.quarantine(path, cache_dir(results_dir, "quarantine"))
        warn(f"resume state {path} cannot be read ({type(err).__name__}); moved to {moved}; starting from step 0")
        return 0
    state.network.load_state_dict(saved[NETWORK_KEY])
    state.optimizer.load_state_dict(saved[OPTIMIZER_KEY])
    state.schedule.load_state_dict(saved[SCHEDULE_KEY])
    state.corruption_gen.set_state(saved[CORRUPTION_RNG_KEY])
    torch.set_rng_state(saved[TORCH_RNG_KEY])
    state.progress = saved[PROGRESS_KEY]
    return state.progress["step"]


def save_resume_state(state: TrainState, path: Path) -> None:
    files.publish(path, lambda tmp: torch.save({
        NETWORK_KEY: state.network.state_dict(), OPTIMIZER_KEY: state.optimizer.state_dict(),
        SCHEDULE_KEY: state.schedule.state_dict(), CORRUPTION_RNG_KEY: state.corruption_gen.get_state(),
        TORCH_RNG_KEY: torch.get_rng_state(), PROGRESS_KEY: state.progress}, tmp))


def train(state: TrainState, job: PretrainJob, suite: Suite, data, device: torch.device, precision: str,
          progress: bool, resume_path: Path) -> dict:
    """The pretraining loop: one batch of blocks per step until the budget is spent; returns its statistics."""
    recipe, p = suite.pretrain, state.progress
    peak = mfu_peak(device, precision)  # MFU's denominator: a datasheet peak, or a matmul timed now
    meter = Throughput(device)
    log_every = max(1, (job.steps or 1000) // LOSS_POINTS)
    running = []
    began = time.perf_counter() - p["elapsed_s"]
    deadline = began + recipe.budget if recipe.budget_unit == "seconds" else math.inf
    bar = tqdm(total=job.steps, initial=p["step"], desc=f"pretrain {job.model}/{job.objective} seed {job.seed}",
               unit="step", disable=not progress, leave=False)
    branches = {rung.branch_at: rung for rung in job.rungs}
    with PeakMemory(device) as memory:
        while (p["step"] < job.steps) if job.steps is not None else (time.perf_counter() < deadline):
            loss = train_step(state, job, suite, data, device, precision)
            state.schedule.step()
            running.append(loss)
            # Tokens are block tokens taken from the stream, whatever the objective feeds the network
            # (an encoder-decoder's input is shorter than its block): one unit for every objective.
            meter.step(tokens=recipe.tokens_per_step, samples=recipe.batch_size)
            if p["step"] % log_every == 0 or p["step"] == job.steps:
                loss = torch.stack(running).float().mean().item()
                p["curve"].append({"step": p["step"], "tokens": p["step"] * recipe.tokens_per_step,
                                   "flops": p["flops"], "loss": loss})
                running.clear()
                bar.set_postfix(loss=f"{loss:.3f}")
            bar.update()
            if p["step"] in branches:
                started = time.perf_counter()
                branch(state, branches[p["step"]], job, suite, data, device, precision)
                meter.exclude(time.perf_counter() - started)  # the main run's speed is its own steps'
            if recipe.resume_every_steps and p["step"] % recipe.resume_every_steps == 0 and p["step"] != job.steps:
                p["elapsed_s"] = time.perf_counter() - began
                save_resume_state(state, resume_path)
    bar.close()
    return pretrain_stats(state, job, suite, len(data.blocks), meter, memory, time.perf_counter() - began, peak)


def train_step(state: TrainState, job: PretrainJob, suite: Suite, data, device: torch.device,
               precision: str) -> torch.Tensor:
    """One optimizer step on the blocks of step ``progress["step"]``, counted; returns its loss."""
    recipe, p = suite.pretrain, state.progress
    index = block_indices(p["step"], len(data.blocks), recipe.batch_size, job.seed)
    batch = state.objective.prepare(data.blocks.select(index).to_dict(), state.corruption_gen)
    batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    with autocast(device, precision):
        out = state.objective.loss(state.network, batch)
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(state.network.parameters(), recipe.grad_clip)
    state.optimizer.step()
    state.optimizer.zero_grad(set_to_none=True)
    p["step"] += 1
    p["flops"] += state.objective.flops(state.network, batch)
    p["loss_bearing_tokens"] += out.loss_bearing_tokens
    return out.loss.detach()


def wsd_factor(step: int, warmup: int, stable_end: int, total: int) -> float:
    """The learning-rate multiplier of a warmup-stable-decay run: a linear warmup (as the cosine
    schedule's), 1 until ``stable_end``, then a linear decay towards 0 at ``total``."""
    if step < warmup:
        return step / max(1, warmup)
    if step < stable_end:
        return 1.0
    return max(0.0, (total - step) / max(1, total - stable_end))


def branch(state: TrainState, rung: Rung, job: PretrainJob, suite: Suite, data, device: torch.device,
           precision: str) -> None:
    """Make ``rung``'s checkpoint: decay from here for its decay steps, save, and put everything back.

    Everything a step reads or changes (weights, optimizer moments, schedule, both generators,
    the counters) is restored afterwards, so the main run goes on as if it had never branched.
    The branch's FLOPs are added to the run's ``ladder_flops``; a rung saved before a resume is
    not made again.
    """
    p = state.progress
    if load_cached_stats(rung.checkpoint, suite.results_dir) is not None:
        return
    saved = {"network": {k: v.detach().clone() for k, v in state.network.state_dict().items()},
             "optimizer": copy.deepcopy(state.optimizer.state_dict()), "schedule": state.schedule.state_dict(),
             "corruption": state.corruption_gen.get_state(), "rng": torch.get_rng_state(),
             "progress": copy.deepcopy(p)}
    began, losses = time.perf_counter(), []
    for i in range(rung.decay_steps):  # the same multipliers as wsd_factor over a run of rung.steps
        factor = wsd_factor(rung.branch_at + i, 0, rung.branch_at, rung.steps)
        for group in state.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * factor
        losses.append(train_step(state, job, suite, data, device, precision))
    tokens = p["step"] * suite.pretrain.tokens_per_step
    stats = {"objective": job.objective, "kind": str(state.objective.kind), "rung": rung.fraction,
             "branched_at": rung.branch_at, "decay_steps": rung.decay_steps, "steps": p["step"], "tokens": tokens,
             "samples": p["step"] * suite.pretrain.batch_size, "flops": p["flops"],
             "flops_per_token": p["flops"] / tokens, "loss_bearing_tokens": p["loss_bearing_tokens"],
             "parameters": sum(t.numel() for t in state.network.parameters()),
             "final_loss": torch.stack(losses).float().mean().item(),
             "loss_curve": [*p["curve"], {"step": p["step"], "tokens": tokens, "flops": p["flops"],
                                          "loss": torch.stack(losses).float().mean().item()}],
             "branch_wall_s": time.perf_counter() - began}
    branch_flops = p["flops"] - saved["progress"]["flops"]
    with lock(suite.results_dir, "checkpoint-" + rung.key):
        save_checkpoint(state, rung.checkpoint, data.tokenizer, stats)
    state.network.load_state_dict(saved["network"])
    state.optimizer.load_state_dict(saved["optimizer"])
    state.schedule.load_state_dict(saved["schedule"])
    state.corruption_gen.set_state(saved["corruption"])
    torch.set_rng_state(saved["rng"])
    p.clear()  # in place: the training loop holds this dict
    p.update(saved["progress"])
    p["ladder_flops"] = p.get("ladder_flops", 0.0) + branch_flops


HELD_OUT_TEXTS = 32  # texts whose attention describes a checkpoint


def held_out_texts(suite: Suite, count: int = HELD_OUT_TEXTS) -> list[str]:
    """Text no pretraining step read, the same for every objective: the test split of the suite's
    first task that has running text (a classification text, a QA context, a translation source,
    the grammatical sentence of a pair)."""
    for name in suite.tasks:
        test = task_splits(suite, name)[0]["test"]
        for column in ("text", "context", "source", "good"):
            if column in test.column_names and len(test):
                return [str(t) for t in test[column][:count]]
    return []


def held_out_attention(state: TrainState, suite: Suite, data) -> dict | None:
    """Attention statistics of the pretrained backbone per layer and head on held-out text
    (``benchmark.attention``), for the report's comparison of objectives; None without such text."""
    from benchmark.attention import as_record, checkpoint_attention
    from benchmark.objectives.base import special_token_mask

    texts = held_out_texts(suite)
    if not texts:
        return None
    encoded = data.tokenizer(texts, truncation=True, max_length=suite.pretrain.seq_len, padding=True,
                             return_tensors="pt")
    ids, padding = encoded["input_ids"], encoded["attention_mask"]
    special = special_token_mask(ids, torch.tensor(sorted(data.tokenizer.all_special_ids)))
    backbone = state.objective.backbone(state.network)
    return as_record(checkpoint_attention(backbone, state.objective.kind, ids, padding, special))


def pretrain_stats(state: TrainState, job: PretrainJob, suite: Suite, n_blocks: int, meter: Throughput,
                   memory: PeakMemory, wall_s: float, peak: tuple[float, str]) -> dict:
    """What a pretraining run records: its cost in steps, tokens, loss-bearing tokens, FLOPs, time and memory,
    and its speed as MFU: steady-state model FLOP/s over the device's peak, with the peak's source
    (``measure.mfu_peak``: "datasheet" or "measured")."""
    p, recipe = state.progress, suite.pretrain
    tokens = p["step"] * recipe.tokens_per_step
    rates = meter.summary()
    flops_per_s = rates["tokens_per_s"] * p["flops"] / tokens if rates["tokens_per_s"] and tokens else None
    return {
        **rates,
        "flops_per_s": flops_per_s,
        "peak_flops_per_s": peak[0],
        "peak_source": peak[1],
        "mfu": mfu(flops_per_s, peak[0]),
        "steps": p["step"],  # totals over the whole run; the meter's rates cover this process's share
        "tokens": tokens,
        "samples": p["step"] * recipe.batch_size,
        "wall_s": wall_s,
        "objective": job.objective,
        "kind": str(state.objective.kind),
        "loss_bearing_tokens": p["loss_bearing_tokens"],
        "flops": p["flops"],
        "flops_per_token": p["flops"] / tokens if tokens else None,
        "parameters": sum(t.numel() for t in state.network.parameters()),
        "peak_memory_bytes": memory.peak_bytes,
        "peak_memory_kind": memory.kind,
        "final_loss": p["curve"][-1]["loss"] if p["curve"] else None,
        "loss_curve": p["curve"],
        "epochs_over_data": p["step"] * recipe.batch_size / n_blocks,
        # A ladder's decay branches: spent beside this checkpoint's own FLOPs, on the rungs' checkpoints.
        "ladder_flops": p.get("ladder_flops", 0.0) if job.rungs else None,
        "rungs": [{"fraction": r.fraction, "steps": r.steps, "key": r.key} for r in job.rungs] or None,
    }


def save_checkpoint(state: TrainState, checkpoint: Path, tokenizer, stats: dict) -> None:
    """The backbone (safetensors), the tokenizer and the statistics, published whole by one rename."""
    def write(folder: Path) -> None:
        state.objective.backbone(state.network).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        files.write_json(folder / "pretrain.json", stats)
    files.publish_folder(checkpoint, write)


# --- finetuning, evaluation, record ---------------------------------------------------------------

def init_seed(pretrain_seed: int, finetune_seed: int) -> int:
    """The seed of everything random in one finetuning run: the task head, the whole network of an
    untrained control (whose pretraining seed would otherwise change nothing), and the order of the
    training examples. Nested in the pretraining seed: finetuning seed 0 of one pretraining run shares
    nothing with finetuning seed 0 of another, so the spread between pretraining runs holds the
    finetuning noise too, and a rerun on other seeds lands inside the report's intervals."""
    return pretrain_seed * 1_000_003 + finetune_seed


def finetune_and_evaluate(job: PretrainJob, run: Run, splits, suite: Suite, data, device, precision):
    """Finetune from the job's checkpoint with the suite's one recipe (unless the task is zero-shot),
    then score the test split."""
    fmt = registry.formats.get(run.task_format)()
    entry = registry.models.get(job.model)
    setup = Setup(data.tokenizer, entry, suite.size)
    seed = init_seed(job.seed, run.seed)
    torch.manual_seed(seed)
    model = fmt.build(entry, run.checkpoint, setup, splits["train"], job.kind)
    finetune_stats = {"steps": 0, "examples": 0}  # a zero-shot format scores the pretrained model as it is
    if fmt.finetunes:
        finetune_stats = fmt.finetune(model, splits["train"], data.tokenizer, suite.finetune, job.kind, seed,
                                      device, precision)
    metrics, eval_stats = fmt.evaluate(model, splits["test"], data.tokenizer, suite.finetune, job.kind,
                                       device, precision)
    finetune_stats["parameters"] = sum(p.numel() for p in model.parameters())
    return metrics, finetune_stats, eval_stats


def record_baseline(suite: Suite, data, b: BaselineRun, metrics: dict, cost: dict, checks: dict, env: dict) -> None:
    """A baseline's record: the same fields as a run's, its fitting as its cost, marked ``baseline``."""
    fmt = registry.formats.get(b.task_format)
    cost = dict(cost)
    items = cost.pop(ITEMS_KEY, None)
    fitted = {"objective": b.baseline, "cache_hit": None, "steps": 0, "tokens": 0, "loss_bearing_tokens": 0,
              "flops": 0.0, "parameters": cost.get("parameters"), "wall_s": cost.get("fit_s"),
              "peak_memory_bytes": cost.get("peak_memory_bytes"), "peak_memory_kind": cost.get("peak_memory_kind"),
              "loss_curve": []}
    write_record(suite.results_dir, {
        "schema_version": SCHEMA_VERSION,
        "run_id": b.run_id,
        "suite": suite.name,
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model": b.model,
        "size": suite.size,
        "objective": b.baseline,
        "baseline": True,  # a classical system: no network, no pretraining; a row of its own on the board
        "deterministic": not registry.baselines.get(b.baseline).seeded,  # fitted once: no seed moves it
        "objective_params": suite.baseline_settings(b.baseline).model_dump(mode="json"),
        "task": b.task,
        "task_entry": suite.task_variants.get(b.task, {}).get("task", b.task),
        "task_params": suite.task_settings(b.task).model_dump(mode="json"),
        "task_format": b.task_format,
        "primary_metric": fmt.primary_metric.to_dict(),
        "companion_metric": fmt.companion_metric.to_dict(),
        "finetune_mode": None,
        "pretrain_seed": b.seed,
        "finetune_seed": suite.finetune.seeds[0],
        "checkpoint": None,
        "rung": None,
        "corpus_id": data.corpus_id,
        "tokenizer_id": data.tokenizer_id,
        "metrics": metrics,
        "pretrain": fitted,
        "finetune": {"steps": 0, "examples": 0, "wall_s": cost.get("fit_s")},
        "evaluate": {**cost, "wall_s": cost.get("eval_s"), "data_checks": checks},
        ITEMS_KEY: items,
        "environment": env,
        "config": suite.model_dump(mode="json"),
    })


def record(suite: Suite, data, job: PretrainJob, run: Run, pretrain_stats, finetune_stats, eval_stats, metrics, env):
    """Write the run's record: what ran, on what, with which config, and what it measured."""
    fmt = registry.formats.get(run.task_format)
    eval_stats = dict(eval_stats)
    items = eval_stats.pop(ITEMS_KEY, None)
    write_record(suite.results_dir, {
        "schema_version": SCHEMA_VERSION,
        "run_id": run.run_id,
        "suite": suite.name,
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model": job.model,
        "size": suite.size,
        "objective": job.objective,
        "objective_params": suite.objective_settings(job.objective).model_dump(mode="json"),
        "task": run.task,
        "task_entry": suite.task_variants.get(run.task, {}).get("task", run.task),  # a variant's registered task
        "task_params": suite.task_settings(run.task).model_dump(mode="json"),
        "task_format": run.task_format,
        "primary_metric": fmt.primary_metric.to_dict(),  # the report ranks by this, reading no training code
        "companion_metric": fmt.companion_metric.to_dict(),  # a likelihood-based score beside it; never ranks
        "finetune_mode": suite.finetune.mode if fmt.finetunes else None,
        "pretrain_seed": job.seed,
        "finetune_seed": run.seed,
        "checkpoint": (run.rung.key if run.rung else job.key) if job.checkpoint else None,
        "rung": run.fraction,  # share of the budget behind the checkpoint (None: the untrained controls)
        "corpus_id": data.corpus_id,
        "tokenizer_id": data.tokenizer_id,
        "metrics": metrics,
        "pretrain": pretrain_stats,
        "finetune": finetune_stats,
        "evaluate": eval_stats,
        ITEMS_KEY: items,  # what the primary metric is made of, item by item: the test-set bootstrap's input
        "environment": env,
        "config": suite.model_dump(mode="json"),
    })
