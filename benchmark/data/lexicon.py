"""The lexicon of the embedded synthetic language: pseudo-words, inflection, Zipfian sampling.

Content words are pseudo-words built from syllables, so a subword tokenizer has real work to
do; function words are English ones, so generated text stays readable. Morphology is
suffixing: nouns take a plural suffix, verbs agree with their subject in number (present
tense) or take a past suffix, and a verb derives the agent noun that names a profession
(``stak`` -> ``stakor``). Every choice of a content word is Zipfian over its class, so word
frequencies fall off with rank as in natural text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "kr", "st", "pl", "tr", "gl"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]
CODAS = ["", "", "", "n", "r", "l", "s", "k"]

NOUN_PLURAL = "im"
VERB_SINGULAR, VERB_PLURAL, VERB_PAST = "es", "on", "ak"
AGENT = "or"  # verb -> the person who does it

# Determiners carry number, so determiner-noun agreement is a checkable rule.
SINGULAR_DETERMINERS = ("a", "every", "this", "each")
PLURAL_DETERMINERS = ("some", "many", "these", "several")
BOTH_DETERMINERS = ("the",)
PREPOSITIONS = ("near", "behind", "under", "with", "beside")
CONNECTIVES = ("then", "later", "also", "so")  # inside a document; "finally" closes one
FUNCTION_WORDS = frozenset(
    SINGULAR_DETERMINERS + PLURAL_DETERMINERS + BOTH_DETERMINERS + PREPOSITIONS + CONNECTIVES
    + ("finally", "which", "who", "is", "are", "was", "were", "not", "never", "and", "but", "although", "it",
       "people", "like", "avoid", "so", "of", "in", "from", "as", "works", "lives", "keeps", "has", "at", "home",
       "job", "pet", "where", "what", "does", "live", "work", "keep", "city", "animal", "profession", "knows",
       "writes", "about", "day")
)


@dataclass(frozen=True)
class Topic:
    """Content words of one topic (or of the shared, topic-free vocabulary), most frequent first."""

    nouns: tuple[str, ...]
    verbs: tuple[str, ...]
    adjectives: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    """Every lemma of the world, by class. Tuples are in frequency-rank order where rank matters."""

    topics: tuple[Topic, ...]
    general: Topic  # shared by every topic
    positive: tuple[str, ...]  # evaluative adjectives: reviews use one polarity at a time
    negative: tuple[str, ...]
    names: tuple[str, ...]  # people of the world, stated in the pretraining corpus
    fresh_names: tuple[str, ...]  # people the pretraining corpus never mentions (reading tasks)
    cities: tuple[str, ...]
    work_verbs: tuple[str, ...]  # each derives one profession: work_verbs[i] + AGENT
    animals: tuple[str, ...]

    @property
    def professions(self) -> tuple[str, ...]:
        return tuple(agent_noun(v) for v in self.work_verbs)

    def nouns(self) -> tuple[str, ...]:
        return tuple(n for t in (*self.topics, self.general) for n in t.nouns) + self.animals + self.professions

    def verbs(self) -> tuple[str, ...]:
        return tuple(v for t in (*self.topics, self.general) for v in t.verbs) + self.work_verbs

    def adjectives(self) -> tuple[str, ...]:
        return tuple(a for t in (*self.topics, self.general) for a in t.adjectives) + self.positive + self.negative

    def word_types(self) -> frozenset[str]:
        """Every surface form the lexicon can produce: inflected nouns and verbs, adjectives, names."""
        forms = {f for n in self.nouns() for f in (n, plural(n))}
        forms |= {verb_form(v, plural=p, past=False) for v in self.verbs() for p in (False, True)}
        forms |= {verb_form(v, plural=False, past=True) for v in self.verbs()}
        return frozenset(forms | set(self.adjectives()) | set(self.names) | set(self.fresh_names) | set(self.cities))


def plural(noun: str) -> str:
    return noun + NOUN_PLURAL


def verb_form(verb: str, plural: bool, past: bool = False) -> str:
    """Present tense agrees with the subject's number; the past does not."""
    if past:
        return verb + VERB_PAST
    return verb + (VERB_PLURAL if plural else VERB_SINGULAR)


def agent_noun(verb: str) -> str:
    return verb + AGENT


def pseudo_word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables))


class WordMaker:
    """Draws pseudo-words that are unique across the whole lexicon and never a function word.

    A new word may not collide with any surface form of an earlier one either (``kel`` +
    ``im`` must not be the lemma ``kelim``), so every inflected form is unambiguous.
    """

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.taken: set[str] = set(FUNCTION_WORDS)

    def words(self, n: int, syllables: tuple[int, ...] = (2, 2, 3)) -> tuple[str, ...]:
        out = []
        while len(out) < n:
            word = pseudo_word(self.rng, self.rng.choice(syllables))
            forms = {word, plural(word), agent_noun(word), *(word + s for s in (VERB_SINGULAR, VERB_PLURAL, VERB_PAST))}
            if forms & self.taken:
                continue
            self.taken |= forms
            out.append(word)
        return tuple(out)


@dataclass(frozen=True)
class LexiconSizes:
    """How many lemmas of each class: the defaults give ~1,900 content word forms (910 lemmas) plus 1,800 names."""

    topics: int = 8
    nouns: int = 50  # per topic
    verbs: int = 24
    adjectives: int = 16
    general_nouns: int = 60
    general_verbs: int = 30
    general_adjectives: int = 20
    evaluative: int = 12  # positive and as many negative: few, so each is frequent enough to learn early
    people: int = 1200
    fresh_people: int = 600
    cities: int = 24
    professions: int = 20
    animals: int = 16


def make_lexicon(seed: int, sizes: LexiconSizes = LexiconSizes()) -> Lexicon:
    """A deterministic lexicon for ``seed``."""
    maker = WordMaker(random.Random(f"lexicon-{seed}"))

    def topic(nouns: int, verbs: int, adjectives: int) -> Topic:
        return Topic(maker.words(nouns), maker.words(verbs), maker.words(adjectives))

    topics = tuple(topic(sizes.nouns, sizes.verbs, sizes.adjectives) for _ in range(sizes.topics))
    general = topic(sizes.general_nouns, sizes.general_verbs, sizes.general_adjectives)
    return Lexicon(
        topics=topics,
        general=general,
        positive=maker.words(sizes.evaluative),
        negative=maker.words(sizes.evaluative),
        names=maker.words(sizes.people, syllables=(2, 3)),
        fresh_names=maker.words(sizes.fresh_people, syllables=(2, 3)),
        cities=maker.words(sizes.cities, syllables=(2, 3)),
        work_verbs=maker.words(sizes.professions, syllables=(1, 2)),
        animals=maker.words(sizes.animals, syllables=(1, 2)),
    )


@lru_cache(maxsize=64)
def zipf_weights(n: int, exponent: float = 1.0) -> list[float]:
    """Cumulative weights 1/rank**exponent for ranks 1..n (for ``random.choices``)."""
    total, out = 0.0, []
    for r in range(n):
        total += 1.0 / (r + 1) ** exponent
        out.append(total)
    return out


def zipf_choice(rng: random.Random, items: tuple[str, ...] | list[str]) -> str:
    """An item drawn with probability proportional to 1/rank: rank 1 is the first item."""
    return rng.choices(items, cum_weights=zipf_weights(len(items)))[0]


def zipf_index(rng: random.Random, n: int) -> int:
    return rng.choices(range(n), cum_weights=zipf_weights(n))[0]
