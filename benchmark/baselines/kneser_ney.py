"""Interpolated Kneser-Ney n-gram language model on the pretraining corpus, scoring minimal pairs."""

from __future__ import annotations

import math
from collections import Counter

import torch
from nltk.lm.models import InterpolatedLanguageModel
from nltk.lm.preprocessing import padded_everygram_pipeline
from nltk.lm.smoothing import KneserNey
from pydantic import Field

from benchmark import registry
from benchmark.baselines.base import Cost, Params, corpus_sentences, words
from benchmark.formats.items import ITEMS_KEY
from benchmark.formats.zero_shot import ZeroShot, logprob_margin, pair_items, pair_metrics


class KneserNeyParams(Params):
    order: int = Field(3, ge=2, le=5)  # trigrams: the agreement the minimal pairs test spans two or three words
    discount: float = Field(0.75, gt=0, le=1)  # one absolute discount for every level: the customary 0.75 (nltk's 0.1)
    # nltk counts n-grams in pure Python, ~50-80k words/s on one core (the default 3000-document corpus,
    # ~19k sentences of ~9 words, trains in 2-5 s): the cap keeps a large real corpus near 20 s.
    max_sentences: int = Field(50_000, ge=1)
    heldout_sentences: int = Field(500, ge=0)  # the corpus's last sentences, kept out of training for perplexity


class IndexedKneserNey(KneserNey):
    """nltk's Kneser-Ney estimator with its continuation counts indexed once, and a uniform floor.

    nltk finds a continuation count by scanning every higher-order context for each word it
    scores (tens of milliseconds per word on the default corpus); here one pass over the counts
    builds, for every context ``c`` and word ``w`` below the top order, N1+(. c w) (distinct
    left neighbours), N1+(. c .) and the number of distinct ``w`` with N1+(. c w) > 0. The
    unigram level is discounted and interpolated with the uniform distribution over the
    vocabulary (as in Chen & Goodman 1998), so an unseen word has a small probability rather
    than nltk's zero.
    """

    def __init__(self, vocabulary, counter, order: int, discount: float):
        super().__init__(vocabulary, counter, order=order, discount=discount)
        self.continuations: Counter = Counter()  # context + (word,) -> N1+(. context word)
        self.continuation_totals: Counter = Counter()  # context -> N1+(. context .)
        self.continuation_types: Counter = Counter()  # context -> |{word : N1+(. context word) > 0}|

    def index(self) -> None:
        """Fill the three tables from the n-gram counts (after the model is fitted)."""
        for level in range(2, self._order + 1):
            for context, following in self.counts[level].items():
                suffix = context[1:]
                for word, count in following.items():
                    if count > 0:
                        if self.continuations[(*suffix, word)] == 0:
                            self.continuation_types[suffix] += 1
                        self.continuations[(*suffix, word)] += 1
                        self.continuation_totals[suffix] += 1

    def unigram_score(self, word) -> float:
        total = self.continuation_totals[()]
        alpha = max(self.continuations[(word,)] - self.discount, 0.0) / total
        gamma = self.discount * self.continuation_types[()] / total
        return alpha + gamma / len(self.vocab)

    def alpha_gamma(self, word, context) -> tuple[float, float]:
        if len(context) + 1 == self._order:
            return super().alpha_gamma(word, context)  # the top order: raw counts, as nltk does
        total = self.continuation_totals[context]
        if total == 0:  # a context only ever seen at a sentence start: defer to the lower order
            return 0.0, 1.0
        alpha = max(self.continuations[(*context, word)] - self.discount, 0.0) / total
        return alpha, self.discount * self.continuation_types[context] / total


class KneserNeyLM(InterpolatedLanguageModel):
    """nltk's ``KneserNeyInterpolated`` with :class:`IndexedKneserNey` as its estimator."""

    def __init__(self, order: int, discount: float):
        super().__init__(IndexedKneserNey, order, params={"order": order, "discount": discount})

    def fit(self, text, vocabulary_text=None) -> None:
        super().fit(text, vocabulary_text)
        self.estimator.index()

    def sentence_logprob(self, tokens: list[str]) -> float:
        """log p(tokens, </s>) in nats: each word and the closing ``</s>`` given the ``order - 1`` before it."""
        history = self.order - 1
        padded = ["<s>"] * history + tokens + ["</s>"]
        return sum(math.log(self.score(padded[i], tuple(padded[i - history:i]))) for i in range(history, len(padded)))

    def distinct_ngrams(self) -> int:
        """How many distinct n-grams (of every order up to ``order``) the model stores counts for."""
        higher = sum(len(following) for level in range(2, self.order + 1) for following in self.counts[level].values())
        return len(self.counts.unigrams) + higher


@registry.baselines.register("kneser_ney")
class KneserNeyBaseline:
    """Interpolated Kneser-Ney n-gram LM (order 3) on the corpus: prefers the likelier sentence of each pair.

    Kneser & Ney 1995, in the interpolated form of Chen & Goodman 1998 ("An empirical study of
    smoothing techniques for language modeling"), built on ``nltk.lm`` (see
    :class:`IndexedKneserNey` for what differs from nltk's own estimator). Trained on the first
    ``max_sentences`` (50,000) corpus sentences, the last ``heldout_sentences`` (500) kept out,
    as lower-cased word tokens (``base.words``: the shared tokenizer's word boundaries, not its
    subwords), each sentence padded with ``<s>``/``</s>``. A minimal pair is right when the
    grammatical sentence has the higher log-probability (summed over words and ``</s>``, as the
    zero-shot format sums); metrics are the zero-shot format's (accuracy overall and per
    phenomenon, and the mean log-probability margin between the sentences, in nats). The cost
    adds the held-out per-word perplexity (``</s>`` counted as a word).
    On one core, the default 3000-document corpus (whole, under the cap) trains in 2-5 s and
    400 pairs plus the held-out text score in under 0.5 s.
    """

    Params = KneserNeyParams
    formats = ("zero_shot",)
    uses_corpus = True
    seeded = False  # counts and discounts: one fit, whatever the seed

    def __init__(self, params: KneserNeyParams):
        self.params = params

    def fit_and_evaluate(self, splits, corpus, tokenizer, seed: int) -> tuple[dict, dict]:
        sentences = corpus_sentences(corpus, "kneser_ney")
        held = min(self.params.heldout_sentences, len(sentences) - 1)
        heldout = [words(s) for s in sentences[len(sentences) - held:]]
        cost = Cost()
        with cost.phase("fit"):  # from raw text: word tokenization counts
            training = [words(s) for s in sentences[:len(sentences) - held][:self.params.max_sentences]]
            lm = KneserNeyLM(self.params.order, self.params.discount)
            lm.fit(*padded_everygram_pipeline(self.params.order, training))
        test = splits["test"]
        with cost.phase("eval"):
            scores = torch.tensor([lm.sentence_logprob(words(s)) for s in list(test["good"]) + list(test["bad"])],
                                  dtype=torch.float64)
            metrics = {**pair_metrics(test, scores), ZeroShot.companion_metric.name: logprob_margin(test, scores)}
            heldout_logprob = sum(lm.sentence_logprob(s) for s in heldout)
        heldout_words = sum(len(s) + 1 for s in heldout)
        cost.record.update(
            parameters=lm.distinct_ngrams(),
            training_sentences=len(training), training_words=sum(map(len, training)), vocabulary=len(lm.vocab),
            heldout_perplexity_per_word=math.exp(-heldout_logprob / heldout_words) if heldout_words else None)
        return metrics, {**cost.record, ITEMS_KEY: pair_items(test, scores)}

