"""Classification from your own files: CSV, JSON Lines or Parquet, with a text and a label column."""

from __future__ import annotations

from typing import Literal

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import sources
from benchmark.tasks.base import Params


class LocalClassificationParams(Params):
    train_path: str  # a file or glob, relative to the working directory
    test_path: str  # disjoint from train: the benchmark scores this split
    format: Literal["auto", "json", "csv", "parquet"] = "auto"  # auto: by extension (.jsonl/.json, .csv, .parquet)
    text_column: str = "text"
    label_column: str = "label"  # strings (classes named by their sorted values) or class ids 0, 1, ...
    text_pair_column: str | None = None  # set for sentence pairs: encoded as text [SEP] text_pair [EOS]
    train_size: int | None = Field(None, ge=1)  # None: every row; a number: a fixed random subset
    test_size: int | None = Field(None, ge=1)
    subset_seed: int = 0  # which subset: the same examples for every objective and finetuning seed


@registry.tasks.register("local_classification")
class LocalClassification:
    """Classification from your own files: CSV, JSON Lines or Parquet, with a text and a label column.

    ``train_path`` and ``test_path`` are read with the ``datasets`` builder for ``format``;
    ``text_column``, ``label_column`` and optionally ``text_pair_column`` say which columns
    hold what (others are ignored). String labels become classes named by their sorted
    values, the same in both splits; integer labels are class ids. Rows labelled -1 are dropped.
    """

    Params = LocalClassificationParams
    format = "classification"

    def __init__(self, params: LocalClassificationParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        p = self.params
        where = "task_params.local_classification"
        splits, described = {}, {}
        for split, pattern in (("train", p.train_path), ("test", p.test_path)):
            files = sources.resolve_files(pattern, f"{where}.{split}_path")
            fmt = sources.local_format(files, p.format, f"{where}.{split}_path")
            splits[split] = sources.bounded(sources.load_local(files, fmt), files, fmt)
            described[split] = f"{split}_path {', '.join(str(f) for f in files)}"  # errors name the files
        return sources.classification_splits(
            sources.subset(splits["train"], p.train_size, p.subset_seed),
            sources.subset(splits["test"], p.test_size, p.subset_seed), sources.column_map(p), where,
            described=described)
