"""Extractive question answering: point at the answer span in a given context (SQuAD-style).

Each example is read as ``question [SEP] context [EOS]``; a linear head scores every token as
the span's start and as its end (transformers' ``*ForQuestionAnswering``), trained with
cross-entropy on the gold start and end tokens. The predicted span is the best-scoring
start <= end no longer than ``MAX_ANSWER_TOKENS`` inside the context, cut from the context's
characters. Attention as in ``classification.py``: causal for a causal decoder (the question
comes first, so every context token has read it), bidirectional for encoders and prefix
decoders; an encoder-decoder uses T5's span head (encoder reads the input, the decoder reads
it shifted right and is scored). Metrics: SQuAD exact match and token F1 (0..1), each the best
match among a question's gold answers (``answers`` where the task gives several, as SQuAD's
validation split does; ``answer`` otherwise). Finetuning learns the span ``answer`` at ``answer_start``.
Beside them ``span_logprob``: the mean over test items of log p(start = gold start) + log p(end =
gold end), each a softmax over the context's tokens, at the span finetuning learns.
"""

from __future__ import annotations

import torch
from transformers import AutoModelForQuestionAnswering

from benchmark import registry
from benchmark.errors import ObjbenchError
from benchmark.formats import training
from benchmark.formats.classification import downstream_kind
from benchmark.formats.likelihood import gold_logprobs, mean_or_none
from benchmark.formats.items import ITEMS_KEY, mean_items
from benchmark.formats.text_metrics import answer_item_scores, answer_scores
from benchmark.measure import PeakMemory, Throughput, autocast
from benchmark.metric_spec import MetricSpec
from benchmark.models.kinds import ModelKind, attention_mask

MAX_ANSWER_TOKENS = 8


