"""The embedded synthetic world and its pretraining corpus: deterministic, offline, size-configurable.

The world (``make_world``) is a lexicon (``lexicon.py``: 910 content lemmas in ~1,900
inflected forms, 1,800 names and 24 cities, 3,700 word types in all; Zipfian frequencies,
suffixing morphology), a recursive grammar with agreement across PPs and relative clauses
(``grammar.py``), a second language that renders the same trees head-final
(``second_language.py``), and 1,200 people with a home city, a profession and a pet
(``entities.py``).

The corpus mixes four kinds of multi-sentence document, each with an order that carries
signal (introductions come first, "finally" and verdicts come last):

- narratives: one topic's words, a protagonist introduced indefinitely and then referred to
  definitely; the topic structure is what ``synthetic_topic`` classifies;
- biographies: a person's facts in several paraphrases, people chosen with Zipfian frequency,
  plus one fact about an acquaintance;
- reviews: a reviewer (with one fact about them), then 5-8 sentences dense with evaluative
  adjectives of one polarity, some closed by a verdict ("so people like it"): polarity is
  learnt from co-occurrence, the way topics are;
- narratives in the second language (monolingual: no translation pairs are ever shown).

Acquaintances and reviewers are everyone in turn, so with the default 3,000 documents every
person is mentioned with at least one fact. ``stated_facts`` counts what the corpus states.

Downstream tasks draw on the same world (``benchmark/tasks/synthetic_*.py``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from benchmark.data import grammar, second_language
from benchmark.data.entities import ATTRIBUTES, EMBEDDED, Person, introduction, make_people, statement
from benchmark.data.grammar import Clause, NounPhrase, Words
from benchmark.data.lexicon import Lexicon, Topic, make_lexicon, zipf_choice, zipf_index

# Bump whenever the generated text changes: caches keyed on the corpus settings must not outlive it.
GENERATOR_VERSION = 2
# Shares of the corpus by document kind.
DOCUMENT_KINDS = {"narrative": 0.35, "biography": 0.25, "review": 0.25, "second_language": 0.15}
VERDICTS = {True: "so people like it", False: "so people avoid it"}


@dataclass(frozen=True)
class World:
    """Everything the corpus and the synthetic tasks are generated from, for one seed."""

    lexicon: Lexicon
    people: tuple[Person, ...]  # in order of fame: person i is mentioned ~1/(i+1) as often as person 0
    fresh_people: tuple[Person, ...]  # never in the corpus: for reading tasks
    seed: int = 0

    @property
    def topics(self) -> tuple[Topic, ...]:
        return self.lexicon.topics

    @property
    def general(self) -> Topic:
        return self.lexicon.general


@lru_cache(maxsize=8)
def make_world(seed: int = 0) -> World:
    lexicon = make_lexicon(seed)
    return World(lexicon, make_people(lexicon, seed), make_people(lexicon, seed, fresh=True), seed)


def sentence(rng: random.Random, world: World, topic: Topic, topic_p: float = 0.85, depth: int = 1) -> str:
    """One source-language sentence whose content words come from ``topic`` with probability ``topic_p``."""
    return grammar.render(grammar.random_clause(rng, Words(topic, world.general, topic_p), depth=depth))


def split_topic(topic: Topic, held_out: bool) -> Topic:
    """Even-ranked words (train side) or odd-ranked words (held-out side) of a topic.
    Interleaving by rank keeps both halves' frequency profiles alike."""
    part = 1 if held_out else 0
    return Topic(topic.nouns[part::2], topic.verbs[part::2], topic.adjectives[part::2])


def narrative_clauses(rng: random.Random, world: World) -> list[Clause]:
    """A topic, a protagonist introduced as "a/some X" and later "the X", 4-8 clauses in order."""
    words = Words(world.topics[rng.randrange(len(world.topics))], world.general)
    is_plural = rng.random() < 0.3
    head, adjective = words.noun(rng), words.adjective(rng) if rng.random() < 0.5 else None
    introduced = NounPhrase(head, is_plural, "some" if is_plural else "a", adjective)
    again = NounPhrase(head, is_plural, "the")
    n = rng.randint(4, 8)
    clauses = [grammar.random_clause(rng, words, subject=introduced)]
    for i in range(1, n):
        subject = again if rng.random() < 0.45 else None
        clauses.append(grammar.with_connective(rng, grammar.random_clause(rng, words, subject=subject), i, i == n - 1))
    return clauses


Fact = tuple[str, str]  # (person's name, attribute) stated by a sentence


