"""Classical baselines: known answers for each, and one contract test per registered baseline and format."""

from __future__ import annotations

import math

import datasets
import numpy as np
import pytest
import torch
from nltk.lm.preprocessing import padded_everygram_pipeline

from benchmark import registry
from benchmark.baselines import hmm, ibm_model1, kneser_ney, sliding_window, tfidf_lr
from benchmark.baselines.base import COST_KEYS, Cost, words
from benchmark.config import CorpusConfig
from benchmark.data import synthetic
from benchmark.errors import ObjbenchError
from benchmark.formats.classification import classification_scores
from benchmark.formats.extractive_qa import gold_answers
from benchmark.formats.text_metrics import answer_scores
from benchmark.formats.translation import translation_metrics
from benchmark.formats.items import ITEMS_KEY
from benchmark.formats.zero_shot import pair_metrics
from benchmark.report.bootstrap import metric_on

BASELINES = registry.baselines.names()


def minimal_pairs(good: list[str], bad: list[str], phenomena: list[str]) -> datasets.DatasetDict:
    rows = {"good": good, "bad": bad, "phenomenon": phenomena}
    empty = datasets.Dataset.from_dict({k: [] for k in rows}, features=datasets.Dataset.from_dict(rows).features)
    return datasets.DatasetDict({"train": empty, "test": datasets.Dataset.from_dict(rows)})


# --- Kneser-Ney --------------------------------------------------------------------------------

AGREEMENT_CORPUS = [["the dog runs .", "the dogs run .", "a cat sleeps .", "the cats sleep ."],
                    ["the dog sleeps .", "the cats run .", "a dog runs ."]] * 5


def test_kneser_ney_prefers_the_grammatical_sentence_whose_bad_form_never_occurs():
    # every word of the bad sentences is seen in training, never in that order
    splits = minimal_pairs(["the dogs run .", "the cat sleeps ."], ["the dogs runs .", "the cat sleep ."],
                           ["subject_verb", "subject_verb_2"])
    entry = registry.baselines.get("kneser_ney")
    metrics, cost = entry(entry.Params(heldout_sentences=2)).fit_and_evaluate(splits, AGREEMENT_CORPUS, None, 0)
    assert metrics.pop("logprob_margin") > 0  # log p(good) - log p(bad), averaged over the pairs
    assert metrics == {"accuracy": 1.0, "accuracy_subject_verb": 1.0, "accuracy_subject_verb_2": 1.0}
    assert cost["training_sentences"] == 7 * 5 - 2
    assert math.isfinite(cost["heldout_perplexity_per_word"]) and cost["heldout_perplexity_per_word"] > 1


def test_kneser_ney_probabilities_sum_to_one_and_an_unseen_word_is_not_impossible():
    lm = kneser_ney.KneserNeyLM(order=3, discount=0.75)
    lm.fit(*padded_everygram_pipeline(3, [words(s) for doc in AGREEMENT_CORPUS for s in doc]))
    for context in [("the", "dog"), ("<s>", "<s>"), ("a", "unseen"), ("cats",), ()]:
        assert sum(lm.score(w, context) for w in lm.vocab) == pytest.approx(1.0, abs=1e-9), context
    assert math.isfinite(lm.sentence_logprob(["the", "zebra", "runs", "."]))
    assert lm.sentence_logprob(["the", "dog", "runs", "."]) > lm.sentence_logprob(["the", "zebra", "runs", "."])


# --- TF-IDF + logistic regression ---------------------------------------------------------------

def separable_splits(seed: int = 0, train: int = 60, test: int = 40, pairs: bool = False) -> datasets.DatasetDict:
    """Class 0 texts use one set of words, class 1 another; with ``pairs`` only the second text tells."""
    rng = np.random.default_rng(seed)
    vocab = [["apple", "pear", "plum", "fig"], ["stone", "rock", "sand", "clay"]]
    neutral = ["one", "two", "three", "four"]

    def split(n: int, offset: int) -> datasets.Dataset:
        labels = [(i + offset) % 2 for i in range(n)]
        texts = [" ".join(rng.choice(vocab[y], 3)) + f" {i + offset}" for i, y in enumerate(labels)]
        rows = {"text": texts, "label": labels}
        if pairs:
            rows = {"text": [" ".join(rng.choice(neutral, 3)) for _ in labels], "text_pair": texts, "label": labels}
        features = {k: datasets.Value("string") for k in rows if k != "label"}
        features["label"] = datasets.ClassLabel(names=["fruit", "mineral"])
        return datasets.Dataset.from_dict(rows, features=datasets.Features(features))
    return datasets.DatasetDict({"train": split(train, 0), "test": split(test, 1000)})


