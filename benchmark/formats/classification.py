"""Sequence classification: finetune a classifier head (and the whole model) and score it.

Each text is tokenized, closed with ``[EOS]`` and right-padded; the Hugging Face
``*ForSequenceClassification`` head pools the last non-padding token, i.e. ``[EOS]``. The
attention is the pretrained model's own: causal for a causal decoder, bidirectional over
the whole input for encoders and prefix decoders (T5 fed the whole input as the prefix).
"""

from __future__ import annotations

import torch
from sklearn.metrics import accuracy_score, precision_recall_fscore_support
from transformers import get_linear_schedule_with_warmup

from benchmark.formats.training import classifier_head, trainable_parameters
from benchmark.measure import PeakMemory, Throughput, autocast
from benchmark.models.kinds import ModelKind, attention_mask

finetunes = True


def unsupported(kind: ModelKind) -> str | None:
    """Every kind fits: each has a sequence classifier."""
    return None


def downstream_kind(kind: ModelKind) -> ModelKind:
    return ModelKind.ENCODER if kind is ModelKind.PREFIX else kind


def encode(texts: list[str], tokenizer, max_length: int, text_pairs: list[str] | None = None) -> torch.Tensor:
    """Token ids [n, longest] with ``[EOS]`` appended and ``[PAD]`` on the right.

    With ``text_pairs`` (sentence-pair tasks) each row is text ``[SEP]`` text_pair ``[EOS]``.
    """
    if text_pairs is None:
        ids = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=max_length - 1)["input_ids"]
    else:
        firsts = tokenizer(texts, add_special_tokens=False)["input_ids"]
        seconds = tokenizer(text_pairs, add_special_tokens=False)["input_ids"]
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


def pair_texts(split) -> list[str] | None:
    """The split's second texts, for sentence-pair tasks (an optional ``text_pair`` column)."""
    return list(split["text_pair"]) if "text_pair" in split.column_names else None


def _batch(input_ids: torch.Tensor, pad_id: int, kind: ModelKind, device: torch.device) -> dict:
    padding = input_ids != pad_id
    width = int(padding.sum(1).max())  # trim to the batch's longest text
    input_ids, padding = input_ids[:, :width].to(device), padding[:, :width].to(device)
    return {"input_ids": input_ids, "attention_mask": attention_mask(kind, padding.long())}


def build(entry, checkpoint, setup, split, kind: ModelKind):
    """The model entry's classifier, from ``checkpoint`` or (for the control) random init."""
    num_labels = split.features["label"].num_classes
    return entry.build_classifier(checkpoint, setup.size, setup.tokenizer, num_labels, kind)


def finetune(model, split, tokenizer, recipe, kind: ModelKind, seed: int, device: torch.device, precision: str):
    """Train ``model`` on ``split`` (columns text, label, optionally text_pair) with the suite's shared recipe."""
    kind = downstream_kind(kind)
    input_ids = encode(list(split["text"]), tokenizer, recipe.max_length, pair_texts(split))
    labels = torch.tensor(list(split["label"]))
    model.to(device).train()
    parameters = trainable_parameters(model, recipe.mode, classifier_head(model))  # linear_probe: the head only
    steps_per_epoch = -(-len(labels) // recipe.batch_size)
    total = steps_per_epoch * recipe.epochs
    optimizer = torch.optim.AdamW(parameters, lr=recipe.lr, weight_decay=recipe.weight_decay)
    schedule = get_linear_schedule_with_warmup(optimizer, int(recipe.warmup_ratio * total), total)
    generator = torch.Generator().manual_seed(seed)
    meter = Throughput(device)
    with PeakMemory(device) as memory:
        for _ in range(recipe.epochs):
            for index in torch.randperm(len(labels), generator=generator).split(recipe.batch_size):
                batch = _batch(input_ids[index], tokenizer.pad_token_id, kind, device)
                with autocast(device, precision):
                    loss = model(**batch, labels=labels[index].to(device)).loss
                loss.backward()
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                meter.step(tokens=int(batch["input_ids"].numel()), samples=len(index))
    return {**meter.summary(), "peak_memory_bytes": memory.peak_bytes, "examples": len(labels), "epochs": recipe.epochs,
            "mode": recipe.mode, "trained_parameters": sum(p.numel() for p in parameters)}


@torch.no_grad()
def evaluate(model, split, tokenizer, recipe, kind: ModelKind, device: torch.device, precision: str):
    """Accuracy and macro precision/recall/F1 (scikit-learn) on ``split``."""
    kind = downstream_kind(kind)
    input_ids = encode(list(split["text"]), tokenizer, recipe.max_length, pair_texts(split))
    labels = list(split["label"])
    model.to(device).eval()
    predictions = []
    meter = Throughput(device, warmup=1)
    with PeakMemory(device) as memory:
        for index in torch.arange(len(labels)).split(recipe.batch_size * 4):
            batch = _batch(input_ids[index], tokenizer.pad_token_id, kind, device)
            with autocast(device, precision):
                logits = model(**batch).logits
            predictions.extend(logits.argmax(-1).tolist())
            meter.step(tokens=int(batch["input_ids"].numel()), samples=len(index))
    precision_m, recall_m, f1_m, _ = precision_recall_fscore_support(labels, predictions, average="macro", zero_division=0)
    metrics = {
        "accuracy": float(accuracy_score(labels, predictions)),
        "precision_macro": float(precision_m),
        "recall_macro": float(recall_m),
        "f1_macro": float(f1_m),
    }
    return metrics, {**meter.summary(), "peak_memory_bytes": memory.peak_bytes, "examples": len(labels)}
