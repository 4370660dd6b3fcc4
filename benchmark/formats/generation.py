"""Text-to-text finetuning and greedy decoding, in the form each model kind takes it.

- Causal decoder: one sequence ``source [SEP] target [EOS]``, a language model with loss on the
  target tokens only, causal attention throughout.
- Prefix decoder: the same sequence, with bidirectional attention over ``source [SEP]`` (the
  prefix) and causal attention after it, as it was pretrained (T5 sec. 3.2.1, "prefix LM").
- Encoder-decoder: the source into the encoder, ``target [EOS]`` out of the decoder (seq2seq).
- Encoder: it has no decoder to generate with; formats built on this module skip it.

The reference's per-token log-likelihood under teacher forcing (the companion metric of the
formats built on this module) reads exactly the batches finetuning trains on.

Decoding is greedy: the most probable token each step, until ``[EOS]`` or ``max_new_tokens``, each
row on its own: a batch stops when its last row has stopped.
Decoder-only models decode with a key-value cache over left-padded prompts; the prompt of a
prefix decoder is read bidirectionally in one pass, then every new token attends causally.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from benchmark.formats.likelihood import gold_logprobs
from benchmark.formats.training import clipped, pad
from benchmark.measure import autocast
from benchmark.models.base import lm_head
from benchmark.models.kinds import ModelKind, attention_mask
from benchmark.objectives.base import IGNORE

DECODER_ONLY = (ModelKind.CAUSAL, ModelKind.PREFIX)


def tokenize(texts: list[str], tokenizer, max_length: int | None = None) -> list[list[int]]:
    """Token ids of each text; with ``max_length``, of its part that truncation to that many tokens can keep."""
    if max_length is not None:
        texts = clipped(texts, tokenizer, max_length)
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def prompt_ids(source: list[int], tokenizer, kind: ModelKind, max_length: int) -> list[int]:
    """What the model reads before generating: ``source [SEP]`` for decoders, ``source [EOS]`` for an encoder."""
    end = tokenizer.sep_token_id if kind in DECODER_ONLY else tokenizer.eos_token_id
    return [*source[:max_length // 2 - 1], end]


def training_batches(sources: list[str], targets: list[str], tokenizer, kind: ModelKind, max_length: int):
    """A ``make_batch(indices)`` for ``training.train``: inputs and labels where only target tokens bear loss."""
    kind = ModelKind(kind)
    if kind is ModelKind.ENCODER:
        raise ValueError("a bidirectional encoder cannot be trained to generate")
    pad_id, eos = tokenizer.pad_token_id, tokenizer.eos_token_id
    prompts = [prompt_ids(s, tokenizer, kind, max_length) for s in tokenize(sources, tokenizer, max_length)]
    answers = tokenize(targets, tokenizer, max_length)
    if kind is ModelKind.ENCODER_DECODER:
        inputs = pad(prompts, pad_id)
        labels = pad([[*t[:max_length - 1], eos] for t in answers], IGNORE)

        def make_batch(index: torch.Tensor) -> dict:
            ids, lab = _trim(inputs[index], pad_id), _trim(labels[index], IGNORE)
            return {"input_ids": ids, "attention_mask": (ids != pad_id).long(), "labels": lab}
        return make_batch
    rows = [[*p, *t[:max_length - len(p) - 1], eos] for p, t in zip(prompts, answers)]
    sequences = pad(rows, pad_id)
    prefix_lengths = torch.tensor([len(p) for p in prompts])
    lengths = torch.tensor([len(r) for r in rows])
    positions = torch.arange(sequences.shape[1])
    is_target = (positions[None, :] >= prefix_lengths[:, None]) & (positions[None, :] < lengths[:, None])
    labels = torch.where(is_target, sequences, IGNORE)  # the model shifts them: position t predicts label t+1

    def make_batch(index: torch.Tensor) -> dict:
        width = int(lengths[index].max())
        ids = sequences[index, :width]
        padding = (positions[:width][None, :] < lengths[index][:, None]).long()
        return {"input_ids": ids, "labels": labels[index, :width],
                "attention_mask": attention_mask(kind, padding, prefix_lengths=prefix_lengths[index])}
    return make_batch


@torch.no_grad()
def reference_logprob(model, sources: list[str], targets: list[str], tokenizer, kind: ModelKind, max_length: int,
                      batch_size: int, device: torch.device, precision: str) -> tuple[float | None, int]:
    """(mean log p(token | source, the reference before it) per reference token, number of tokens) under
    teacher forcing, over the tokens that bear loss in :func:`training_batches`: each reference as
    finetuning truncates it, and its closing ``[EOS]``. The mean is over all tokens of all
    references together (a long reference weighs more), None when there are none.

    Two things keep it cheap beside decoding: pairs are batched in order of their length in tokens,
    so that a batch pads little (a sum does not depend on the order), and a decoder-only model's
    output projection is applied to the hidden states of the reference tokens only, not to the
    source's (at the tiny preset the projection onto the vocabulary costs as much as the blocks).
    """
    kind = ModelKind(kind)
    make_batch = training_batches(sources, targets, tokenizer, kind, max_length)
    model.to(device).eval()
    lengths = [len(s) + len(t) for s, t in zip(tokenize(sources, tokenizer, max_length),
                                               tokenize(targets, tokenizer, max_length))]
    by_length = torch.tensor(lengths, dtype=torch.long).argsort(stable=True)
    total, count = torch.zeros((), dtype=torch.float64), 0
    for index in by_length.split(batch_size):
        batch = {k: v.to(device) for k, v in make_batch(index).items()}
        labels = batch.pop("labels")
        with autocast(device, precision):
            if kind is ModelKind.ENCODER_DECODER:  # the decoder reads the labels shifted right, as in training
                decoder_input_ids = model.prepare_decoder_input_ids_from_labels(labels=labels)
                logits = model(**batch, decoder_input_ids=decoder_input_ids).logits
                bearing = labels != IGNORE
                logits, gold = logits[bearing], labels[bearing]
            else:  # position t predicts token t + 1
                hidden = model.base_model(**batch).last_hidden_state[:, :-1]
                bearing = labels[:, 1:] != IGNORE
                logits, gold = lm_head(model)(hidden[bearing]), labels[:, 1:][bearing]
        total += gold_logprobs(logits, gold).double().sum().cpu()
        count += len(gold)
    return (float(total) / count if count else None), count


def _trim(rows: torch.Tensor, pad_value: int) -> torch.Tensor:
    """Drop the padding columns no row of the batch needs."""
    width = int((rows != pad_value).sum(1).max())
    return rows[:, :max(width, 1)].contiguous()


@torch.no_grad()
def greedy_decode(model, sources: list[str], tokenizer, kind: ModelKind, max_length: int,
                  max_new_tokens: int | Sequence[int], batch_size: int, device: torch.device,
                  precision: str) -> list[list[int]]:
    """Generated token ids (without the closing ``[EOS]``) for each source text, at most ``max_new_tokens``
    (one cap for all, or one per source). A row of exactly its cap's length was cut by it.

    Sources are decoded in batches of similar length (the order of the output is the sources'),
    and a batch stops once every row has written ``[EOS]`` or reached its cap, so one long
    output does not hold up a batch of short ones.
    """
    kind = ModelKind(kind)
    prompts = [prompt_ids(s, tokenizer, kind, max_length) for s in tokenize(sources, tokenizer, max_length)]
    caps = [max_new_tokens] * len(prompts) if isinstance(max_new_tokens, int) else list(max_new_tokens)
    model.to(device).eval()
    out: list[list[int]] = [[] for _ in prompts]
    by_length = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    for start in range(0, len(prompts), batch_size):
        rows = by_length[start:start + batch_size]
        chunk, chunk_caps = [prompts[i] for i in rows], [caps[i] for i in rows]
        with autocast(device, precision):
            if kind is ModelKind.ENCODER_DECODER:
                ids = pad(chunk, tokenizer.pad_token_id).to(device)
                generated = model.generate(input_ids=ids, attention_mask=(ids != tokenizer.pad_token_id).long(),
                                           max_new_tokens=max(chunk_caps), do_sample=False, num_beams=1,
                                           eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
                generated = generated[:, 1:]  # drop the decoder start token
            else:
                generated = _decode_decoder_only(model, chunk, tokenizer, kind, chunk_caps, device)
        for i, cap, row in zip(rows, chunk_caps, generated.tolist()):
            out[i] = _until_eos(row, tokenizer.eos_token_id)[:cap]
    return out


def _decode_decoder_only(model, prompts: list[list[int]], tokenizer, kind: ModelKind, caps: list[int],
                         device: torch.device) -> torch.Tensor:
    ids = pad(prompts, tokenizer.pad_token_id, left=True).to(device)
    real = ids != tokenizer.pad_token_id
    rows, width = ids.shape
    positions = (real.long().cumsum(1) - 1).clamp(min=0)
    causal = torch.ones(width, width, dtype=torch.bool, device=device).tril()
    prefix = kind is ModelKind.PREFIX
    visible = (causal[None, None] | prefix) & real[:, None, None, :]
    mask = visible | torch.eye(width, dtype=torch.bool, device=device)  # a padding query sees itself, not NaN
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
    cache, keys = out.cache, real
    next_position = positions[:, -1:] + 1
    generated = []
    done = torch.zeros(rows, dtype=torch.bool, device=device)
    cap = torch.tensor(caps, device=device)
    for step in range(max(caps)):
        token = out.logits[:, -1].argmax(-1)
        token = torch.where(done, tokenizer.eos_token_id, token)
        generated.append(token)
        done |= (token == tokenizer.eos_token_id) | (cap <= step + 1)
        if bool(done.all()):
            break
        keys = torch.cat([keys, torch.ones(rows, 1, dtype=torch.bool, device=device)], 1)
        out = model(input_ids=token[:, None], attention_mask=keys[:, None, None, :], position_ids=next_position,
                    cache=cache, use_cache=True)
        cache, next_position = out.cache, next_position + 1
    return torch.stack(generated, 1)


def _until_eos(row: list[int], eos: int) -> list[int]:
    return row[:row.index(eos)] if eos in row else row


def decode_text(tokenizer, ids: list[int]) -> str:
    """Generated ids as text; word boundaries come from the tokenizer's decoder."""
    return tokenizer.decode(ids, skip_special_tokens=True).strip()