@pytest.mark.parametrize("pairs", [False, True])
def test_tfidf_lr_separates_a_linearly_separable_set(pairs):
    entry = registry.baselines.get("tfidf_lr")
    metrics, cost = entry(entry.Params()).fit_and_evaluate(separable_splits(pairs=pairs), None, None, 0)
    assert metrics["accuracy"] >= 0.9 and metrics["f1_macro"] >= 0.9
    assert cost["chosen_c"] in entry.Params().c_grid


def test_tfidf_lr_chooses_c_on_a_validation_split_carved_from_train(monkeypatch):
    splits = separable_splits()
    train_texts, test_texts = set(splits["train"]["text"]), set(splits["test"]["text"])
    calls = []  # (C, texts fitted on, texts predicted)
    original = tfidf_lr.fit_pipeline

    def spy(texts, labels, c, max_iter, seed):
        model = original(texts, labels, c, max_iter, seed)
        call = (c, list(texts), [])
        calls.append(call)
        predict = model.predict

        def recording_predict(xs):
            call[2].extend(xs)
            return predict(xs)
        model.predict = recording_predict
        return model

    monkeypatch.setattr(tfidf_lr, "fit_pipeline", spy)
    entry = registry.baselines.get("tfidf_lr")
    params = entry.Params()
    _, cost = entry(params).fit_and_evaluate(splits, None, None, 0)
    *selection, final = calls
    assert [c for c, _, _ in selection] == params.c_grid == [0.1, 1.0, 10.0]
    for _, fitted, predicted in selection:
        assert set(fitted) | set(predicted) <= train_texts  # the test split never reaches the selection
        assert not set(fitted) & set(predicted) and len(predicted) == math.ceil(0.2 * len(train_texts))
    validation = {float(c): score for c, score in cost["validation_f1_macro"].items()}
    assert cost["chosen_c"] == final[0] == max(validation, key=lambda c: (validation[c], -c))
    assert sorted(final[1]) == sorted(train_texts) and set(final[2]) == test_texts  # refit on all of train


# --- HMM ---------------------------------------------------------------------------------------

def test_hmm_log_likelihood_rises_over_em_and_a_seen_sequence_beats_an_unseen_one():
    rng = np.random.default_rng(0)
    seen = [5, 6, 7, 8, 9, 2]
    sequences = [seen] * 20 + [list(rng.integers(3, 12, size=6)) for _ in range(20)]
    model = hmm.fit_hmm(sequences, n_features=50, params=hmm.HMMParams(n_states=4, n_iter=15, tol=0), seed=0)
    history = list(model.monitor_.history)
    assert len(history) == 15 and history[-1] > history[0] + 10
    assert all(b >= a - 1e-6 for a, b in zip(history, history[1:]))  # EM never lowers the likelihood
    shuffled, unseen_id = [9, 7, 5, 8, 6, 2], [5, 6, 7, 8, 40, 2]  # same ids in another order; an id never seen
    scores = hmm.sequence_scores(model, [seen, shuffled, unseen_id])
    assert scores[0] > scores[1] and scores[0] > scores[2] and math.isfinite(scores[2])


# --- sliding window ----------------------------------------------------------------------------

def test_sliding_window_finds_the_answer_in_a_hand_made_example():
    context = "Berlin is a large city in Germany. Paris is the capital of France! Lyon lies on the Rhone."
    assert sliding_window.predict("What is the capital of France?", context, 4) == "Paris"
    # "Ada" and "Ada Lovelace" score the same (neither holds a question word): the shorter span wins
    assert sliding_window.predict("Who founded the company?", "The rain fell. Ada Lovelace founded the company.",
                                  4) == "Ada"


def test_sliding_window_scores_the_best_window_around_the_candidate():
    # tokens 0..5; question-word weights at 1 and 4; windows of 3 tokens holding token 2 start at 0, 1 or 2
    weights = [0.0, 1.0, 0.0, 0.0, 2.0, 0.0]
    sums = [0.0, *np.cumsum(weights)]
    assert sliding_window.window_score(sums, 2, 2, 3) == 2.0  # tokens 2..4
    assert sliding_window.window_score(sums, 2, 2, 2) == 1.0  # tokens 1..2
    assert sliding_window.window_score(sums, 1, 1, 1) == 0.0  # the candidate's own word is left out


