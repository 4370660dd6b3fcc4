"""What each ``objbench`` subcommand does, one handler each: arguments in, the module that does the work
called, its result printed, an exit status out (0 fine, 1 a finding such as a regression, 2 a user error).

``benchmark.cli`` parses the command line and calls these; the work itself lives in the modules they
import (``harness``, ``store``, ``replicate``, ``report``, ``doctor``), so every command is also a function.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmark.errors import ObjbenchError


def _suite(args):
    from benchmark.config import load_suite

    return load_suite(args.suite, args.overrides)


def list_command(args) -> int:
    from benchmark import registry

    descriptions = getattr(registry, args.kind).describe()
    width = max(map(len, descriptions), default=0)
    for name, line in descriptions.items():
        print(f"{name:<{width}}  {line}")
    return 0


def inspect_command(args) -> int:
    from benchmark.inputs import quiet_libraries
    from benchmark.inspect import inspect
    from benchmark.store import checkpoint_of

    quiet_libraries()
    for path in inspect(checkpoint_of(args.target, args.results), args.text, args.layer, args.head, args.out):
        print(path)
    return 0


def export_command(args) -> int:
    """Each checkpoint of a suite (its runs as the suite is now) or of one recorded run, as a Hub model folder."""
    from benchmark.config import load_suite
    from benchmark.export import check_push, export, push
    from benchmark.report.stats import CONFIDENCE
    from benchmark.results import iter_records
    from benchmark.store import current_run_ids, stored

    if args.push:
        check_push()  # offline: one line before anything is written
    target = Path(args.target)
    if target.suffix in (".yaml", ".yml") and target.is_file():
        suite = load_suite(target, args.overrides)
        records = stored(suite, current_run_ids(suite))
        results, peers = Path(suite.results_dir), records
    else:
        if args.overrides:
            raise ObjbenchError(f"overrides {args.overrides} go with a suite file, not a run id")
        results = args.results
        every = list(iter_records(results))
        found = [r for r in every if r["run_id"].startswith(args.target)] if args.target else []
        if len(found) != 1:
            what = "no suite file and no recorded run" if not found else f"{len(found)} recorded runs"
            raise ObjbenchError(f"{args.target!r}: {what} under {results} match it; give a suite file or a run id")
        [record] = found
        records = [r for r in every if r["suite"] == record["suite"] and r.get("checkpoint") == record["checkpoint"]]
        peers = [r for r in every if r["suite"] == record["suite"] and _same_recipe(r, record)]
    rows, confidence = _board_rows(peers)
    for folder in export(records, rows, results, args.to, confidence or CONFIDENCE):
        print(folder)
        if args.push:
            for url in push([folder], args.push):
                print(f"  pushed: {url}")
    return 0


def _same_recipe(one: dict, other: dict) -> bool:
    """Whether two records share the corpus, tokenizer, size and recipe (seeds aside): one board's runs."""
    def key(r: dict) -> str:
        config = r.get("config") or {}
        recipe = {section: {k: v for k, v in (config.get(section) or {}).items() if k not in ("seeds", "parallel")}
                  for section in ("pretrain", "finetune")}
        return json.dumps([r.get("corpus_id"), r.get("tokenizer_id"), r.get("size"), recipe], sort_keys=True)
    return key(one) == key(other)


def _board_rows(records: list[dict]) -> tuple[list[dict], float | None]:
    """The board's rows of ``records`` (each objective's mean and interval per task); none when the runs do
    not make one comparable board, and the card then gives each checkpoint's own scores alone."""
    from benchmark.report.leaderboard import board_of

    try:
        board = board_of(records)
    except ObjbenchError:
        return [], None
    return board.rows.to_dict("records"), board.confidence


def plan_command(args) -> int:
    from benchmark.inputs import prepared_data
    from benchmark.measure import resolve_device, resolve_precision
    from benchmark.plan import make_plan
    from benchmark.plan_view import plan_lines

    suite = _suite(args)
    resolve_precision(suite.precision, resolve_device(suite.device))  # before anything is built or written
    data = prepared_data(suite)
    print("\n".join(plan_lines(make_plan(suite, data), data)))
    return 0


