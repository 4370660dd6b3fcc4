"""A suite's task data: read once per process (``task_splits``), and whether it can be read here at all, told
in one line before anything runs.

Offline, a suite whose Hub datasets were never fetched would stop at the first one, and again at
the next after that one is fetched. ``check_tasks_available`` reads every task instead and names
every missing Hub dataset in one error, with the command that fetches them all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchmark.cache import stable_hash
from benchmark.config import Suite
from benchmark.data import sources
from benchmark.errors import ObjbenchError
from benchmark.tasks.checks import split_checks

_SPLITS: dict[str, object] = {}


def task_splits(suite: Suite, name: str):
    """A task's train and test splits and the counts of their checks, loaded and checked once per process."""
    params = suite.task_settings(name)
    key = stable_hash(name, params, suite.corpus, str(Path.cwd()))  # local task files: relative paths
    if key not in _SPLITS:
        splits = suite.task_entry(name)(params).load(suite.corpus)
        _SPLITS[key] = splits, split_checks(name, splits)
    return _SPLITS[key]


def check_tasks_available(suite: Suite, load: Callable[[str], object] | None = None,
                          suite_file: str | None = None) -> None:
    """Read each of ``suite``'s tasks once; one ``ObjbenchError`` names every Hub dataset missing offline.

    ``load(name)`` reads task ``name`` (default: ``task_splits``, which keeps what it reads, so that
    nothing is read twice). A problem other
    than a missing Hub dataset (an unreadable local file, a bad row) stops at once, as it would
    anyway. ``suite_file`` is the path the error's ``objbench fetch`` command names.
    """
    load = load or (lambda name: task_splits(suite, name))
    missing: dict[str, list[str]] = {}  # dataset (config, revision) -> the tasks that read it
    for name in suite.tasks:
        try:
            load(name)
        except sources.HubDatasetNotCached as err:
            missing.setdefault(err.dataset, []).append(name)
    if missing:
        listed = "; ".join(f"{dataset} (task {', '.join(tasks)})" for dataset, tasks in missing.items())
        count = f"{len(missing)} Hub datasets are" if len(missing) > 1 else "a Hub dataset is"
        raise ObjbenchError(f"{count} not in the local cache and the Hub cannot be reached: {listed}; run "
                            f"`objbench fetch {suite_file or '<suite file>'}` where the Hugging Face Hub is "
                            f"reachable, then run offline")
