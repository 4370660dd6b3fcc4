"""Which metric ranks a task: the one its format declared, as the run records carry it.

Every record holds ``primary_metric`` (name, direction, best value), written by the harness from
the task format's own declaration (``Format.primary_metric``), so the report ranks, ties,
compares and aggregates from the records alone; no report module imports training code.
"""

from __future__ import annotations

import pandas as pd

from benchmark.errors import ObjbenchError
from benchmark.metric_spec import MetricSpec

__all__ = ["MetricSpec", "primary_metric"]

COLUMNS = {"name": "primary_metric.name", "higher_is_better": "primary_metric.higher_is_better",
           "max_value": "primary_metric.max_value"}


def primary_metric(task: str, runs: pd.DataFrame) -> MetricSpec:
    """The primary metric that the records of ``task`` (flattened, one row each) declare.

    Records that lack it, or that disagree about it, cannot be ranked together: an error
    naming the task.
    """
    missing = [c for c in COLUMNS.values() if c not in runs or runs[c].isna().any()]
    if missing:
        raise ObjbenchError(f"task {task!r}: records carry no primary_metric (written by objbench's harness "
                            f"since schema 2); rerun them with this version")
    specs = {MetricSpec.from_dict({k: row[c] for k, c in COLUMNS.items()}) for _, row in runs.iterrows()}
    if len(specs) > 1:
        raise ObjbenchError(f"task {task!r}: records disagree on the primary metric: "
                            f"{', '.join(sorted(s.describe() for s in specs))}")
    return specs.pop()
