"""Metrics on generated or extracted text: SQuAD exact match and token F1, sacrebleu's BLEU and chrF.

None of them fetches metric code at run time (``evaluate.load`` would): the SQuAD answer
normalisation is a few lines, written out here as the official SQuAD v1.1 script defines it
(with its max over every gold answer of a question), and BLEU and chrF are sacrebleu's own
implementations with their default settings: cased, on the detokenised text a model writes.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from sacrebleu.metrics import BLEU, CHRF

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles (a, an, the), single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall after normalisation (SQuAD v2: empty vs empty is 1)."""
    predicted, gold = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not predicted or not gold:
        return float(predicted == gold)
    same = sum((Counter(predicted) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def answer_scores(predictions: list[str], references: Sequence[str | Sequence[str]]) -> dict[str, float]:
    """Mean exact match and token F1 (0..1) over questions.

    A reference is one gold answer or the list of them; a prediction scores its best match among
    a question's gold answers, each metric on its own (SQuAD v1.1's ``metric_max_over_ground_truths``).
    """
    per_item = answer_item_scores(predictions, references)
    n = max(1, len(predictions))
    return {name: sum(values) / n for name, values in per_item.items()}


def answer_item_scores(predictions: list[str], references: Sequence[str | Sequence[str]]) -> dict[str, list[float]]:
    """Each question's exact match and token F1 (0..1), its best among its gold answers."""
    golds = [[reference] if isinstance(reference, str) else list(reference) for reference in references]
    return {name: [max((metric(p, g) for g in gs), default=0.0) for p, gs in zip(predictions, golds)]
            for name, metric in (("exact_match", exact_match), ("f1", token_f1))}


def translation_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Corpus BLEU and chrF (0..100), cased, and their lower-cased variants; see :func:`sacrebleu_scores`."""
    return sacrebleu_scores(hypotheses, references)[0]


def chrf_metric() -> CHRF:
    """sacrebleu's chrF as the benchmark scores it (see :func:`sacrebleu_scores`)."""
    return CHRF()


def sacrebleu_scores(hypotheses: list[str], references: list[str]) -> tuple[dict[str, float], dict[str, str]]:
    """Corpus BLEU and chrF (0..100) on text as written, their lower-cased variants ``bleu_lc`` and
    ``chrf_lc`` beside them, and the sacrebleu signature of each, which a record keeps beside them.

    sacrebleu's defaults (BLEU: 13a tokenisation, exponential smoothing; chrF: character 6-grams,
    beta 2), cased, as WMT reports them: a model that writes the wrong case, or a tokenizer that
    cannot write a capital, loses for it. The lower-cased variants show how much of a score is case.
    ``force``: the synthetic languages write a space before the full stop; that is their
    spelling, not a sign of tokenised input, which sacrebleu would otherwise warn about.
    """
    metrics = {"bleu": BLEU(force=True), "chrf": chrf_metric(),
               "bleu_lc": BLEU(force=True, lowercase=True), "chrf_lc": CHRF(lowercase=True)}
    scores = {name: float(metric.corpus_score(hypotheses, [references]).score) for name, metric in metrics.items()}
    return scores, {name: str(metric.get_signature()) for name, metric in metrics.items()}
