"""Zero-shot grammatical minimal pairs (BLiMP-style) in the embedded synthetic language."""

from __future__ import annotations

import random
from dataclasses import replace

import datasets
from pydantic import Field

from benchmark import registry
from benchmark.corpus_config import CorpusConfig
from benchmark.data import grammar, synthetic
from benchmark.data.grammar import PrepPhrase, RelativeClause
from benchmark.data.lexicon import PLURAL_DETERMINERS, PREPOSITIONS, SINGULAR_DETERMINERS
from benchmark.tasks.base import Params

PHENOMENA = (
    "subject_verb",  # "the dog chases ..." / "the dog chase ..."
    "across_prepositional_phrase",  # "the dog near the cats chases ..." : the attractor has the other number
    "across_relative_clause",  # "the dog which the cats see chases ..."
    "determiner_noun",  # "these dogs ..." / "these dog ..."
)


class MinimalPairsParams(Params):
    test_size: int = Field(400, ge=8)  # pairs, in mirrored couples spread evenly over the phenomena


@registry.tasks.register("synthetic_minimal_pairs")
class SyntheticMinimalPairs:
    """Which of two sentences is grammatical? Scored zero-shot by (pseudo-)likelihood, no finetuning.

    Each pair is one sentence and the same sentence with one agreement broken, so the two
    differ in one word's suffix: subject-verb (or subject-copula) agreement, alone or across a
    prepositional phrase or relative clause whose noun has the other number (an attractor), and
    determiner-noun agreement. Phenomena are equally frequent, and pairs come in mirrored couples
    (``mirrored_pairs``) so that no word form is favoured by the data. The train split is
    empty: the task measures what pretraining taught, as BLiMP does. Columns: good, bad,
    phenomenon.
    """

    Params = MinimalPairsParams
    format = "zero_shot"

    def __init__(self, params: MinimalPairsParams):
        self.params = params

    def load(self, corpus: CorpusConfig) -> datasets.DatasetDict:
        world = synthetic.make_world(corpus.seed)
        rng = random.Random(f"minimal-pairs-{corpus.seed}")
        rows = {"good": [], "bad": [], "phenomenon": []}
        for i in range(self.params.test_size // 2):
            phenomenon = PHENOMENA[i % len(PHENOMENA)]
            for good, bad in mirrored_pairs(rng, world, phenomenon):
                rows["good"].append(good)
                rows["bad"].append(bad)
                rows["phenomenon"].append(phenomenon)
        empty = datasets.Dataset.from_dict({k: [] for k in rows}, features=datasets.Dataset.from_dict(rows).features)
        return datasets.DatasetDict({"train": empty, "test": datasets.Dataset.from_dict(rows)})


def mirrored_pairs(rng: random.Random, world: synthetic.World, phenomenon: str) -> list[tuple[str, str]]:
    """Two (grammatical, ungrammatical) pairs showing ``phenomenon``: a sentence, and the same sentence
    with the subject's number (and the attractor's) flipped. Each verb and noun form is then the
    right answer exactly as often as the wrong one, so a model that merely prefers some forms (a
    random one does) scores 0.5.
    """
    words = grammar.Words(world.topics[rng.randrange(len(world.topics))], world.general)
    is_plural = rng.random() < 0.5
    subject = replace(grammar.random_noun_phrase(rng, words, depth=0, is_plural=is_plural), modifier=None)
    clause = replace(grammar.random_clause(rng, words, depth=0, subject=subject), past=False)  # past tense: no agreement
    other = grammar.random_noun_phrase(rng, words, depth=0, is_plural=not is_plural)
    preposition, verb, object_gap = rng.choice(PREPOSITIONS), words.verb(rng), rng.random() < 0.5
    determiners = {number: rng.choice(PLURAL_DETERMINERS if number else SINGULAR_DETERMINERS) for number in (False, True)}
    violation = "determiner_noun" if phenomenon == "determiner_noun" else "subject_verb"
    out = []
    for flipped in (False, True):
        number = is_plural != flipped
        if phenomenon == "determiner_noun":  # only a determiner that marks number makes the wrong noun form wrong
            determiner = determiners[number]
        else:
            determiner = "the" if flipped else subject.determiner  # "the" fits either number
        attractor = replace(other, plural=not number, determiner="the") if flipped else other
        modifier = {"across_prepositional_phrase": PrepPhrase(preposition, attractor),
                    "across_relative_clause": RelativeClause(verb, attractor, object_gap)}.get(phenomenon)
        version = replace(clause, subject=replace(subject, plural=number, determiner=determiner, modifier=modifier))
        out.append((grammar.render(version), grammar.render(version, violation)))
    return out
