"""Extractive QA from your own files: a question, a context, and the answer's span in the context."""

from __future__ import annotations

from typing import Literal

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import sources
from benchmark.tasks import rows
from benchmark.tasks.base import Params


class LocalExtractiveQAParams(Params):
    train_path: str  # a file or glob, relative to the working directory
    test_path: str  # disjoint from train: the benchmark scores this split
    format: Literal["auto", "json", "csv", "parquet"] = "auto"  # auto: by extension (.jsonl/.json, .csv, .parquet)
    question_column: str = "question"
    context_column: str = "context"
    # one answer text, or SQuAD's {"text": [...], "answer_start": [...]} (set answer_column=answers for SQuAD's files)
    answer_column: str = "answer"
    answer_start_column: str | None = None  # a plain answer's character offset; None: its first occurrence
    train_size: int | None = Field(None, ge=1)  # None: every row; a number: a fixed random subset
    test_size: int | None = Field(None, ge=1)
    subset_seed: int = 0  # which subset: the same examples for every objective and finetuning seed


@registry.tasks.register("local_extractive_qa")
class LocalExtractiveQA:
    """Extractive QA from your own files: a question, a context, and the answer's span in the context.

    ``train_path`` and ``test_path`` are read as in ``local_classification`` (CSV cells as text,
    so an answer such as "1990" or "NA" stays what it says). ``answer_column`` holds either a
    plain answer text, found at ``answer_start_column``'s character offset or, without that
    column, at its first occurrence in the context; or answers in SQuAD's schema,
    ``{"text": [...], "answer_start": [...]}``, every gold answer with its offset (a list of
    ``{"text", "answer_start"}`` records or of texts works too). Finetuning learns the first gold
    span; exact match and F1 take the best match among all of a question's gold answers.

    Every row is checked before anything is subset: a blank question, context or answer, an
    answer that does not occur in its context or not at its offset, is one error naming the
    file, the row and the column. Test rows that also occur in training are counted and warned
    about when the suite runs (``tasks.checks``).
    """

    Params = LocalExtractiveQAParams
    format = "extractive_qa"

    def __init__(self, params: LocalExtractiveQAParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        p = self.params
        where, columns = "task_params.local_extractive_qa", sources.column_map(p)
        splits = {}
        for split, pattern, size in (("train", p.train_path, p.train_size), ("test", p.test_path, p.test_size)):
            data, place = rows.read_local(pattern, p.format, f"{where}.{split}_path")
            qa = rows.extractive_qa(sources.select_columns(data, columns, f"{where} ({split})"), columns, where, place)
            splits[split] = sources.subset(qa, size, p.subset_seed)
        return datasets.DatasetDict(splits)
