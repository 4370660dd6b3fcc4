"""The experiment trackers a suite names (``tracking:``), opened for its runs.

Pretraining hands them every point of its loss curve as it trains (``benchmark.pretraining``, through
the logger seam); a finetuning run is logged when it is recorded: its config, loss curve, throughput
and final metrics. Every tracker writes beside the records and decides nothing: a run records the
same with or without them. Each library is an optional extra, checked before anything trains.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmark import registry
from benchmark.errors import ObjbenchError, warn
from benchmark.loggers import MetricLogger
from benchmark.trackers.base import Where


def check_trackers(suite: Any) -> None:
    """Each tracker's library is installed; the first one missing stops the suite in one line."""
    for name in suite.tracking.to:
        entry = registry.trackers.get(name)
        if importlib.util.find_spec(entry.package) is None:
            raise ObjbenchError(f"tracking: {name} needs the {entry.package} package: "
                                f"pip install 'objbench[{entry.extra}]'")


def where(suite: Any) -> Where:
    tracking = suite.tracking
    folder = Path(tracking.dir) if tracking.dir else Path(suite.results_dir) / suite.name / "tracking"
    return Where(folder, tracking.project, suite.name,
                 {"wandb_mode": tracking.wandb_mode, "mlflow_uri": tracking.mlflow_uri})


def trackers_for(suite: Any) -> list[MetricLogger]:
    """A metric logger per tracker the suite names (none when it names none)."""
    return [Guarded(name, registry.trackers.get(name)(where(suite))) for name in suite.tracking.to]


class Guarded:
    """A tracker whose failure (a full disk, a server gone) costs the run its tracking, not the run: the
    first error is a warning naming the tracker, and the tracker is left out for the rest of the run."""

    def __init__(self, name: str, tracker: MetricLogger):
        self.name, self.tracker, self.broken = name, tracker, False

    def _call(self, method: str, *args: Any, **kwargs: Any) -> None:
        if self.broken:
            return
        try:
            getattr(self.tracker, method)(*args, **kwargs)
        except Exception as error:  # any library's error: the record keeps everything regardless
            self.broken = True
            first = str(error).splitlines()[0] if str(error) else ""
            warn(f"tracking: {self.name} failed in {method} ({type(error).__name__}: {first}); the run goes on "
                 f"without it, and its record keeps every figure")

    def start(self, name: str, config: Mapping[str, Any]) -> None:
        self.broken = False  # each run tries again
        self._call("start", name, config)

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        self._call("log", metrics, step)

    def finish(self, summary: Mapping[str, Any]) -> None:
        self._call("finish", summary)


def run_name(run: Any) -> str:
    """A finetuning run's name in a tracker: its checkpoint's (model/objective/seed), then task and seed."""
    rung = f"/rung{run.fraction:g}" if run.fraction not in (None, 1.0) else ""
    return f"{run.model}/{run.objective}/seed{run.pretrain_seed}{rung}/{run.task}/finetune{run.seed}"


def log_finetuning(trackers: Sequence[MetricLogger], run: Any, config: Mapping[str, Any], finetune: Mapping[str, Any],
                   metrics: Mapping[str, Any]) -> None:
    """A recorded finetuning run, as each tracker sees one: its curve, then its throughput and metrics."""
    for sink in trackers:
        sink.start(run_name(run), config)
        for point in finetune.get("loss_curve") or []:
            sink.log({"finetune_loss": point["loss"], "finetune_lr": point["lr"]}, step=point["step"])
        sink.finish({**{k: v for k, v in finetune.items() if k != "loss_curve"}, "metrics": dict(metrics)})
