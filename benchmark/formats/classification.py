"""Sequence classification: finetune a classifier head (and the whole model) and score it.

Each text is tokenized, closed with ``[EOS]`` and right-padded; the Hugging Face
``*ForSequenceClassification`` head pools the last non-padding token, i.e. ``[EOS]``. The
attention is the pretrained model's own: causal for a causal decoder, bidirectional over
the whole input for encoders and prefix decoders (T5 fed the whole input as the prefix).
Metrics: accuracy and macro precision/recall/F1; beside them ``gold_logprob``, the mean
log-probability of the gold label under the finetuned classifier.
"""

from __future__ import annotations

import torch
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from benchmark import registry
from benchmark.formats import training
from benchmark.formats.likelihood import gold_logprobs, mean_or_none
from benchmark.formats.items import ITEMS_KEY, label_items
from benchmark.measure import PeakMemory, Throughput, autocast
from benchmark.metric_spec import MetricSpec
from benchmark.models.kinds import ModelKind, attention_mask


def downstream_kind(kind: ModelKind) -> ModelKind:
    return ModelKind.ENCODER if kind is ModelKind.PREFIX else kind


def encode(texts: list[str], tokenizer, max_length: int, text_pairs: list[str] | None = None) -> torch.Tensor:
    """Token ids [n, longest] with ``[EOS]`` appended and ``[PAD]`` on the right.

    With ``text_pairs`` (sentence-pair tasks) each row is text ``[SEP]`` text_pair ``[EOS]``.
    """
    texts = training.clipped(texts, tokenizer, max_length)
    if text_pairs is None:
        ids = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=max_length - 1)["input_ids"]
    else:
        firsts = tokenizer(texts, add_special_tokens=False)["input_ids"]
        seconds = tokenizer(training.clipped(text_pairs, tokenizer, max_length), add_special_tokens=False)["input_ids"]
        ids = [_join_pair(a, b, tokenizer.sep_token_id, max_length - 2) for a, b in zip(firsts, seconds)]
    lengths = torch.tensor([len(x) + 1 for x in ids])
    out = torch.full((len(ids), int(lengths.max())), tokenizer.pad_token_id, dtype=torch.long)
    flat = torch.tensor([t for x in ids for t in (*x, tokenizer.eos_token_id)])
    rows = torch.repeat_interleave(torch.arange(len(ids)), lengths)
    cols = torch.arange(len(flat)) - torch.repeat_interleave(torch.cumsum(lengths, 0) - lengths, lengths)
    out[rows, cols] = flat
    return out


def _join_pair(first: list[int], second: list[int], sep_id: int, budget: int) -> list[int]:
    """``first [SEP] second`` with at most ``budget`` tokens of text; the longer side is cut first
    (BERT's longest-first truncation), so a short hypothesis survives a long premise."""
    if len(first) + len(second) > budget:
        keep_second = min(len(second), max(budget // 2, budget - len(first)))
        first, second = first[:budget - keep_second], second[:keep_second]
    return [*first, sep_id, *second]


def classification_scores(labels: list[int], predictions: list[int]) -> dict[str, float]:
    """Accuracy and macro precision, recall and F1 (scikit-learn; a class never predicted scores 0)."""
    precision_m, recall_m, f1_m, _ = precision_recall_fscore_support(labels, predictions, average="macro",
                                                                     zero_division=0)
    return {
        "accuracy": float(accuracy_score(labels, predictions)),
        "precision_macro": float(precision_m),
        "recall_macro": float(recall_m),
        "f1_macro": float(f1_m),
    }


def pair_texts(split) -> list[str] | None:
    """The split's second texts, for sentence-pair tasks (an optional ``text_pair`` column)."""
    return list(split["text_pair"]) if "text_pair" in split.column_names else None


def _batch(input_ids: torch.Tensor, pad_id: int, kind: ModelKind) -> dict:
    padding = input_ids != pad_id
    width = int(padding.sum(1).max())  # trim to the batch's longest text
    return {"input_ids": input_ids[:, :width], "attention_mask": attention_mask(kind, padding[:, :width].long())}


@registry.formats.register("classification")
class Classification:
    """Sequence classification: finetune a classifier head (and the whole model) and score it."""

    # Macro F1 rather than accuracy: it does not reward predicting the majority label.
    primary_metric = MetricSpec("f1_macro", higher_is_better=True, max_value=1.0)
    # The finetuned classifier's log-probability of the gold label, averaged over test items (<= 0; unbounded below).
    companion_metric = MetricSpec("gold_logprob", higher_is_better=True, max_value=None)
    finetunes = True

    def unsupported(self, kind: ModelKind) -> str | None:
        """Every kind fits: each has a sequence classifier."""
        return None

    def build(self, entry, checkpoint, setup, split, kind: ModelKind):
        """The model entry's classifier, from ``checkpoint`` or (for the control) random init."""
        num_labels = split.features["label"].num_classes
        return entry.build_classifier(checkpoint, setup.size, setup.tokenizer, num_labels, kind)

    def finetune(self, model, split, tokenizer, recipe, kind: ModelKind, seed: int, device: torch.device,
                 precision: str):
        """Train ``model`` on ``split`` (columns text, label, optionally text_pair) with the suite's shared recipe."""
        kind = downstream_kind(kind)
        input_ids = encode(list(split["text"]), tokenizer, recipe.max_length, pair_texts(split))
        labels = torch.tensor(list(split["label"]))

        def make_batch(index: torch.Tensor) -> dict:
            return {**_batch(input_ids[index], tokenizer.pad_token_id, kind), "labels": labels[index]}
        return training.train(model, training.classifier_head(model), len(labels), make_batch, recipe, seed, device,
                              precision)

    @torch.no_grad()
    def evaluate(self, model, split, tokenizer, recipe, kind: ModelKind, device: torch.device, precision: str):
        """Accuracy and macro precision/recall/F1 (scikit-learn) on ``split``, and ``gold_logprob``: the mean
        over test items of the classifier's log-softmax at the gold label."""
        kind = downstream_kind(kind)
        input_ids = encode(list(split["text"]), tokenizer, recipe.max_length, pair_texts(split))
        labels = list(split["label"])
        gold = torch.tensor(labels, dtype=torch.long)
        model.to(device).eval()
        predictions, logprobs = [], []
        meter = Throughput(device, warmup=1)
        with PeakMemory(device) as memory:
            for index in torch.arange(len(labels)).split(recipe.batch_size * 4):
                batch = {k: v.to(device) for k, v in _batch(input_ids[index], tokenizer.pad_token_id, kind).items()}
                with autocast(device, precision):
                    logits = model(**batch).logits
                predictions.extend(logits.argmax(-1).tolist())
                logprobs.append(gold_logprobs(logits, gold[index]))
                meter.step(tokens=int(batch["input_ids"].numel()), samples=len(index))
        metrics = {**classification_scores(labels, predictions),
                   self.companion_metric.name: mean_or_none(logprobs)}
        return metrics, {**meter.summary(), "peak_memory_bytes": memory.peak_bytes, "examples": len(labels),
                         ITEMS_KEY: label_items(self.primary_metric.name, labels, predictions)}
