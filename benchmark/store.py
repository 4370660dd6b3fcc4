"""What a results store holds for a suite as it is now, read without running or building anything.

The CLI's read-only commands (``report``, ``compare``, ``inspect``) find their records here: the run
ids of a suite's plan (one plan, over data read from the cache, never built), the records of one side
of a comparison, and the checkpoint a recorded run finetuned.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from benchmark.cache import cache_dir
from benchmark.config import Suite, load_suite
from benchmark.errors import ObjbenchError, ObjbenchWarning
from benchmark.inputs import prepared_data
from benchmark.measure import git_commit
from benchmark.plan import make_plan
from benchmark.results import iter_records, read_records_file, runs_dir
from benchmark.sequential import load_state, round_suite


def current_run_ids(suite: Suite) -> set[str]:
    """The run ids of the suite as it is now (its plan, and the rounds of added seeds ``--until-decided`` ran
    for it), so older records of the same name stay out. Reads the suite's data from the cache: a command
    that only reads the store trains no tokenizer and tokenizes nothing; a suite with no records plans nothing."""
    if not any(runs_dir(suite.results_dir, suite.name).glob("*.json")):
        return set()
    data = prepared_data(suite, build=False)
    ids = make_plan(suite, data).run_ids
    state = load_state(suite)
    for rnd in state.rounds if state else []:
        ids |= make_plan(round_suite(suite, rnd), data).run_ids
    return ids


def stored(suite: Suite, run_ids: set[str] | None = None) -> list[dict]:
    """The suite's records, only those among ``run_ids`` when given."""
    return [r for r in iter_records(suite.results_dir, suite.name) if run_ids is None or r["run_id"] in run_ids]


def records_file(path: Path) -> list[dict]:
    """The records of a ``records.jsonl``; an absent or empty file is the user's to fix."""
    if not path.is_file():
        raise ObjbenchError(f"{path}: no such records file")
    records = read_records_file(path)
    if not records:
        raise ObjbenchError(f"{path}: holds no records")
    return records


def side(path: Path) -> list[dict]:
    """One side of a comparison: a records.jsonl, or a suite file whose current runs are read from its store."""
    if path.suffix not in (".yaml", ".yml"):
        return records_file(path)
    suite = load_suite(path)
    records = stored(suite, current_run_ids(suite))
    if not records:
        raise ObjbenchError(f"{path}: suite {suite.name!r} has no recorded runs under {suite.results_dir}")
    return records


def checkpoint_of(target: str, results: Path) -> Path:
    """A checkpoint folder as given, or the checkpoint a recorded run (by id or unique id prefix) finetuned."""
    if Path(target).is_dir():
        return Path(target)
    found = {r["run_id"]: r for r in iter_records(results) if r["run_id"].startswith(target)} if target else {}
    if len(found) != 1:
        what = "no checkpoint folder and no recorded run" if not found else f"{len(found)} recorded runs"
        raise ObjbenchError(f"{target!r}: {what} under {results} match it; give a checkpoint folder or a run id")
    record = next(iter(found.values()))
    if not record.get("checkpoint"):
        raise ObjbenchError(f"run {record['run_id']} ({record['objective']}) started from no checkpoint: "
                            "an untrained control or a baseline has nothing pretrained to inspect")
    return cache_dir(results, "checkpoints") / record["checkpoint"]


def warn_if_other_code(records: list[dict]) -> None:
    """Runs and checkpoints are keyed by config, not code: say so when reused ones came from other code."""
    here = git_commit()
    others = sorted({(r.get("environment") or {}).get("git_commit") or "unknown" for r in records} - {here})
    if here and others:
        warnings.warn(ObjbenchWarning(
            f"the current side holds runs recorded at commit {', '.join(others)}, not this checkout's {here}: "
            "the gate compares those; check on a fresh results store to test this code"))
