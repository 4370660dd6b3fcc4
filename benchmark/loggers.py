"""The logger seam: where the metrics of a training run go while it runs, to zero or more sinks.

A sink is any object with the three methods of :class:`MetricLogger`. Pretraining calls ``start``
once before its first step, ``log`` at every point of its loss curve (``LOSS_POINTS`` per run, so
logging never costs a step anything measurable), and ``finish`` once with the run's statistics.
The run record keeps the same curve whatever sinks are attached: a sink observes, it never decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class MetricLogger(Protocol):
    def start(self, name: str, config: Mapping[str, Any]) -> None:
        """A run begins: ``name`` says which (model/objective/seed), ``config`` is the resolved suite."""

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        """Metrics at optimizer step ``step``: ``loss``, ``lr``, ``tokens`` and ``flops`` so far."""

    def finish(self, summary: Mapping[str, Any]) -> None:
        """The run is over; ``summary`` is what its record keeps under ``pretrain``."""
