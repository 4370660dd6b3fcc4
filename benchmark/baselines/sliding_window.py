"""The sliding-window lexical-overlap baseline for extractive QA (SQuAD's, after MCTest's)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate

from pydantic import Field

from benchmark import registry
from benchmark.baselines.base import WORD, Cost, Params, normalize, words
from benchmark.formats.extractive_qa import ExtractiveQA, gold_answers
from benchmark.formats.items import ITEMS_KEY, mean_items
from benchmark.formats.text_metrics import answer_item_scores, answer_scores

SENTENCE_END = frozenset(".!?")


class SlidingWindowParams(Params):
    max_answer_words: int = Field(4, ge=1)  # longest candidate span, in word tokens (SQuAD answers average ~3 words)


@dataclass(frozen=True)
class Token:
    text: str  # normalised (NFKC, lower case)
    start: int  # character offsets into the context
    end: int
    sentence: int

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum() or self.text[0] == "_"


def tokenize(context: str) -> list[Token]:
    """The context's word and punctuation tokens (``base.WORD``) with offsets and sentence numbers.

    A sentence ends after a punctuation token holding ``.``, ``!`` or ``?``.
    """
    tokens, sentence = [], 0
    for match in WORD.finditer(context):
        token = Token(normalize(match.group()), match.start(), match.end(), sentence)
        tokens.append(token)
        if not token.is_word and SENTENCE_END & set(token.text):
            sentence += 1
    return tokens


def predict(question: str, context: str, max_answer_words: int) -> str:
    """The best-scoring candidate span of ``context``, cut from its characters ("" when there is none)."""
    tokens = tokenize(context)
    question_tokens = [w for w in words(question) if w[0].isalnum() or w[0] == "_"]
    question_words, question_bigrams = set(question_tokens), set(zip(question_tokens, question_tokens[1:]))
    counts = Counter(t.text for t in tokens)
    # Richardson et al.'s inverse count: a question word that is rare in the passage counts for more.
    weight = [math.log(1 + 1 / counts[t.text]) if t.text in question_words else 0.0 for t in tokens]
    weight_sums = [0.0, *accumulate(weight)]
    best, best_key = None, None
    for i, j in candidate_spans(tokens, question_words, max_answer_words):
        key = (sentence_overlap(tokens, i, j, question_words, question_bigrams),
               window_score(weight_sums, i, j, len(question_words) + j - i + 1), -(j - i), -i)
        if best_key is None or key > best_key:
            best, best_key = (i, j), key
    return "" if best is None else context[tokens[best[0]].start:tokens[best[1]].end]


def candidate_spans(tokens: list[Token], question_words: set[str], max_words: int):
    """(first, last) token indices of every span of 1..``max_words`` tokens inside one sentence that
    starts and ends with a word and holds no question word."""
    for i, first in enumerate(tokens):
        for j in range(i, min(i + max_words, len(tokens))):
            last = tokens[j]
            if last.sentence != first.sentence or last.text in question_words:
                break
            if first.is_word and last.is_word:
                yield i, j


def sentence_overlap(tokens: list[Token], i: int, j: int, question_words: set[str],
                     question_bigrams: set[tuple[str, str]]) -> int:
    """Distinct question unigrams plus bigrams in the candidate's sentence, the candidate's tokens left out."""
    sentence = tokens[i].sentence
    outside = [k for k, t in enumerate(tokens) if t.sentence == sentence and not i <= k <= j]
    unigrams = {tokens[k].text for k in outside} & question_words
    bigrams = {(tokens[a].text, tokens[b].text) for a, b in zip(outside, outside[1:]) if b == a + 1}
    return len(unigrams) + len(bigrams & question_bigrams)


def window_score(weight_sums: list[float], i: int, j: int, width: int) -> float:
    """Richardson et al.'s sliding window: the best summed weight of question words over windows of
    ``width`` tokens that contain the candidate, the candidate's own tokens left out."""
    n = len(weight_sums) - 1
    width = min(width, n)
    own = weight_sums[j + 1] - weight_sums[i]
    starts = range(max(0, j - width + 1), min(i, n - width) + 1)
    return max(weight_sums[a + width] - weight_sums[a] for a in starts) - own


@registry.baselines.register("sliding_window")
class SlidingWindow:
    """Sliding-window lexical overlap (SQuAD's baseline): the span whose surroundings best match the question.

    Rajpurkar et al. 2016 ("SQuAD: 100,000+ questions for machine comprehension of text",
    Section 5) score each candidate answer by the unigram and bigram overlap between the
    question and the candidate's sentence without the candidate, keep the candidates with the
    most overlap, and pick among them with the sliding window of Richardson et al. 2013
    ("MCTest"). What is implemented here, with no training (the training split is
    not read):

    - Tokens: ``base.words`` (the shared tokenizer's word boundaries, lower-cased); sentences end
      after ``.``, ``!`` or ``?``.
    - Candidates: every span of 1..``max_answer_words`` (4) tokens inside one sentence that
      starts and ends with a word token and contains no question word (SQuAD's candidates are
      constituents from a parser, which this project does not have).
    - First key: distinct question unigrams plus distinct question bigrams found in the
      candidate's sentence outside the candidate.
    - Second key: Richardson et al.'s sliding window: windows as wide as the question's word
      types plus the candidate, each containing the candidate, summing log(1 + 1/count(w)) over
      the window's tokens that are question words (count in the context); the best window counts.
      Candidates hold no question word, so their own tokens add nothing.
    - Ties: the shorter span, then the earlier one.

    The prediction is the span's characters in the context; metrics are the extractive-QA
    format's (SQuAD exact match and token F1 against every gold answer). The gold span's
    log-probability is None: overlap scores rank candidates but are no probabilities.
    """

    Params = SlidingWindowParams
    formats = ("extractive_qa",)
    uses_corpus = False
    seeded = False  # no fitting: the same answers, whatever the seed

    def __init__(self, params: SlidingWindowParams):
        self.params = params

    def fit_and_evaluate(self, splits, corpus, tokenizer, seed: int) -> tuple[dict, dict]:
        test = splits["test"]
        cost = Cost()
        with cost.phase("fit"):
            pass  # nothing is learnt
        with cost.phase("eval"):
            predictions = [predict(question, context, self.params.max_answer_words)
                           for question, context in zip(test["question"], test["context"])]
            metrics = {**answer_scores(predictions, gold_answers(test)), ExtractiveQA.companion_metric.name: None}
        cost.record.update(parameters=0, empty_predictions=sum(not p for p in predictions))
        f1 = answer_item_scores(predictions, gold_answers(test))["f1"]
        return metrics, {**cost.record, ITEMS_KEY: mean_items(ExtractiveQA.primary_metric.name, f1)}
