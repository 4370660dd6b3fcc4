"""Companion metrics: each format's likelihood-based score beside its primary metric, on constructed cases.

Stand-in models with known outputs (a classifier whose logits are looked up from the text, a
span head peaked at the gold span, a language model whose output layer is zero) give values
computed by hand; tiny random models give values checked against a slow, one-example-at-a-time
computation. Classical baselines are checked where they have a likelihood.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import datasets
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from benchmark import registry
from benchmark.baselines import hmm, kneser_ney, tfidf_lr
from benchmark.config import CorpusConfig, FinetuneConfig
from benchmark.data import synthetic
from benchmark.formats import extractive_qa, generation, training, zero_shot
from benchmark.formats.likelihood import gold_logprobs, mean_or_none
from benchmark.metric_spec import MetricSpec, companion_metric
from benchmark.models.kinds import ModelKind
from benchmark.results import SCHEMA_VERSION, iter_records, to_dataframe, write_record

CPU = torch.device("cpu")
RECIPE = FinetuneConfig(epochs=1, batch_size=1, max_length=48, seeds=[0])  # evaluation batches of 4 rows
PAIRS = [("a kat is big .", "tuk na pekta ."), ("the dogim near a kat chaseon many birdim .", "pert ko ."),
         ("many birdim see the kat .", "pertri dua ziien tuk na mopekta .")]  # unequal lengths: padding


def random_lm(tiny_setup, kind: ModelKind, seed: int = 0):
    torch.manual_seed(seed)
    return tiny_setup.model.build_lm(kind, "tiny", tiny_setup.tokenizer).eval()


def uniform_lm(tiny_setup, kind: ModelKind):
    """A language model whose output layer is zero: every next-token distribution is uniform."""
    model = random_lm(tiny_setup, kind)
    training.untie_output_head(model).weight.data.zero_()
    return model


# --- the declarations and the record --------------------------------------------------------------

def test_an_unbounded_metric_round_trips_and_is_never_normalised():
    spec = MetricSpec("gold_logprob", higher_is_better=True, max_value=None)
    assert MetricSpec.from_dict(spec.to_dict()) == spec and spec.to_dict()["max_value"] is None
    assert spec.describe() == "gold_logprob (higher is better, unbounded)"
    with pytest.raises(ValueError, match="unbounded"):
        spec.normalize(-0.5)
    bounded = MetricSpec("chrf", True, 100.0)
    assert MetricSpec.from_dict(bounded.to_dict()) == bounded and bounded.normalize(25.0) == pytest.approx(0.25)


def test_records_with_and_without_a_companion_load(tmp_path):
    base = {"schema_version": SCHEMA_VERSION, "suite": "s", "created_at": "2026-01-01T00:00:00+00:00",
            "primary_metric": MetricSpec("f1_macro").to_dict()}
    declared = registry.formats.get("classification").companion_metric
    write_record(tmp_path, {**base, "run_id": "old", "metrics": {"f1_macro": 0.5}})  # written before companions
    write_record(tmp_path, {**base, "run_id": "new", "companion_metric": declared.to_dict(),
                            "metrics": {"f1_macro": 0.5, declared.name: -0.7}})
    records = {r["run_id"]: r for r in iter_records(tmp_path, "s")}
    assert companion_metric(records["old"]) is None
    assert companion_metric(records["new"]) == declared and records["new"]["metrics"][declared.name] == -0.7
    df = to_dataframe(tmp_path, "s").set_index("run_id")
    assert df.loc["new", "companion_metric.name"] == "gold_logprob" and pd.isna(df.loc["old", "companion_metric.name"])
    assert df.loc["new", "companion_metric.max_value"] is None or pd.isna(df.loc["new", "companion_metric.max_value"])


def test_a_mean_over_nothing_is_none_not_nan():
    assert mean_or_none([]) is None and mean_or_none([torch.empty(0), torch.empty(0)]) is None
    assert mean_or_none([torch.tensor([-1.0, -2.0]), torch.tensor([-3.0])]) == pytest.approx(-2.0)


def test_gold_logprobs_are_float32_log_softmax_whatever_the_input_precision():
    scores = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    expected = torch.tensor([2 - math.log(math.exp(2) + 1 + math.exp(-1)), -math.log(3)])
    assert torch.allclose(gold_logprobs(scores, torch.tensor([0, 2])), expected)
    low = gold_logprobs(scores.bfloat16(), torch.tensor([0, 2]))
    assert low.dtype == torch.float32 and torch.allclose(low, expected, atol=1e-6)


# --- classification -------------------------------------------------------------------------------

class LookupClassifier(torch.nn.Module):
    """A classifier stand-in: each text's logits are ``table[its first token]``."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.table = table

    def forward(self, input_ids, attention_mask):
        return SimpleNamespace(logits=self.table[input_ids[:, 0]])


