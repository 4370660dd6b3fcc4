"""Whether a suite's task data can be read here, told in one line before anything runs.

Offline, a suite whose Hub datasets were never fetched would stop at the first one, and again at
the next after that one is fetched. ``check_tasks_available`` reads every task instead and names
every missing Hub dataset in one error, with the command that fetches them all.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmark.config import Suite
from benchmark.data import sources
from benchmark.errors import ObjbenchError


def check_tasks_available(suite: Suite, load: Callable[[str], object] | None = None,
                          suite_file: str | None = None) -> None:
    """Read each of ``suite``'s tasks once; one ``ObjbenchError`` names every Hub dataset missing offline.

    ``load(name)`` reads task ``name`` (default: build the task and call its ``load``); a caller
    that keeps the splits it reads passes its own, so that nothing is read twice. A problem other
    than a missing Hub dataset (an unreadable local file, a bad row) stops at once, as it would
    anyway. ``suite_file`` is the path the error's ``objbench fetch`` command names.
    """
    load = load or (lambda name: suite.build_task(name).load(suite.corpus))
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
