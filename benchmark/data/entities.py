"""People of the synthetic world: attributes, the paraphrases that state them, and questions about them.

Every person has a home city, a profession and a pet. The pretraining corpus states each fact
in several paraphrases (``templates``) and never as a question; the closed-book QA task asks
the questions (``QUESTIONS``) that the corpus never contains, so answering needs what
pretraining stored plus the mapping from question to fact that finetuning teaches. People are
mentioned with Zipfian frequency: the first people are famous, the last are rarely named.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from benchmark.data.lexicon import Lexicon

ATTRIBUTES = ("city", "profession", "pet")


@dataclass(frozen=True)
class Person:
    name: str
    city: str
    profession: str
    pet: str

    def value(self, attribute: str) -> str:
        return getattr(self, attribute)


def values_of(lexicon: Lexicon, attribute: str) -> tuple[str, ...]:
    """Every value ``attribute`` can take: the cities, professions or animals of the lexicon."""
    return {"city": lexicon.cities, "profession": lexicon.professions, "pet": lexicon.animals}[attribute]


def make_people(lexicon: Lexicon, seed: int, fresh: bool = False) -> tuple[Person, ...]:
    """One person per name, attributes drawn uniformly (so no answer is a safe guess)."""
    rng = random.Random(f"people-{seed}-{fresh}")
    names = lexicon.fresh_names if fresh else lexicon.names
    return tuple(Person(name, rng.choice(lexicon.cities), rng.choice(lexicon.professions), rng.choice(lexicon.animals))
                 for name in names)


# Statements of one fact, in the pretraining corpus and in reading contexts. {name} and {value} are filled in.
STATEMENTS: dict[str, tuple[str, ...]] = {
    "city": (
        "{name} lives in {value} .",
        "the home of {name} is {value} .",
        "in {value} lives {name} .",
        "{name} is from {value} .",
    ),
    "profession": (
        "{name} works as a {value} .",
        "{name} is a {value} .",
        "the job of {name} is {value} .",
        "as a {value} , {name} works every day .",
    ),
    "pet": (
        "{name} keeps a {value} .",
        "the pet of {name} is a {value} .",
        "{name} has a {value} at home .",
        "at home , {name} keeps a {value} .",
    ),
}

# Relative clauses that state a fact inside another sentence: "{name} , who lives in {value} , ..."
EMBEDDED: dict[str, str] = {
    "city": "who lives in {value}",
    "profession": "who works as a {value}",
    "pet": "who keeps a {value}",
}

# Questions never appear in the pretraining corpus.
QUESTIONS: dict[str, tuple[str, ...]] = {
    "city": ("where does {name} live ?", "which city is the home of {name} ?"),
    "profession": ("what does {name} work as ?", "what is the profession of {name} ?"),
    "pet": ("what pet does {name} keep ?", "which animal does {name} keep at home ?"),
}


def statement(rng: random.Random, person: Person, attribute: str) -> str:
    return rng.choice(STATEMENTS[attribute]).format(name=person.name, value=person.value(attribute))


def introduction(person: Person) -> str:
    """The sentence that opens a biography: all three facts at once."""
    return f"{person.name} is a {person.profession} from {person.city} and keeps a {person.pet} ."
