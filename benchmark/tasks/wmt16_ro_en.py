"""WMT16 Romanian-English: translate news sentences, Romanian into English by default."""

from __future__ import annotations

from typing import Literal

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import sources
from benchmark.tasks.base import Params

LANGUAGES = ("ro", "en")


class WMT16RoEnParams(Params):
    revision: str = sources.REVISIONS[sources.WMT16]  # wmt/wmt16 commit: the data never moves under a comparison
    source_language: Literal["ro", "en"] = "ro"  # ro: Romanian -> English; en: English -> Romanian
    train_size: int | None = Field(None, ge=1)  # None: all 610,320 pairs (Europarl, SETimes); a number: a random subset
    test_size: int | None = Field(None, ge=1)  # None: all 1,999 sentences of newstest2016
    subset_seed: int = 0  # which subset: the same examples for every objective and finetuning seed


@registry.tasks.register("wmt16_ro_en")
class WMT16RoEn:
    """WMT16 Romanian-English: translate news sentences, Romanian into English by default.

    The WMT 2016 news translation task's Romanian-English pair (Bojar et al., 2016), read from
    the Hub dataset ``wmt/wmt16`` (config ``ro-en``) at a pinned revision, whose rows hold a
    ``translation`` record ``{"ro": ..., "en": ...}``. ``source_language`` picks the direction.
    Training pairs come from ``train``; the test split is ``test`` (newstest2016), whose
    references WMT published. Metrics: sacrebleu's BLEU and chrF, with their signatures recorded.
    """

    Params = WMT16RoEnParams
    format = "translation"

    def __init__(self, params: WMT16RoEnParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        p = self.params
        target_language = next(language for language in LANGUAGES if language != p.source_language)
        columns = {"source": f"translation.{p.source_language}", "target": f"translation.{target_language}"}
        splits = {}
        for split, size in (("train", p.train_size), ("test", p.test_size)):
            data = sources.load_hub(sources.WMT16, "ro-en", split, p.revision)
            splits[split] = sources.select_columns(sources.subset(data, size, p.subset_seed).flatten(), columns,
                                                   f"wmt16_ro_en ({split})")
        return datasets.DatasetDict(splits)
