"""AG News: which of four sections (World, Sports, Business, Sci/Tech) is a news article from?"""

from __future__ import annotations

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import sources
from benchmark.tasks.base import Params


class AGNewsParams(Params):
    revision: str = sources.REVISIONS[sources.AG_NEWS]  # fancyzhx/ag_news commit: the data never moves
    train_size: int | None = Field(None, ge=1)  # None: all 120,000 articles; a number: a fixed random subset
    test_size: int | None = Field(None, ge=1)  # None: all 7,600
    subset_seed: int = 0  # which subset: the same examples for every objective and finetuning seed


@registry.tasks.register("ag_news")
class AGNews:
    """AG News: which of four sections (World, Sports, Business, Sci/Tech) is a news article from?

    Topic classification of news titles and descriptions (Zhang et al., 2015), read from the
    Hub dataset ``fancyzhx/ag_news`` at a pinned revision. Its own labelled ``train`` and
    ``test`` splits are used; the classes are balanced.
    """

    Params = AGNewsParams
    format = "classification"
    label_names = ("World", "Sports", "Business", "Sci/Tech")

    def __init__(self, params: AGNewsParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        p = self.params
        train = sources.load_hub(sources.AG_NEWS, None, "train", p.revision)
        test = sources.load_hub(sources.AG_NEWS, None, "test", p.revision)
        return sources.classification_splits(
            sources.subset(train, p.train_size, p.subset_seed), sources.subset(test, p.test_size, p.subset_seed),
            {"text": "text", "label": "label"}, "ag_news", self.label_names)
