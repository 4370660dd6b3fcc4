"""What a task is: labelled data in a `datasets.DatasetDict` and the format that says how to finetune on it."""

from __future__ import annotations

from typing import ClassVar, Protocol

import datasets
from pydantic import BaseModel, ConfigDict

from benchmark.corpus_config import CorpusConfig


class Params(BaseModel):
    """Base for task settings: typed, validated, no unknown keys."""

    model_config = ConfigDict(extra="forbid")


class Task(Protocol):
    """A downstream task. ``format`` picks the finetuning and evaluation routine in the harness."""

    Params: ClassVar[type[Params]]
    format: ClassVar[str]  # "classification"

    def __init__(self, params: Params) -> None: ...

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        """Splits ``train`` and ``test`` (disjoint). Classification: ``text`` and a ``ClassLabel`` ``label``."""