def test_gold_logprob_rewards_logits_that_favour_the_gold_label(tiny_setup):
    tok = tiny_setup.tokenizer
    texts = ["apple is red", "stone is grey", "apple pear", "stone rock", "apple", "stone clay"]
    labels = [0, 1, 0, 1, 0, 1]
    split = datasets.Dataset.from_dict({"text": texts, "label": labels}, features=datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["fruit", "mineral"])}))
    first = {label: tok(text, add_special_tokens=False)["input_ids"][0] for text, label in zip(texts, labels)}
    assert first[0] != first[1]

    def classifier(margin: float) -> LookupClassifier:  # gold gets ``margin`` more than the other label
        table = torch.zeros(len(tok), 2)
        table[first[0], 0] = table[first[1], 1] = margin
        return LookupClassifier(table)

    fmt = registry.formats.get("classification")()
    scores = {}
    for margin in (3.0, 0.0, -3.0):
        metrics, _ = fmt.evaluate(classifier(margin), split, tok, RECIPE, ModelKind.CAUSAL, CPU, "fp32")
        scores[margin] = metrics
        assert metrics["gold_logprob"] == pytest.approx(-math.log1p(math.exp(-margin)), abs=1e-6)  # two batches
    assert scores[3.0]["gold_logprob"] > scores[0.0]["gold_logprob"] > scores[-3.0]["gold_logprob"]
    assert scores[0.0]["gold_logprob"] == pytest.approx(-math.log(2))  # uniform over two labels
    assert scores[3.0]["accuracy"] == 1.0 and scores[-3.0]["accuracy"] == 0.0


# --- zero-shot minimal pairs ----------------------------------------------------------------------

GOOD = ["the dogim near a kat chaseon many birdim .", "a kat is big .", "many birdim see the kat ."]
BAD = ["the dogim near a kat chaseo many birdim .", "a kat are big .", "many birdim sees the kat ."]


def pairs(good: list[str], bad: list[str]) -> datasets.Dataset:
    return datasets.Dataset.from_dict({"good": good, "bad": bad})


@pytest.mark.parametrize("kind", [ModelKind.CAUSAL, ModelKind.ENCODER])
def test_logprob_margin_is_the_mean_difference_of_the_scores_the_accuracy_compares(tiny_setup, kind):
    tok, fmt = tiny_setup.tokenizer, registry.formats.get("zero_shot")()
    model = random_lm(tiny_setup, kind)
    with torch.no_grad():
        good = zero_shot.sentence_scores(model, GOOD, tok, kind, batch_size=64, device=CPU)
        bad = zero_shot.sentence_scores(model, BAD, tok, kind, batch_size=64, device=CPU)
    metrics, _ = fmt.evaluate(model, pairs(GOOD, BAD), tok, RECIPE, kind, CPU, "fp32")
    assert metrics["logprob_margin"] == pytest.approx(float((good - bad).mean()), abs=1e-4)
    assert metrics["accuracy"] == pytest.approx(float((good > bad).float().mean()))
    swapped, _ = fmt.evaluate(model, pairs(BAD, GOOD), tok, RECIPE, kind, CPU, "fp32")
    assert swapped["logprob_margin"] == pytest.approx(-metrics["logprob_margin"], abs=1e-4)
    same, _ = fmt.evaluate(model, pairs(GOOD, GOOD), tok, RECIPE, kind, CPU, "fp32")
    assert same["logprob_margin"] == pytest.approx(0.0, abs=1e-4)  # up to how batches round


# --- extractive QA --------------------------------------------------------------------------------

