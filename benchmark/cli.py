"""``objbench``: list, plan, fetch, run, replicate, compare, check, doctor, report, inspect.

Every user error (bad suite file, unknown name, wrong override type) is one line on stderr
and exit status 2, raised before any training starts.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from benchmark.errors import ObjbenchError, ObjbenchWarning


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is an ObjbenchError: one line, exit status 2, like every other."""

    def error(self, message: str):
        raise ObjbenchError(f"{message} (objbench {self.prog.split()[-1] if ' ' in self.prog else ''} --help "
                            f"shows the usage)".replace("objbench  --help", "objbench --help"))


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="objbench", description="Compare language-model training objectives on equal terms.")
    sub = parser.add_subparsers(dest="command", required=True)
    lst = sub.add_parser("list", help="list registered models, objectives or tasks")
    lst.add_argument("kind", choices=["models", "objectives", "tasks", "baselines"])
    for name, help_text in (("plan", "validate a suite and list its runs, cache state and cost"),
                            ("run", "run a suite (skipping what is already recorded), then write its report"),
                            ("fetch", "download the Hub datasets a suite reads into the local cache, to run offline")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("suite", type=Path, help="suite YAML file, e.g. suites/quickstart.yaml")
        p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotted overrides, e.g. pretrain.lr=3e-4")
        if name == "run":
            p.add_argument("--no-report", action="store_true", help="do not write the report afterwards")
            p.add_argument("--quiet", action="store_true", help="no progress bars")
            p.add_argument("--until-decided", action="store_true",
                           help="then add pretraining seeds, a round at a time, only to entries whose verdict against "
                                "no pretraining is still open, until each is decided or has --max-seeds (verdicts "
                                "at a level valid under this optional stopping: see benchmark/sequential.py)")
            p.add_argument("--max-seeds", type=int, metavar="K", help="with --until-decided: at most K pretraining "
                           "seeds per entry (required with it)")
            _executor_flags(p)
    ins = sub.add_parser("inspect", help="write attention heat maps (PNG and HTML) of a checkpoint for one text")
    ins.add_argument("target", help="a checkpoint folder, or the id (or a prefix of it) of a recorded run")
    ins.add_argument("--text", required=True, help="the sentence to look at")
    ins.add_argument("--layer", type=int, help="one layer (default: every layer)")
    ins.add_argument("--head", type=int, help="one head (default: every head)")
    ins.add_argument("--out", type=Path, default=Path("attention"), help="folder for the heat maps (default ./attention)")
    ins.add_argument("--results", type=Path, default=Path("results"),
                     help="the results store a run id is looked up in (default ./results)")
    rpl = sub.add_parser("replicate", help="run a suite again on disjoint seeds (or another precision) and say "
                                           "which cells and verdicts held; exit 1 on a reversed verdict")
    rpl.add_argument("suite", type=Path, help="suite YAML file, e.g. suites/quickstart.yaml")
    rpl.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    rpl.add_argument("--precision", choices=["fp32", "bf16"],
                     help="replicate at this precision on the same seeds, instead of on disjoint seeds")
    rpl.add_argument("--quiet", action="store_true", help="no progress bars")
    cmp = sub.add_parser("compare", help="compare two result sets of one suite, cell by cell; exit 1 when something "
                                         "regressed (quality or pretraining speed), 2 on unusable input")
    cmp.add_argument("baseline", type=Path, help="records.jsonl written by a report, or a suite YAML (its results)")
    cmp.add_argument("current", type=Path, help="records.jsonl written by a report, or a suite YAML (its results)")
    chk = sub.add_parser("check", help="run a suite (reusing what is recorded), then compare it with a baseline: "
                                       "one command for CI")
    chk.add_argument("suite", type=Path, help="suite YAML file, e.g. suites/ci.yaml")
    chk.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    chk.add_argument("--baseline", type=Path, required=True, help="the baseline's records.jsonl, e.g. "
                                                                   "reports/ci/records.jsonl")
    chk.add_argument("--quiet", action="store_true", help="no progress bars")
    for p in (cmp, chk):
        p.add_argument("--markdown", type=Path, metavar="FILE",
                       help="also write the result as Markdown (a PR comment, or $GITHUB_STEP_SUMMARY)")
        p.add_argument("--json", type=Path, metavar="FILE", help="also write the result as JSON")
        p.add_argument("--allow-incomparable", action="store_true",
                       help="compare runs with different corpus, tokenizer, recipe or schema (flagged)")
    doc = sub.add_parser("doctor", help="check a suite's results store without running anything; --repair heals it")
    doc.add_argument("suite", type=Path, help="suite YAML file (its name and results_dir are used)")
    doc.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    doc.add_argument("--repair", action="store_true",
                     help="quarantine damaged records and artefacts (the next run redoes them), delete leftovers")
    rep = sub.add_parser("report", help="write the leaderboard for a suite's recorded results")
    rep.add_argument("suite", type=Path, help="suite YAML file (its name, results_dir and reports_dir are used)")
    rep.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    rep.add_argument("--reference", metavar="OBJECTIVE", help="objective the others are compared with (default: mlm)")
    rep.add_argument("--allow-incomparable", action="store_true",
                     help="report runs with different corpus, tokenizer, recipe or schema together (flagged)")
    rep.add_argument("--all-runs", action="store_true",
                     help="every recorded run of the suite's name, not only those of the suite as it is now")
    rep.add_argument("--records", type=Path, metavar="FILE",
                     help="remake a report from a records.jsonl that an earlier report wrote")
    rep.add_argument("--replica", type=Path, metavar="FILE",
                     help="with --records: the replica-records.jsonl of its replication, to remake that section")
    return parser


# Flags that set the suite's executor block (executor.KEY=VALUE overrides do the same).
_EXECUTOR_FLAGS = {"executor": "kind", "workers": "workers", "partition": "partition",
                   "time_limit": "time_limit_min", "gpus_per_job": "gpus_per_job", "cpus_per_job": "cpus_per_job",
                   "array_parallelism": "array_parallelism", "ray_address": "address"}


def _executor_flags(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("where runs go (default: the suite's executor block, else this process)")
    group.add_argument("--executor", choices=["local", "ray", "slurm"],
                       help="local: processes on this machine; ray: a Ray cluster (RAY_ADDRESS or a local one); "
                            "slurm: job arrays through submitit")
    group.add_argument("--workers", type=int, metavar="N",
                       help="local: N processes, one GPU each where there are GPUs, else an equal share of the cores")
    group.add_argument("--cpus-per-job", type=int, metavar="N", help="ray, slurm: CPUs per unit of work")
    group.add_argument("--gpus-per-job", type=int, metavar="N", help="ray, slurm: GPUs per unit of work")
    group.add_argument("--ray-address", metavar="ADDRESS", help="ray: the cluster to join")
    group.add_argument("--partition", help="slurm: the partition")
    group.add_argument("--time-limit", type=int, metavar="MINUTES", help="slurm: time limit per unit of work")
    group.add_argument("--array-parallelism", type=int, metavar="N", help="slurm: array tasks at once")
    group.add_argument("--sbatch", action="append", default=[], metavar="KEY=VALUE",
                       help="slurm: an extra #SBATCH flag, e.g. --sbatch account=nlp (repeatable)")


def _executor_overrides(args: argparse.Namespace) -> list[str]:
    """The executor flags given, as suite overrides: the suite file's block is the default."""
    overrides = [f"executor.{key}={getattr(args, flag)}" for flag, key in _EXECUTOR_FLAGS.items()
                 if getattr(args, flag, None) is not None]
    for text in getattr(args, "sbatch", []):
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise ObjbenchError(f"--sbatch {text!r}: expected KEY=VALUE, e.g. --sbatch account=nlp")
        overrides.append(f"executor.sbatch.{key.strip()}={json.dumps(value)}")  # quoted: 1:00:00 stays text
    return overrides


def main(argv: list[str] | None = None) -> int:
    warnings.showwarning = _show_warning
    try:
        return _dispatch(_parse(argv))
    except ObjbenchError as err:
        print(f"objbench: error: {' '.join(str(err).split())}", file=sys.stderr)  # one line, whatever it quotes
        return 2
    except KeyboardInterrupt:
        print("objbench: interrupted; finished runs are recorded and will be reused", file=sys.stderr)
        return 130


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    # Overrides may come after flags (`run SUITE --quiet pretrain.lr=1e-3`): argparse leaves them in `extra`.
    stray = [a for a in extra if a.startswith("-") or "=" not in a or not hasattr(args, "overrides")]
    if stray and hasattr(args, "overrides") and not stray[0].startswith("-"):
        raise ObjbenchError(f"override {stray[0]!r}: expected KEY=VALUE, e.g. pretrain.lr=3e-4")
    if stray:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")
    if extra:
        args.overrides = [*args.overrides, *extra]
    return args


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """objbench's own warnings as one line each; everyone else's as Python prints them."""
    if issubclass(category, ObjbenchWarning):
        print(f"objbench: warning: {' '.join(str(message).split())}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _dispatch(args) -> int:
    from benchmark import registry

    if args.command == "list":
        reg = getattr(registry, args.kind)
        descriptions = reg.describe()
        width = max(map(len, descriptions), default=0)
        for name, line in descriptions.items():
            print(f"{name:<{width}}  {line}")
        return 0

    if args.command == "inspect":
        import transformers

        from benchmark.attention import inspect

        transformers.utils.logging.disable_progress_bar()

        for path in inspect(_checkpoint_of(args.target, args.results), args.text, args.layer, args.head, args.out):
            print(path)
        return 0

    from benchmark.config import load_suite

    if args.command == "compare":
        return _gate(_side(args.baseline), _side(args.current), args)
    suite = load_suite(args.suite, [*_executor_overrides(args), *args.overrides])
    if args.command in ("plan", "run", "replicate"):
        from benchmark.measure import resolve_device, resolve_precision

        resolve_precision(suite.precision, resolve_device(suite.device))  # before anything is built or written
    if args.command == "plan":
        return _plan(suite)
    if args.command == "fetch":
        return _fetch(suite)
    if args.command == "doctor":
        return _doctor(suite, args.suite, args.repair)
    if args.command == "run" and args.until_decided:
        return _until_decided(suite, args)
    if args.command == "run":
        from benchmark.harness import run_suite

        if args.max_seeds is not None:
            raise ObjbenchError("--max-seeds goes with --until-decided")
        _tasks_readable(suite, args.suite)
        summary = run_suite(suite, progress=not args.quiet, executor=_executor(suite))
        print(f"{suite.name}: {summary.ran} runs done, {summary.reused} reused from earlier, "
              f"{len(summary.plan.skipped)} skipped, {summary.seconds:.1f} s")
        for triple, reason in dict.fromkeys(summary.plan.skipped):  # once, not once per seed
            print(f"  skipped {triple}: {reason}")
        status = 0
        if summary.failed:
            from benchmark.results import iter_failures

            failures = list(iter_failures(suite.results_dir, suite.name, summary.plan.run_ids))
            named = ", ".join(f"{f['objective']}/{f['task']} (seeds {f['pretrain_seed']}/{f['finetune_seed']})"
                              for f in failures)
            print(f"FAILED {len(failures)} run(s): {named}; errors and tracebacks under "
                  f"{Path(suite.results_dir) / suite.name / 'failed'}; `objbench run` again does only those")
            for f in failures:
                print(f"  {f['objective']}/{f['task']} seeds {f['pretrain_seed']}/{f['finetune_seed']}, in "
                      f"{f['phase']}: {f['error']}")
            status = 1
        if not args.no_report and summary.ran + summary.reused:
            _report(suite, run_ids=summary.plan.run_ids)
        return status
    if args.command == "check":
        from benchmark.harness import run_suite

        baseline = _records_file(args.baseline)  # an unusable baseline stops before anything runs
        _tasks_readable(suite, args.suite)
        summary = run_suite(suite, progress=not args.quiet, executor=_executor(suite))
        ids = summary.plan.run_ids
        current = [r for r in _stored(suite) if r["run_id"] in ids]
        print(f"{suite.name}: {summary.ran} runs done, {summary.reused} reused from earlier, {summary.seconds:.1f} s")
        _warn_if_other_code(current)
        return _gate(baseline, current, args, suite.check.tolerance, suite.check.mfu_drop)
    if args.command == "replicate":
        _tasks_readable(suite, args.suite)
        return _replicate(suite, args.precision, args.quiet)
    if args.command == "report":
        if args.records:
            from benchmark.report import render_report
            from benchmark.results import read_records_file

            for given in (args.records, args.replica):
                if given is not None and not given.is_file():
                    raise ObjbenchError(f"{given}: no such records file")
            replica = read_records_file(args.replica) if args.replica else None
            out = render_report(read_records_file(args.records), suite.name, suite.reports_dir, args.reference,
                                args.allow_incomparable, replica)
            print(f"report: {out / 'README.md'} and {out / 'index.html'}")
            return 0
        if args.replica:
            raise ObjbenchError("--replica goes with --records (a report from the store finds its replica itself)")
        run_ids = None if args.all_runs else _current_run_ids(suite)
        return _report(suite, args.reference, args.allow_incomparable, run_ids)
    raise AssertionError(args.command)


def _until_decided(suite, args) -> int:
    """Run the suite, then rounds of seeds for open verdicts; the report at the rounds' confidence level."""
    from benchmark.report.leaderboard import board_of
    from benchmark.results import iter_records
    from benchmark.sequential import run_until_decided

    if args.max_seeds is None:
        raise ObjbenchError("--until-decided needs --max-seeds K: the most pretraining seeds an entry may get, "
                            "which fixes how many looks the verdicts are spread over")
    _tasks_readable(suite, args.suite)

    def board(run_ids: set[str], confidence: float):
        records = [r for r in iter_records(suite.results_dir, suite.name) if r["run_id"] in run_ids]
        return board_of(records, confidence=confidence)

    outcome = run_until_decided(suite, args.max_seeds, progress=not args.quiet, executor=_executor(suite),
                                board_of=board)
    rounds = outcome.state.rounds
    print(f"{suite.name}: {outcome.ran} runs done, {outcome.reused} reused from earlier, {outcome.seconds:.1f} s; "
          f"{len(rounds)} round(s) of added seeds (each look at {outcome.state.confidence:.2%} confidence, "
          f"{outcome.state.looks} looks planned)")
    for r in rounds:
        print(f"  seed {r.seed}: {', '.join(r.objectives)} on {', '.join(r.tasks)}")
    if outcome.failed:
        print(f"FAILED {outcome.failed} run(s); `objbench run --until-decided` again does only those")
    if not args.no_report and outcome.ran + outcome.reused:
        _report(suite, run_ids=outcome.run_ids)
    return 1 if outcome.failed else 0


def _warn_if_other_code(records: list[dict]) -> None:
    """Runs and checkpoints are keyed by config, not code: say so when reused ones came from other code."""
    from benchmark.errors import ObjbenchWarning
    from benchmark.measure import git_commit

    here = git_commit()
    others = sorted({(r.get("environment") or {}).get("git_commit") or "unknown" for r in records} - {here})
    if here and others:
        warnings.warn(ObjbenchWarning(
            f"the current side holds runs recorded at commit {', '.join(others)}, not this checkout's {here}: "
            "the gate compares those; check on a fresh results store to test this code"))


def _records_file(path: Path) -> list[dict]:
    from benchmark.results import read_records_file

    if not path.is_file():
        raise ObjbenchError(f"{path}: no such records file")
    records = read_records_file(path)
    if not records:
        raise ObjbenchError(f"{path}: holds no records")
    return records


def _stored(suite) -> list[dict]:
    from benchmark.results import iter_records

    return list(iter_records(suite.results_dir, suite.name))


def _side(path: Path) -> list[dict]:
    """One side of a comparison: a records.jsonl, or a suite file whose current runs are read from its store."""
    if path.suffix in (".yaml", ".yml"):
        from benchmark.config import load_suite

        suite = load_suite(path)
        ids = _current_run_ids(suite)
        records = [r for r in _stored(suite) if r["run_id"] in ids]
        if not records:
            raise ObjbenchError(f"{path}: suite {suite.name!r} has no recorded runs under {suite.results_dir}")
        return records
    return _records_file(path)


def _gate(baseline: list[dict], current: list[dict], args, tolerances: dict[str, float] | None = None,
          mfu_drop: float | None = None) -> int:
    """Print the comparison, write it where asked; 1 when something regressed. Tolerances: the suite's
    (``check``), else those recorded with the current runs."""
    from benchmark import files
    from benchmark.report.gate import check_records
    from benchmark.report.leaderboard import plain

    gate = check_records(baseline, current, tolerances, mfu_drop, allow_incomparable=args.allow_incomparable)
    print("\n".join(gate.lines()))
    if args.markdown:
        files.write_text(args.markdown, gate.markdown())
    if args.json:
        files.write_json(args.json, plain(gate.to_dict()))
    return 1 if gate.regressed else 0


def _replicate(suite, precision: str | None, quiet: bool) -> int:
    """0 when no verdict reversed between the suite and its replica, 1 when one did."""
    from benchmark.replicate import replicate

    comparison, folder = replicate(suite, precision, progress=not quiet,
                                   executor=_executor(suite))
    for line in comparison.summary():
        print(line)
    print(f"report with its replication: {folder / 'README.md'}")
    return 1 if comparison.count("reversal") else 0


def _doctor(suite, suite_file: Path, repair: bool) -> int:
    """0 when the store is healthy (or every problem was repaired), 1 when problems remain."""
    from benchmark import doctor

    exam = doctor.examine(suite.results_dir, suite.name)
    if not exam.findings:
        print(exam.healthy_line(suite.results_dir, suite.name))
        return 0
    for finding in exam.findings:
        print(finding.line())
    if not repair:
        print(f"{len(exam.findings)} problem(s); `objbench doctor {suite_file} --repair` heals what it can")
        return 1
    lines = doctor.repair(exam.findings, suite.results_dir, suite.name)
    print("\n".join(lines))
    return 0 if all(f.action for f in exam.findings) else 1


def _checkpoint_of(target: str, results: Path) -> Path:
    """A checkpoint folder as given, or the checkpoint a recorded run (by id or unique id prefix) finetuned."""
    if Path(target).is_dir():
        return Path(target)
    from benchmark.cache import cache_dir
    from benchmark.results import iter_records

    found = {r["run_id"]: r for r in iter_records(results) if r["run_id"].startswith(target)} if target else {}
    if len(found) != 1:
        what = "no checkpoint folder and no recorded run" if not found else f"{len(found)} recorded runs"
        raise ObjbenchError(f"{target!r}: {what} under {results} match it; give a checkpoint folder or a run id")
    record = next(iter(found.values()))
    if not record.get("checkpoint"):
        raise ObjbenchError(f"run {record['run_id']} ({record['objective']}) started from no checkpoint: "
                            "an untrained control or a baseline has nothing pretrained to inspect")
    return cache_dir(results, "checkpoints") / record["checkpoint"]


def _tasks_readable(suite, path: Path) -> None:
    """Read every task's data now (kept for the run); one line names every Hub dataset missing offline."""
    from benchmark.harness import task_splits
    from benchmark.tasks.availability import check_tasks_available

    check_tasks_available(suite, load=lambda name: task_splits(suite, name), suite_file=str(path))


def _executor(suite):
    """The engine that the suite's executor block names, its optional package checked first."""
    from benchmark.executors import make_executor

    settings = suite.executor.model_dump(exclude={"kind"})
    kind = suite.executor.kind
    package = {"ray": "ray", "slurm": "submitit"}.get(kind)
    if package is not None:
        import importlib.util

        if importlib.util.find_spec(package) is None:
            raise ObjbenchError(f"the {kind} executor needs {package}: pip install 'objbench[{kind}]'")
    return make_executor(kind, results_folder=Path(suite.results_dir) / suite.name, **settings)


def _fetch(suite) -> int:
    """Read the suite's corpus and every task once: Hub datasets land in the local datasets cache
    (``HF_HOME``), local files are checked, and later runs need no network."""
    from benchmark.data import corpus

    docs = corpus.documents(suite)
    print(f"corpus ({suite.corpus.source}): {len(docs)} documents")
    for name in suite.tasks:
        splits = suite.build_task(name).load(suite.corpus)
        print(f"task {name}: " + ", ".join(f"{len(split)} {split_name}" for split_name, split in splits.items()))
    print(f"suite {suite.name}: everything it reads is cached; it can now run offline (HF_HUB_OFFLINE=1)")
    return 0


def _plan(suite) -> int:
    from benchmark.data import corpus
    from benchmark.plan import make_plan

    data = corpus.prepare(suite)
    plan = make_plan(suite, data)
    print(f"suite {suite.name}: {len(plan.runs)} runs in {len(plan.jobs)} pretraining jobs "
          f"({sum(r.done for r in plan.runs)} already recorded), {len(plan.baseline_runs)} baseline runs; "
          f"corpus {len(data.blocks)} blocks of {suite.pretrain.seq_len}")
    print(f"{'model/objective':<28} {'seed':>4} {'steps':>7} {'tokens':>10} {'FLOPs':>10} {'checkpoint':>10}  runs")
    for job in plan.jobs:
        steps = "-" if job.steps is None else job.steps
        tokens = "-" if job.tokens is None else f"{job.tokens:.3g}"
        flops = "-" if job.flops is None else f"{job.flops:.3g}"
        state = "n/a" if job.checkpoint is None else ("cached" if job.cached else "to train")
        if job.damaged:
            state = "damaged: will retrain"
        done = sum(r.done for r in job.runs)
        print(f"{job.model + '/' + job.objective:<28} {job.seed:>4} {steps:>7} {tokens:>10} {flops:>10} {state:>10}  "
              f"{len(job.runs)} ({done} recorded)")
        for rung in job.rungs:  # a ladder's checkpoints below the budget, each a branch off the main run
            runs = [r for r in job.runs if r.rung is rung]
            print(f"  rung {rung.fraction:<5g} {'':>15} {rung.steps:>7} {rung.steps * suite.pretrain.tokens_per_step:>10.3g} "
                  f"{rung.flops:>10.3g} {'cached' if rung.checkpoint.exists() else 'to train':>10}  "
                  f"{len(runs)} ({sum(r.done for r in runs)} recorded); branches at step {rung.branch_at}, "
                  f"decays {rung.decay_steps}")
        if job.rungs:
            extra = sum(r.decay_steps for r in job.rungs) * job.flops_per_step
            print(f"  ladder: the branches add {extra:.3g} FLOPs to this run ({extra / job.flops:.0%} of its budget)")
    print(f"{'task':<28} {'entry':<24} {'format':<15} runs")
    for name in suite.tasks:  # a task variant under its own name, beside the entry it instantiates
        runs = [r for r in plan.runs if r.task == name]
        entry = suite.task_variants[name]["task"] if name in suite.task_variants else name
        print(f"{name:<28} {entry:<24} {suite.task_entry(name).format:<15} {len(runs)} "
              f"({sum(r.done for r in runs)} recorded)")
    for triple, reason in plan.skipped:
        print(f"skipped {triple}: {reason}")
    return 0


def _current_run_ids(suite) -> set[str]:
    """The run ids of the suite as it is now (its plan, and the rounds of added seeds ``--until-decided`` ran for
    it), so older records of the same name stay out."""
    from benchmark.data import corpus
    from benchmark.plan import make_plan
    from benchmark.sequential import load_state, round_suite

    data = corpus.prepare(suite)
    state = load_state(suite)
    ids = make_plan(suite, data).run_ids
    for rnd in state.rounds if state else []:
        ids |= make_plan(round_suite(suite, rnd), data).run_ids
    return ids


def _replica_in_store(suite) -> list[dict] | None:
    """The recorded runs of the suite's replication (on disjoint seeds, else at another precision),
    when every one of them is there."""
    from benchmark.replicate import recorded, replica_suite

    for precision in (None, "fp32", "bf16"):
        try:
            replica = replica_suite(suite, precision)
        except ObjbenchError:  # that precision is the suite's own here, or this hardware has no bf16
            continue
        if not any((Path(replica.results_dir) / replica.name / "runs").glob("*.json")):
            continue  # never replicated this way: nothing to plan
        ids = _current_run_ids(replica)
        runs = recorded(replica, ids)
        if runs and len(runs) == len(ids):
            return runs
    return None


def _report(suite, reference: str | None = None, allow_incomparable: bool = False,
            run_ids: set[str] | None = None) -> int:
    from benchmark.report import write_report
    from benchmark.report.stats import CONFIDENCE
    from benchmark.sequential import load_state

    state = load_state(suite)  # a suite whose seeds were added until decided is judged at its looks' level
    out = write_report(suite.results_dir, suite.name, suite.reports_dir, reference, allow_incomparable, run_ids,
                       _replica_in_store(suite), confidence=state.confidence if state else CONFIDENCE)
    print(f"report: {out / 'README.md'} and {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
