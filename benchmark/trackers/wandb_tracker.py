"""Weights & Biases: runs grouped by suite; offline by default (files only, ``wandb sync`` uploads them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmark import registry
from benchmark.trackers.base import Tracker, final_values


@registry.trackers.register("wandb")
class WandB(Tracker):
    """W&B runs in ``project``, one group per suite; ``wandb_mode: online`` sends them as they run."""

    package, extra = "wandb", "wandb"

    def start(self, name: str, config: Mapping[str, Any]) -> None:
        import wandb

        folder = self.where.folder  # W&B keeps its runs in a "wandb" folder of its own under it
        folder.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(project=self.where.project, group=self.where.group, name=name, config=dict(config),
                              dir=str(folder), mode=self.where.options.get("wandb_mode", "offline"),
                              reinit="create_new", settings=wandb.Settings(silent=True, console="off"))

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        self.run.log(dict(metrics), step=step)

    def finish(self, summary: Mapping[str, Any]) -> None:
        self.run.summary.update({f"final.{k}": v for k, v in final_values(summary).items()})
        self.run.finish()
