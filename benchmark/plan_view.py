"""``objbench plan``'s table: every pretraining job with its budget and cache state, its rungs, and each task."""

from __future__ import annotations

from collections.abc import Iterator

from benchmark.data.corpus import PretrainingData
from benchmark.plan import Plan


def plan_lines(plan: Plan, data: PretrainingData) -> Iterator[str]:
    suite = plan.suite
    yield (f"suite {suite.name}: {len(plan.runs)} runs in {len(plan.jobs)} pretraining jobs "
           f"({sum(r.done for r in plan.runs)} already recorded), {len(plan.baseline_runs)} baseline runs; "
           f"corpus {len(data.blocks)} blocks of {suite.pretrain.seq_len}")
    parallel, batch = suite.pretrain.parallel, suite.pretrain.batch_size
    if parallel.world_size > 1 or parallel.micro_batch_size:
        share = -(-batch // parallel.world_size)
        micro = f", in forward passes of {parallel.micro_batch_size}" if parallel.micro_batch_size else ""
        yield (f"each pretraining job: {parallel.world_size} process(es) ({parallel.nodes} node(s) x "
               f"{parallel.devices}), {parallel.strategy if parallel.world_size > 1 else 'one process'}; "
               f"the global batch of {batch} rows, up to {share} per device{micro}")
    yield f"{'model/objective':<28} {'seed':>4} {'steps':>7} {'tokens':>10} {'FLOPs':>10} {'checkpoint':>10}  runs"
    for job in plan.jobs:
        steps = "-" if job.steps is None else job.steps
        tokens = "-" if job.tokens is None else f"{job.tokens:.3g}"
        flops = "-" if job.flops is None else f"{job.flops:.3g}"
        state = "n/a" if job.checkpoint is None else "published" if job.published else "cached" if job.cached else "to train"
        model = job.model if len(suite.sizes) == 1 or job.size is None else f"{job.model}-{job.size}"
        yield (f"{model + '/' + job.objective:<28} {job.seed:>4} {steps:>7} {tokens:>10} {flops:>10} {state:>10}  "
               f"{len(job.runs)} ({sum(r.done for r in job.runs)} recorded)")
        for rung in job.rungs:  # a ladder's checkpoints below the budget, each a branch off the main run
            runs = [r for r in job.runs if r.rung is rung]
            yield (f"  rung {rung.fraction:<5g} {'':>15} {rung.steps:>7} "
                   f"{rung.steps * suite.pretrain.tokens_per_step:>10.3g} {rung.flops:>10.3g} "
                   f"{'cached' if rung.checkpoint.exists() else 'to train':>10}  {len(runs)} "
                   f"({sum(r.done for r in runs)} recorded); branches at step {rung.branch_at}, "
                   f"decays {rung.decay_steps}")
        if job.rungs:
            extra = sum(r.decay_steps for r in job.rungs) * job.flops_per_step
            yield f"  ladder: the branches add {extra:.3g} FLOPs to this run ({extra / job.flops:.0%} of its budget)"
    yield f"{'task':<28} {'entry':<24} {'format':<15} runs"
    for name in suite.tasks:  # a task variant under its own name, beside the entry it instantiates
        runs = [r for r in plan.runs if r.task == name]
        entry = suite.task_variants[name]["task"] if name in suite.task_variants else name
        yield (f"{name:<28} {entry:<24} {suite.task_entry(name).format:<15} {len(runs)} "
               f"({sum(r.done for r in runs)} recorded)")
    for triple, reason in plan.skipped:
        yield f"skipped {triple}: {reason}"
