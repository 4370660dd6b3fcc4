"""SQuAD v1.1: point at the span of a Wikipedia paragraph that answers a question."""

from __future__ import annotations

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import sources
from benchmark.tasks import rows
from benchmark.tasks.base import Params


class SQuADParams(Params):
    revision: str = sources.REVISIONS[sources.SQUAD]  # rajpurkar/squad commit: the data never moves under a comparison
    train_size: int | None = Field(None, ge=1)  # None: all 87,599 questions; a number: a fixed random subset
    test_size: int | None = Field(None, ge=1)  # None: all 10,570 validation questions
    subset_seed: int = 0  # which subset: the same examples for every objective and finetuning seed


@registry.tasks.register("squad")
class SQuAD:
    """SQuAD v1.1: point at the span of a Wikipedia paragraph that answers a question.

    The Stanford Question Answering Dataset (Rajpurkar et al., 2016), read from the Hub dataset
    ``rajpurkar/squad`` (config ``plain_text``) at a pinned revision. Its test answers are hidden,
    so ``validation`` serves as the test split; train comes from ``train``. Finetuning learns each
    question's first gold span; a validation question has up to several gold answers (by different
    annotators), and exact match and F1 take the best of them after SQuAD's answer normalisation,
    as the official evaluation script does. Every answer must be the context's text at its character
    offset: a row where it is not stops the run before training, with one line naming its question id.
    """

    Params = SQuADParams
    format = "extractive_qa"

    def __init__(self, params: SQuADParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        p = self.params
        columns = {"question": "question", "context": "context", "answer": "answers"}
        splits = {}
        for split, source_split, size in (("train", "train", p.train_size), ("test", "validation", p.test_size)):
            data = sources.subset(sources.load_hub(sources.SQUAD, "plain_text", source_split, p.revision), size,
                                  p.subset_seed)
            where, ids = f"squad ({source_split})", data["id"]
            splits[split] = rows.extractive_qa(sources.select_columns(data, columns, where), columns, where,
                                               lambda i, ids=ids: f"{sources.SQUAD}, question id {ids[i]}")
        return datasets.DatasetDict(splits)
