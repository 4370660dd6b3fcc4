"""The paired test-item bootstrap (``benchmark/report/bootstrap.py``): its metrics are the formats' own on
every item, and its 95% intervals hold a known accuracy difference 93-97% of the time."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.formats.classification import classification_scores
from benchmark.formats.items import ITEMS_KEY, chrf_items, label_items, mean_items
from benchmark.formats.text_metrics import sacrebleu_scores
from benchmark.report.bootstrap import difference, metric_on


def test_on_every_item_each_kind_is_the_formats_own_metric():
    rng = np.random.default_rng(0)
    gold, pred = rng.integers(0, 4, 60), rng.integers(0, 5, 60)
    items = label_items("f1_macro", gold.tolist(), pred.tolist())
    expected = classification_scores(gold.tolist(), pred.tolist())["f1_macro"]
    assert metric_on(items, np.arange(60)) == pytest.approx(expected)
    hyps = ["the cat sat .", "a dog ran home", "birds fly"]
    refs = ["the cat sat down .", "a dog ran home", "the birds flew"]
    stats = chrf_items("chrf", hyps, refs)
    assert metric_on(stats, np.arange(3)) == pytest.approx(sacrebleu_scores(hyps, refs)[0]["chrf"])
    values = mean_items("accuracy", [1.0, 0.0, 1.0, 1.0])
    assert metric_on(values, np.arange(4)) == pytest.approx(0.75)


def test_a_run_against_itself_differs_by_nothing_and_a_shift_is_found():
    values = mean_items("accuracy", [1.0, 0.0] * 100)
    same = difference(values, [values])
    assert same[0] == 0.0 and same[1] == 0.0
    better = mean_items("accuracy", [1.0, 1.0] * 100)
    d, se, low, high = difference(better, [values])
    assert d == pytest.approx(0.5) and 0.4 < low < 0.5 < high < 0.6 and se > 0


def coverage(reps: int = 400, n: int = 300) -> float:
    """Two classifiers on items of varied difficulty d ~ Beta(2, 2), their errors correlated through it: A is
    right with probability 0.90 - 0.6 d, B with 0.85 - 0.6 d, so A's accuracy is 0.05 above B's on the
    population; each repetition draws a test set of ``n`` items and asks whether the interval holds 0.05."""
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(reps):
        difficulty = rng.beta(2, 2, n)
        a = (rng.random(n) < 0.90 - 0.6 * difficulty).astype(float)
        b = (rng.random(n) < 0.85 - 0.6 * difficulty).astype(float)
        _, _, low, high = difference(mean_items("accuracy", a),
                                     [mean_items("accuracy", b)], samples=999)
        hits += low <= 0.05 <= high
    return hits / reps


@pytest.mark.slow  # a coverage simulation
def test_the_paired_bootstrap_covers_a_known_accuracy_difference():
    share = coverage()
    assert 0.93 <= share <= 0.97, share


def test_every_run_records_the_items_its_primary_metric_is_made_of():
    """Through the harness, on a task of each format: the record's test items give back its primary metric."""
    from tests.report_fixtures import real_records

    records = real_records()
    assert {r["task_format"] for r in records} == {"classification", "zero_shot", "translation"}
    for record in records:
        items = record[ITEMS_KEY]
        primary = record["primary_metric"]["name"]
        assert items["metric"] == primary
        assert metric_on(items, np.arange(record["evaluate"]["examples"])) == pytest.approx(record["metrics"][primary])
