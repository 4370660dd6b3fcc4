"""Planning: a suite -> the list of pretraining jobs and runs, validated and costed before any training."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from benchmark import registry
from benchmark.cache import cache_dir, stable_hash
from benchmark.config import Suite
from benchmark.data.corpus import PretrainingData
from benchmark.data.packing import block_indices
from benchmark.errors import ObjbenchError, warn
from benchmark.measure import resolve_device, resolve_precision
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import Setup
from benchmark.results import BASELINE_GROUP, has_record

ESTIMATE_STEPS = 8  # batches whose mean FLOPs price a step, where steps differ in cost

# Bumped when what a run computes changes without its inputs changing (2: the finetuning init is
# seeded by the pretraining and the finetuning seed; 3: so is the order of the finetuning examples),
# so no record of the old behaviour is reused.
RUN_KEY_VERSION = 3


@dataclass
class Rung:
    """A finished checkpoint at ``fraction`` of the budget, branched off a laddered run's stable phase."""

    fraction: float
    steps: int  # the rung's own steps: ``branch_at`` on the main run, then ``decay_steps`` of its branch
    branch_at: int
    decay_steps: int
    flops: float  # what this checkpoint cost: its steps' FLOPs
    key: str
    checkpoint: Path


def wsd_steps(steps: int, decay_fraction: float) -> tuple[int, int]:
    """(stable end, decay steps) of a warmup-stable-decay run of ``steps`` steps: one rule for a rung's
    branch and for the main run's own decay, so a rung is the run its budget would have made."""
    decay = max(1, round(decay_fraction * steps))
    return steps - decay, decay


@dataclass
class PretrainJob:
    """One (model, objective, pretraining seed): pretrained once, finetuned by every run below it."""

    model: str
    size: str | None  # the model entry's preset (None: a published checkpoint)
    objective: str
    seed: int
    kind: ModelKind  # what the objective pretrains; finetuning builds the same kind
    key: str  # checkpoint cache key: a hash of everything that determines the weights
    steps: int | None  # None for a wall-clock budget (steps unknown in advance) and for `none`
    tokens: int | None
    flops: float | None
    flops_per_step: float
    checkpoint: Path | None  # None for the `none` control
    cached: bool
    runs: list[Run] = field(default_factory=list)
    rungs: list[Rung] = field(default_factory=list)  # a compute ladder's rungs below the whole budget
    published: dict | None = None  # a published checkpoint: its path and the source of its compute


@dataclass
class Run:
    job: PretrainJob
    task: str
    task_format: str
    seed: int  # finetuning seed
    run_id: str
    done: bool
    rung: Rung | None = None  # None: the job's own checkpoint (the whole budget), or no checkpoint at all

    @property
    def checkpoint(self) -> Path | None:
        """The checkpoint this run finetunes: its rung's, else its job's."""
        return self.rung.checkpoint if self.rung is not None else self.job.checkpoint

    @property
    def checkpoint_key(self) -> str | None:
        """The cache key of that checkpoint, as the record names it (None: nothing pretrained)."""
        if self.job.checkpoint is None:
            return None
        return self.rung.key if self.rung is not None else self.job.key

    # what a record names the run by, alike for a baseline run
    model = property(lambda self: self.job.model)
    size = property(lambda self: self.job.size)
    published = property(lambda self: self.job.published)
    objective = property(lambda self: self.job.objective)
    pretrain_seed = property(lambda self: self.job.seed)
    finetune_seed = property(lambda self: self.seed)

    @property
    def fraction(self) -> float | None:
        """The share of the budget behind this run's checkpoint (None for the untrained controls and published
        checkpoints: neither was pretrained on this suite's budget)."""
        if self.rung is not None:
            return self.rung.fraction
        return 1.0 if self.job.checkpoint is not None and not self.job.published else None


@dataclass
class BaselineRun:
    """A classical baseline fitted and scored on one task: once per suite, or once per pretraining seed
    (its own seed) for a baseline whose fit depends on one (``seeded``)."""

    model: str  # BASELINE_GROUP: it trains no network, so it sits on no neural model's board
    baseline: str
    task: str
    task_format: str
    seed: int
    run_id: str
    done: bool
    finetune_seed: int = 0  # the suite's first: a baseline has no finetuning, its record names one all the same
    fraction = None  # no checkpoint behind it
    size = None  # it builds no network
    published = None

    @property
    def objective(self) -> str:
        return self.baseline

    @property
    def pretrain_seed(self) -> int:
        return self.seed


@dataclass
class Plan:
    suite: Suite
    jobs: list[PretrainJob]
    skipped: list[tuple[str, str]]  # ("model/objective/task", reason)
    baseline_runs: list[BaselineRun] = field(default_factory=list)

    @property
    def runs(self) -> list[Run]:
        return [r for j in self.jobs for r in j.runs]

    @property
    def run_ids(self) -> set[str]:
        """Every planned run's id: the neural runs' and the baselines'."""
        return {r.run_id for r in self.runs} | {b.run_id for b in self.baseline_runs}


