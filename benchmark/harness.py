"""The harness, top to bottom: check -> plan -> executor -> jobs -> records.

Every (model, objective, pretraining seed) is pretrained once on the same packed stream with the
same budget rule (``benchmark.pretraining``), saved under a hash of everything that determines it,
and reused by every task and finetuning seed, in this and later runs. Every finished run is one
record in the result store (``benchmark.records``); a run already recorded is not repeated.

The unit of work is :func:`run_job`: one pretraining job and its runs, from plain, picklable
inputs (the suite and the job; the suite says where results live). It writes its own records,
so an executor may run it anywhere that sees the results directory, and a driver that dies
loses nothing. Each run is recorded under a file lock, so two processes on one suite record
each run once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import torch
from tqdm.auto import tqdm

from benchmark import distributed, registry
from benchmark.cache import lock
from benchmark.config import Suite
from benchmark.data import corpus
from benchmark.errors import ObjbenchError
from benchmark.executors import Executor, SerialExecutor, executor_for
from benchmark.inputs import prepared_data, quiet_libraries
from benchmark.launchers import Launcher, launcher_for
from benchmark.measure import environment, resolve_device, resolve_precision
from benchmark.models.published import PublishedEntry, check_checkpoints_available, checkpoint_folder
from benchmark.objectives.base import Setup
from benchmark.plan import Plan, PretrainJob, Run, make_plan
from benchmark.pretraining import load_cached_stats, pretrain, settled
from benchmark.records import baseline_costs, failure_record, run_record
from benchmark.results import clear_failure, has_record, write_failure, write_record
from benchmark.tasks.availability import check_tasks_available, task_splits
from benchmark.tracking import check_trackers, log_finetuning, trackers_for


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


@dataclass(frozen=True)
class Context:
    """What every run of a job shares in one process: the suite's data, the device, its precision and the
    environment a record keeps."""

    data: corpus.PretrainingData
    device: torch.device
    precision: str
    env: dict

    @classmethod
    def of(cls, suite: Suite) -> Context:
        device = resolve_device(suite.device)
        precision = resolve_precision(suite.precision, device)
        return cls(prepared_data(suite), device, precision, environment(device, precision))


def preflight(suite: Suite, suite_file: str | None = None) -> Executor:
    """Everything that can stop a suite before anything runs, checked once: hardware that cannot serve the
    precision, task data that cannot be read (every missing Hub dataset named at once), a published checkpoint
    that cannot be had, a layout of devices this machine cannot give, an executor's or a tracker's missing
    package. Returns that executor."""
    check_tasks_available(suite, suite_file=suite_file)
    check_checkpoints_available({name: spec.path for name, spec in suite.pretrained.items()})
    device = resolve_device(suite.device)
    resolve_precision(suite.precision, device)
    distributed.check_layout(suite.pretrain.parallel, device, suite.executor.kind)
    check_trackers(suite)
    return executor_for(suite)


def run_suite(suite: Suite, progress: bool = True, executor: Executor | None = None,
              plan: Plan | None = None) -> Summary:
    """Run every planned run of ``suite`` that is not already recorded, job by job on ``executor``.

    Without an executor, the suite is checked first (:func:`preflight`) and runs on the one its block
    names; a caller that passes one has checked it. A caller that has planned passes its plan.
    """
    start = time.perf_counter()
    quiet_libraries()
    executor = executor or preflight(suite)
    plan = plan or make_plan(suite, prepared_data(suite))
    networks = run_jobs(plan, executor, progress)
    baselines = run_baselines(plan, progress)  # seconds each: here, after the networks
    return Summary(plan, networks.ran + baselines.ran, networks.reused + baselines.reused,
                   time.perf_counter() - start, networks.failed + baselines.failed)


def run_jobs(plan: Plan, executor: Executor, progress: bool = False) -> JobOutcome:
    """Every planned pretraining job with a run left to do, handed to ``executor``; what they did, in all."""
    suite = plan.suite
    todo = [job for job in plan.jobs if not all(r.done for r in job.runs)]
    reused = sum(r.done for job in plan.jobs if job not in todo for r in job.runs)
    overall = tqdm(total=sum(not r.done for r in plan.runs), desc=f"{suite.name} runs", unit="run",
                   disable=not progress)

    def on_run(job: PretrainJob, run: Run) -> None:
        overall.set_postfix_str(f"{job.objective} / {run.task} / seed {run.seed}")
        overall.update()

    def on_lost(job: PretrainJob, reason: str) -> JobOutcome:
        return lost_job(suite, job, reason)

    if executor.in_waves or suite.pretrain.parallel.world_size > 1:
        outcomes = in_waves(executor, suite, todo, on_lost, progress)
    else:
        outcomes = executor.map(run_job, suite, todo, progress=progress, on_run=on_run, on_lost=on_lost)
    ran = failed = 0
    for outcome in outcomes:
        ran, reused, failed = ran + outcome.ran, reused + outcome.reused, failed + outcome.failed
        overall.update(max(0, ran + failed - overall.n))  # engines that report whole jobs, not runs
    overall.close()
    return JobOutcome(ran, reused, failed)


def run_baselines(plan: Plan, progress: bool = False) -> JobOutcome:
    """Fit and score every planned baseline run not yet recorded, each recorded like a run."""
    suite = plan.suite
    todo = [b for b in plan.baseline_runs if not b.done]
    if not todo:
        return JobOutcome(0, len(plan.baseline_runs))
    # Classical models compute on the CPU (scikit-learn, nltk, hmmlearn); the environment recorded is the
    # suite's, so that a baseline's record shares the precision field every run of a table must agree on.
    here = Context.of(suite)
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
                    splits, documents if entry.uses_corpus else None, here.data.tokenizer, b.seed)
            except ObjbenchError:
                raise
            except Exception as error:
                write_failure(suite.results_dir, suite.name, failure_record(b, "baseline", error))
                failed += 1
                continue
            fitted, finetune, evaluate = baseline_costs(b.baseline, cost)
            record = run_record(suite, here.data, b, metrics=metrics, pretrain=fitted, finetune=finetune,
                                evaluate={**evaluate, "data_checks": checks}, env=here.env, checkpoint=None,
                                finetune_mode=None, baseline=True,
                                objective_params=suite.baseline_settings(b.baseline).model_dump(mode="json"))
            write_record(suite.results_dir, record)
            clear_failure(suite.results_dir, suite.name, b.run_id)
            ran += 1
    return JobOutcome(ran, len(plan.baseline_runs) - len(todo), failed)


def in_waves(executor: Executor, suite: Suite, jobs: list[PretrainJob], on_lost,
             progress: bool = False) -> Iterator[JobOutcome]:
    """Two batches: every pretraining job, then every run whose checkpoint exists, one unit each. For
    engines that schedule batches, and for jobs over several devices: on this machine each such job
    takes every device in turn (from this process), then the runs spread over the workers. A job
    whose pretraining failed has its runs recorded as failed in the first wave and is left out of
    the second."""
    parallel = suite.pretrain.parallel
    if not executor.in_waves:  # the local executor: its workers would each start a whole job
        yield from SerialExecutor().map(pretrain_job, suite, jobs, progress=progress)
    else:
        ranked = executor.ranked(parallel.nodes, parallel.devices) if parallel.world_size > 1 else executor
        yield from ranked.map(pretrain_job, suite, jobs, on_lost=on_lost)
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
    return _fail_runs(suite, job, "a worker that died", RuntimeError(reason))


def _fail_runs(suite: Suite, job: PretrainJob, phase: str, error: Exception) -> JobOutcome:
    todo = [r for r in job.runs if not has_record(suite.results_dir, suite.name, r.run_id)]
    for run in todo:
        write_failure(suite.results_dir, suite.name, failure_record(run, phase, error))
    return JobOutcome(0, len(job.runs) - len(todo), failed=len(todo))


def pretrain_here(suite: Suite, job: PretrainJob, progress: bool = False) -> dict:
    """Pretrain (or load) ``job``'s checkpoint in this process: what a launcher runs, once per process
    (each a rank of the job's process group when there are several; rank 0's statistics, else {})."""
    quiet_libraries()
    here = Context.of(suite)
    with distributed.joined(suite.pretrain.parallel, here.device.type) as world:
        device = distributed.device_of(world, here.device)
        return pretrain(job, suite, here.data, device, here.precision, progress, trackers_for(suite), world)


def run_job(suite: Suite, job: PretrainJob, progress: bool = False,
            on_run: Callable[[PretrainJob, Run], None] | None = None, pretrain_only: bool = False,
            launcher: Launcher | None = None) -> JobOutcome:
    """Pretrain (or load) ``job``'s checkpoint, then finetune, evaluate and record each of its runs."""
    quiet_libraries()
    if not pretrain_only and all(has_record(suite.results_dir, suite.name, r.run_id) for r in job.runs):
        return JobOutcome(ran=0, reused=len(job.runs))
    launcher = launcher or launcher_for(suite)
    try:  # a job over several processes starts none when its checkpoint is done
        pretrain_stats = (launcher.processes > 1 and settled(job, suite)) or launcher.launch(pretrain_here, suite,
                                                                                            job, progress)
    except ObjbenchError:
        raise  # the user's to fix, the same for every job: one line, not a failure per run
    except Exception as error:  # contained: this job's runs fail, the others go on
        if not distributed.main_process():
            raise  # a rank of a Slurm job: rank 0 records the job's failure
        return _fail_runs(suite, job, "pretraining", error)
    if pretrain_only:
        return JobOutcome(0, 0)
    here = Context.of(suite)
    rung_stats = {r.key: {**load_cached_stats(r.checkpoint, suite.results_dir), "cache_hit": True} for r in job.rungs
                  if any(run.rung is r for run in job.runs)}  # read once per job, not once per run
    ran = reused = failed = 0
    for run in job.runs:
        with lock(suite.results_dir, "run-" + run.run_id):
            if has_record(suite.results_dir, suite.name, run.run_id):  # recorded by another process meanwhile
                reused += 1
                continue
            try:
                finish_run(suite, run, pretrain_stats if run.rung is None else rung_stats[run.rung.key], here)
            except ObjbenchError:
                raise
            except Exception as error:
                write_failure(suite.results_dir, suite.name, failure_record(run, "finetuning or evaluation", error))
                failed += 1
                continue
        ran += 1
        if on_run is not None:
            on_run(job, run)
    return JobOutcome(ran, reused, failed)


