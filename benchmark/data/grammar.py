"""Syntax of the synthetic language: clause trees, their random generation, and English-like rendering.

A clause is subject - verb - object (or subject - copula - adjective). Noun phrases recurse:
a noun may carry a prepositional phrase or a relative clause, whose own noun phrase may carry
another, so agreement has to reach across intervening words ("the dog near the cats
chases ..."; "the dogs which the cat sees are ..."). Agreement is in number: determiner and
noun, subject and verb (present tense), subject and copula. The same trees are rendered into
the second language (``second_language.py``), which is what makes translation pairs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from benchmark.data.lexicon import (
    BOTH_DETERMINERS,
    CONNECTIVES,
    PLURAL_DETERMINERS,
    PREPOSITIONS,
    SINGULAR_DETERMINERS,
    Topic,
    plural,
    verb_form,
    zipf_choice,
)


@dataclass(frozen=True)
class NounPhrase:
    head: str  # noun lemma, or a name when ``proper``
    plural: bool = False
    determiner: str | None = None  # None for names
    adjective: str | None = None
    modifier: PrepPhrase | RelativeClause | None = None
    proper: bool = False


@dataclass(frozen=True)
class PrepPhrase:
    preposition: str
    object: NounPhrase


@dataclass(frozen=True)
class RelativeClause:
    """``which chases the cats`` (the head is the subject) or ``which the cats chase`` (``object_gap``)."""

    verb: str
    other: NounPhrase  # the relative clause's object, or with ``object_gap`` its subject
    object_gap: bool = False


@dataclass(frozen=True)
class Clause:
    subject: NounPhrase
    verb: str | None = None  # None: a copular clause, "the dog is big"
    object: NounPhrase | None = None
    adjective: str | None = None  # the predicate of a copular clause
    negated: bool = False
    past: bool = False
    connective: str | None = None  # discourse marker opening the sentence: "then", "finally", ...


class Words:
    """Where a clause draws its content words: a topic's, with probability ``topic_p``, else the shared ones."""

    def __init__(self, topic: Topic, general: Topic, topic_p: float = 0.85):
        self.topic, self.general, self.topic_p = topic, general, topic_p

    def _source(self, rng: random.Random) -> Topic:
        return self.topic if rng.random() < self.topic_p else self.general

    def noun(self, rng: random.Random) -> str:
        return zipf_choice(rng, self._source(rng).nouns)

    def verb(self, rng: random.Random) -> str:
        return zipf_choice(rng, self._source(rng).verbs)

    def adjective(self, rng: random.Random) -> str:
        return zipf_choice(rng, self._source(rng).adjectives)


def determiner_for(rng: random.Random, is_plural: bool) -> str:
    if rng.random() < 0.45:
        return BOTH_DETERMINERS[0]
    return rng.choice(PLURAL_DETERMINERS if is_plural else SINGULAR_DETERMINERS)


def random_noun_phrase(rng: random.Random, words: Words, depth: int, is_plural: bool | None = None,
                       modifier_p: float = 0.3, adjective_p: float = 0.35) -> NounPhrase:
    """A noun phrase; with probability ``modifier_p`` (while ``depth`` > 0) it carries a PP or relative clause."""
    is_plural = rng.random() < 0.4 if is_plural is None else is_plural
    modifier = None
    if depth > 0 and rng.random() < modifier_p:
        modifier = random_modifier(rng, words, depth - 1)
    return NounPhrase(head=words.noun(rng), plural=is_plural, determiner=determiner_for(rng, is_plural),
                      adjective=words.adjective(rng) if rng.random() < adjective_p else None, modifier=modifier)


def random_modifier(rng: random.Random, words: Words, depth: int,
                    other_plural: bool | None = None) -> PrepPhrase | RelativeClause:
    """A PP (60%) or a relative clause (40%) whose noun phrase recurses down to ``depth``."""
    other = random_noun_phrase(rng, words, depth, is_plural=other_plural)
    if rng.random() < 0.6:
        return PrepPhrase(rng.choice(PREPOSITIONS), other)
    return RelativeClause(words.verb(rng), other, object_gap=rng.random() < 0.4)


