"""The embedded synthetic language: deterministic, offline, size-configurable.

A small world of topics. Each topic owns content words (nouns, verbs, adjectives) built from
syllables, so a subword tokenizer has real work to do; function words are shared. Nouns
inflect for number and verbs agree with their subject across an optional prepositional
phrase (a long-range dependency). Documents keep to one topic, sentence after sentence, so
the corpus carries distributional signal that pretraining can store: which words go together.

Downstream tasks draw on the same world. The topic-classification task trains on one half of
each topic's words and tests on the other half, so a model can only generalise to the test
words if pretraining taught it which topic they belong to: the `none` control cannot.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "kr", "st", "pl", "tr", "gl"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]
CODAS = ["", "", "", "n", "r", "l", "s", "k"]
DETERMINERS = ["the", "a", "every", "this", "that"]
PREPOSITIONS = ["near", "behind", "under", "with", "beside"]
CONNECTIVES = ["then", "later", "also", "so"]
SINGULAR_VERB, PLURAL_VERB = "es", "on"  # verb agreement suffixes
PLURAL_NOUN = "im"


@dataclass(frozen=True)
class Topic:
    nouns: tuple[str, ...]
    verbs: tuple[str, ...]
    adjectives: tuple[str, ...]


@dataclass(frozen=True)
class World:
    """The lexicon: ``topics[t]`` holds topic ``t``'s content words; ``general`` is shared."""

    topics: tuple[Topic, ...]
    general: Topic
    seed: int = 0


def _pseudo_word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables))


@lru_cache(maxsize=8)
def make_world(seed: int = 0, topics: int = 6, nouns: int = 40, verbs: int = 20, adjectives: int = 16) -> World:
    """A deterministic lexicon: every word unique, 2-3 syllables, none a function word."""
    rng = random.Random(f"world-{seed}")
    taken = set(DETERMINERS + PREPOSITIONS + CONNECTIVES)

    def words(n: int) -> tuple[str, ...]:
        out = []
        while len(out) < n:
            w = _pseudo_word(rng, rng.choice((2, 2, 3)))
            if w not in taken:
                taken.add(w)
                out.append(w)
        return tuple(out)

    def topic() -> Topic:
        return Topic(words(nouns), words(verbs), words(adjectives))

    return World(topics=tuple(topic() for _ in range(topics)), general=topic(), seed=seed)


def _zipf_choice(rng: random.Random, items: tuple[str, ...] | list[str]) -> str:
    # Zipf-like: rank r drawn with weight 1/(r+1), so frequencies differ as in natural text.
    weights = _zipf_weights(len(items))
    return rng.choices(items, cum_weights=weights)[0]


@lru_cache(maxsize=64)
def _zipf_weights(n: int) -> list[float]:
    total, out = 0.0, []
    for r in range(n):
        total += 1.0 / (r + 1)
        out.append(total)
    return out


def _noun_phrase(rng: random.Random, words: Topic, plural: bool, adj_p: float = 0.4) -> list[str]:
    out = [rng.choice(DETERMINERS) if not plural else rng.choice(("the", "some", "many"))]
    if rng.random() < adj_p:
        out.append(_zipf_choice(rng, words.adjectives))
    noun = _zipf_choice(rng, words.nouns)
    out.append(noun + PLURAL_NOUN if plural else noun)
    return out


def sentence(rng: random.Random, world: World, topic: Topic, topic_p: float = 0.85) -> str:
    """Subject (+ PP) + agreeing verb + object. Content words come from ``topic`` with
    probability ``topic_p`` and from the shared lexicon otherwise."""

    def pick() -> Topic:
        return topic if rng.random() < topic_p else world.general

    plural = rng.random() < 0.4
    words = _noun_phrase(rng, pick(), plural)
    if rng.random() < 0.35:  # the PP separates subject and verb: agreement spans it
        words += [rng.choice(PREPOSITIONS)] + _noun_phrase(rng, pick(), rng.random() < 0.5)
    verb = _zipf_choice(rng, pick().verbs)
    words.append(verb + (PLURAL_VERB if plural else SINGULAR_VERB))
    words += _noun_phrase(rng, pick(), rng.random() < 0.4)
    if rng.random() < 0.2:
        words.insert(0, rng.choice(CONNECTIVES))
    return " ".join(words) + " ."


def document(rng: random.Random, world: World) -> list[str]:
    """One document: a topic, then 4-10 sentences about it."""
    topic = world.topics[rng.randrange(len(world.topics))]
    return [sentence(rng, world, topic) for _ in range(rng.randint(4, 10))]


def corpus(documents: int, seed: int = 0) -> list[list[str]]:
    """``documents`` documents, each a list of sentences; the same arguments give the same text."""
    world = make_world(seed)
    rng = random.Random(f"corpus-{seed}")
    return [document(rng, world) for _ in range(documents)]


def split_topic(topic: Topic, held_out: bool) -> Topic:
    """Even-ranked words (train side) or odd-ranked words (held-out side) of a topic.
    Interleaving by rank keeps both halves' frequency profiles alike."""
    part = 1 if held_out else 0
    return Topic(topic.nouns[part::2], topic.verbs[part::2], topic.adjectives[part::2])