def test_sliding_window_reports_squad_scores_against_every_gold_answer():
    rows = {"question": ["What is the capital of France?"], "context": ["Paris is the capital of France."],
            "answer": ["the city of Paris"], "answer_start": [0], "answers": [["the city of Paris", "Paris"]]}
    split = datasets.Dataset.from_dict(rows)
    entry = registry.baselines.get("sliding_window")
    metrics, _ = entry(entry.Params()).fit_and_evaluate(datasets.DatasetDict({"train": split, "test": split}),
                                                        None, None, 0)
    assert metrics == {"exact_match": 1.0, "f1": 1.0, "span_logprob": None}  # overlap scores are no probabilities


# --- IBM Model 1 -------------------------------------------------------------------------------

def test_ibm_model1_translates_a_word_it_saw_consistently_aligned():
    pairs = [("der hund", "the dog"), ("ein hund", "a dog"), ("der hund schläft", "the dog sleeps"),
             ("die katze", "the cat"), ("eine katze", "a cat"), ("die katze schläft", "the cat sleeps"),
             ("ein hund und eine katze", "a dog and a cat")]
    split = datasets.Dataset.from_dict({"source": [s for s, _ in pairs], "target": [t for _, t in pairs]})
    params = ibm_model1.IBMModel1Params(iterations=10)
    model, aligned = ibm_model1.train(list(split["source"]), list(split["target"]), params)
    translator = ibm_model1.WordTranslator(model, aligned, params)
    assert translator.best["hund"] == "dog" and translator.best["katze"] == "cat"
    assert translator.translate(["ein", "hund", "zebra"]) == ["a", "dog", "zebra"]  # an unknown word is copied
    test = datasets.Dataset.from_dict({"source": ["der hund schläft"], "target": ["the dog sleeps"]})
    entry = registry.baselines.get("ibm_model1")
    metrics, cost = entry(params).fit_and_evaluate(datasets.DatasetDict({"train": split, "test": test}), None, None, 0)
    assert metrics["chrf"] == 100.0 and cost["chrf_signature"].startswith("nrefs:1|case:mixed")


def test_ibm_model1_drops_a_frequent_word_that_aligns_to_nothing():
    pairs = [("ja eins", "one"), ("ja zwei", "two"), ("ja drei", "three"), ("ja vier", "four"), ("ja fuenf", "five"),
             ("ja sechs", "six")]
    params = ibm_model1.IBMModel1Params(iterations=10, drop_min_count=5)
    model, aligned = ibm_model1.train([s for s, _ in pairs], [t for _, t in pairs], params)
    assert ibm_model1.WordTranslator(model, aligned, params).dropped == {"ja"}


# --- the contract, for every registered baseline ------------------------------------------------

# The metric keys a format reports, from the format's own metric functions applied to a split.
FORMAT_KEYS = {
    "classification": lambda split: classification_scores(list(split["label"]), list(split["label"])),
    "extractive_qa": lambda split: answer_scores(list(split["answer"]), gold_answers(split)),
    "translation": lambda split: translation_metrics(list(split["target"]), list(split["target"]))[0],
    "zero_shot": lambda split: pair_metrics(split, torch.zeros(2 * len(split))),
}
# Baselines with no likelihood in their format's units record its companion metric as None.
WITHOUT_COMPANION = {"sliding_window", "ibm_model1"}
FORMAT_TASKS = {"classification": "synthetic_entity_typing", "extractive_qa": "synthetic_extractive_qa",
                "translation": "synthetic_translation", "zero_shot": "synthetic_minimal_pairs"}
CASES = [(name, fmt) for name in BASELINES for fmt in registry.baselines.get(name).formats]


@pytest.fixture(scope="module")
def format_splits():
    """24 training and 24 test examples of a synthetic task of each format."""
    out = {}
    for fmt, task_name in FORMAT_TASKS.items():
        task = registry.tasks.get(task_name)
        splits = task(task.Params()).load(CorpusConfig())
        out[fmt] = datasets.DatasetDict({k: v.select(range(min(24, len(v)))) for k, v in splits.items()})
    return out


@pytest.fixture(scope="module")
def small_corpus():
    return synthetic.corpus(150, 0)