def random_clause(rng: random.Random, words: Words, depth: int = 2, copular_p: float = 0.25,
                  subject: NounPhrase | None = None) -> Clause:
    """A clause whose noun phrases nest up to ``depth`` levels of PPs and relative clauses."""
    subject = subject or random_noun_phrase(rng, words, depth, modifier_p=0.4)
    if rng.random() < copular_p:
        return Clause(subject, adjective=words.adjective(rng), negated=rng.random() < 0.15, past=rng.random() < 0.2)
    return Clause(subject, verb=words.verb(rng), object=random_noun_phrase(rng, words, depth - 1),
                  negated=rng.random() < 0.1, past=rng.random() < 0.2)


def with_connective(rng: random.Random, clause: Clause, position: int, last: bool) -> Clause:
    """Discourse markers that only fit their place in a document, so sentence order carries signal."""
    if position == 0:
        return clause
    if last and rng.random() < 0.6:
        return replace(clause, connective="finally")
    if rng.random() < 0.35:
        return replace(clause, connective=rng.choice(CONNECTIVES))
    return clause


# --- rendering in the source language -------------------------------------------------------

def noun_phrase_words(np: NounPhrase, number_error: bool = False) -> list[str]:
    """``the big dogim near a cat``; ``number_error`` gives the head noun the wrong number."""
    if np.proper:
        out = [np.head]
    else:
        is_plural = np.plural != number_error
        out = [np.determiner] + ([np.adjective] if np.adjective else []) + [plural(np.head) if is_plural else np.head]
    if isinstance(np.modifier, PrepPhrase):
        out += [np.modifier.preposition] + noun_phrase_words(np.modifier.object)
    elif isinstance(np.modifier, RelativeClause):
        rel = np.modifier
        pronoun = "who" if np.proper else "which"
        if rel.object_gap:
            out += [pronoun] + noun_phrase_words(rel.other) + [verb_form(rel.verb, rel.other.plural)]
        else:
            out += [pronoun, verb_form(rel.verb, np.plural)] + noun_phrase_words(rel.other)
    return out


def copula(is_plural: bool, past: bool) -> str:
    return ("were" if is_plural else "was") if past else ("are" if is_plural else "is")


def clause_words(clause: Clause, violation: str | None = None) -> list[str]:
    """The clause as words. ``violation`` breaks one agreement for a minimal pair:

    - ``"subject_verb"``: the main verb (or copula) takes the other number;
    - ``"determiner_noun"``: the subject's head noun takes the number its determiner rules out.
    """
    if violation not in (None, "subject_verb", "determiner_noun"):
        raise ValueError(f"unknown violation {violation!r}")
    agree = clause.subject.plural != (violation == "subject_verb")
    out = [clause.connective] if clause.connective else []
    out += noun_phrase_words(clause.subject, number_error=violation == "determiner_noun")
    if clause.verb is None:
        out.append(copula(agree, clause.past))
        out += ["not"] if clause.negated else []
        out.append(clause.adjective)
    else:
        out += ["never"] if clause.negated else []
        out.append(verb_form(clause.verb, agree, clause.past))
        out += noun_phrase_words(clause.object)
    return out


def render(clause: Clause, violation: str | None = None) -> str:
    """A sentence: the clause's words and a closing full stop."""
    return " ".join(clause_words(clause, violation)) + " ."


def attractor(clause: Clause) -> NounPhrase | None:
    """The noun phrase between the subject's head and its verb (the PP object or relative-clause noun), if any."""
    modifier = clause.subject.modifier
    if isinstance(modifier, PrepPhrase):
        return modifier.object
    if isinstance(modifier, RelativeClause):
        return modifier.other
    return None
