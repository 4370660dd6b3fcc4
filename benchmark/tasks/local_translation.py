"""Translation from your own files: a source text and its translation in each row."""

from __future__ import annotations

from typing import Literal

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import sources
from benchmark.tasks import rows
from benchmark.tasks.base import Params


class LocalTranslationParams(Params):
    train_path: str  # a file or glob, relative to the working directory
    test_path: str  # disjoint from train: the benchmark scores this split
    format: Literal["auto", "json", "csv", "parquet"] = "auto"  # auto: by extension (.jsonl/.json, .csv, .parquet)
    source_column: str = "source"
    target_column: str = "target"  # the reference translation
    train_size: int | None = Field(None, ge=1)  # None: every row; a number: a fixed random subset
    test_size: int | None = Field(None, ge=1)
    subset_seed: int = 0  # which subset: the same examples for every objective and finetuning seed


@registry.tasks.register("local_translation")
class LocalTranslation:
    """Translation from your own files: a source text and its translation in each row.

    ``train_path`` and ``test_path`` are read as in ``local_classification`` (CSV cells as text);
    ``source_column`` and ``target_column`` say which columns hold what (others are ignored).
    A blank source or target is one error naming the file, the row and the column. Test sources
    that also occur in training are counted and warned about when the suite runs
    (``tasks.checks``). Metrics: sacrebleu's BLEU and chrF, with their signatures recorded.
    """

    Params = LocalTranslationParams
    format = "translation"

    def __init__(self, params: LocalTranslationParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        p = self.params
        where, columns = "task_params.local_translation", sources.column_map(p)
        splits = {}
        for split, pattern, size in (("train", p.train_path, p.train_size), ("test", p.test_path, p.test_size)):
            data, place = rows.read_local(pattern, p.format, f"{where}.{split}_path")
            pairs = sources.select_columns(data, columns, f"{where} ({split})")
            rows.require_text(pairs, ("source", "target"), columns, where, place)
            splits[split] = sources.subset(pairs, size, p.subset_seed)
        return datasets.DatasetDict(splits)
