"""Reading comprehension in the synthetic language: find the answer span in a short context."""

from __future__ import annotations

import random
import re

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import synthetic
from benchmark.data.entities import ATTRIBUTES, EMBEDDED, QUESTIONS, STATEMENTS, Person, values_of
from benchmark.tasks.base import Params


class ExtractiveQAParams(Params):
    train_size: int = Field(320, ge=10)  # 80 steps: long inputs, the dearest task per step
    test_size: int = Field(300, ge=10)
    people: int = Field(3, ge=2, le=5)  # people per context: the others are distractors
    held_out_paraphrases: bool = True  # test contexts word facts only in ways training contexts never do
    held_out_values: bool = True  # test answers are cities, professions and animals training never shows


@registry.tasks.register("synthetic_extractive_qa")
class SyntheticExtractiveQA:
    """Who has which fact? A question about one person, answered by a span of a given context.

    A context states facts about ``people`` people whom the pretraining corpus never mentions
    (so the answer must be read, not recalled), in paraphrases the pretraining corpus uses.
    Every person has the asked attribute with a different value, so the model must match the
    name, not the kind of word. With ``held_out_paraphrases`` training contexts use half of
    each attribute's statement forms and test contexts the other half plus facts inside a
    relative clause ("A , who lives in X , knows B ."): only a model that learnt from
    pretraining what those forms mean can read them. Training and test contexts are about
    disjoint sets of people. Columns: question, context, answer, answer_start (a character
    offset into the context).
    """

    Params = ExtractiveQAParams
    format = "extractive_qa"

    def __init__(self, params: ExtractiveQAParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        world = synthetic.make_world(corpus.seed)
        return datasets.DatasetDict({
            "train": self._split(world, 0, self.params.train_size, f"reading-train-{corpus.seed}"),
            "test": self._split(world, 1, self.params.test_size, f"reading-test-{corpus.seed}"),
        })

    def _split(self, world: synthetic.World, side: int, size: int, seed: str) -> datasets.Dataset:
        rng = random.Random(seed)
        people = world.fresh_people[side::2]
        held_out = self.params.held_out_paraphrases
        forms = {a: t[side::2] if held_out else t for a, t in STATEMENTS.items()}
        embedded_p = (0.3 if side else 0.0) if held_out else 0.15
        values = {a: values_of(world.lexicon, a)[side::2] if self.params.held_out_values else values_of(world.lexicon, a)
                  for a in ATTRIBUTES}
        rows = {"question": [], "context": [], "answer": [], "answer_start": []}
        for _ in range(size):
            question, context, answer = self._example(rng, values, people, forms, embedded_p)
            rows["question"].append(question)
            rows["context"].append(context)
            rows["answer"].append(answer)
            rows["answer_start"].append(re.search(rf"(?<!\S){answer}(?!\S)", context).start())
        return datasets.Dataset.from_dict(rows)

    def _example(self, rng: random.Random, values: dict[str, tuple[str, ...]], pool: tuple[Person, ...],
                 forms: dict[str, tuple[str, ...]], embedded_p: float) -> tuple[str, str, str]:
        asked = rng.choice(ATTRIBUTES)
        people = rng.sample(pool, self.params.people)
        # values of each attribute are distinct within a context, so every answer occurs once
        chosen = {a: rng.sample(values[a], self.params.people) for a in ATTRIBUTES}
        sentences = []
        for k, person in enumerate(people):
            facts = [asked] + [a for a in ATTRIBUTES if a != asked and rng.random() < 0.15]
            for attribute in facts:
                value = chosen[attribute][k]
                if rng.random() < embedded_p:
                    other = people[(k + 1) % len(people)].name
                    sentences.append(f"{person.name} , {EMBEDDED[attribute].format(value=value)} , knows {other} .")
                else:
                    sentences.append(rng.choice(forms[attribute]).format(name=person.name, value=value))
        rng.shuffle(sentences)
        target = rng.randrange(len(people))
        question = rng.choice(QUESTIONS[asked]).format(name=people[target].name)
        return question, " ".join(sentences), chosen[asked][target]
