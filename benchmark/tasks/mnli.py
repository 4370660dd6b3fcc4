"""MNLI (GLUE): does a premise entail, contradict or say nothing about a hypothesis?"""

from __future__ import annotations

from typing import Literal

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import sources
from benchmark.tasks.base import Params


class MNLIParams(Params):
    revision: str = sources.REVISIONS[sources.GLUE]  # nyu-mll/glue commit: the data never moves under a comparison
    train_size: int | None = Field(None, ge=1)  # None: all 392,702 pairs; a number: a fixed random subset
    test_size: int | None = Field(None, ge=1)  # None: the whole validation split (9,815 matched)
    test_split: Literal["validation_matched", "validation_mismatched"] = "validation_matched"  # GLUE's headline
    subset_seed: int = 0  # which subset: the same examples for every objective and finetuning seed


@registry.tasks.register("mnli")
class MNLI:
    """MNLI (GLUE): does a premise entail, contradict or say nothing about a hypothesis?

    Multi-Genre NLI (Williams et al., 2018) as packaged by GLUE, read from the Hub dataset
    ``nyu-mll/glue`` (config ``mnli``) at a pinned revision. A sentence pair: the premise is
    ``text`` and the hypothesis ``text_pair`` (encoded as premise ``[SEP]`` hypothesis
    ``[EOS]``). GLUE's test labels are hidden, so a validation split serves as the test split:
    ``validation_matched`` (same genres as train) by default, ``validation_mismatched`` on request.
    """

    Params = MNLIParams
    format = "classification"
    label_names = ("entailment", "neutral", "contradiction")

    def __init__(self, params: MNLIParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        p = self.params
        train = sources.load_hub(sources.GLUE, "mnli", "train", p.revision)
        test = sources.load_hub(sources.GLUE, "mnli", p.test_split, p.revision)
        return sources.classification_splits(
            sources.subset(train, p.train_size, p.subset_seed), sources.subset(test, p.test_size, p.subset_seed),
            {"text": "premise", "text_pair": "hypothesis", "label": "label"}, "mnli", self.label_names)