def test_span_logprob_is_a_softmax_over_the_context_only():
    torch.manual_seed(0)
    start, end = torch.randn(1, 8), torch.randn(1, 8)
    context_start, context_length, gold = torch.tensor([2]), torch.tensor([4]), torch.tensor([[3, 4]])
    expected = F.log_softmax(start[0, 2:6], -1)[1] + F.log_softmax(end[0, 2:6], -1)[2]
    got = extractive_qa.span_logprobs(start, end, context_start, context_length, gold)
    assert got.item() == pytest.approx(expected.item(), abs=1e-6)
    outside = start.clone()
    outside[0, [0, 1, 6, 7]] = 50.0  # the question and [EOS] are never the answer
    assert extractive_qa.span_logprobs(outside, end, context_start, context_length, gold).item() == pytest.approx(
        got.item(), abs=1e-6)
    flat = extractive_qa.span_logprobs(torch.zeros(1, 8), torch.zeros(1, 8), context_start, context_length, gold)
    assert flat.item() == pytest.approx(-2 * math.log(4))
    peaked = torch.zeros(1, 8)
    peaked[0, 3] = 5.0
    assert extractive_qa.span_logprobs(peaked, peaked.roll(1, 1), context_start, context_length, gold) > flat


class GoldSpanHead(torch.nn.Module):
    """A span-head stand-in: ``peak`` at each row's gold start and end token, 0 elsewhere."""

    def __init__(self, data: dict, pad_id: int, peak: float):
        super().__init__()
        self.gold = {self.key(row, pad_id): tuple(g) for row, g in zip(data["input_ids"].tolist(),
                                                                       data["gold"].tolist())}
        self.pad_id, self.peak = pad_id, peak

    @staticmethod
    def key(row: list[int], pad_id: int) -> tuple[int, ...]:
        return tuple(t for t in row if t != pad_id)

    def forward(self, input_ids, attention_mask):
        start, end = torch.zeros(input_ids.shape), torch.zeros(input_ids.shape)
        for i, row in enumerate(input_ids.tolist()):
            first, last = self.gold[self.key(row, self.pad_id)]
            if first >= 0:
                start[i, first], end[i, last] = self.peak, self.peak
        return SimpleNamespace(start_logits=start, end_logits=end)


@pytest.fixture(scope="module")
def qa_test_split():
    task = registry.tasks.get("synthetic_extractive_qa")
    return task(task.Params()).load(CorpusConfig())["test"].select(range(8))


def test_a_head_on_the_gold_span_scores_higher_over_windows_and_each_question_is_scored_once(tiny_setup,
                                                                                             qa_test_split):
    tok, fmt = tiny_setup.tokenizer, registry.formats.get("extractive_qa")()
    data = extractive_qa.encode(qa_test_split, tok, RECIPE.max_length)
    held = data["gold"][:, 0] >= 0
    assert len(data["gold"]) > len(qa_test_split)  # at 48 tokens contexts take several windows
    assert data["outside"] == 0 and set(data["example"][held].tolist()) == set(range(len(qa_test_split)))
    first = torch.tensor([bool(h) and int(e) not in data["example"][:i][held[:i]].tolist()
                          for i, (h, e) in enumerate(zip(held, data["example"]))])
    results = {}
    for peak in (0.0, 20.0):
        head = GoldSpanHead(data, tok.pad_token_id, peak)
        results[peak] = fmt.evaluate(head, qa_test_split, tok, RECIPE, ModelKind.ENCODER, CPU, "fp32")
    (flat, flat_stats), (perfect, perfect_stats) = results[0.0], results[20.0]
    # One span per question: its first window that holds the answer, a uniform head's log p = -2 log(length).
    assert flat["span_logprob"] == pytest.approx(float((-2 * data["context_length"][first].double().log()).mean()))
    assert -1e-6 < perfect["span_logprob"] <= 0 and perfect["span_logprob"] > flat["span_logprob"]
    assert perfect["exact_match"] == 1.0  # the peaked window wins over every other window of its question
    assert flat_stats["span_logprob_skipped"] == perfect_stats["span_logprob_skipped"] == 0
    assert perfect_stats["answers_outside_windows"] == 0 and perfect_stats["windows"] == len(data["gold"])


# --- translation and closed-book generation -------------------------------------------------------

