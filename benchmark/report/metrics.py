"""Which metric ranks a task, per task format: the one mapping a new format adds a line to.

A format's primary metric decides ranks, ties, comparisons and the aggregate score. Its
``max_value`` turns scores into a 0..1 scale so that tasks with different metrics can be
averaged; ``higher_is_better`` says which way is up.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.errors import ObjbenchError


@dataclass(frozen=True)
class MetricSpec:
    """A task format's primary metric: the key in ``record["metrics"]`` and how to read it."""

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


PRIMARY_METRICS: dict[str, MetricSpec] = {
    # Macro F1 rather than accuracy: it does not reward predicting the majority label.
    "classification": MetricSpec("f1_macro", higher_is_better=True, max_value=1.0),
    # Token F1 rather than exact match: partial answers still separate small models (BART Table 1 uses F1).
    "extractive_qa": MetricSpec("f1", higher_is_better=True, max_value=1.0),
    "closed_book_qa": MetricSpec("f1", higher_is_better=True, max_value=1.0),
    # chrF rather than BLEU: character n-grams still separate tiny models whose BLEU is near 0.
    "translation": MetricSpec("chrf", higher_is_better=True, max_value=100.0),
    # BLiMP-style minimal pairs: chance is 0.5.
    "zero_shot": MetricSpec("accuracy", higher_is_better=True, max_value=1.0),
}


def primary_metric(task_format: str) -> MetricSpec:
    """The primary metric of ``task_format``; an unknown format is an error that says where to add it."""
    try:
        return PRIMARY_METRICS[task_format]
    except KeyError:
        known = ", ".join(sorted(PRIMARY_METRICS))
        raise ObjbenchError(f"task format {task_format!r} has no primary metric for the report "
                            f"(known: {known}); add it to PRIMARY_METRICS in benchmark/report/metrics.py") from None
