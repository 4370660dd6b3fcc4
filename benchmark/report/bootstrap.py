"""Test-set noise: the paired bootstrap over test items (Koehn 2004; Berg-Kirkpatrick et al. 2012).

A deterministic entry (a classical baseline that no seed moves) has no spread between seeds: the
only uncertainty left in its score is which test items were drawn. Every run records what its
primary metric is made of, item by item (``test_items``: see ``benchmark/formats/items.py``).

Two runs on one test set are resampled with the same item indices (``scipy.stats.bootstrap`` on
the indices, BCa), so what the items share cancels in the difference. The bootstrap's standard
error is combined with the seed variance of the neural side in ``judge.Judge``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sacrebleu.metrics import CHRF
from scipy import stats as _scipy_stats

SAMPLES = 2000  # bootstrap resamples
SEED = 0  # the resampling is seeded: the report is a function of its records
BATCH = 200  # resamples at once: chrF's per-sentence statistics of 2000 resamples would take ~100 MiB


def metric_on(items: dict, index: np.ndarray) -> np.ndarray:
    """The metric on resampled items: ``index`` holds item indices, (..., n); one value per resample."""
    kind = items["kind"]
    if kind == "mean":
        return np.asarray(items["values"], dtype=float)[index].mean(-1)
    if kind == "macro_f1":
        gold, pred = np.asarray(items["gold"])[index], np.asarray(items["pred"])[index]
        scores = []
        for label in np.union1d(items["gold"], items["pred"]):
            tp = ((gold == label) & (pred == label)).sum(-1)
            wrong = ((gold == label) != (pred == label)).sum(-1)  # false negatives and false positives
            scores.append(np.where(2 * tp + wrong > 0, 2 * tp / np.maximum(2 * tp + wrong, 1), 0.0))
        present = np.stack([((gold == label) | (pred == label)).any(-1)
                            for label in np.union1d(items["gold"], items["pred"])])
        return (np.stack(scores) * present).sum(0) / present.sum(0)
    if kind == "chrf":
        summed = np.asarray(items["stats"], dtype=np.int64)[index].sum(-2)
        metric = CHRF()  # as text_metrics.chrf_metric scores it (tests/test_bootstrap.py checks)
        flat = summed.reshape(-1, summed.shape[-1])
        return np.array([metric._compute_score_from_stats(list(row)).score for row in flat]).reshape(summed.shape[:-1])
    raise ValueError(f"unknown test-item kind {kind!r}")


def _size(items: dict) -> int:
    return len(items["values"] if items["kind"] == "mean" else items["gold"] if items["kind"] == "macro_f1"
               else items["stats"])


def pairable(first: dict | None, seconds: Sequence[dict | None]) -> bool:
    """Every run kept its test items, of one kind and one test set's size: they can be resampled together."""
    runs = [first, *seconds]
    return all(runs) and len({(r["kind"], _size(r)) for r in runs}) == 1


def difference(first: dict, seconds: Sequence[dict], confidence: float = 0.95,
               samples: int = SAMPLES) -> tuple[float, float, float, float]:
    """``first``'s metric minus the mean of ``seconds``' (runs of one entry, e.g. an untrained control's
    pretraining seeds), every run resampled on the same test items: (difference, standard error, low, high)
    of the test-set bootstrap, BCa. With ``seconds`` empty: ``first``'s own metric and its interval."""
    n = _size(first)
    if any(_size(s) != n for s in seconds):
        raise ValueError("the runs were scored on test sets of different sizes: nothing to pair")

    def statistic(index, axis=-1):
        index = np.asarray(index)
        value = metric_on(first, index)
        if seconds:
            value = value - np.mean([metric_on(s, index) for s in seconds], axis=0)
        return value

    whole = float(statistic(np.arange(n)))
    if n < 2:
        return whole, float("nan"), float("nan"), float("nan")
    with warnings.catch_warnings():  # every resample alike (a run against itself): BCa is undefined, said below
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", _scipy_stats.DegenerateDataWarning)
        result = _scipy_stats.bootstrap((np.arange(n),), statistic, vectorized=True, n_resamples=samples,
                                        batch=BATCH, confidence_level=confidence, method="BCa", random_state=SEED)
    low, high = result.confidence_interval
    if result.standard_error == 0:  # no item moves it: the test set adds no noise
        return whole, 0.0, whole, whole
    return whole, float(result.standard_error), float(low), float(high)
