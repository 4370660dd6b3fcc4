"""Translation from the synthetic language into its head-final, agglutinative second language."""

from __future__ import annotations

import random

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import grammar, second_language, synthetic
from benchmark.tasks.base import Params


class TranslationParams(Params):
    train_size: int = Field(400, ge=10)  # 100 steps of the default recipe
    test_size: int = Field(200, ge=10)
    depth: int = Field(1, ge=0, le=3)  # nesting of PPs and relative clauses: sentences stay within max_length


@registry.tasks.register("synthetic_translation")
class SyntheticTranslation:
    """Translate a sentence into the second language: other word order, other morphology.

    Source and target are the same clause tree rendered by ``grammar.render`` (SVO,
    prepositions, number agreement by suffix) and ``second_language.render`` (SOV,
    postpositions, modifiers before the noun, case, plural, tense, agreement and negation as
    affixes; lemmas are cognates by regular sound change). The pretraining corpus holds
    monolingual text in both languages and no translation pairs. No test source sentence
    occurs in the training split. Metrics: BLEU and chrF (sacrebleu, 0..100).
    """

    Params = TranslationParams
    format = "translation"

    def __init__(self, params: TranslationParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        world = synthetic.make_world(corpus.seed)
        train = self._split(world, self.params.train_size, f"translation-train-{corpus.seed}", exclude=set())
        test = self._split(world, self.params.test_size, f"translation-test-{corpus.seed}", exclude=set(train["source"]))
        return datasets.DatasetDict({"train": train, "test": test})

    def _split(self, world: synthetic.World, size: int, seed: str, exclude: set[str]) -> datasets.Dataset:
        rng = random.Random(seed)
        rows = {"source": [], "target": []}
        while len(rows["source"]) < size:
            words = grammar.Words(world.topics[rng.randrange(len(world.topics))], world.general)
            clause = grammar.random_clause(rng, words, depth=self.params.depth)
            source = grammar.render(clause)
            if source in exclude:
                continue
            rows["source"].append(source)
            rows["target"].append(second_language.render(clause))
        return datasets.Dataset.from_dict(rows)