def encode(split, tokenizer, max_length: int) -> dict:
    """Input ids [n, longest], the context's token span and character offsets, and gold token spans.

    A gold span cut off by truncation is (-1, -1): such examples are not trained on and count
    as wrong in evaluation.
    """
    questions = tokenizer(list(split["question"]), add_special_tokens=False)["input_ids"]
    contexts = tokenizer(list(split["context"]), add_special_tokens=False, return_offsets_mapping=True)
    rows, context_start, offsets, gold = [], [], [], []
    for i, (question, answer, start_char) in enumerate(zip(questions, split["answer"], split["answer_start"])):
        question = question[:max_length // 2]
        room = max_length - len(question) - 2
        context_ids, context_offsets = contexts["input_ids"][i][:room], contexts["offset_mapping"][i][:room]
        rows.append([*question, tokenizer.sep_token_id, *context_ids, tokenizer.eos_token_id])
        context_start.append(len(question) + 1)
        offsets.append(context_offsets)
        end_char = start_char + len(answer)
        inside = [j for j, (a, b) in enumerate(context_offsets) if a < end_char and b > start_char]
        gold.append((inside[0] + len(question) + 1, inside[-1] + len(question) + 1) if inside else (-1, -1))
    return {"input_ids": training.pad(rows, tokenizer.pad_token_id), "context_start": torch.tensor(context_start),
            "context_length": torch.tensor([len(o) for o in offsets]), "offsets": offsets,
            "gold": torch.tensor(gold)}


def _inputs(input_ids: torch.Tensor, pad_id: int, kind: ModelKind) -> dict:
    padding = input_ids != pad_id
    width = int(padding.sum(1).max())
    return {"input_ids": input_ids[:, :width], "attention_mask": attention_mask(kind, padding[:, :width].long())}


def best_spans(start_logits: torch.Tensor, end_logits: torch.Tensor, context_start: torch.Tensor,
               context_length: torch.Tensor) -> torch.Tensor:
    """[n, 2] token positions (start, end) maximising start + end score over valid spans in the context."""
    width = start_logits.shape[1]
    positions = torch.arange(width)
    in_context = (positions[None, :] >= context_start[:, None]) & \
                 (positions[None, :] < (context_start + context_length)[:, None])
    scores = start_logits[:, :, None] + end_logits[:, None, :]
    length = positions[None, :] - positions[:, None]  # end - start
    valid = in_context[:, :, None] & in_context[:, None, :] & (length >= 0)[None] & (length < MAX_ANSWER_TOKENS)[None]
    best = scores.masked_fill(~valid, float("-inf")).flatten(1).argmax(1)
    return torch.stack([best // width, best % width], 1)


def span_logprobs(start_logits: torch.Tensor, end_logits: torch.Tensor, context_start: torch.Tensor,
                  context_length: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """[n] log-softmax(start)[gold start] + log-softmax(end)[gold end], each softmax over the context's tokens
    only (where ``best_spans`` looks), for rows whose gold span (``gold`` [n, 2]) lies in the context."""
    positions = torch.arange(start_logits.shape[1])[None, :]
    outside = (positions < context_start[:, None]) | (positions >= (context_start + context_length)[:, None])
    start = gold_logprobs(start_logits.float().masked_fill(outside, float("-inf")), gold[:, 0])
    end = gold_logprobs(end_logits.float().masked_fill(outside, float("-inf")), gold[:, 1])
    return start + end


def gold_answers(split) -> list:
    """Each question's gold answers: the ``answers`` lists where the task gives several, else ``answer``."""
    return list(split["answers"]) if "answers" in split.column_names else list(split["answer"])


@registry.formats.register("extractive_qa")
class ExtractiveQA:
    """Extractive question answering: point at the answer span in a given context (SQuAD-style)."""

    # Token F1 rather than exact match: partial answers still separate small models (BART Table 1 uses F1).
    primary_metric = MetricSpec("f1", higher_is_better=True, max_value=1.0)
    # log p(gold start) + log p(gold end) over the context, averaged over test items (<= 0; unbounded below).
    companion_metric = MetricSpec("span_logprob", higher_is_better=True, max_value=None)
    finetunes = True

    def unsupported(self, kind: ModelKind) -> str | None:
        """Every kind fits: each scores span boundaries from its own hidden states."""
        return None

    def build(self, entry, checkpoint, setup, split, kind: ModelKind):
        return training.load(AutoModelForQuestionAnswering, entry, checkpoint, setup, kind)

    def finetune(self, model, split, tokenizer, recipe, kind: ModelKind, seed: int, device: torch.device,
                 precision: str):
        """Train the span head (and the model) on ``split`` (question, context, answer, answer_start)."""
        kind = downstream_kind(kind)
        data = encode(split, tokenizer, recipe.max_length)
        kept = torch.nonzero(data["gold"][:, 0] >= 0).flatten()  # answers lost to truncation teach nothing
        if len(kept) == 0:
            raise ObjbenchError(f"extractive_qa: every training answer lies past the first {recipe.max_length} "
                                f"tokens of question and context; raise finetune.max_length")

        def make_batch(index: torch.Tensor) -> dict:
            rows = kept[index]
            return {**_inputs(data["input_ids"][rows], tokenizer.pad_token_id, kind),
                    "start_positions": data["gold"][rows, 0], "end_positions": data["gold"][rows, 1]}
        stats = training.train(model, model.qa_outputs, len(kept), make_batch, recipe, seed, device, precision)
        return {**stats, "dropped_truncated": len(split) - len(kept)}

    @torch.no_grad()
    def evaluate(self, model, split, tokenizer, recipe, kind: ModelKind, device: torch.device, precision: str):
        """Exact match and token F1 of the extracted spans against every gold answer of each question, and
        ``span_logprob``: the mean log-probability of the gold span's start and end tokens.

        The gold span is the question's first gold answer (``answer`` at ``answer_start``), the one
        finetuning learns; the split keeps no character offsets for the others, so they cannot be
        put on tokens. A question whose first gold answer truncation cut out of the context has no
        span to score: it is left out of the mean and counted as ``span_logprob_skipped`` in the
        statistics (``span_logprob`` is None when every question is).
        """
        kind = downstream_kind(kind)
        data = encode(split, tokenizer, recipe.max_length)
        model.to(device).eval()
        spans, logprobs = [], []
        meter = Throughput(device, warmup=1)
        with PeakMemory(device) as memory:
            for index in torch.arange(len(split)).split(recipe.batch_size * 4):
                inputs = _inputs(data["input_ids"][index], tokenizer.pad_token_id, kind)
                batch = {k: v.to(device) for k, v in inputs.items()}
                with autocast(device, precision):
                    out = model(**batch)
                start_logits, end_logits = out.start_logits.float().cpu(), out.end_logits.float().cpu()
                context_start, context_length = data["context_start"][index], data["context_length"][index]
                spans += best_spans(start_logits, end_logits, context_start, context_length).tolist()
                gold = data["gold"][index]
                kept = gold[:, 0] >= 0  # a gold span cut off by truncation has no tokens to score
                logprobs.append(span_logprobs(start_logits[kept], end_logits[kept], context_start[kept],
                                              context_length[kept], gold[kept]))
                meter.step(tokens=int(batch["input_ids"].numel()), samples=len(index))
        predictions = []
        for (start, end), first, offsets, context in zip(spans, data["context_start"].tolist(), data["offsets"],
                                                         split["context"]):
            predictions.append(context[offsets[start - first][0]:offsets[end - first][1]])
        stats = {**meter.summary(), "peak_memory_bytes": memory.peak_bytes, "examples": len(split),
                 "span_logprob_skipped": int((data["gold"][:, 0] < 0).sum())}
        golds = gold_answers(split)
        metrics = answer_scores(predictions, golds)
        stats[ITEMS_KEY] = mean_items(self.primary_metric.name, answer_item_scores(predictions, golds)["f1"])
        return {**metrics, self.companion_metric.name: mean_or_none(logprobs)}, stats
