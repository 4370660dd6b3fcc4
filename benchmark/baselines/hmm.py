"""A hidden Markov model over the shared tokenizer's ids, trained on the corpus, scoring minimal pairs."""

from __future__ import annotations

import numpy as np
import torch
from hmmlearn.hmm import CategoricalHMM
from pydantic import Field

from benchmark import registry
from benchmark.baselines.base import Cost, Params, corpus_sentences
from benchmark.formats.items import ITEMS_KEY
from benchmark.formats.zero_shot import ZeroShot, logprob_margin, pair_items, pair_metrics


class HMMParams(Params):
    n_states: int = Field(16, ge=1)  # hidden states: enough for coarse word classes, cheap per EM pass
    n_iter: int = Field(10, ge=1)  # EM passes (Baum-Welch); fewer when the log-likelihood gains < tol
    tol: float = Field(1e-2, ge=0)  # hmmlearn's default convergence threshold, in nats of the whole training set
    # Each EM pass is a forward-backward over every training token (hmmlearn's scaled C code, ~0.2 s per
    # 100k tokens at 16 states on one core): the default 3000-document corpus (~250k tokens) fits whole,
    # 10 passes in 4-10 s (measured on one core of a shared machine).
    max_tokens: int = Field(250_000, ge=1)
    # After training, each state's emissions are mixed with the uniform distribution over the
    # vocabulary by this share: ids the training tokens never contain get a small probability, not zero.
    emission_smoothing: float = Field(1e-3, gt=0, lt=1)
    heldout_sentences: int = Field(500, ge=0)  # the corpus's last sentences, kept out of training for perplexity


def token_sequences(sentences: list[str], tokenizer) -> list[list[int]]:
    """Each sentence as the shared tokenizer's ids, closed with ``[EOS]`` so that its end is scored too."""
    return [[*ids, tokenizer.eos_token_id] for ids in tokenizer(sentences, add_special_tokens=False)["input_ids"]]


def fit_hmm(sequences: list[list[int]], n_features: int, params: HMMParams, seed: int) -> CategoricalHMM:
    """Baum-Welch (EM) from hmmlearn's seeded random start; then emissions smoothed (``emission_smoothing``).

    The forward-backward passes use scaling rather than log space (Rabiner 1989, Section V.A):
    the same likelihoods for sentence-length sequences, several times faster in hmmlearn.
    ``n_features`` is the vocabulary size, so ids that no training sequence contains are still
    symbols of the model (hmmlearn would otherwise size the alphabet by the largest id it saw).
    """
    model = CategoricalHMM(n_components=params.n_states, n_features=n_features, n_iter=params.n_iter,
                           tol=params.tol, random_state=seed, implementation="scaling")
    model.fit(np.concatenate(sequences)[:, None], lengths=[len(s) for s in sequences])
    share = params.emission_smoothing
    model.emissionprob_ = (1 - share) * model.emissionprob_ + share / n_features
    return model


def sequence_scores(model: CategoricalHMM, sequences: list[list[int]]) -> list[float]:
    """log p(sequence) in nats under ``model`` (the forward algorithm), one per sequence."""
    return [float(model.score(np.asarray(s)[:, None])) for s in sequences]


def capped(sequences: list[list[int]], max_tokens: int) -> list[list[int]]:
    """The first whole sequences holding at most ``max_tokens`` tokens (at least one sequence)."""
    kept, total = [], 0
    for sequence in sequences:
        if kept and total + len(sequence) > max_tokens:
            break
        kept.append(sequence)
        total += len(sequence)
    return kept


@registry.baselines.register("hmm")
class HMMBaseline:
    """A 16-state hidden Markov model over the shared tokenizer's ids: prefers the likelier sentence of each pair.

    A categorical HMM trained by Baum-Welch EM (Baum et al. 1970; as presented in Rabiner 1989,
    "A tutorial on hidden Markov models"), hmmlearn's ``CategoricalHMM``, on corpus sentences
    (each closed with ``[EOS]``; up to ``max_tokens`` = 250,000 tokens, the last
    ``heldout_sentences`` = 500 kept out) for at most ``n_iter`` = 10 EM passes from a start
    seeded by the run's seed. Emissions cover the whole vocabulary and are smoothed
    (``emission_smoothing``). A minimal pair is right when the grammatical sentence has the
    higher log-likelihood; metrics are the zero-shot format's (with the mean log-likelihood margin
    between the sentences, in nats). The cost adds the EM
    log-likelihood of each pass and the held-out perplexity per token.
    """

    Params = HMMParams
    formats = ("zero_shot",)
    uses_corpus = True
    seeded = True  # Baum-Welch starts from a seeded random model: another seed, another fit

    def __init__(self, params: HMMParams):
        self.params = params

    def fit_and_evaluate(self, splits, corpus, tokenizer, seed: int) -> tuple[dict, dict]:
        sentences = corpus_sentences(corpus, "hmm")
        held = min(self.params.heldout_sentences, len(sentences) - 1)
        heldout = token_sequences(sentences[len(sentences) - held:], tokenizer) if held else []
        cost = Cost()
        with cost.phase("fit"):  # from raw text: tokenization counts
            training = capped(token_sequences(sentences[:len(sentences) - held], tokenizer), self.params.max_tokens)
            model = fit_hmm(training, len(tokenizer), self.params, seed)
        test = splits["test"]
        with cost.phase("eval"):
            scores = torch.tensor(sequence_scores(model, token_sequences(list(test["good"]) + list(test["bad"]),
                                                                         tokenizer)), dtype=torch.float64)
            metrics = {**pair_metrics(test, scores), ZeroShot.companion_metric.name: logprob_margin(test, scores)}
            heldout_logprob = sum(sequence_scores(model, heldout))
        heldout_tokens = sum(map(len, heldout))
        cost.record.update(
            parameters=int(model.startprob_.size + model.transmat_.size + model.emissionprob_.size),
            training_tokens=sum(map(len, training)), em_iterations=len(model.monitor_.history),
            em_log_likelihood=[float(x) for x in model.monitor_.history],
            heldout_perplexity_per_token=float(np.exp(-heldout_logprob / heldout_tokens)) if heldout_tokens else None)
        return metrics, {**cost.record, ITEMS_KEY: pair_items(test, scores)}
