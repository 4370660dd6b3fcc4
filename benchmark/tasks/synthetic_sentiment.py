"""Compositional sentiment in the embedded synthetic language: negation and contrast decide the label."""

from __future__ import annotations

import random

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import synthetic
from benchmark.data.lexicon import zipf_choice
from benchmark.tasks.base import Params

LABELS = ("positive", "negative", "mixed")
LABEL_SHARES = (0.55, 0.3, 0.15)  # imbalanced: accuracy and macro-F1 tell different stories
# How two clauses combine: "and" keeps both (disagreeing clauses make a mixed text), "but"
# and "although" let the second clause decide. "and" is the common form, so that it is a weak
# cue for "mixed": without the adjectives' polarity a bag-of-bigrams classifier reaches
# macro-F1 ~0.41 on the held-out test (~0.50 with the forms equally common; majority class 0.24).
FORMS = {"single": 0.1, "and": 0.6, "but": 0.15, "although": 0.15}


class SentimentParams(Params):
    train_size: int = Field(600, ge=10)  # 150 steps of the default recipe
    test_size: int = Field(500, ge=10)
    held_out_adjectives: bool = True  # test texts use only evaluative adjectives finetuning never shows


def clause_polarity(positive: bool, negated: bool) -> bool:
    return positive != negated


def label_of(form: str, polarities: list[bool]) -> str:
    """The sentiment of a text from its form and the polarity of each clause (after negation)."""
    last = polarities[-1]
    if form == "and" and polarities[0] != last:
        return "mixed"
    return "positive" if last else "negative"


@registry.tasks.register("synthetic_sentiment")
class SyntheticSentiment:
    """Positive, negative or mixed? Labels follow negation and contrast, not any single word.

    A text is one or two copular clauses about things ("the X is (not) ADJ"), joined by "and",
    ", but" or "although ... ,". A clause's polarity is its adjective's, flipped by "not";
    "but" and "although" let the second clause decide, and "and" of disagreeing clauses is
    mixed. Adjective polarity is never given: the pretraining corpus shows it only through
    reviews ("..., so people like it"), and with ``held_out_adjectives`` the test texts use only
    the odd-ranked half of the evaluative adjectives, which finetuning never shows (the
    ``none`` control cannot know them). Classes are imbalanced (55/30/15%).
    """

    Params = SentimentParams
    format = "classification"

    def __init__(self, params: SentimentParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        world = synthetic.make_world(corpus.seed)
        train = self._split(world, 0, self.params.train_size, f"sentiment-train-{corpus.seed}")
        test_half = 1 if self.params.held_out_adjectives else 0
        test = self._split(world, test_half, self.params.test_size, f"sentiment-test-{corpus.seed}",
                           exclude=set(train["text"]))
        return datasets.DatasetDict({"train": train, "test": test})

    def _split(self, world: synthetic.World, half: int, size: int, seed: str,
               exclude: set[str] = frozenset()) -> datasets.Dataset:
        rng = random.Random(seed)
        adjectives = {True: world.lexicon.positive[half::2], False: world.lexicon.negative[half::2]}
        texts, labels = [], []
        while len(texts) < size:
            wanted = rng.choices(LABELS, weights=LABEL_SHARES)[0]
            text, label = self._text(rng, world, adjectives)
            while label != wanted or text in exclude:  # rejection keeps each form's share within a class
                text, label = self._text(rng, world, adjectives)
            texts.append(text)
            labels.append(LABELS.index(label))
        features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=list(LABELS))})
        return datasets.Dataset.from_dict({"text": texts, "label": labels}, features=features)

    @staticmethod
    def _text(rng: random.Random, world: synthetic.World, adjectives: dict[bool, tuple[str, ...]]) -> tuple[str, str]:
        form = rng.choices(list(FORMS), weights=list(FORMS.values()))[0]
        clauses, polarities = [], []
        for _ in range(1 if form == "single" else 2):
            topic = world.topics[rng.randrange(len(world.topics))]
            positive, negated = rng.random() < 0.5, rng.random() < 0.35
            clauses.append(f"the {zipf_choice(rng, topic.nouns)} is {'not ' if negated else ''}"
                           f"{zipf_choice(rng, adjectives[positive])}")
            polarities.append(clause_polarity(positive, negated))
        if form == "single":
            text = clauses[0]
        elif form == "although":
            text = f"although {clauses[0]} , {clauses[1]}"
        else:
            text = f"{clauses[0]} {'and' if form == 'and' else ', but'} {clauses[1]}"
        return text + " .", label_of(form, polarities)