def biography(rng: random.Random, world: World, person: Person, acquaintance: Person) -> tuple[list[str], list[Fact]]:
    """Introduction first, then each fact again in a random paraphrase, events, and an acquaintance."""
    sentences = [introduction(person)]
    facts_stated = [(person.name, a) for a in ATTRIBUTES] * 2
    facts = [statement(rng, person, a) for a in ATTRIBUTES]
    words = Words(world.topics[rng.randrange(len(world.topics))], world.general)
    event = grammar.random_clause(rng, words, depth=1, copular_p=0.0,
                                  subject=NounPhrase(person.name, proper=True))
    event_words = grammar.clause_words(event)
    if rng.random() < 0.5:  # "{name} , who lives in {city} , chases ..." : a fact inside another sentence
        attribute = rng.choice(ATTRIBUTES)
        inside = EMBEDDED[attribute].format(value=person.value(attribute))
        event_words = [person.name, ",", inside, ","] + event_words[1:]
        facts_stated.append((person.name, attribute))
    sentences += rng.sample(facts, len(facts)) + [" ".join(event_words) + " ."]
    attribute = rng.choice(ATTRIBUTES)
    sentences.append(f"finally , {person.name} knows {acquaintance.name} , "
                     f"{EMBEDDED[attribute].format(value=acquaintance.value(attribute))} .")
    return sentences, facts_stated + [(acquaintance.name, attribute)]


def review(rng: random.Random, world: World, reviewer: Person) -> tuple[list[str], list[Fact]]:
    """A reviewer (and one fact about them), evaluative sentences of one polarity about one thing, the verdict."""
    positive = rng.random() < 0.5
    pool = world.lexicon.positive if positive else world.lexicon.negative
    words = Words(world.topics[rng.randrange(len(world.topics))], world.general)
    item = NounPhrase(words.noun(rng), False, "the")
    attribute = rng.choice(ATTRIBUTES)
    opening = f"{reviewer.name} , {EMBEDDED[attribute].format(value=reviewer.value(attribute))} , "
    sentences = [opening + f"writes about the {item.head} ."]
    for _ in range(rng.randint(5, 8)):  # dense: polarity is learnt the way topics are, from co-occurrence
        if rng.random() < 0.5:
            text = grammar.render(Clause(item, adjective=zipf_choice(rng, pool)))
            if rng.random() < 0.5:  # two of a kind: "the X is A and B ."
                text = text[:-2] + f" and {zipf_choice(rng, pool)} ."
        else:  # attributive: "a <adjective> <noun> <verb>s the <adjective> <noun>"
            subject = replace(grammar.random_noun_phrase(rng, words, 0, is_plural=False), adjective=zipf_choice(rng, pool))
            clause = grammar.random_clause(rng, words, depth=0, copular_p=0.0, subject=subject)
            text = grammar.render(replace(clause, object=replace(clause.object, adjective=zipf_choice(rng, pool))))
        if rng.random() < 0.5:
            text = text[:-2] + f" , {VERDICTS[positive]} ."
        sentences.append(text)
    return sentences + [f"finally , {VERDICTS[positive]} ."], [(reviewer.name, attribute)]


def _documents(documents: int, seed: int) -> Iterator[tuple[list[str], list[Fact]]]:
    """Each document with the facts about people that it states."""
    world = make_world(seed)
    rng = random.Random(f"corpus-{seed}")
    # acquaintances and reviewers: every person in turn (then again), so everyone is mentioned
    rotation = list(world.people)
    random.Random(f"acquaintances-{seed}").shuffle(rotation)
    kinds, weights = zip(*DOCUMENT_KINDS.items())
    met = 0
    for _ in range(documents):
        kind = rng.choices(kinds, weights=weights)[0]
        if kind == "narrative":
            yield [grammar.render(c) for c in narrative_clauses(rng, world)], []
        elif kind == "second_language":
            yield [second_language.render(c) for c in narrative_clauses(rng, world)], []
        elif kind == "biography":
            person = world.people[zipf_index(rng, len(world.people))]
            yield biography(rng, world, person, rotation[met % len(rotation)])
            met += 1
        else:
            yield review(rng, world, rotation[met % len(rotation)])
            met += 1


def corpus(documents: int, seed: int = 0) -> list[list[str]]:
    """``documents`` documents, each a list of sentences; the same arguments give the same text."""
    return [doc for doc, _ in _documents(documents, seed)]


@lru_cache(maxsize=8)
def stated_facts(documents: int, seed: int = 0) -> Counter:
    """How many sentences of ``corpus(documents, seed)`` state each (person's name, attribute)."""
    return Counter(fact for _, facts in _documents(documents, seed) for fact in facts)


def document(rng: random.Random, world: World) -> list[str]:
    """One source-language narrative document."""
    return [grammar.render(c) for c in narrative_clauses(rng, world)]