def finish_run(suite: Suite, run: Run, pretrain_stats: dict, here: Context) -> None:
    """Finetune and evaluate one run, then write its record (and drop a failure an earlier attempt left)."""
    splits, checks = task_splits(suite, run.task)
    metrics, finetune_stats, eval_stats = finetune_and_evaluate(suite, run, splits, here)
    finetunes = registry.formats.get(run.task_format).finetunes
    record = run_record(suite, here.data, run, metrics=metrics, pretrain=pretrain_stats, finetune=finetune_stats,
                        evaluate={**eval_stats, "data_checks": checks}, env=here.env, checkpoint=run.checkpoint_key,
                        finetune_mode=suite.finetune.mode if finetunes else None,
                        objective_params=suite.objective_settings(run.objective).model_dump(mode="json"))
    write_record(suite.results_dir, record)
    clear_failure(suite.results_dir, suite.name, run.run_id)
    log_finetuning(trackers_for(suite), run, record["config"], finetune_stats, metrics)


def model_entry(job: PretrainJob):
    """The model entry ``job`` finetunes: a registered family's, or the published checkpoint's own."""
    if job.published:
        return PublishedEntry(job.model, checkpoint_folder(job.published["path"]), job.kind)
    return registry.models.get(job.model)


def init_seed(pretrain_seed: int, finetune_seed: int) -> int:
    """The seed of everything random in one finetuning run: the task head, the whole network of an
    untrained control (whose pretraining seed would otherwise change nothing), and the order of the
    training examples. Nested in the pretraining seed: finetuning seed 0 of one pretraining run shares
    nothing with finetuning seed 0 of another, so the spread between pretraining runs holds the
    finetuning noise too, and a rerun on other seeds lands inside the report's intervals."""
    return pretrain_seed * 1_000_003 + finetune_seed


def finetune_and_evaluate(suite: Suite, run: Run, splits, here: Context):
    """Finetune from the run's checkpoint with the suite's one recipe (unless the task is zero-shot),
    then score the test split."""
    fmt = registry.formats.get(run.task_format)()
    entry = model_entry(run.job)
    setup = Setup(entry.tokenizer(here.data.tokenizer), entry, run.job.size)
    seed = init_seed(run.pretrain_seed, run.seed)
    torch.manual_seed(seed)
    checkpoint = entry.folder if run.published else run.checkpoint  # a Hub id's, in the Hugging Face cache
    model = fmt.build(entry, checkpoint, setup, splits["train"], run.job.kind)
    finetune_stats = {"steps": 0, "examples": 0}  # a zero-shot format scores the pretrained model as it is
    if fmt.finetunes:
        finetune_stats = fmt.finetune(model, splits["train"], setup.tokenizer, suite.finetune, run.job.kind, seed,
                                      here.device, here.precision)
    metrics, eval_stats = fmt.evaluate(model, splits["test"], setup.tokenizer, suite.finetune, run.job.kind,
                                       here.device, here.precision)
    finetune_stats["parameters"] = sum(p.numel() for p in model.parameters())
    return metrics, finetune_stats, eval_stats
