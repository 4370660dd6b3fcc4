"""A task format's primary metric: which score ranks it, which way is up, and its range.

Formats declare one next to their code (``Format.primary_metric``); the harness writes it into
every record, and the report reads it from there. This module imports nothing else of the
project, so the report's modules can use it without importing training code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class MetricSpec:
    """The key in ``record["metrics"]`` that decides ranks, ties, comparisons and the aggregate."""

    name: str
    higher_is_better: bool = True
    max_value: float = 1.0  # the best possible score, used to normalise onto 0..1

    def normalize(self, value: float) -> float:
        """0 is the worst, 1 the best possible score, whichever way the metric points."""
        share = value / self.max_value
        return share if self.higher_is_better else 1.0 - share

    def describe(self) -> str:
        direction = "higher is better" if self.higher_is_better else "lower is better"
        return f"{self.name} ({direction}, max {self.max_value:g})"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "MetricSpec":
        return cls(name=str(data["name"]), higher_is_better=bool(data["higher_is_better"]),
                   max_value=float(data["max_value"]))
