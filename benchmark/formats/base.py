"""What a task format is: how a pretrained model is finetuned and scored for one kind of task.

A format is a class in its own file, registered with ``@registry.formats.register(name)``; a
task names its format (``Task.format``). Registering a format that does not declare its
primary metric is an error at import, so a format the report could not rank never trains.

Beside the primary metric a format declares its companion metric: a continuous, likelihood-based
score computed in the same evaluation (the gold label's log-probability, the minimal pairs'
log-likelihood margin, the gold span's log-probability, the reference's per-token
log-likelihood). It has no best value (``max_value=None``), is never normalised and never ranks;
it separates models whose primary metric sits at chance or at its ceiling. Where a model kind
cannot give it, ``evaluate`` reports it as None, and the format's ``evaluate`` docstring says why.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import torch

from benchmark.metric_spec import MetricSpec
from benchmark.models.kinds import ModelKind


class Format(Protocol):
    """Finetuning and evaluation for one task format; instances hold no state."""

    primary_metric: ClassVar[MetricSpec]  # ranks, ties, comparisons and the aggregate use this metric
    companion_metric: ClassVar[MetricSpec]  # a likelihood-based score recorded beside it; unbounded, never ranks
    finetunes: ClassVar[bool]  # False: the pretrained model is scored as it is (zero-shot)

    def unsupported(self, kind: ModelKind) -> str | None:
        """Why a model of ``kind`` cannot take this format, or None when it can."""

    def build(self, entry, checkpoint, setup, split, kind: ModelKind) -> torch.nn.Module:
        """The model with this format's head, from ``checkpoint`` (None: random init, the control)."""

    def finetune(self, model, split, tokenizer, recipe, kind: ModelKind, seed: int, device: torch.device,
                 precision: str) -> dict:
        """Train ``model`` on ``split`` with the suite's one recipe (``training.train``); returns its statistics."""

    def evaluate(self, model, split, tokenizer, recipe, kind: ModelKind, device: torch.device,
                 precision: str) -> tuple[dict, dict]:
        """(metrics, statistics) on ``split``; the metrics include ``primary_metric.name`` and
        ``companion_metric.name`` (a finite float, or None where the model kind cannot give it)."""