def slow_reference_logprob(model, tokenizer, kind: ModelKind, max_length: int) -> tuple[float, int]:
    """One pair at a time, unpadded: sum of log p(reference token | everything before it) over each
    reference and its [EOS], divided by their number."""
    total, count = 0.0, 0
    for source, target in PAIRS:
        prompt = generation.prompt_ids(tokenizer(source, add_special_tokens=False)["input_ids"], tokenizer, kind,
                                       max_length)
        answer = [*tokenizer(target, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
        with torch.no_grad():
            if kind is ModelKind.ENCODER_DECODER:
                decoder_input = [model.config.decoder_start_token_id, *answer[:-1]]
                logits = model(input_ids=torch.tensor([prompt]),
                               decoder_input_ids=torch.tensor([decoder_input])).logits[0]
                positions = range(len(answer))  # decoder position t predicts answer token t
            else:
                ids = [*prompt, *answer]
                visible = torch.ones(len(ids), len(ids), dtype=torch.bool).tril()
                if kind is ModelKind.PREFIX:
                    visible[:, :len(prompt)] = True  # the source and [SEP] are read both ways
                logits = model(input_ids=torch.tensor([ids]), attention_mask=visible[None, None]).logits[0]
                logits = logits[len(prompt) - 1:-1]  # position t predicts token t + 1
                positions = range(len(answer))
        logp = F.log_softmax(logits.float(), -1)
        total += sum(logp[t, answer[t]].item() for t in positions)
        count += len(answer)
    return total / count, count


@pytest.mark.parametrize("kind", [ModelKind.CAUSAL, ModelKind.PREFIX, ModelKind.ENCODER_DECODER])
def test_reference_logprob_is_the_teacher_forced_log_likelihood_per_token(tiny_setup, kind):
    tok = tiny_setup.tokenizer
    model = random_lm(tiny_setup, kind, seed=5)
    sources, targets = [s for s, _ in PAIRS], [t for _, t in PAIRS]
    got, count = generation.reference_logprob(model, sources, targets, tok, kind, 48, batch_size=2, device=CPU,
                                              precision="fp32")
    expected, expected_count = slow_reference_logprob(model, tok, kind, 48)
    assert count == expected_count and got == pytest.approx(expected, abs=1e-5)
    # ... which is minus the finetuning loss on the same batch (the loss is the mean over its loss-bearing tokens)
    batch = generation.training_batches(sources, targets, tok, kind, 48)(torch.arange(len(PAIRS)))
    with torch.no_grad():
        assert got == pytest.approx(-model(**batch).loss.item(), abs=1e-5)


@pytest.mark.parametrize("kind", [ModelKind.CAUSAL, ModelKind.ENCODER_DECODER])
def test_a_uniform_model_scores_minus_log_vocabulary_per_reference_token(tiny_setup, kind):
    tok, fmt = tiny_setup.tokenizer, registry.formats.get("translation")()
    split = datasets.Dataset.from_dict({"source": [s for s, _ in PAIRS], "target": [t for _, t in PAIRS]})
    model = uniform_lm(tiny_setup, kind)
    metrics, stats = fmt.evaluate(model, split, tok, RECIPE, kind, CPU, "fp32")
    vocabulary = model.get_output_embeddings().weight.shape[0]
    assert metrics["ref_token_logprob"] == pytest.approx(-math.log(vocabulary), abs=1e-5)
    assert stats["reference_tokens"] == sum(len(tok(t, add_special_tokens=False)["input_ids"]) + 1 for _, t in PAIRS)
    assert stats["reference_logprob_s"] > 0


def test_finetuning_on_the_references_raises_their_log_likelihood(tiny_setup):
    tok, fmt = tiny_setup.tokenizer, registry.formats.get("translation")()
    split = datasets.Dataset.from_dict({"source": [s for s, _ in PAIRS], "target": [t for _, t in PAIRS]})
    model = random_lm(tiny_setup, ModelKind.CAUSAL)
    before, _ = fmt.evaluate(model, split, tok, RECIPE, ModelKind.CAUSAL, CPU, "fp32")
    recipe = RECIPE.model_copy(update={"epochs": 8, "lr": 3e-3, "warmup_ratio": 0.0})
    fmt.finetune(model, split, tok, recipe, ModelKind.CAUSAL, 0, CPU, "fp32")
    after, _ = fmt.evaluate(model, split, tok, RECIPE, ModelKind.CAUSAL, CPU, "fp32")
    assert after["ref_token_logprob"] > before["ref_token_logprob"] + 1.0


def test_closed_book_generators_score_the_reference_answer_and_an_encoder_records_none(tiny_setup):
    tok, fmt = tiny_setup.tokenizer, registry.formats.get("closed_book_qa")()
    questions, answers = ["where does the kat live ?", "what is the dogim ?"], ["brati", "a kelor"]
    split = datasets.Dataset.from_dict({"question": questions, "answer": answers})
    model = random_lm(tiny_setup, ModelKind.PREFIX)
    metrics, _ = fmt.evaluate(model, split, tok, RECIPE, ModelKind.PREFIX, CPU, "fp32")
    expected, _ = generation.reference_logprob(model, questions, answers, tok, ModelKind.PREFIX, RECIPE.max_length,
                                               8, CPU, "fp32")
    assert metrics["ref_token_logprob"] == pytest.approx(expected)
    torch.manual_seed(0)
    encoder = fmt.build(tiny_setup.model, None, tiny_setup, split, ModelKind.ENCODER)
    metrics, _ = fmt.evaluate(encoder, split, tok, RECIPE, ModelKind.ENCODER, CPU, "fp32")
    assert metrics["ref_token_logprob"] is None and 0 <= metrics["f1"] <= 1


# --- classical baselines --------------------------------------------------------------------------

WORDS = [["apple", "pear", "plum"], ["stone", "rock", "sand"], ["river", "lake", "sea"]]
ANY_WORD = [w for words in WORDS for w in words]


def word_texts(classes: int, n: int, seed: int) -> tuple[list[str], list[int]]:
    """Texts of two words of their class and one word of any class (noise), with labels 0, 1, ... in turn."""
    rng = np.random.default_rng(seed)
    labels = [i % classes for i in range(n)]
    return [" ".join([*rng.choice(WORDS[y], 2), rng.choice(ANY_WORD)]) for y in labels], labels


@pytest.mark.parametrize("classes", [2, 3])
def test_tfidf_lr_gold_logprob_is_the_log_of_predict_proba_at_the_gold_label(classes):
    texts, labels = word_texts(classes, 30, 0)
    model = tfidf_lr.fit_pipeline(texts, labels, 1.0, 1000, 0)
    test_texts, test_labels = word_texts(classes, 12, 1)
    expected = np.log(model.predict_proba(test_texts))[np.arange(12), test_labels].mean()
    got = tfidf_lr.gold_logprob(model, test_texts, test_labels)
    assert got == pytest.approx(expected, abs=1e-9) and got < 0
    flipped = [(y + 1) % classes for y in test_labels]  # every gold label wrong: less likely
    assert tfidf_lr.gold_logprob(model, test_texts, flipped) < got
    assert tfidf_lr.gold_logprob(model, test_texts, [classes] * 12) is None  # a label training never saw


def minimal_pairs(good: list[str], bad: list[str]) -> datasets.DatasetDict:
    rows = {"good": good, "bad": bad}
    empty = datasets.Dataset.from_dict({"good": [], "bad": []}, features=datasets.Dataset.from_dict(rows).features)
    return datasets.DatasetDict({"train": empty, "test": datasets.Dataset.from_dict(rows)})


AGREEMENT_CORPUS = [["the dog runs .", "the dogs run .", "a cat sleeps .", "the cats sleep ."],
                    ["the dog sleeps .", "the cats run .", "a dog runs ."]] * 5


def test_kneser_ney_margin_is_positive_when_it_prefers_the_good_sentences_and_flips_with_them():
    good, bad = ["the dogs run .", "the cat sleeps ."], ["the dogs runs .", "the cat sleep ."]
    entry = registry.baselines.get("kneser_ney")
    baseline = entry(kneser_ney.KneserNeyParams(heldout_sentences=2))
    right, _ = baseline.fit_and_evaluate(minimal_pairs(good, bad), AGREEMENT_CORPUS, None, 0)
    wrong, _ = baseline.fit_and_evaluate(minimal_pairs(bad, good), AGREEMENT_CORPUS, None, 0)
    assert right["accuracy"] == 1.0 and right["logprob_margin"] > 0
    assert wrong["logprob_margin"] == pytest.approx(-right["logprob_margin"])


def test_hmm_margin_is_the_mean_log_likelihood_difference(tiny_data):
    tok, corpus = tiny_data.tokenizer, synthetic.corpus(40, 0)
    params = hmm.HMMParams(n_states=4, n_iter=2, heldout_sentences=5)
    good, bad = ["a kat is big .", "many birdim see the kat ."], ["a kat big is .", "many see birdim kat the ."]
    metrics, _ = registry.baselines.get("hmm")(params).fit_and_evaluate(minimal_pairs(good, bad), corpus, tok, 0)
    sentences = [s for document in corpus for s in document][:-5]  # the same fit, by hand
    model = hmm.fit_hmm(hmm.capped(hmm.token_sequences(sentences, tok), params.max_tokens), len(tok), params, 0)
    scores = np.array(hmm.sequence_scores(model, hmm.token_sequences(good + bad, tok)))
    assert metrics["logprob_margin"] == pytest.approx((scores[:2] - scores[2:]).mean())
    assert metrics["accuracy"] == (scores[:2] > scores[2:]).mean()
