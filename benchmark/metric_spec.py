"""A task format's metrics as the report reads them: which score ranks it, which way is up, its range.

Formats declare two next to their code: ``Format.primary_metric``, the score that ranks, and
``Format.companion_metric``, a continuous likelihood-based score recorded beside it (a gold
label's log-probability, a likelihood margin) that still moves when the primary metric sits at
chance or at its ceiling. The harness writes both into every record, and the report reads them
from there. This module imports nothing else of the project, so the report's modules can use it
without importing training code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class MetricSpec:
    """A key in ``record["metrics"]``: its name, which way is better and its best value.

    A primary metric has a best value (``max_value``), and with it a 0..1 scale that ranks,
    ties, comparisons and the aggregate use. A log-probability has no such range (it runs down
    to minus infinity; a margin also runs up to plus infinity): ``max_value=None`` says so, and
    such a metric is never normalised, so it can only be a companion, never a primary metric.
    """

    name: str
    higher_is_better: bool = True
    max_value: float | None = 1.0  # the best possible score, used to normalise onto 0..1; None: unbounded

    @property
    def bounded(self) -> bool:
        """Whether the metric has a best value to normalise by."""
        return self.max_value is not None

    def normalize(self, value: float) -> float:
        """0 is the worst, 1 the best possible score, whichever way the metric points."""
        if self.max_value is None:
            raise ValueError(f"metric {self.name!r} is unbounded: it has no 0..1 scale")
        share = value / self.max_value
        return share if self.higher_is_better else 1.0 - share

    def describe(self) -> str:
        direction = "higher is better" if self.higher_is_better else "lower is better"
        scale = f"max {self.max_value:g}" if self.max_value is not None else "unbounded"
        return f"{self.name} ({direction}, {scale})"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "MetricSpec":
        bound = data["max_value"]
        return cls(name=str(data["name"]), higher_is_better=bool(data["higher_is_better"]),
                   max_value=None if bound is None else float(bound))


def companion_metric(record: dict) -> MetricSpec | None:
    """The companion metric a run record declares (``record["companion_metric"]``), None for a record
    written before formats declared one; its value is ``record["metrics"][spec.name]``, itself None
    where the model kind could not give it."""
    declared = record.get("companion_metric")
    return MetricSpec.from_dict(declared) if declared else None
