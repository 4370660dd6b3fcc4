"""Entity typing in the embedded synthetic language: what kind of thing does a sentence mention?"""

from __future__ import annotations

import random

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import synthetic
from benchmark.data.entities import values_of
from benchmark.tasks.base import Params

LABELS = ("city", "profession", "pet")
# Frames the pretraining corpus never uses, so that the frame says nothing about the type.
FRAMES = (
    "{name} talks about {value} .",
    "{name} often thinks of {value} .",
    "{value} is what {name} remembers .",
    "{name} wrote a story about {value} .",
)


class EntityTypingParams(Params):
    train_size: int = Field(400, ge=10)
    test_size: int = Field(400, ge=10)
    held_out_values: bool = True  # test sentences mention only entities finetuning never shows


@registry.tasks.register("synthetic_entity_typing")
class SyntheticEntityTyping:
    """Is the entity a sentence mentions a city, a profession or an animal?

    Each text puts one entity in a frame the pretraining corpus never uses ("pelro talks
    about douti ."), so the words around it carry no clue. The pretraining corpus uses every
    entity in frames that do ("lives in", "works as a", "keeps a"); with
    ``held_out_values`` the test mentions only the half of each kind that finetuning never
    shows, so only what pretraining learnt about those words can type them. Names are of
    people the corpus never mentions. Profession names share a suffix, a cue that finetuning
    alone can pick up; cities and animals share none. Classes are balanced.
    """

    Params = EntityTypingParams
    format = "classification"

    def __init__(self, params: EntityTypingParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        world = synthetic.make_world(corpus.seed)
        test_side = 1 if self.params.held_out_values else 0
        return datasets.DatasetDict({
            "train": self._split(world, 0, self.params.train_size, f"typing-train-{corpus.seed}"),
            "test": self._split(world, test_side, self.params.test_size, f"typing-test-{corpus.seed}"),
        })

    def _split(self, world: synthetic.World, side: int, size: int, seed: str) -> datasets.Dataset:
        rng = random.Random(seed)
        values = {label: values_of(world.lexicon, label)[side::2] for label in LABELS}
        people = world.fresh_people[side::2]
        texts, labels = [], []
        for i in range(size):
            label = i % len(LABELS)
            frame = rng.choice(FRAMES)
            texts.append(frame.format(name=rng.choice(people).name, value=rng.choice(values[LABELS[label]])))
            labels.append(label)
        order = list(range(size))
        rng.shuffle(order)
        features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=list(LABELS))})
        return datasets.Dataset.from_dict({"text": [texts[i] for i in order], "label": [labels[i] for i in order]},
                                          features=features)
