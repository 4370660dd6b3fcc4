"""The second synthetic language: the same clause trees, head-final word order, agglutinative morphology.

Where the first language says ``the big dogim near a kat chaseon many birdim .`` (SVO,
prepositions, adjective before the noun, relative clause after it, number agreement on the
verb), the second says ``god na pesi tukri pekri ko pertrike dua chozitu .``: subject-object-
verb, postpositions, PPs and relative clauses before the noun, adjective and determiner after
it, plural and object case as noun suffixes, tense and agreement as verb suffixes, negation as
a verb prefix.

Content words are cognates: each lemma changes by fixed sound correspondences (vowels
rotate, voiced and voiceless stops swap), which is learnable from a few thousand pairs the
way related languages are. Names and cities are not translated.
"""

from __future__ import annotations

import re

from benchmark.data.grammar import Clause, NounPhrase, PrepPhrase, RelativeClause

PLURAL, OBJECT_CASE = "ri", "ke"
SINGULAR_AGREEMENT, PLURAL_AGREEMENT, PAST, RELATIVE = "ta", "tu", "su", "en"
NEGATION = "mo"
FUNCTION_WORD_TRANSLATIONS = {
    "the": "ko", "a": "na", "every": "sin", "this": "tia", "each": "sei",
    "some": "mel", "many": "dua", "these": "tiar", "several": "omi",
    "near": "pesi", "behind": "otu", "under": "alum", "with": "sam", "beside": "kiru",
    "then": "asi", "later": "posa", "also": "tam", "so": "ergo", "finally": "fin",
}
_VOWELS = {"a": "o", "e": "i", "i": "e", "o": "u", "u": "a", "ai": "ei", "ou": "au"}
_CONSONANTS = str.maketrans("bpdtgkvfzs", "pbtdkgfvsz")
_UNITS = re.compile(r"ai|ou|[aeiou]|[^aeiou]+")


def cognate(lemma: str) -> str:
    """The second language's lemma for ``lemma``: a one-to-one sound change."""
    return "".join(_VOWELS.get(u, u.translate(_CONSONANTS)) for u in _UNITS.findall(lemma))


def noun_phrase_words(np: NounPhrase, object_case: bool = False) -> list[str]:
    """Modifier, head noun (+plural, +object case), adjective (+plural), determiner."""
    out: list[str] = []
    if isinstance(np.modifier, PrepPhrase):
        out += noun_phrase_words(np.modifier.object) + [FUNCTION_WORD_TRANSLATIONS[np.modifier.preposition]]
    elif isinstance(np.modifier, RelativeClause):
        rel = np.modifier
        # subject gap: the other noun phrase is the relative clause's object and takes the case
        out += noun_phrase_words(rel.other, object_case=not rel.object_gap) + [cognate(rel.verb) + RELATIVE]
    if np.proper:
        return out + [np.head + (OBJECT_CASE if object_case else "")]
    number = PLURAL if np.plural else ""
    out.append(cognate(np.head) + number + (OBJECT_CASE if object_case else ""))
    if np.adjective:
        out.append(cognate(np.adjective) + number)
    out.append(FUNCTION_WORD_TRANSLATIONS[np.determiner])
    return out


def clause_words(clause: Clause) -> list[str]:
    out = [FUNCTION_WORD_TRANSLATIONS[clause.connective]] if clause.connective else []
    out += noun_phrase_words(clause.subject)
    if clause.object is not None:
        out += noun_phrase_words(clause.object, object_case=True)
    stem = cognate(clause.verb if clause.verb is not None else clause.adjective)
    agreement = PLURAL_AGREEMENT if clause.subject.plural else SINGULAR_AGREEMENT
    out.append((NEGATION if clause.negated else "") + stem + (PAST if clause.past else "") + agreement)
    return out


def render(clause: Clause) -> str:
    return " ".join(clause_words(clause)) + " ."