def fetch_command(args) -> int:
    """Read the suite's corpus and every task once, and fetch its published checkpoints: Hub datasets and models
    land in the local Hugging Face cache (``HF_HOME``), local files are checked, and later runs need no network."""
    from benchmark.data import corpus

    suite = _suite(args)
    print(f"corpus ({suite.corpus.source}): {len(corpus.documents(suite))} documents")
    for name in suite.tasks:
        splits = suite.build_task(name).load(suite.corpus)
        print(f"task {name}: " + ", ".join(f"{len(split)} {split_name}" for split_name, split in splits.items()))
    if suite.pretrained:
        from benchmark.models.published import check_checkpoints_available

        check_checkpoints_available({name: spec.path for name, spec in suite.pretrained.items()})
        print(f"published checkpoints: {', '.join(suite.pretrained)}")
    print(f"suite {suite.name}: everything it reads is cached; it can now run offline (HF_HUB_OFFLINE=1)")
    return 0


def run_command(args) -> int:
    from benchmark.harness import preflight, run_suite

    suite = _suite(args)
    if args.until_decided:
        return _until_decided(suite, args)
    if args.max_seeds is not None:
        raise ObjbenchError("--max-seeds goes with --until-decided")
    summary = run_suite(suite, progress=not args.quiet, executor=preflight(suite, str(args.suite)))
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
        _write_report(suite, run_ids=summary.plan.run_ids)
    return status


def _until_decided(suite, args) -> int:
    """Run the suite, then rounds of seeds for open verdicts; the report at the rounds' confidence level."""
    from benchmark.harness import preflight
    from benchmark.report.leaderboard import board_of
    from benchmark.sequential import run_until_decided
    from benchmark.store import stored

    if args.max_seeds is None:
        raise ObjbenchError("--until-decided needs --max-seeds K: the most pretraining seeds an entry may get, "
                            "which fixes how many looks the verdicts are spread over")
    executor = preflight(suite, str(args.suite))
    outcome = run_until_decided(suite, args.max_seeds, progress=not args.quiet, executor=executor,
                                board_of=lambda ids, confidence: board_of(stored(suite, ids), confidence=confidence))
    rounds = outcome.state.rounds
    print(f"{suite.name}: {outcome.ran} runs done, {outcome.reused} reused from earlier, {outcome.seconds:.1f} s; "
          f"{len(rounds)} round(s) of added seeds (each look at {outcome.state.confidence:.2%} confidence, "
          f"{outcome.state.looks} looks planned)")
    for r in rounds:
        print(f"  seed {r.seed}: {', '.join(r.objectives)} on {', '.join(r.tasks)}")
    if outcome.failed:
        print(f"FAILED {outcome.failed} run(s); `objbench run --until-decided` again does only those")
    if not args.no_report and outcome.ran + outcome.reused:
        _write_report(suite, run_ids=outcome.run_ids)
    return 1 if outcome.failed else 0


def check_command(args) -> int:
    from benchmark.harness import preflight, run_suite
    from benchmark.report.gate import usable_baseline
    from benchmark.store import records_file, stored, warn_if_other_code

    suite = _suite(args)
    baseline = records_file(args.baseline)  # an unusable baseline stops before anything runs
    usable_baseline(baseline, str(args.baseline))
    executor = preflight(suite, str(args.suite))  # then what the suite itself needs (data, devices, packages)
    _judges(baseline, suite, args)  # and whether the baseline can judge the runs the suite plans
    summary = run_suite(suite, progress=not args.quiet, executor=executor)
    current = stored(suite, summary.plan.run_ids)
    print(f"{suite.name}: {summary.ran} runs done, {summary.reused} reused from earlier, {summary.seconds:.1f} s")
    warn_if_other_code(current)
    return _gate(baseline, current, args, suite.check.tolerance, suite.check.mfu_drop)


