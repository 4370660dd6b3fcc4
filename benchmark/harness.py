"""The harness, top to bottom: plan -> pretrain -> finetune -> evaluate -> record.

Every (model, objective, pretraining seed) is pretrained once on the same packed stream with
the same budget rule, saved with ``save_pretrained`` under a hash of everything that
determines it, and reused by every task and finetuning seed, in this and later runs. Every
finished run is one record in the result store; a run already recorded is not repeated.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import shutil
import time
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm
import transformers
from transformers import get_cosine_schedule_with_warmup

from benchmark import registry
from benchmark.config import Suite
from benchmark.data import corpus
from benchmark.formats import FORMATS
from benchmark.measure import PeakMemory, Throughput, autocast, environment, resolve_device, resolve_precision
from benchmark.objectives.base import Setup
from benchmark.plan import Plan, PretrainJob, Run, make_plan
from benchmark.results import SCHEMA_VERSION, write_json_atomic, write_record

LOSS_POINTS = 50  # points kept on each pretraining loss curve


@dataclass
class Summary:
    plan: Plan
    ran: int
    reused: int
    seconds: float


def run_suite(suite: Suite, progress: bool = True) -> Summary:
    """Run every planned run of ``suite`` that is not already recorded."""
    start = time.perf_counter()
    transformers.logging.set_verbosity_error()  # "newly initialized score.weight" is expected, not news
    transformers.utils.logging.disable_progress_bar()
    device = resolve_device(suite.device)
    precision = resolve_precision(suite.precision, device)
    data = corpus.prepare(suite)
    plan = make_plan(suite, data)
    env = environment(device, precision)
    ran = reused = 0
    task_data = {}
    overall = tqdm(total=sum(not r.done for r in plan.runs), desc=f"{suite.name} runs", unit="run",
                   disable=not progress)
    for job in plan.jobs:
        pending = [r for r in job.runs if not r.done]
        reused += len(job.runs) - len(pending)
        if not pending:
            continue
        pretrain_stats = pretrain(job, suite, data, device, precision, progress)
        for run in pending:
            overall.set_postfix_str(f"{job.objective} / {run.task} / seed {run.seed}")
            if run.task not in task_data:
                task = registry.tasks.get(run.task)(suite.task_settings(run.task))
                task_data[run.task] = (task, task.load(suite.corpus))
            task, splits = task_data[run.task]
            metrics, finetune_stats, eval_stats = finetune_and_evaluate(job, run, task, splits, suite, data, device, precision)
            record(suite, data, job, run, pretrain_stats, finetune_stats, eval_stats, metrics, env)
            ran += 1
            overall.update()
    overall.close()
    return Summary(plan, ran, reused, time.perf_counter() - start)


def pretrain(job: PretrainJob, suite: Suite, data, device: torch.device, precision: str, progress: bool) -> dict:
    """Pretrain one (model, objective, seed) and save it, or load what an earlier run saved."""
    if job.checkpoint is None:
        return {"objective": job.objective, "cache_hit": None, "steps": 0, "tokens": 0, "loss_bearing_tokens": 0,
                "flops": 0.0, "parameters": None, "loss_curve": []}
    stats_path = job.checkpoint / "pretrain.json"
    if stats_path.is_file():
        return {**json.loads(stats_path.read_text()), "cache_hit": True}

    setup = Setup(data.tokenizer, registry.models.get(job.model), suite.size)
    objective = suite.build_objective(job.objective, setup)
    recipe = suite.pretrain
    torch.manual_seed(job.seed)
    network = objective.build().to(device).train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay, betas=(0.9, 0.98))
    horizon = job.steps or 10**9  # a wall-clock budget decays over no fixed horizon
    schedule = get_cosine_schedule_with_warmup(optimizer, min(recipe.warmup_steps, horizon // 10), horizon)
    corruption_gen = torch.Generator().manual_seed(job.seed + 1)
    progress_state = {"step": 0, "flops": 0.0, "loss_bearing_tokens": 0, "curve": [], "elapsed_s": 0.0}
    resume_path = job.checkpoint.with_name(job.checkpoint.name + ".resume.pt")
    if resume_path.is_file():  # an interrupted run: continue exactly where it stopped
        saved = torch.load(resume_path, weights_only=False)
        network.load_state_dict(saved["network"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        corruption_gen.set_state(saved["corruption_gen"])
        torch.set_rng_state(saved["torch_rng"])
        progress_state = saved["progress"]
    resumed_from = progress_state["step"]

    n_blocks = len(data.blocks)
    meter = Throughput(device)
    log_every = max(1, (job.steps or 1000) // LOSS_POINTS)
    step, flops, loss_tokens = progress_state["step"], progress_state["flops"], progress_state["loss_bearing_tokens"]
    curve, running = progress_state["curve"], []
    deadline = time.perf_counter() - progress_state["elapsed_s"] + recipe.budget \
        if recipe.budget_unit == "seconds" else math.inf
    began = time.perf_counter() - progress_state["elapsed_s"]
    bar = tqdm(total=job.steps, initial=step, desc=f"pretrain {job.model}/{job.objective} seed {job.seed}",
               unit="step", disable=not progress, leave=False)
    with PeakMemory(device) as memory:
        while (job.steps is None and time.perf_counter() < deadline) or (job.steps is not None and step < job.steps):
            index = block_indices(step, n_blocks, recipe.batch_size, job.seed)
            batch = objective.prepare(data.blocks.select(index).to_dict(), corruption_gen)
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            with autocast(device, precision):
                out = objective.loss(network, batch)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), recipe.grad_clip)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            flops += objective.flops(network, batch)
            loss_tokens += out.loss_bearing_tokens
            running.append(out.loss.detach())
            # Tokens are block tokens taken from the stream, whatever the objective feeds the network
            # (an encoder-decoder's input is shorter than its block): one unit for every objective.
            meter.step(tokens=len(index) * recipe.seq_len, samples=len(index))
            if step % log_every == 0 or step == job.steps:
                loss = torch.stack(running).float().mean().item()
                curve.append({"step": step, "tokens": step * recipe.batch_size * recipe.seq_len, "flops": flops,
                              "loss": loss})
                running.clear()
                bar.set_postfix(loss=f"{loss:.3f}")
            bar.update()
            if recipe.resume_every_steps and step % recipe.resume_every_steps == 0 and step != job.steps:
                write_resume_state(resume_path, network, optimizer, schedule, corruption_gen, {
                    "step": step, "flops": flops, "loss_bearing_tokens": loss_tokens, "curve": curve,
                    "elapsed_s": time.perf_counter() - began})
    bar.close()
    stats = {
        **meter.summary(),
        "steps": step,
        "tokens": step * recipe.batch_size * recipe.seq_len,
        "wall_s": time.perf_counter() - began,
        "resumed_from_step": resumed_from or None,
        "objective": job.objective,
        "kind": str(objective.kind),
        "loss_bearing_tokens": loss_tokens,
        "flops": flops,
        "flops_per_token": flops / (step * recipe.batch_size * recipe.seq_len) if step else None,
        "parameters": sum(p.numel() for p in network.parameters()),
        "peak_memory_bytes": memory.peak_bytes,
        "peak_memory_kind": memory.kind,
        "final_loss": curve[-1]["loss"] if curve else None,
        "loss_curve": curve,
        "epochs_over_data": step * recipe.batch_size / n_blocks,
    }
    tmp = job.checkpoint.with_name(job.checkpoint.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    objective.backbone(network).save_pretrained(tmp)  # safetensors
    data.tokenizer.save_pretrained(tmp)
    write_json_atomic(tmp / "pretrain.json", stats)
    shutil.rmtree(job.checkpoint, ignore_errors=True)
    tmp.rename(job.checkpoint)  # the checkpoint appears whole or not at all
    resume_path.unlink(missing_ok=True)
    return {**stats, "cache_hit": False}


def block_indices(step: int, n_blocks: int, batch_size: int, seed: int) -> torch.Tensor:
    """The blocks of pretraining step ``step``: the same for every objective, and a pure function
    of the step, so an interrupted run resumes on exactly the data it would have seen.

    Each epoch is a fresh permutation of the blocks (seeded by ``seed`` and the epoch); the
    remainder that does not fill a batch is skipped.
    """
    per_epoch = n_blocks // batch_size
    if per_epoch == 0:
        raise ValueError(f"{n_blocks} blocks cannot fill one batch of {batch_size}")
    epoch, i = divmod(step, per_epoch)
    order = torch.randperm(n_blocks, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    return order[i * batch_size:(i + 1) * batch_size]


def write_resume_state(path, network, optimizer, schedule, corruption_gen, progress_state) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"network": network.state_dict(), "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(), "corruption_gen": corruption_gen.get_state(),
                "torch_rng": torch.get_rng_state(), "progress": progress_state}, tmp)
    tmp.replace(path)


def finetune_and_evaluate(job: PretrainJob, run: Run, task, splits, suite: Suite, data, device, precision):
    """Finetune from the job's checkpoint with the suite's one recipe (unless the task is zero-shot),
    then score the test split."""
    fmt = FORMATS[task.format]
    entry = registry.models.get(job.model)
    setup = Setup(data.tokenizer, entry, suite.size)
    objective = suite.build_objective(job.objective, setup)
    torch.manual_seed(run.seed)
    model = fmt.build(entry, job.checkpoint, setup, splits["train"], objective.kind)
    finetune_stats = {"steps": 0, "examples": 0}  # a zero-shot format scores the pretrained model as it is
    if fmt.finetunes:
        finetune_stats = fmt.finetune(model, splits["train"], data.tokenizer, suite.finetune, objective.kind, run.seed,
                                      device, precision)
    metrics, eval_stats = fmt.evaluate(model, splits["test"], data.tokenizer, suite.finetune, objective.kind,
                                       device, precision)
    finetune_stats["parameters"] = sum(p.numel() for p in model.parameters())
    return metrics, finetune_stats, eval_stats


def record(suite: Suite, data, job: PretrainJob, run: Run, pretrain_stats, finetune_stats, eval_stats, metrics, env):
    """Write the run's record: what ran, on what, with which config, and what it measured."""
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
        "task_format": registry.tasks.get(run.task).format,
        "finetune_mode": suite.finetune.mode if FORMATS[registry.tasks.get(run.task).format].finetunes else None,
        "pretrain_seed": job.seed,
        "finetune_seed": run.seed,
        "checkpoint": job.key if job.checkpoint else None,
        "corpus_id": data.corpus_id,
        "tokenizer_id": data.tokenizer_id,
        "metrics": metrics,
        "pretrain": pretrain_stats,
        "finetune": finetune_stats,
        "evaluate": eval_stats,
        "environment": env,
        "config": suite.model_dump(mode="json"),
    })
