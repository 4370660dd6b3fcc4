"""trackio: Hugging Face's local-first tracker; runs in a local database (``TRACKIO_DIR``), grouped by suite."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from typing import Any

from benchmark import registry
from benchmark.trackers.base import Tracker, final_values


@registry.trackers.register("trackio")
class Trackio(Tracker):
    """trackio runs in ``project``, one group per suite, kept in its local store (``trackio show`` opens them)."""

    package, extra = "trackio", "trackio"

    def start(self, name: str, config: Mapping[str, Any]) -> None:
        import trackio

        with contextlib.redirect_stdout(io.StringIO()):  # its notes on each run would break the progress bars
            self.run = trackio.init(project=self.where.project, name=name, group=self.where.group,
                                    config=dict(config), embed=False)
        self.last_step = 0

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        self.run.log(dict(metrics), step=step)
        self.last_step = step

    def finish(self, summary: Mapping[str, Any]) -> None:
        self.run.log({f"final.{k}": v for k, v in final_values(summary).items()}, step=self.last_step)
        with contextlib.redirect_stdout(io.StringIO()):
            self.run.finish()
