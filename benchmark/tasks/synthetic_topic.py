"""Topic classification in the embedded synthetic language."""

from __future__ import annotations

import random

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import synthetic
from benchmark.tasks.base import Params


class TopicParams(Params):
    train_size: int = Field(400, ge=10)  # few examples: finetuning alone cannot learn the lexicon
    test_size: int = Field(600, ge=10)
    sentences: int = Field(2, ge=1)  # sentences per example
    imbalance: float = Field(0.75, gt=0, le=1)  # class k has weight imbalance**k: macro-F1 and accuracy differ


@registry.tasks.register("synthetic_topic")
class SyntheticTopic:
    """Which topic is a short text about? Test texts use only words never seen in finetuning.

    Training examples are written with one half of each topic's words and test examples with
    the other half (see ``synthetic.split_topic``), so the test measures what pretraining
    stored about the held-out words. Classes are imbalanced; chance accuracy is the majority
    class's share and chance macro-F1 is far lower.
    """

    Params = TopicParams
    format = "classification"

    def __init__(self, params: TopicParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        world = synthetic.make_world(corpus.seed)
        return datasets.DatasetDict({
            "train": self._split(world, held_out=False, size=self.params.train_size, seed=f"train-{corpus.seed}"),
            "test": self._split(world, held_out=True, size=self.params.test_size, seed=f"test-{corpus.seed}"),
        })

    def _split(self, world: synthetic.World, held_out: bool, size: int, seed: str) -> datasets.Dataset:
        rng = random.Random(seed)
        weights = [self.params.imbalance ** k for k in range(len(world.topics))]
        texts, labels = [], []
        for _ in range(size):
            label = rng.choices(range(len(world.topics)), weights=weights)[0]
            words = synthetic.split_topic(world.topics[label], held_out)
            sentences = [synthetic.sentence(rng, world, words, topic_p=1.0) for _ in range(self.params.sentences)]
            texts.append(" ".join(sentences))
            labels.append(label)
        features = datasets.Features({"text": datasets.Value("string"),
                                      "label": datasets.ClassLabel(names=[f"topic_{t}" for t in range(len(world.topics))])})
        return datasets.Dataset.from_dict({"text": texts, "label": labels}, features=features)