def test_every_baseline_is_registered_with_what_the_contract_needs():
    assert {"tfidf_lr", "kneser_ney", "hmm", "sliding_window", "ibm_model1"} <= set(BASELINES)
    for name in BASELINES:
        entry = registry.baselines.get(name)
        assert set(entry.formats) <= set(FORMAT_KEYS) and set(entry.formats) <= set(registry.formats.names()), name
        with pytest.raises(ValueError):
            entry.Params(not_a_setting=1)  # unknown settings are errors


def test_a_baseline_without_formats_cannot_register():
    class NoFormats:
        Params = kneser_ney.KneserNeyParams
        uses_corpus = False
        seeded = False

        def fit_and_evaluate(self, splits, corpus, tokenizer, seed):
            return {}, {}

    with pytest.raises(ObjbenchError, match="formats"):
        registry.baselines.register("test_no_formats")(NoFormats)
    assert "test_no_formats" not in registry.baselines


@pytest.mark.parametrize("name,fmt", CASES)
def test_each_baseline_reports_its_formats_metrics_and_its_cost(name, fmt, format_splits, small_corpus, tiny_data):
    entry = registry.baselines.get(name)
    splits = format_splits[fmt]
    corpus = small_corpus if entry.uses_corpus else None
    metrics, cost = entry(entry.Params()).fit_and_evaluate(splits, corpus, tiny_data.tokenizer, 0)
    items = cost.pop(ITEMS_KEY)  # what its primary metric is made of, item by item, as a network's run records
    primary = registry.formats.get(fmt).primary_metric.name
    assert items["metric"] == primary
    assert metric_on(items, np.arange(len(splits["test"]))) == pytest.approx(metrics[primary])
    companion = registry.formats.get(fmt).companion_metric.name
    assert set(metrics) == set(FORMAT_KEYS[fmt](splits["test"])) | {companion}
    assert registry.formats.get(fmt).primary_metric.name in metrics
    if name in WITHOUT_COMPANION:
        assert metrics.pop(companion) is None
    assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values())
    assert set(COST_KEYS) <= set(cost)
    assert cost["fit_s"] >= 0 and cost["eval_s"] > 0 and cost["peak_memory_bytes"] >= 0
    assert isinstance(cost["parameters"], int) and cost["parameters"] >= 0
    if entry.uses_corpus:
        with pytest.raises(ObjbenchError, match="corpus"):
            entry(entry.Params()).fit_and_evaluate(splits, None, tiny_data.tokenizer, 0)


def test_a_baselines_memory_is_what_it_adds_not_what_the_process_already_holds():
    held = np.ones(64 * 2**20 // 8)  # 64 MiB the process holds before the baseline starts
    cost = Cost()
    with cost.phase("fit"):
        pass
    assert cost.record["peak_memory_bytes"] < 16 * 2**20
    with cost.phase("eval"):
        added = np.ones(96 * 2**20 // 8)  # 96 MiB the baseline allocates
    assert 80 * 2**20 <= cost.record["peak_memory_bytes"] < 96 * 2**20 + held.nbytes
    assert cost.record["peak_memory_kind"] == "rss_growth" and added.sum() > 0


@pytest.mark.parametrize("name,fmt", [(n, f) for n, f in CASES if not registry.baselines.get(n).seeded])
def test_a_baseline_declared_deterministic_gives_the_same_numbers_with_another_seed(name, fmt, format_splits,
                                                                                    small_corpus, tiny_data):
    """It is fitted once per suite (``seeded = False``): a seed that moved it would be a spread left out."""
    entry = registry.baselines.get(name)
    corpus = small_corpus if entry.uses_corpus else None
    first, second = (entry(entry.Params()).fit_and_evaluate(format_splits[fmt], corpus, tiny_data.tokenizer, seed)[0]
                     for seed in (0, 7))
    assert first == second


def test_a_baseline_that_does_not_say_whether_it_is_seeded_cannot_register():
    class Unsaid:
        Params = kneser_ney.KneserNeyParams
        formats = ("zero_shot",)
        uses_corpus = False

        def fit_and_evaluate(self, splits, corpus, tokenizer, seed):
            return {}, {}

    with pytest.raises(ObjbenchError, match="seeded"):
        registry.baselines.register("test_unsaid")(Unsaid)
    assert "test_unsaid" not in registry.baselines
