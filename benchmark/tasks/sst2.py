"""SST-2 (GLUE): is a movie-review sentence positive or negative?"""

from __future__ import annotations

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import sources
from benchmark.tasks.base import Params


class SST2Params(Params):
    revision: str = sources.REVISIONS[sources.GLUE]  # nyu-mll/glue commit: the data never moves under a comparison
    train_size: int | None = Field(None, ge=1)  # None: all 67,349 sentences; a number: a fixed random subset
    test_size: int | None = Field(None, ge=1)  # None: all 872
    subset_seed: int = 0  # which subset: the same examples for every objective and finetuning seed


@registry.tasks.register("sst2")
class SST2:
    """SST-2 (GLUE): is a movie-review sentence positive or negative?

    Binary sentiment from the Stanford Sentiment Treebank (Socher et al., 2013) as packaged by
    GLUE (Wang et al., 2018), read from the Hub dataset ``nyu-mll/glue`` (config ``sst2``) at a
    pinned revision. GLUE's test labels are hidden, so the ``validation`` split serves as the
    test split here; train comes from ``train``.
    """

    Params = SST2Params
    format = "classification"
    label_names = ("negative", "positive")

    def __init__(self, params: SST2Params):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        p = self.params
        train = sources.load_hub(sources.GLUE, "sst2", "train", p.revision)
        test = sources.load_hub(sources.GLUE, "sst2", "validation", p.revision)
        return sources.classification_splits(
            sources.subset(train, p.train_size, p.subset_seed), sources.subset(test, p.test_size, p.subset_seed),
            {"text": "sentence", "label": "label"}, "sst2", self.label_names)
