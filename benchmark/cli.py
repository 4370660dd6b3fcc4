"""``objbench``: list, plan, fetch, run, replicate, compare, check, doctor, report, inspect, export.

This module parses the command line and dispatches: each subcommand's handler (``set_defaults(handler=...)``)
is a function of ``benchmark.commands``.

Every user error (bad suite file, unknown name, wrong override type) is one line on stderr
and exit status 2, raised before any training starts.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from benchmark import commands
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
    lst.set_defaults(handler=commands.list_command)
    for name, help_text in (("plan", "validate a suite and list its runs, cache state and cost"),
                            ("run", "run a suite (skipping what is already recorded), then write its report"),
                            ("fetch", "download the Hub datasets a suite reads into the local cache, to run offline")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("suite", type=Path, help="suite YAML file, e.g. suites/quickstart.yaml")
        p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotted overrides, e.g. pretrain.lr=3e-4")
        p.set_defaults(handler={"plan": commands.plan_command, "run": commands.run_command,
                                  "fetch": commands.fetch_command}[name])
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
            _parallel_flags(p)
            p.add_argument("--track", action="append", default=[], metavar="TRACKER",
                           help="also log every run to this experiment tracker: tensorboard, mlflow, wandb or "
                                "trackio (repeatable; the suite's tracking block sets where)")
    exp = sub.add_parser("export", help="write each pretrained checkpoint of a suite or a run as a Hub model folder "
                                        "(weights, tokenizer, model card); --push uploads it")
    exp.add_argument("target", help="a suite YAML file (its checkpoints), or the id (or a prefix) of a recorded run")
    exp.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="with a suite file: dotted overrides")
    exp.add_argument("--to", type=Path, required=True, help="the folder the model folders are written under")
    exp.add_argument("--push", metavar="REPO", help="also upload to the Hub as REPO (one run), or REPO-<name> each")
    exp.add_argument("--results", type=Path, default=Path("results"),
                     help="with a run id: the results store it is looked up in (default ./results)")
    exp.set_defaults(handler=commands.export_command)
    ins = sub.add_parser("inspect", help="write attention heat maps (PNG and HTML) of a checkpoint for one text")
    ins.add_argument("target", help="a checkpoint folder, or the id (or a prefix of it) of a recorded run")
    ins.add_argument("--text", required=True, help="the sentence to look at")
    ins.add_argument("--layer", type=int, help="one layer (default: every layer)")
    ins.add_argument("--head", type=int, help="one head (default: every head)")
    ins.add_argument("--out", type=Path, default=Path("attention"), help="folder for the heat maps (default ./attention)")
    ins.add_argument("--results", type=Path, default=Path("results"),
                     help="the results store a run id is looked up in (default ./results)")
    ins.set_defaults(handler=commands.inspect_command)
    rpl = sub.add_parser("replicate", help="run a suite again on disjoint seeds (or another precision) and say "
                                           "which cells and verdicts held; exit 1 on a reversed verdict")
    rpl.add_argument("suite", type=Path, help="suite YAML file, e.g. suites/quickstart.yaml")
    rpl.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    rpl.add_argument("--precision", choices=["fp32", "bf16"],
                     help="replicate at this precision on the same seeds, instead of on disjoint seeds")
    rpl.add_argument("--quiet", action="store_true", help="no progress bars")
    rpl.set_defaults(handler=commands.replicate_command)
    cmp = sub.add_parser("compare", help="compare two result sets of one suite, cell by cell; exit 1 when something "
                                         "regressed (quality or pretraining speed), 2 on unusable input")
    cmp.add_argument("baseline", type=Path, help="records.jsonl written by a report, or a suite YAML (its results)")
    cmp.add_argument("current", type=Path, help="records.jsonl written by a report, or a suite YAML (its results)")
    cmp.set_defaults(handler=commands.compare_command)
    chk = sub.add_parser("check", help="run a suite (reusing what is recorded), then compare it with a baseline: "
                                       "one command for CI")
    chk.add_argument("suite", type=Path, help="suite YAML file, e.g. suites/ci.yaml")
    chk.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    chk.add_argument("--baseline", type=Path, required=True, help="the baseline's records.jsonl, e.g. "
                                                                   "reports/ci/records.jsonl")
    chk.add_argument("--quiet", action="store_true", help="no progress bars")
    chk.set_defaults(handler=commands.check_command)
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
    doc.set_defaults(handler=commands.doctor_command)
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
    rep.set_defaults(handler=commands.report_command)
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


# Flags that spread one pretraining job over several devices (pretrain.parallel.KEY=VALUE does the same).
_PARALLEL_FLAGS = {"nproc_per_node": "devices", "nodes": "nodes", "gpus_per_node": "devices",
                   "parallel": "strategy", "micro_batch_size": "micro_batch_size"}


def _parallel_flags(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("one pretraining job over several devices (torch.distributed; finetuning stays "
                                 "one process per run)")
    group.add_argument("--nproc-per-node", type=int, metavar="N",
                       help="local: each pretraining job as N processes on this machine, one GPU each (or a "
                            "share of the cores), started by torchrun's agent")
    group.add_argument("--nodes", type=int, metavar="M", help="slurm: each pretraining job over M machines")
    group.add_argument("--gpus-per-node", type=int, metavar="G",
                       help="slurm: G processes per machine, one GPU each (finetuning runs take one GPU each)")
    group.add_argument("--parallel", choices=["ddp", "fsdp"],
                       help="ddp (default): a copy of the network per device; fsdp: the network sharded over them")
    group.add_argument("--micro-batch-size", type=int, metavar="ROWS",
                       help="rows per forward pass on one device; the rest of its share is accumulated")


def _parallel_overrides(args: argparse.Namespace) -> list[str]:
    overrides = [f"pretrain.parallel.{key}={getattr(args, flag)}" for flag, key in _PARALLEL_FLAGS.items()
                 if getattr(args, flag, None) is not None]
    if getattr(args, "gpus_per_node", None) is not None:
        overrides.append("executor.gpus_per_job=1")  # one GPU per rank, and per finetuning run
    return overrides


def _tracking_overrides(args: argparse.Namespace) -> list[str]:
    """--track NAME ..., as the override of the suite's tracking list."""
    named = getattr(args, "track", [])
    return [f"tracking.to={json.dumps(named)}"] if named else []


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
        args = _parse(argv)
        if hasattr(args, "overrides"):  # the executor flags given, as overrides before the user's own
            args.overrides = [*_executor_overrides(args), *_parallel_overrides(args), *_tracking_overrides(args),
                              *args.overrides]
        return args.handler(args)
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


if __name__ == "__main__":
    sys.exit(main())
