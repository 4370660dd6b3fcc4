"""Closed-book questions about people of the synthetic world: answers only the pretraining corpus states."""

from __future__ import annotations

import math
import random

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import synthetic
from benchmark.data.entities import ATTRIBUTES, QUESTIONS, Person
from benchmark.errors import ObjbenchError
from benchmark.tasks.base import Params


class ClosedQAParams(Params):
    train_size: int = Field(500, ge=10)  # distinct (person, attribute) questions
    test_size: int = Field(300, ge=10)
    min_mentions: int = Field(1, ge=1)  # only facts the corpus states at least this often are asked


@registry.tasks.register("synthetic_closed_qa")
class SyntheticClosedQA:
    """"Where does X live?" with no context: the answer is in the pretraining corpus and nowhere else.

    Only facts that the suite's corpus states (``synthetic.stated_facts``) are asked about,
    each (person, attribute) at most once, drawn without replacement in proportion to how often
    the corpus states it, as QA data over-represents famous entities. People alternate by
    fame rank between the training and the test side, so no test question is about a person
    that finetuning shows. A model that stored the facts it read can answer; the ``none``
    control can only guess within the attribute's values (uniform: 1/24 cities, 1/20
    professions, 1/16 animals). Question wording never occurs in the corpus.
    Metrics: SQuAD exact match and token F1.
    """

    Params = ClosedQAParams
    format = "closed_book_qa"

    def __init__(self, params: ClosedQAParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        if corpus.source != "synthetic":
            raise ObjbenchError("synthetic_closed_qa asks about facts of the synthetic corpus; "
                                f"corpus.source is {corpus.source!r}")
        world = synthetic.make_world(corpus.seed)
        mentions = synthetic.stated_facts(corpus.documents, corpus.seed)
        return datasets.DatasetDict({
            side: self._split(world, mentions, i, size, f"closed-qa-{side}-{corpus.seed}")
            for i, (side, size) in enumerate((("train", self.params.train_size), ("test", self.params.test_size)))
        })

    def _split(self, world: synthetic.World, mentions, side: int, size: int, seed: str) -> datasets.Dataset:
        rng = random.Random(seed)
        people: tuple[Person, ...] = world.people[side::2]
        pairs = [(p, a) for p in people for a in ATTRIBUTES if mentions[(p.name, a)] >= self.params.min_mentions]
        if size > len(pairs):
            raise ObjbenchError(f"synthetic_closed_qa: the corpus states {len(pairs)} facts about the "
                                f"{'test' if side else 'training'} side's people, fewer than the {size} asked for; "
                                "lower the size or raise corpus.documents")
        # weighted sampling without replacement (Efraimidis & Spirakis 2006): the largest keys u**(1/w),
        # here as logarithms, log(u) / w with w = the number of statements
        keys = [math.log(1.0 - rng.random()) / mentions[(p.name, a)] for p, a in pairs]
        chosen = sorted(range(len(pairs)), key=keys.__getitem__, reverse=True)[:size]
        rows = {"question": [], "answer": [], "attribute": [], "mentions": []}
        for person, attribute in (pairs[c] for c in chosen):
            rows["question"].append(rng.choice(QUESTIONS[attribute]).format(name=person.name))
            rows["answer"].append(person.value(attribute))
            rows["attribute"].append(attribute)
            rows["mentions"].append(mentions[(person.name, attribute)])
        return datasets.Dataset.from_dict(rows)