def _judges(baseline: list[dict], suite, args) -> None:
    """Whether the baseline can judge the suite's planned runs, known without running them: the same recipe, and
    some (objective, task) pair of the plan."""
    from benchmark.report.gate import planned_differences

    cells = {(objective, task) for model in suite.models for objective in suite.objectives for task in suite.tasks
             if not suite.excluded(model, objective, task)}
    found = planned_differences(baseline, suite.model_dump(mode="json"), cells)
    if found and not (args.allow_incomparable and cells & {(r.get("objective"), r.get("task")) for r in baseline}):
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ObjbenchError(f"{args.baseline} cannot judge suite {suite.name!r}: {found[0]}{more}; nothing was run")


def compare_command(args) -> int:
    from benchmark.store import side

    return _gate(side(args.baseline), side(args.current), args)


def _gate(baseline: list[dict], current: list[dict], args, tolerances: dict[str, float] | None = None,
          mfu_drop: float | None = None) -> int:
    """Print the comparison, write it where asked; 1 when something regressed. Tolerances: the suite's
    (``check``), else those recorded with the current runs."""
    from benchmark import files
    from benchmark.report.gate import check_records
    from benchmark.report.leaderboard import plain

    gate = check_records(baseline, current, tolerances, mfu_drop, allow_incomparable=args.allow_incomparable)
    print("\n".join(gate.lines()))
    if args.markdown:  # paths the user names: a pipe, a device or a symlink's target is written in place
        files.write_named(args.markdown, gate.markdown())
    if args.json:
        files.write_named(args.json, json.dumps(plain(gate.to_dict()), indent=1, sort_keys=True))
    return 1 if gate.regressed else 0


def replicate_command(args) -> int:
    """0 when no verdict reversed between the suite and its replica, 1 when one did."""
    from benchmark.harness import preflight
    from benchmark.replicate import replica_suite, replicate

    suite = _suite(args)
    replica_suite(suite, args.precision)  # the replica's derived name and settings, checked before anything runs
    comparison, folder = replicate(suite, args.precision, progress=not args.quiet,
                                   executor=preflight(suite, str(args.suite)))
    for line in comparison.summary():
        print(line)
    print(f"report with its replication: {folder / 'README.md'}")
    return 1 if comparison.count("reversal") else 0


def doctor_command(args) -> int:
    """0 when the store is healthy (or every problem was repaired), 1 when problems remain."""
    from benchmark import doctor

    suite = _suite(args)
    exam = doctor.examine(suite.results_dir, suite.name)
    if not exam.findings:
        print(exam.healthy_line(suite.results_dir, suite.name))
        return 0
    for finding in exam.findings:
        print(finding.line())
    if not args.repair:
        print(f"{len(exam.findings)} problem(s); `objbench doctor {args.suite} --repair` heals what it can")
        return 1
    print("\n".join(doctor.repair(exam.findings, suite.results_dir, suite.name)))
    return 0 if all(f.action for f in exam.findings) else 1


def report_command(args) -> int:
    from benchmark.store import current_run_ids

    suite = _suite(args)
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
    run_ids = None if args.all_runs else current_run_ids(suite)
    return _write_report(suite, args.reference, args.allow_incomparable, run_ids)


def _write_report(suite, reference: str | None = None, allow_incomparable: bool = False,
                  run_ids: set[str] | None = None) -> int:
    from benchmark.replicate import replica_in_store
    from benchmark.report import write_report
    from benchmark.report.stats import CONFIDENCE
    from benchmark.sequential import load_state

    state = load_state(suite)  # a suite whose seeds were added until decided is judged at its looks' level
    out = write_report(suite.results_dir, suite.name, suite.reports_dir, reference, allow_incomparable, run_ids,
                       replica_in_store(suite), confidence=state.confidence if state else CONFIDENCE)
    print(f"report: {out / 'README.md'} and {out / 'index.html'}")
    return 0
