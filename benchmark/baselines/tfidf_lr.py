"""TF-IDF word and character n-grams with logistic regression, trained on the task's own training split."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from pydantic import Field, model_validator
from scipy.special import log_softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion, Pipeline

from benchmark import registry
from benchmark.baselines.base import Cost, Params, normalize
from benchmark.formats.classification import Classification, classification_scores, pair_texts
from benchmark.formats.items import ITEMS_KEY, label_items

PAIR_SEPARATOR = " ||| "  # no word characters: the word analyzer drops it, char_wb keeps it as one token
SELECTION_METRIC = "f1_macro"  # the classification format's primary metric


class TfidfLRParams(Params):
    # Inverse L2 strengths tried, log-spaced from c_min to c_max (scalars, as suites hold): 0.1, 1, 10.
    c_min: float = Field(0.1, gt=0)
    c_max: float = Field(10.0, gt=0)
    c_steps: int = Field(3, ge=1)
    validation_share: float = Field(0.2, gt=0, lt=1)  # of the training split, held out to choose C
    max_iter: int = Field(1000, ge=1)  # lbfgs iterations: enough for every C of the grid on the synthetic tasks

    @model_validator(mode="after")
    def _grid_rises(self) -> TfidfLRParams:
        if self.c_max < self.c_min:
            raise ValueError(f"c_max {self.c_max:g} is below c_min {self.c_min:g}")
        return self

    @property
    def c_grid(self) -> list[float]:
        """The C values tried: ``c_steps`` log-spaced from ``c_min`` to ``c_max``, rounded to 6 significant digits."""
        return sorted({float(f"{c:.6g}") for c in np.geomspace(self.c_min, self.c_max, self.c_steps)})


def build_pipeline(c: float, max_iter: int, seed: int) -> Pipeline:
    """TF-IDF of word 1-2-grams and of character 2-5-grams within word boundaries, then logistic regression."""
    features = FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, preprocessor=normalize)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, preprocessor=normalize)),
    ])
    return Pipeline([("features", features),
                     ("classifier", LogisticRegression(C=c, max_iter=max_iter, random_state=seed))])


def fit_pipeline(texts: list[str], labels: list[int], c: float, max_iter: int, seed: int) -> Pipeline:
    return build_pipeline(c, max_iter, seed).fit(texts, labels)


def choose_c(texts: list[str], labels: list[int], params: TfidfLRParams, seed: int) -> tuple[float, dict[float, float]]:
    """The C of ``params.c_grid`` with the best validation macro F1, and every C's validation score.

    Only the training split comes in: a validation share is carved from it (stratified by label
    when every label has at least two examples, shuffled by ``seed``), each C is fitted on the
    rest and scored on it. Ties go to the smaller C (the stronger regularisation).
    """
    counts = Counter(labels)
    validation_size = math.ceil(params.validation_share * len(labels))  # as train_test_split rounds
    stratifiable = min(counts.values()) >= 2 and len(counts) <= min(validation_size, len(labels) - validation_size)
    fit_texts, val_texts, fit_labels, val_labels = train_test_split(
        texts, labels, test_size=validation_size, random_state=seed, stratify=labels if stratifiable else None)
    scores = {}
    for c in params.c_grid:
        predictions = fit_pipeline(fit_texts, fit_labels, c, params.max_iter, seed).predict(val_texts)
        scores[c] = classification_scores(val_labels, list(predictions))[SELECTION_METRIC]
    return max(scores, key=lambda c: (scores[c], -c)), scores


def gold_logprob(model: Pipeline, texts: list[str], labels: list[int]) -> float | None:
    """The mean over ``texts`` of log p(gold label) under the fitted pipeline, or None.

    The log-probabilities are scikit-learn's ``predict_proba`` taken in log space from the decision
    scores (a softmax over the classes; for two classes over (0, score), i.e. the logistic
    function), so a confident wrong answer gives a large negative number, not log(0). A test label
    that the training split never holds has probability 0 (minus infinity, which a record cannot
    hold): None then, as for no test items.
    """
    classes = list(model.classes_)
    if not labels or not set(labels) <= set(classes):
        return None
    scores = model.decision_function(texts)
    if scores.ndim == 1:
        scores = np.stack([np.zeros_like(scores), scores], axis=1)
    gold = np.array([classes.index(label) for label in labels])
    return float(log_softmax(scores, axis=1)[np.arange(len(labels)), gold].mean())


def joined_texts(split) -> list[str]:
    """The split's texts, each sentence pair as ``text ||| text_pair``."""
    pairs = pair_texts(split)
    texts = list(split["text"])
    return texts if pairs is None else [f"{a}{PAIR_SEPARATOR}{b}" for a, b in zip(texts, pairs)]


@registry.baselines.register("tfidf_lr")
class TfidfLogisticRegression:
    """TF-IDF word (1-2) and character (2-5) n-grams with logistic regression, C chosen on a validation split.

    The n-gram TF-IDF multinomial logistic regression that Zhang et al. 2015 ("Character-level
    convolutional networks for text classification") report as a traditional baseline on AG
    News and other sets, here scikit-learn's with character n-grams added: a ``FeatureUnion``
    of sublinear TF-IDF over word uni- and bigrams and over character 2-5-grams inside word
    boundaries (``char_wb``), on NFKC-normalised lower-cased text, then L2-regularised
    ``LogisticRegression`` (lbfgs, multinomial). C is chosen from the grid 0.1, 1, 10
    (``c_min``, ``c_max``, ``c_steps``) by macro F1 on ``validation_share`` (20%) of the
    training split (:func:`choose_c`); the model is then refitted on the whole training split
    with that C and scored on the test split with the classification format's metrics, the mean
    log-probability of the gold label included (:func:`gold_logprob`). Sentence pairs are joined
    as ``text ||| text_pair``. The cost adds the chosen C and every C's validation score.
    """

    Params = TfidfLRParams
    formats = ("classification",)
    uses_corpus = False
    seeded = True  # the seed shuffles the validation split that picks C

    def __init__(self, params: TfidfLRParams):
        self.params = params

    def fit_and_evaluate(self, splits, corpus, tokenizer, seed: int) -> tuple[dict, dict]:
        train, test = splits["train"], splits["test"]
        texts, labels = joined_texts(train), list(train["label"])
        cost = Cost()
        with cost.phase("fit"):
            chosen, validation = choose_c(texts, labels, self.params, seed)
            model = fit_pipeline(texts, labels, chosen, self.params.max_iter, seed)
        with cost.phase("eval"):
            test_texts, test_labels = joined_texts(test), list(test["label"])
            predicted = list(model.predict(test_texts))
            metrics = {**classification_scores(test_labels, predicted),
                       Classification.companion_metric.name: gold_logprob(model, test_texts, test_labels)}
        classifier = model.named_steps["classifier"]
        cost.record.update(parameters=int(classifier.coef_.size + classifier.intercept_.size), chosen_c=chosen,
                           validation_f1_macro={str(c): score for c, score in validation.items()},
                           features=int(classifier.coef_.shape[1]))
        return metrics, {**cost.record, ITEMS_KEY: label_items(Classification.primary_metric.name, test_labels,
                                                               predicted)}
