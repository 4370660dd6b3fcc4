"""``objbench replicate``: run a suite again on disjoint seeds (or another precision) and say what held.

A report's verdicts are worth quoting only if another set of pretraining runs gives them
again. The replica is the suite with every seed list moved past its own (pretraining seeds
[0, 1] become [2, 3], finetuning seeds [0] become [1]), or, with ``precision``, the same seeds
computed at another precision (which changes the weights the way a seed does). Both are run
(what is recorded is reused), reported apart, and compared with ``report.compare``.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.config import Suite
from benchmark.errors import ObjbenchError
from benchmark.executors import Executor
from benchmark.harness import run_suite
from benchmark.measure import resolve_device, resolve_precision
from benchmark.paths import derived_name
from benchmark.report.compare import Comparison, compare_boards
from benchmark.report.leaderboard import board_of, write_report
from benchmark.results import iter_records
from benchmark.sequential import load_state, seeds_in_use
from benchmark.store import current_run_ids


def disjoint(seeds: list[int], taken: list[int] | None = None) -> list[int]:
    """As many seeds again, each past the largest of ``seeds`` (and of ``taken``)."""
    start = max([*seeds, *(taken or [])]) + 1
    return list(range(start, start + len(seeds)))


def replica_suite(suite: Suite, precision: str | None = None) -> Suite:
    """The suite on disjoint pretraining and finetuning seeds or, with ``precision``, at that precision.

    The replica has its own name (``<name>-replica`` or ``<name>-<precision>``), so its records
    and report sit beside the original's and never mix with them.
    """
    raw = suite.model_dump(mode="json")
    if precision is None:
        raw["name"] = derived_name(suite.name, "-replica", f"the replica of suite {suite.name!r}")
        # past the seeds --until-decided added too: they share the checkpoint cache with the replica
        raw["pretrain"]["seeds"] = disjoint(suite.pretrain.seeds, seeds_in_use(suite, load_state(suite)))
        raw["finetune"]["seeds"] = disjoint(suite.finetune.seeds)
    else:
        device = resolve_device(suite.device)
        if resolve_precision(precision, device) == resolve_precision(suite.precision, device):
            raise ObjbenchError(f"suite {suite.name!r} already computes in {precision} here: a replica at the same "
                                "precision on the same seeds would repeat it (leave out --precision to vary seeds)")
        raw["name"] = derived_name(suite.name, f"-{precision}", f"the {precision} replica of suite {suite.name!r}")
        raw["precision"] = precision
    return Suite.model_validate(raw)


def recorded(suite: Suite, run_ids: set[str]) -> list[dict]:
    """The suite's recorded runs among ``run_ids`` (its plan's)."""
    return [r for r in iter_records(suite.results_dir, suite.name) if r["run_id"] in run_ids]


def replicate(suite: Suite, precision: str | None = None, progress: bool = True,
              executor: Executor | None = None) -> tuple[Comparison, Path]:
    """Run ``suite`` and its replica (reusing what is recorded), report both, and compare them.

    The replica gets its own report; the original's report gains a replication section and keeps
    the replica's records beside its own. Returns the comparison and the original's report folder.
    """
    replica = replica_suite(suite, precision)
    original_ids, replica_ids = (run_suite(one, progress, executor).plan.run_ids
                                 for one in (suite, replica))
    original, again = recorded(suite, original_ids), recorded(replica, replica_ids)
    write_report(replica.results_dir, replica.name, replica.reports_dir, run_ids=replica_ids)
    folder = write_report(suite.results_dir, suite.name, suite.reports_dir, run_ids=original_ids, replica=again)
    return compare_boards(board_of(original), board_of(again)), folder


def replica_in_store(suite: Suite) -> list[dict] | None:
    """The recorded runs of the suite's replication (on disjoint seeds, else at another precision), when every
    one of them is there; a replica never run is not planned."""
    for precision in (None, "fp32", "bf16"):
        try:
            replica = replica_suite(suite, precision)
        except ObjbenchError:  # that precision is the suite's own here, or this hardware has no bf16
            continue
        if not any((Path(replica.results_dir) / replica.name / "runs").glob("*.json")):
            continue
        ids = current_run_ids(replica)
        runs = recorded(replica, ids)
        if runs and len(runs) == len(ids):
            return runs
    return None
