"""The embedded synthetic world: lexicon, grammar, people, documents, and the data of the synthetic tasks."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict

import numpy as np
import pytest

from benchmark import registry
from benchmark.config import CorpusConfig
from benchmark.data import grammar, second_language, synthetic
from benchmark.data.entities import ATTRIBUTES, EMBEDDED, QUESTIONS, STATEMENTS
from benchmark.data.grammar import Clause, NounPhrase, PrepPhrase, RelativeClause, Words
from benchmark.data.lexicon import (
    FUNCTION_WORDS,
    PLURAL_DETERMINERS,
    SINGULAR_DETERMINERS,
    agent_noun,
    plural,
    verb_form,
)
from benchmark.tasks.synthetic_entity_typing import FRAMES as SyntheticEntityTypingFrames
from benchmark.tasks.synthetic_minimal_pairs import PHENOMENA

DEFAULT_DOCUMENTS = CorpusConfig().documents


@pytest.fixture(scope="module")
def world():
    return synthetic.make_world(0)


@pytest.fixture(scope="module")
def default_corpus():
    return synthetic.corpus(DEFAULT_DOCUMENTS, 0)


def task_data(name: str, **params):
    task = registry.tasks.get(name)
    return task(task.Params(**params)).load(CorpusConfig())


def test_corpus_is_deterministic_lists_of_sentences():
    docs = synthetic.corpus(40, 0)
    assert docs == synthetic.corpus(40, 0)
    assert docs != synthetic.corpus(40, 1)
    assert all(isinstance(doc, list) and len(doc) >= 2 for doc in docs)
    assert all(isinstance(s, str) and s.endswith(" .") for doc in docs for s in doc)


def test_lexicon_has_2000_word_types_and_the_corpus_uses_them(world, default_corpus):
    types = world.lexicon.word_types()
    assert len(types) >= 2000
    used = {w for doc in default_corpus for s in doc for w in s.split()}
    assert len(used & types) >= 2000
    # every word of a first-language document is a lexicon form, a function word or punctuation
    rng, sentences = random.Random(0), []
    for i in range(100):
        sentences += synthetic.document(rng, world)
        sentences += synthetic.biography(rng, world, world.people[i], world.people[-i])[0]
        sentences += synthetic.review(rng, world, world.people[i])[0]
    assert not {w for s in sentences for w in s.split()} - types - FUNCTION_WORDS - {".", ","}


def test_inflected_forms_never_collide(world):
    lexicon = world.lexicon
    forms = Counter()
    for noun in lexicon.nouns():
        forms.update({noun, plural(noun)})
    for verb in lexicon.verbs():
        forms.update({verb_form(verb, False), verb_form(verb, True), verb_form(verb, False, past=True)})
    forms.update(set(lexicon.adjectives()) | set(lexicon.names) | set(lexicon.cities))
    assert max(forms.values()) == 1  # one surface form, one reading
    assert all(agent_noun(v) in lexicon.professions for v in lexicon.work_verbs)


def test_word_frequencies_are_zipfian(default_corpus):
    counts = np.array(sorted(Counter(w for d in default_corpus for s in d for w in s.split()).values(), reverse=True),
                      dtype=float)
    ranks = np.arange(1, len(counts) + 1)
    middle = slice(9, 2000)  # past the function words, before the hapaxes
    slope, intercept = np.polyfit(np.log(ranks[middle]), np.log(counts[middle]), 1)
    residual = np.log(counts[middle]) - (slope * np.log(ranks[middle]) + intercept)
    r2 = 1 - residual.var() / np.log(counts[middle]).var()
    assert -1.4 < slope < -0.8 and r2 > 0.95


def _fact_patterns():
    patterns = []
    for attribute, templates in STATEMENTS.items():
        for i, template in enumerate(templates):
            rx = re.escape(template).replace(r"\{name\}", r"(?P<name>\S+)").replace(r"\{value\}", r"(?P<value>\S+)")
            patterns.append((attribute, f"statement {i}", re.compile(f"^{rx}$")))
    for attribute, template in EMBEDDED.items():
        rx = r"(?P<name>\S+) , " + re.escape(template).replace(r"\{value\}", r"(?P<value>\S+)") + r" [,.]"
        patterns.append((attribute, "relative clause", re.compile(rx)))
    introduction = r"^(?P<name>\S+) is a (?P<profession>\S+) from (?P<city>\S+) and keeps a (?P<pet>\S+) \.$"
    for attribute in ATTRIBUTES:
        patterns.append((attribute, "introduction", re.compile(introduction.replace(f"?P<{attribute}>", "?P<value>"))))
    return patterns


@pytest.fixture(scope="module")
def paraphrases(world, default_corpus):
    """(name, attribute) -> the paraphrases stating it in the corpus, read off the text; checks each is true."""
    people = {p.name: p for p in world.people}
    found = defaultdict(set)
    for doc in default_corpus:
        for s in doc:
            for attribute, template, pattern in _fact_patterns():
                for m in pattern.finditer(s):
                    if m["name"] in people:
                        assert people[m["name"]].value(attribute) == m["value"], s
                        found[m["name"], attribute].add(template)
    return found


def test_people_facts_are_stated_truthfully_in_several_paraphrases(world, paraphrases):
    assert len(world.people) >= 1000
    assert len({name for name, _ in paraphrases}) >= 1000  # every person is mentioned with a fact
    for attribute in ATTRIBUTES:
        assert len(set().union(*(t for (_, a), t in paraphrases.items() if a == attribute))) >= 4
    famous = [p.name for p in world.people[:10]]
    assert all(len(paraphrases[name, a]) >= 3 for name in famous for a in ATTRIBUTES)
    # the bookkeeping the closed-book task relies on agrees with the text
    stated = synthetic.stated_facts(DEFAULT_DOCUMENTS, 0)
    assert set(stated) == set(paraphrases)


def test_sentence_order_carries_signal(default_corpus):
    for doc in default_corpus:
        assert not doc[0].startswith(("finally", "then", "later", "also", "so "))
        assert all(not s.startswith("finally") for s in doc[:-1])
    assert sum(doc[-1].startswith("finally") for doc in default_corpus) > 0.5 * len(default_corpus)


def _main_verb(clause: Clause) -> str:
    words = grammar.clause_words(clause)
    at = len(grammar.noun_phrase_words(clause.subject)) + (1 if clause.connective else 0)
    return words[at + (1 if clause.negated and clause.verb else 0)]


def test_agreement_holds_across_prepositional_phrases_and_relative_clauses(world):
    rng = random.Random(0)
    words = Words(world.topics[0], world.general)
    attracted = 0
    for _ in range(2000):
        clause = grammar.random_clause(rng, words, depth=2)
        subject = clause.subject
        expected = (grammar.copula(subject.plural, clause.past) if clause.verb is None
                    else verb_form(clause.verb, subject.plural, clause.past))
        assert _main_verb(clause) == expected
        other = grammar.attractor(clause)
        if other is not None and other.plural != subject.plural and not clause.past:
            attracted += 1
        if isinstance(subject.modifier, RelativeClause):
            rel, text = subject.modifier, grammar.render(clause)
            agrees_with = rel.other.plural if rel.object_gap else subject.plural
            assert f" {verb_form(rel.verb, agrees_with)} " in text
    assert attracted > 200  # long-range dependencies with a distracting noun are common


def test_hand_built_clause_in_both_languages():
    cat = NounPhrase("kat", plural=False, determiner="a")
    dogs = NounPhrase("dog", plural=True, determiner="the", adjective="big", modifier=PrepPhrase("near", cat))
    birds = NounPhrase("bird", plural=True, determiner="many")
    clause = Clause(dogs, verb="chase", object=birds)
    assert grammar.render(clause) == "the big dogim near a kat chaseon many birdim ."
    # head-final: PP before the noun, adjective and determiner after it, object case, verb last;
    # cognates by sound change: kat -> god, dog -> tuk, big -> pek, bird -> pert, chase -> chozi
    assert second_language.render(clause) == "god na pesi tukri pekri ko pertrike dua chozitu ."
    assert grammar.render(clause, "subject_verb") == "the big dogim near a kat chasees many birdim ."
    relative = Clause(NounPhrase("dog", False, "a", modifier=RelativeClause("see", birds, object_gap=True)),
                      adjective="big", negated=True)
    assert grammar.render(relative) == "a dog which many birdim seeon is not big ."
    assert second_language.render(relative) == "pertri dua ziien tuk na mopekta ."


def test_cognates_are_one_to_one(world):
    lemmas = world.lexicon.nouns() + world.lexicon.verbs() + world.lexicon.adjectives()
    assert len({second_language.cognate(w) for w in lemmas}) == len(set(lemmas))
    assert all(second_language.cognate(w) != w for w in lemmas[:50])


def test_translation_pairs_follow_the_target_word_order():
    data = task_data("synthetic_translation", train_size=200, test_size=50)
    assert not set(data["test"]["source"]) & set(data["train"]["source"])
    rng = random.Random(1)
    world = synthetic.make_world(0)
    for _ in range(300):
        clause = grammar.random_clause(rng, Words(world.topics[1], world.general), depth=1, copular_p=0.0)
        target = second_language.clause_words(clause)
        source = grammar.clause_words(clause)
        verb = second_language.cognate(clause.verb)
        assert verb in target[-1] and target[-1].endswith("tu" if clause.subject.plural else "ta")  # verb last
        assert source.index(verb_form(clause.verb, clause.subject.plural, clause.past)) < len(source) - 1  # SVO
        object_head = second_language.cognate(clause.object.head) + ("ri" if clause.object.plural else "") + "ke"
        assert object_head in target  # object case marked on the noun
        determiner = second_language.FUNCTION_WORD_TRANSLATIONS[clause.object.determiner]
        assert target.index(determiner, target.index(object_head)) > target.index(object_head)  # determiner follows


def test_minimal_pairs_differ_in_one_agreement():
    data = task_data("synthetic_minimal_pairs", test_size=200)
    assert len(data["train"]) == 0
    assert Counter(data["test"]["phenomenon"]) == {p: 50 for p in PHENOMENA}
    for good, bad, phenomenon in zip(data["test"]["good"], data["test"]["bad"], data["test"]["phenomenon"]):
        g, b = good.split(), bad.split()
        assert len(g) == len(b)
        [i] = [i for i in range(len(g)) if g[i] != b[i]]
        pair = {g[i], b[i]}
        if phenomenon == "determiner_noun":
            assert max(pair, key=len) == plural(min(pair, key=len))
            determiner = g[0]  # the subject's, which marks number
            assert (g[i] == plural(b[i])) == (determiner in PLURAL_DETERMINERS)
            assert determiner in PLURAL_DETERMINERS + SINGULAR_DETERMINERS
        else:  # the verb (or copula) has the other number
            assert pair == {"is", "are"} or {w[-2:] for w in pair} == {"es", "on"}


def test_minimal_pairs_defeat_a_preference_for_word_forms():
    """Pairs come in mirrored couples: a scorer that ignores context (a bag of word weights) is at 0.5."""
    data = task_data("synthetic_minimal_pairs", test_size=200)["test"]
    rng = random.Random(0)
    weights = defaultdict(rng.random)
    score = lambda sentence: sum(weights[w] for w in sentence.split())
    right = [score(good) > score(bad) for good, bad in zip(data["good"], data["bad"])]
    assert sum(right) == len(right) // 2
    def changed(good: str, bad: str) -> tuple[str, str]:
        [(g, b)] = [(g, b) for g, b in zip(good.split(), bad.split()) if g != b]
        return g, b

    for i in range(0, len(data), 2):  # the form that is right in one pair of a couple is wrong in the other
        g, b = changed(data["good"][i], data["bad"][i])
        assert changed(data["good"][i + 1], data["bad"][i + 1]) == (b, g)


def test_closed_qa_answers_are_in_the_corpus_and_test_questions_are_new(world, default_corpus, paraphrases):
    data = task_data("synthetic_closed_qa")
    text = " ".join(s for doc in default_corpus for s in doc)
    names = set(world.lexicon.names)

    def person(question: str) -> str:
        [name] = [w for w in question.split() if w in names]
        return name

    train_people = {person(q) for q in data["train"]["question"]}
    answers = {p.name: p for p in world.people}
    for question, answer, attribute in zip(data["test"]["question"], data["test"]["answer"], data["test"]["attribute"]):
        name = person(question)
        assert name not in train_people  # no test question is about a person finetuning shows
        assert question not in text  # questions never occur in pretraining text
        assert answers[name].value(attribute) == answer and paraphrases[name, attribute]  # stated in the corpus
    assert all(m >= 1 for m in data["test"]["mentions"])


def test_sentiment_labels_follow_negation_and_contrast():
    data = task_data("synthetic_sentiment", train_size=300, test_size=200)
    world = synthetic.make_world(0)
    polarity = {**{a: True for a in world.lexicon.positive}, **{a: False for a in world.lexicon.negative}}
    names = data["train"].features["label"].names
    test_adjectives = {w for t in data["test"]["text"] for w in t.split() if w in polarity}
    train_adjectives = {w for t in data["train"]["text"] for w in t.split() if w in polarity}
    assert not test_adjectives & train_adjectives  # held out by default
    texts = list(data["train"]["text"]) + list(data["test"]["text"])
    for text, label in zip(texts, list(data["train"]["label"]) + list(data["test"]["label"])):
        clauses = re.split(r" , but | and | , ", text.removeprefix("although ").removesuffix(" ."))
        values = [polarity[c.split()[-1]] != (" not " in f" {c} ") for c in clauses]
        if " and " in text and values[0] != values[-1]:
            assert names[label] == "mixed"
        else:
            assert names[label] == ("positive" if values[-1] else "negative")
    shares = Counter(data["train"]["label"])
    assert shares[0] > shares[1] > shares[2]  # imbalanced


def test_entity_typing_tests_entities_finetuning_never_shows_in_frames_the_corpus_never_uses(world, default_corpus):
    data = task_data("synthetic_entity_typing", train_size=120, test_size=120)
    kinds = {"city": world.lexicon.cities, "profession": world.lexicon.professions, "pet": world.lexicon.animals}
    names = data["train"].features["label"].names
    entities = {}
    for split in ("train", "test"):
        found = set()
        for text, label in zip(data[split]["text"], data[split]["label"]):
            (entity,) = [w for w in text.split() if w in kinds[names[label]]]  # exactly one, of the labelled kind
            found.add(entity)
        entities[split] = found
        assert Counter(data[split]["label"]) == {0: 40, 1: 40, 2: 40}  # balanced
    assert entities["train"] and entities["test"] and not entities["train"] & entities["test"]
    text = f" {' '.join(s for d in default_corpus for s in d)} "
    for frame in SyntheticEntityTypingFrames:  # the words around the entity carry no clue to its type
        pieces = [p.strip() for p in re.split(r"\{name\}|\{value\}", frame) if p.strip(" .")]
        assert pieces and not any(f" {p} " in text for p in pieces), frame
    assert all(f" {entity} " in text for entity in entities["test"])  # known only from pretraining


def test_extractive_qa_answers_are_spans_of_their_context():
    data = task_data("synthetic_extractive_qa", train_size=100, test_size=100)
    world = synthetic.make_world(0)
    assert not {p.name for p in world.fresh_people} & {p.name for p in world.people}
    corpus_names = set(" ".join(s for d in synthetic.corpus(200, 0) for s in d).split())
    for row in data["test"]:
        start = row["answer_start"]
        assert row["context"][start:start + len(row["answer"])] == row["answer"]
        assert row["context"].split().count(row["answer"]) == 1
        name = next(w for w in row["question"].split() if w in {p.name for p in world.fresh_people})
        assert name not in corpus_names  # a reading task: the corpus never mentions these people
    train_names = {w for c in data["train"]["context"] for w in c.split()}
    test_names = {w for c in data["test"]["context"] for w in c.split()} & {p.name for p in world.fresh_people}
    assert not test_names & train_names



@pytest.mark.parametrize("name", [name for name in registry.tasks.names() if name.startswith("synthetic_")])
def test_synthetic_tasks_are_deterministic(name):
    assert task_data(name)["test"].to_dict() == task_data(name)["test"].to_dict()


def test_questions_never_appear_as_statements():
    for templates in QUESTIONS.values():
        for q in templates:
            assert q.endswith("?") and all(not s.startswith(q.split("{")[0]) for t in STATEMENTS.values() for s in t)
