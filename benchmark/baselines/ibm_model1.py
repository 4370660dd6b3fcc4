"""IBM Model 1 word translation, trained on the task's parallel training split, decoded word by word."""

from __future__ import annotations

from collections import Counter

from nltk.translate import AlignedSent, IBMModel1
from pydantic import Field

from benchmark import registry
from benchmark.baselines.base import Cost, Params, words
from benchmark.formats.items import ITEMS_KEY, chrf_items
from benchmark.formats.translation import Translation, translation_metrics


class IBMModel1Params(Params):
    iterations: int = Field(5, ge=1)  # EM passes; Model 1's likelihood has one optimum, reached in a few
    max_pairs: int = Field(20_000, ge=1)  # nltk's EM is pure Python: caps a large training split (WMT) to minutes
    # A source word seen at least drop_min_count times that the training pairs' Viterbi alignments leave
    # unaligned in more than max_unaligned_share of its occurrences is dropped: it usually translates to
    # nothing, or to an affix of another word ("was", "not", "which" in the synthetic task). Rarer words
    # are kept: a word seen once or twice is often left unaligned by chance.
    max_unaligned_share: float = Field(0.5, ge=0, le=1)
    drop_min_count: int = Field(5, ge=1)


class WordTranslator:
    """Monotone word-by-word decoding with a trained Model 1 table p(target word | source word).

    Each source word becomes its most probable target word (ties: the alphabetically first);
    a frequent word the training alignments mostly leave unaligned is dropped; a word never seen in
    training is copied, as phrase-based systems pass unknown words (names, numbers) through.
    """

    def __init__(self, model: IBMModel1, pairs: list[AlignedSent], params: IBMModel1Params):
        best: dict[str, tuple[float, str]] = {}
        for target, row in sorted(model.translation_table.items()):  # sorted: ties go to the first target
            for source, probability in row.items():
                if source is not None and probability > best.get(source, (0.0, ""))[0]:
                    best[source] = (probability, target)
        self.best = {source: target for source, (_, target) in best.items()}
        self.dropped = unaligned_words(pairs, params.max_unaligned_share, params.drop_min_count)

    def translate(self, tokens: list[str]) -> list[str]:
        return [self.best.get(s, s) for s in tokens if s not in self.dropped]


def unaligned_words(pairs: list[AlignedSent], max_unaligned_share: float, min_count: int) -> set[str]:
    """Source words seen at least ``min_count`` times and left unaligned (no target word aligned to them)
    in more than ``max_unaligned_share`` of their occurrences."""
    seen, aligned = Counter(), Counter()
    for pair in pairs:
        linked = {i for _, i in pair.alignment if i is not None}
        for i, source in enumerate(pair.mots):
            seen[source] += 1
            aligned[source] += i in linked
    return {s for s, n in seen.items() if n >= min_count and 1 - aligned[s] / n > max_unaligned_share}


def train(sources: list[str], targets: list[str], params: IBMModel1Params) -> tuple[IBMModel1, list[AlignedSent]]:
    """Model 1 on the first ``max_pairs`` pairs (lower-cased word tokens), target given source; and the pairs,
    each holding its Viterbi alignment."""
    pairs = [AlignedSent(words(t), words(s)) for s, t in zip(sources[:params.max_pairs], targets[:params.max_pairs])]
    return IBMModel1(pairs, params.iterations), pairs


@registry.baselines.register("ibm_model1")
class IBMModel1Baseline:
    """IBM Model 1 lexical translation, monotone word-by-word decoding: chrF and BLEU of a bag-of-words translator.

    Brown et al. 1993 ("The mathematics of statistical machine translation"), Model 1: the
    translation table p(target word | source word), with a NULL source word, learnt by
    ``iterations`` (5) EM passes of ``nltk.translate.IBMModel1`` over the training split's pairs
    (at most ``max_pairs``, 20,000), as lower-cased word tokens (``base.words``). Decoding is
    :class:`WordTranslator`: no reordering, no language model, one target word per source word,
    frequent source words mostly aligned to nothing dropped (``max_unaligned_share``,
    ``drop_min_count``), unknown words copied.
    Hypotheses are the target words joined by spaces; metrics are the translation format's
    (sacrebleu BLEU and chrF, lower-cased), and the cost keeps their sacrebleu signatures.
    The per-token reference log-likelihood is None: Model 1 scores lower-cased words, not the
    shared tokenizer's subword tokens, and has no model of how many target words there are (it
    conditions on the length), so its likelihood is not per token of the same units and would
    not compare with a network's.
    """

    Params = IBMModel1Params
    formats = ("translation",)
    uses_corpus = False
    seeded = False  # EM from uniform translation probabilities: one fit, whatever the seed

    def __init__(self, params: IBMModel1Params):
        self.params = params

    def fit_and_evaluate(self, splits, corpus, tokenizer, seed: int) -> tuple[dict, dict]:
        train_split, test = splits["train"], splits["test"]
        cost = Cost()
        with cost.phase("fit"):
            model, pairs = train(list(train_split["source"]), list(train_split["target"]), self.params)
            translator = WordTranslator(model, pairs, self.params)
        with cost.phase("eval"):
            hypotheses = [" ".join(translator.translate(words(s))) for s in test["source"]]
            metrics, signatures = translation_metrics(hypotheses, list(test["target"]))
            metrics[Translation.companion_metric.name] = None  # not in comparable units: see the docstring
        cost.record.update(parameters=sum(len(row) for row in model.translation_table.values()),
                           training_pairs=len(pairs), dropped_source_words=len(translator.dropped), **signatures)
        return metrics, {**cost.record,
                         ITEMS_KEY: chrf_items(Translation.primary_metric.name, hypotheses, list(test["target"]))}
