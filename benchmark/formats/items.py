"""What a run keeps of its test items: the parts its primary metric is made of, item by item.

The report's paired bootstrap over test items (``benchmark/report/bootstrap.py``) resamples them
to give a deterministic entry, which no seed moves, the only interval it has: the test set's.
Each format's ``evaluate`` (and each classical baseline) returns them under ``ITEMS_KEY``, and
the record keeps them beside its metrics:

* ``mean``: one value per item whose mean is the metric (a pair's accuracy, a question's F1);
* ``macro_f1``: each item's gold and predicted label (macro F1 is not a mean over items);
* ``chrf``: each sentence's chrF statistics, which sacrebleu sums before taking the score.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.formats.text_metrics import chrf_metric
from benchmark.results import ITEMS_KEY

__all__ = ["ITEMS_KEY", "chrf_items", "label_items", "mean_items"]


def mean_items(metric: str, values: Sequence[float]) -> dict:
    return {"kind": "mean", "metric": metric, "values": [float(v) for v in values]}


def label_items(metric: str, gold: Sequence[int], predicted: Sequence[int]) -> dict:
    return {"kind": "macro_f1", "metric": metric, "gold": [int(g) for g in gold], "pred": [int(p) for p in predicted]}


def chrf_items(metric: str, hypotheses: Sequence[str], references: Sequence[str]) -> dict:
    """sacrebleu's chrF statistics per sentence, as ``text_metrics.sacrebleu_scores`` scores the corpus."""
    stats = chrf_metric()._extract_corpus_statistics(list(hypotheses), [list(references)])
    return {"kind": "chrf", "metric": metric, "stats": [[int(x) for x in s] for s in stats]}
