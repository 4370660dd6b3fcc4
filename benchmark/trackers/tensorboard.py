"""TensorBoard: event files under ``<dir>/tensorboard/<suite>/<run>``, written by a background thread."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from benchmark import registry
from benchmark.trackers.base import Tracker, final_values, safe_name


@registry.trackers.register("tensorboard")
class TensorBoard(Tracker):
    """TensorBoard event files, one directory per run, one tree per suite (``tensorboard --logdir``)."""

    package, extra = "tensorboard", "tensorboard"

    def start(self, name: str, config: Mapping[str, Any]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(self.where.folder / "tensorboard" / self.where.group / safe_name(name)))
        self.writer.add_text("config", f"```json\n{json.dumps(config, indent=1, sort_keys=True)}\n```")
        self.last_step = 0

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)
        self.last_step = step

    def finish(self, summary: Mapping[str, Any]) -> None:
        for key, value in final_values(summary).items():
            self.writer.add_scalar(f"final/{key}", value, self.last_step)
        self.writer.close()
