"""Extractive question answering: point at the answer span in a given context (SQuAD-style).

Each example is read as ``question [SEP] context [EOS]``; a context too long for
``finetune.max_length`` is read in overlapping windows, one row each (the method of the HF
question-answering examples). A linear head scores every token as the span's start and as its
end (transformers' ``*ForQuestionAnswering``), trained with cross-entropy on the gold start and
end tokens of every window that holds the answer. The predicted span is the best-scoring
start <= end no longer than ``MAX_ANSWER_TOKENS`` inside a window's context, over all the
question's windows, cut from the original context's characters through the tokens' offsets.
Attention as in ``classification.py``: causal for a causal decoder (the question
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
from benchmark.formats.items import ITEMS_KEY, mean_items
from benchmark.formats.likelihood import gold_logprobs, mean_or_none
from benchmark.formats.text_metrics import answer_item_scores, answer_scores
from benchmark.measure import PeakMemory, Throughput, autocast
from benchmark.metric_spec import MetricSpec
from benchmark.models.kinds import ModelKind, attention_mask

MAX_ANSWER_TOKENS = 30  # the longest span predicted, in tokens (max_answer_length of the HF QA examples)


def windows(n_tokens: int, room: int) -> list[int]:
    """Where each window of ``room`` context tokens starts, so that the windows cover ``n_tokens`` and each
    overlaps the next by a third of a window (the HF question-answering examples: 128 of 384 tokens).

    An answer no longer than the overlap lies whole in some window.
    """
    step = max(1, room - room // 3)
    starts = list(range(0, max(n_tokens - room, 0) + 1, step))
    if starts[-1] + room < n_tokens:
        starts.append(n_tokens - room)
    return starts


def encode(split, tokenizer, max_length: int) -> dict:
    """The windows of every example: ``question [SEP] context window [EOS]``, at most ``max_length`` tokens.

    A context longer than one window is read in overlapping windows (:func:`windows`); each window
    is one row, with ``example`` (which question it belongs to), the window's token span and
    character offsets, ``gold``: the answer's token span in that window, or (-1, -1) where the
    window does not hold the whole answer, and ``scored``: whether it is its question's first window
    that holds it (the one ``span_logprob`` scores). ``outside``: how many examples' answers lie whole in no
    window (an answer longer than the overlap between windows); 0 on the SQuAD test sample at 128 tokens.
    """
    questions = tokenizer(list(split["question"]), add_special_tokens=False)["input_ids"]
    contexts = tokenizer(list(split["context"]), add_special_tokens=False, return_offsets_mapping=True)
    rows, example, context_start, offsets, gold, scored = [], [], [], [], [], []
    outside = 0
    for i, (question, answer, start_char) in enumerate(zip(questions, split["answer"], split["answer_start"])):
        question = question[:max_length // 2]
        room = max_length - len(question) - 2
        context_ids, context_offsets = contexts["input_ids"][i], contexts["offset_mapping"][i]
        end_char = start_char + len(answer)
        inside = [j for j, (a, b) in enumerate(context_offsets) if a < end_char and b > start_char]
        held = False
        for first in windows(len(context_ids), room):
            window = slice(first, first + room)
            rows.append([*question, tokenizer.sep_token_id, *context_ids[window], tokenizer.eos_token_id])
            example.append(i)
            context_start.append(len(question) + 1)
            offsets.append(context_offsets[window])
            whole = bool(inside) and first <= inside[0] and inside[-1] < first + room
            scored.append(whole and not held)
            held |= whole
            shift = len(question) + 1 - first
            gold.append((inside[0] + shift, inside[-1] + shift) if whole else (-1, -1))
        outside += not held
    return {"input_ids": training.pad(rows, tokenizer.pad_token_id), "example": torch.tensor(example),
            "context_start": torch.tensor(context_start), "context_length": torch.tensor([len(o) for o in offsets]),
            "offsets": offsets, "gold": torch.tensor(gold), "scored": torch.tensor(scored, dtype=torch.bool),
            "outside": outside}


def _inputs(input_ids: torch.Tensor, pad_id: int, kind: ModelKind) -> dict:
    padding = input_ids != pad_id
    width = int(padding.sum(1).max())
    return {"input_ids": input_ids[:, :width], "attention_mask": attention_mask(kind, padding[:, :width].long())}


def best_spans(start_logits: torch.Tensor, end_logits: torch.Tensor, context_start: torch.Tensor,
               context_length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[n, 2] token positions (start, end) maximising start + end score over valid spans in the context,
    and [n] that score (which windows of one question compare)."""
    width = start_logits.shape[1]
    positions = torch.arange(width)
    in_context = (positions[None, :] >= context_start[:, None]) & \
                 (positions[None, :] < (context_start + context_length)[:, None])
    scores = start_logits[:, :, None] + end_logits[:, None, :]
    length = positions[None, :] - positions[:, None]  # end - start
    valid = in_context[:, :, None] & in_context[:, None, :] & (length >= 0)[None] & (length < MAX_ANSWER_TOKENS)[None]
    score, best = scores.masked_fill(~valid, float("-inf")).flatten(1).max(1)
    return torch.stack([best // width, best % width], 1), score


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
        kept = torch.nonzero(data["gold"][:, 0] >= 0).flatten()  # every window that holds its answer whole
        if len(kept) == 0:
            raise ObjbenchError(f"extractive_qa: no training answer fits whole in a window of {recipe.max_length} "
                                f"tokens of question and context; raise finetune.max_length")

        def make_batch(index: torch.Tensor) -> dict:
            rows = kept[index]
            return {**_inputs(data["input_ids"][rows], tokenizer.pad_token_id, kind),
                    "start_positions": data["gold"][rows, 0], "end_positions": data["gold"][rows, 1]}
        stats = training.train(model, model.qa_outputs, len(kept), make_batch, recipe, seed, device, precision)
        return {**stats, "windows": len(data["gold"]), "windows_trained": len(kept),
                "answers_outside_windows": data["outside"]}

    @torch.no_grad()
    def evaluate(self, model, split, tokenizer, recipe, kind: ModelKind, device: torch.device, precision: str):
        """Exact match and token F1 of the extracted spans against every gold answer of each question, and
        ``span_logprob``: the mean log-probability of the gold span's start and end tokens.

        A context longer than one window is read in overlapping windows; a question's answer is the
        best-scoring span (start + end logit) over all its windows, cut from the context through the
        window's character offsets. The gold span is the question's first gold answer (``answer`` at
        ``answer_start``), the one finetuning learns, in the first window that holds it whole; the split
        keeps no character offsets for the others, so they cannot be put on tokens. A question whose
        answer no window holds whole (``answers_outside_windows``) has no span to score: it is left out
        of the mean and counted as ``span_logprob_skipped`` (``span_logprob`` is None when every question is).
        """
        kind = downstream_kind(kind)
        data = encode(split, tokenizer, recipe.max_length)
        model.to(device).eval()
        spans, scores, logprobs = [], [], []
        example, gold, first_window = data["example"], data["gold"], data["scored"]
        meter = Throughput(device, warmup=1)
        with PeakMemory(device) as memory:
            for index in torch.arange(len(gold)).split(recipe.batch_size * 4):
                inputs = _inputs(data["input_ids"][index], tokenizer.pad_token_id, kind)
                batch = {k: v.to(device) for k, v in inputs.items()}
                with autocast(device, precision):
                    out = model(**batch)
                start_logits, end_logits = out.start_logits.float().cpu(), out.end_logits.float().cpu()
                context_start, context_length = data["context_start"][index], data["context_length"][index]
                best, score = best_spans(start_logits, end_logits, context_start, context_length)
                spans.append(best)
                scores.append(score)
                scored = first_window[index]
                logprobs.append(span_logprobs(start_logits[scored], end_logits[scored], context_start[scored],
                                              context_length[scored], gold[index][scored]))
                meter.step(tokens=int(batch["input_ids"].numel()), samples=len(index))
        spans, scores = torch.cat(spans), torch.cat(scores).tolist()
        best_window = [-1] * len(split)  # per question, its window with the best-scoring span (the first on a tie)
        for row, i in enumerate(example.tolist()):
            if best_window[i] < 0 or scores[row] > scores[best_window[i]]:
                best_window[i] = row
        predictions = []
        for context, row in zip(split["context"], best_window):
            (start, end), first, offsets = spans[row].tolist(), int(data["context_start"][row]), data["offsets"][row]
            predictions.append(context[offsets[start - first][0]:offsets[end - first][1]])
        stats = {**meter.summary(), "peak_memory_bytes": memory.peak_bytes, "examples": len(split),
                 "windows": len(gold), "answers_outside_windows": data["outside"],
                 "span_logprob_skipped": len(split) - int(first_window.sum())}
        golds = gold_answers(split)
        metrics = answer_scores(predictions, golds)
        stats[ITEMS_KEY] = mean_items(self.primary_metric.name, answer_item_scores(predictions, golds)["f1"])
        return {**metrics, self.companion_metric.name: mean_or_none(logprobs)}, stats
