"""Metrics on generated or extracted text: SQuAD exact match and token F1, sacrebleu's BLEU and chrF.

None of them fetches metric code at run time (``evaluate.load`` would): the SQuAD answer
normalisation is a few lines, written out here as the official SQuAD script defines it, and
BLEU and chrF are sacrebleu's own implementations with their default settings.
"""

from __future__ import annotations

import re
import string
from collections import Counter

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


def answer_scores(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean exact match and token F1 (0..1) over question-answer pairs."""
    n = max(1, len(references))
    return {"exact_match": sum(map(exact_match, predictions, references)) / n,
            "f1": sum(map(token_f1, predictions, references)) / n}


def translation_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Corpus BLEU and chrF (0..100), sacrebleu defaults (BLEU: 13a tokenisation, exponential smoothing).

    ``force``: the synthetic languages write a space before the full stop; that is their
    spelling, not a sign of tokenised input, which sacrebleu would otherwise warn about.
    """
    return {"bleu": float(BLEU(force=True).corpus_score(hypotheses, [references]).score),
            "chrf": float(CHRF().corpus_score(hypotheses, [references]).score)}
