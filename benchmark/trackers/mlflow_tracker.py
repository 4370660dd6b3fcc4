"""MLflow: one experiment per suite, in an MLflow file store under ``<dir>/mlruns`` unless a server is named."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from benchmark import registry
from benchmark.trackers.base import Tracker, final_values


@registry.trackers.register("mlflow")
class MLflow(Tracker):
    """MLflow runs in the suite's experiment: the config as ``config.json``, metrics logged asynchronously."""

    package, extra = "mlflow", "mlflow"

    def start(self, name: str, config: Mapping[str, Any]) -> None:
        from mlflow.tracking import MlflowClient

        uri = self.where.options.get("mlflow_uri")
        if uri is None:  # the local file store, which MLflow 3 keeps working but asks to be allowed
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            uri = (self.where.folder / "mlruns").resolve().as_uri()
        self.client = MlflowClient(tracking_uri=uri)
        experiment = self.client.get_experiment_by_name(self.where.group)
        experiment_id = experiment.experiment_id if experiment else self.client.create_experiment(self.where.group)
        self.run_id = self.client.create_run(experiment_id, run_name=name).info.run_id
        self.client.log_dict(self.run_id, dict(config), "config.json")
        self.last_step, self.pending = 0, []

    def _metrics(self, values: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.pending.append(self.client.log_batch(
            self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in values.items()], synchronous=False))

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        self._metrics(metrics, step)
        self.last_step = step

    def finish(self, summary: Mapping[str, Any]) -> None:
        self._metrics({f"final.{k}": v for k, v in final_values(summary).items()}, self.last_step)
        for operation in self.pending:  # every point written before the run is marked finished
            operation.wait()
        self.client.set_terminated(self.run_id)