def budget_steps(suite: Suite, flops_per_step: float) -> int | None:
    """Convert the suite's pretraining budget into optimizer steps for one (model, objective)."""
    p = suite.pretrain
    if p.budget_unit == "steps":
        return int(p.budget)
    if p.budget_unit == "tokens":
        return max(1, math.ceil(p.budget / p.tokens_per_step))
    if p.budget_unit == "flops":
        return max(1, math.ceil(p.budget / flops_per_step))
    return None  # seconds: decided while training


def estimate_flops_per_step(suite: Suite, objective, data: PretrainingData) -> float:
    """Training FLOPs of one step: the mean over the first ``ESTIMATE_STEPS`` real prepared batches, on a
    network on the meta device. One batch is enough where every step costs the same; an objective whose
    padded widths vary from batch to batch (gap sentences, span corruption) needs the mean."""
    if not objective.pretrains:
        return 0.0
    with torch.device("meta"):
        network = objective.build()
    generator = torch.Generator().manual_seed(0)
    size = min(len(data.blocks), suite.pretrain.batch_size)
    costs = []
    for step in range(max(1, min(ESTIMATE_STEPS, len(data.blocks) // size))):
        blocks = data.blocks.select(block_indices(step, len(data.blocks), size, 0)).to_dict()
        costs.append(objective.flops(network, objective.prepare(blocks, generator)))
    per_batch = costs[0] if len(set(costs)) == 1 else sum(costs) / len(costs)
    return per_batch * suite.pretrain.batch_size / size


def make_plan(suite: Suite, data: PretrainingData) -> Plan:
    """Pair models with objectives and objectives with tasks (rejecting kinds that do not fit) and list every run.

    Cache keys and run ids hash the precision this machine resolves (``auto`` -> bf16 or fp32),
    so a machine that computes in fp32 never reuses another's bf16 checkpoint.
    """
    checkpoints = cache_dir(suite.results_dir, "checkpoints")
    precision = resolve_precision(suite.precision, resolve_device(suite.device))
    jobs, skipped, unused_rungs = [], [], []
    # what decides the weights: not the seeds (keyed apart), how often resume states are saved, or
    # whether a large budget was confirmed, nor over how many devices it is spread (the same global
    # batch, schedule and data: tests/test_distributed.py); compiling changes the kernels, so it is keyed when on
    # (and left out when off, so that the keys of suites from before the option stay as they were)
    # A ladder's rungs change no weight of the final checkpoint, but its schedule (WSD) does.
    ladder = suite.pretrain.ladder
    pretrain_recipe = suite.pretrain.model_dump(exclude={"seeds", "resume_every_steps", "allow_large_budget",
                                                         "ladder", "ladder_tasks", "parallel"}
                                                | (set() if suite.pretrain.compile else {"compile"})
                                                | (set() if ladder else {"decay_fraction"}))
    if ladder:
        pretrain_recipe["schedule"] = "wsd"
    finetune_recipe = suite.finetune.model_dump(exclude={"seeds"})
    for size, model_name in ((s, m) for s in suite.sizes for m in suite.models):
        model = registry.models.get(model_name)
        setup = Setup(model.tokenizer(data.tokenizer), model, size)
        for objective_name in suite.objectives:
            params = suite.objective_settings(objective_name)
            objective = suite.build_objective(objective_name, setup)
            if objective.kind not in model.kinds:
                for task in suite.tasks:
                    skipped.append((f"{model_name}/{objective_name}/{task}",
                                    f"objective needs a {objective.kind} and model {model_name} cannot be one"))
                continue
            per_step = estimate_flops_per_step(suite, objective, data)
            if objective.pretrains and suite.pretrain.budget_unit == "flops" and suite.pretrain.budget < per_step:
                raise ObjbenchError(f"pretrain.budget: {suite.pretrain.budget:g} FLOPs is less than one step of "
                                    f"{objective_name} ({per_step:.3g} FLOPs)")
            steps = budget_steps(suite, per_step) if objective.pretrains else 0
            tokens_per_step = suite.pretrain.tokens_per_step
            for seed in suite.pretrain.seeds:
                base = suite.variants.get(objective_name, {}).get("objective", objective_name)
                key = stable_hash("checkpoint", model_name, size, base, params, data.tokenizer_id,
                                  pretrain_recipe, steps, seed, precision)
                job = PretrainJob(
                    model=model_name, size=size, objective=objective_name, seed=seed, kind=objective.kind, key=key, steps=steps,
                    tokens=None if steps is None else steps * tokens_per_step,
                    flops=None if steps is None else steps * per_step, flops_per_step=per_step,
                    checkpoint=checkpoints / key if objective.pretrains else None, cached=not objective.pretrains,
                )
                if objective.pretrains and ladder:
                    job.rungs = make_rungs(suite, job, checkpoints)
                if objective.pretrains:  # whether it is whole is found when it is loaded (and by `doctor`)
                    job.cached = job.checkpoint.exists() and all(r.checkpoint.exists() for r in job.rungs)
                add_runs(suite, job, finetune_recipe, precision, skipped)
                if job.rungs and job.runs and not any(run.rung for run in job.runs):  # no task finetunes a rung
                    job.rungs, job.cached = [], job.checkpoint.exists()
                    unused_rungs.append(f"{model_name}/{objective_name}")
                if job.runs:
                    jobs.append(job)
    if unused_rungs:
        warn(f"pretrain.ladder_tasks: {', '.join(suite.pretrain.ladder_tasks or [])} is no task that "
             f"{', '.join(sorted(set(unused_rungs)))} runs here, so their rungs below 1.0 are not pretrained "
             "(only the final checkpoint)")
    for name, spec in suite.pretrained.items():  # finetuned only, one pretraining run each, a model of its own
        job = PretrainJob(model=name, size=None, objective=spec.objective, seed=suite.pretrain.seeds[0],
                          kind=ModelKind(spec.kind), key=stable_hash("published", name, spec.path), steps=None,
                          tokens=spec.tokens, flops=spec.flops, flops_per_step=0.0,
                          checkpoint=Path(spec.path), cached=True,  # a Hub id is found in the cache when it runs
                          published={"path": spec.path, "source": spec.source})
        add_runs(suite, job, finetune_recipe, precision, skipped)
        if job.runs:
            jobs.append(job)
    if not jobs:
        reasons = sorted({reason for _, reason in skipped})
        raise ObjbenchError(f"suite {suite.name} plans no runs: every (model, objective, task) is skipped "
                            f"({'; '.join(reasons)})")
    return Plan(suite, jobs, skipped, plan_baselines(suite, data, precision, skipped))


def add_runs(suite: Suite, job: PretrainJob, finetune_recipe: dict, precision: str,
             skipped: list[tuple[str, str]]) -> None:
    """The job's runs: each task its format serves and the suite does not exclude, at each rung and finetuning seed."""
    for task_name in suite.tasks:
        where = f"{job.model}/{job.objective}/{task_name}"
        if suite.excluded(job.model, job.objective, task_name):
            skipped.append((where, "excluded by the suite"))
            continue
        task_format = suite.task_entry(task_name).format
        fmt = registry.formats.get(task_format)
        reason = fmt().unsupported(job.kind)
        if reason:
            skipped.append((where, f"{job.kind}: {reason}"))
            continue
        task_params = suite.task_settings(task_name)
        # zero-shot scoring has no randomness: more finetuning seeds would repeat one number
        ft_seeds = suite.finetune.seeds if fmt.finetunes else suite.finetune.seeds[:1]
        on_rungs = suite.pretrain.ladder_tasks is None or task_name in suite.pretrain.ladder_tasks
        for rung in [*(job.rungs if on_rungs else []), None]:
            for ft_seed in ft_seeds:
                run_id = stable_hash("run", RUN_KEY_VERSION, rung.key if rung else job.key, task_name, task_params,
                                     finetune_recipe, ft_seed, precision)
                job.runs.append(Run(job, task_name, task_format, ft_seed, run_id,
                                    has_record(suite.results_dir, suite.name, run_id), rung))


def plan_baselines(suite: Suite, data: PretrainingData, precision: str,
                   skipped: list[tuple[str, str]]) -> list[BaselineRun]:
    """Every (baseline, task) whose format the baseline serves: once per suite, whatever its models, and
    once per pretraining seed only for a baseline that declares its fit ``seeded`` (a deterministic one
    fitted again would repeat one number and pose as a seed spread). A deterministic baseline is fitted
    with the suite's first pretraining seed."""
    runs = []
    for name in suite.baselines:
        entry, params = registry.baselines.get(name), suite.baseline_settings(name)
        for task in suite.tasks:
            task_format = suite.task_entry(task).format
            if task_format not in entry.formats:
                skipped.append((f"{BASELINE_GROUP}/{name}/{task}", f"baseline {name} serves "
                                f"{', '.join(entry.formats)}, not {task_format}"))
                continue
            for seed in suite.pretrain.seeds if entry.seeded else suite.pretrain.seeds[:1]:
                run_id = stable_hash("baseline", RUN_KEY_VERSION, name, params, task, suite.task_settings(task),
                                     data.corpus_id, data.tokenizer_id, seed, precision)
                runs.append(BaselineRun(BASELINE_GROUP, name, task, task_format, seed, run_id,
                                        has_record(suite.results_dir, suite.name, run_id), suite.finetune.seeds[0]))
    return runs


def make_rungs(suite: Suite, job: PretrainJob, checkpoints: Path) -> list[Rung]:
    """The rungs of a laddered job below the whole budget, each a WSD run of its share of the steps."""
    rungs = []
    for fraction in suite.pretrain.ladder[:-1]:
        steps = round(fraction * job.steps)
        branch_at, decay = wsd_steps(steps, suite.pretrain.decay_fraction)
        if branch_at < 1:
            raise ObjbenchError(f"pretrain.ladder: the rung at {fraction:g} of {job.objective}'s {job.steps} steps "
                                f"is {steps} steps, too few to branch and decay; raise the budget or the fraction")
        key = stable_hash(job.key, "rung", fraction)
        rungs.append(Rung(fraction, steps, branch_at, decay, steps * job.flops_per_step, key, checkpoints / key))
    return rungs
