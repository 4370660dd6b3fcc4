"""T5 span corruption: drop spans of the input, replace each with a sentinel, predict the spans."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from benchmark import registry
from benchmark.data.tokenizer import SENTINELS
from benchmark.errors import ObjbenchError
from benchmark.objectives.base import IGNORE, EncoderDecoderObjective, Params, Setup


class SpanCorruptionParams(Params):
    noise_density: float = Field(0.15, gt=0, lt=1)  # T5 Table 6: 10-25% all similar, 15% is the baseline
    mean_noise_span_length: float = Field(3.0, ge=1)  # T5 Table 7: 3 slightly beats i.i.d. and gives shorter targets


def sentinel_ids(tokenizer) -> torch.Tensor:
    """Ids of ``<extra_id_0>``, ``<extra_id_1>``, ... in order."""
    return torch.tensor(tokenizer.convert_tokens_to_ids(list(SENTINELS)), dtype=torch.long)


def noise_span_counts(length: int, noise_density: float, mean_noise_span_length: float) -> tuple[int, int]:
    """Noise tokens and noise spans per row of ``length`` tokens, rounded as T5 rounds them.

    Every row gets the same counts, so corrupted inputs and targets have fixed lengths. A noise
    span needs a kept span before it, hence at most ``length - noise`` spans.
    """
    num_noise = min(max(round(length * noise_density), 1), length - 1)
    num_spans = min(max(round(num_noise / mean_noise_span_length), 1), length - num_noise)
    return num_noise, num_spans


def random_segmentation(rows: int, num_items: int, num_segments: int, generator: torch.Generator) -> torch.Tensor:
    """Lengths [rows, num_segments] of a uniformly random split of ``num_items`` into non-empty segments."""
    if num_segments == 1:
        return torch.full((rows, 1), num_items, dtype=torch.long)
    # choose num_segments - 1 distinct cut points among the num_items - 1 gaps between items
    cuts = torch.rand(rows, num_items - 1, generator=generator).argsort(1)[:, :num_segments - 1] + 1
    bounds = torch.cat([torch.zeros(rows, 1, dtype=torch.long), cuts.sort(1).values,
                        torch.full((rows, 1), num_items, dtype=torch.long)], 1)
    return bounds.diff(1)


def random_spans_noise_mask(rows: int, length: int, num_noise: int, num_spans: int,
                            generator: torch.Generator) -> torch.Tensor:
    """Boolean [rows, length], True on noise: ``num_spans`` noise spans holding ``num_noise`` tokens.

    T5's ``random_spans_noise_mask``: kept and noise spans alternate, each a random non-empty
    segment of its total, starting with a kept span and ending with a noise span.
    """
    noise = random_segmentation(rows, num_noise, num_spans, generator)
    kept = random_segmentation(rows, length - num_noise, num_spans, generator)
    span_ends = torch.stack([kept, noise], 2).view(rows, 2 * num_spans).cumsum(1)
    positions = torch.arange(length).expand(rows, length).contiguous()
    return torch.searchsorted(span_ends, positions, right=True) % 2 == 1


def span_corrupt(input_ids: torch.Tensor, noise_density: float, mean_noise_span_length: float,
                 sentinels: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) of T5 span corruption, fixed widths for the whole batch.

    inputs: kept tokens with each noise span replaced by the next sentinel,
    ``length - noise + spans`` tokens. targets: each sentinel followed by the span it
    replaced, then one closing sentinel, ``noise + spans + 1`` tokens.
    """
    rows, length = input_ids.shape
    num_noise, num_spans = noise_span_counts(length, noise_density, mean_noise_span_length)
    if num_spans + 1 > len(sentinels):
        raise ObjbenchError(f"span corruption of {length} tokens needs {num_spans + 1} sentinels, the tokenizer has "
                            f"{len(sentinels)}: lower noise_density or raise mean_noise_span_length")
    noise = random_spans_noise_mask(rows, length, num_noise, num_spans, generator)
    starts = noise & ~F.pad(noise[:, :-1], (1, 0), value=False)
    sentinel = sentinels[(starts.cumsum(1) - 1).clamp(min=0)]
    # Each position writes up to two slots: the sentinel of a span starting there, then its token
    # (kept tokens to the input, noise tokens to the target); selecting the used slots in order
    # builds every row at once.
    slots = torch.stack([sentinel, input_ids], 2).view(rows, 2 * length)

    def gather(token_used: torch.Tensor, width: int) -> torch.Tensor:
        used = torch.stack([starts, token_used], 2).view(rows, 2 * length)
        return slots[used].view(rows, width)

    inputs = gather(~noise, length - num_noise + num_spans)
    closing = sentinels[num_spans].expand(rows, 1)
    targets = torch.cat([gather(noise, num_noise + num_spans), closing], 1)
    return inputs, targets


def reconstruct_from_spans(inputs: torch.Tensor, targets: torch.Tensor, sentinels: torch.Tensor,
                           pad_id: int) -> torch.Tensor:
    """The original rows, rebuilt by putting each target span back in place of its sentinel.

    ``inputs`` and ``targets`` may be right-padded with ``pad_id``; target tokens after the
    closing sentinel are ignored. Rows come back right-padded with ``pad_id`` to the longest.
    """
    rows = inputs.shape[0]
    in_sentinel = torch.isin(inputs, sentinels)
    out_sentinel = torch.isin(targets, sentinels)
    spans = in_sentinel.sum(1, keepdim=True)
    # Kept tokens after the k-th input sentinel sort under key 2k; tokens after the k-th target
    # sentinel (the (k-1)-th span) under 2k - 1: interleaving the keys restores the order.
    in_key = 2 * in_sentinel.cumsum(1)
    out_count = out_sentinel.cumsum(1)
    in_used = ~in_sentinel & (inputs != pad_id)
    out_used = ~out_sentinel & (targets != pad_id) & (out_count >= 1) & (out_count <= spans)
    tokens = torch.cat([inputs, targets], 1)
    used = torch.cat([in_used, out_used], 1)
    key = torch.cat([in_key, 2 * out_count - 1], 1) * tokens.shape[1] + torch.arange(tokens.shape[1])
    key = torch.where(used, key, torch.iinfo(torch.long).max)
    order = key.argsort(1)
    rebuilt = tokens.gather(1, order)
    width = int(used.sum(1).max()) if rows else 0
    valid = torch.arange(rebuilt.shape[1]) < used.sum(1, keepdim=True)
    return torch.where(valid, rebuilt, pad_id)[:, :width]


def span_statistics(blocks: torch.Tensor, inputs: torch.Tensor, labels: torch.Tensor, sentinels: torch.Tensor,
                    pad_id: int, noise_density: float, mean_noise_span_length: float) -> dict[str, tuple[float, float]]:
    """Observed vs declared span corruption of ``blocks`` into encoder ``inputs`` and decoder ``labels``.

    Declared values are the per-row counts T5's rounding gives at this block length (e.g. 5
    noise tokens in 2 spans for 32 tokens at 15% / mean 3): those are what every row must have.
    """
    length = blocks.shape[1]
    num_noise, num_spans = noise_span_counts(length, noise_density, mean_noise_span_length)
    targets = torch.where(labels == IGNORE, pad_id, labels)
    in_sentinel = torch.isin(inputs, sentinels)
    out_sentinel = torch.isin(targets, sentinels)
    dropped = int((~out_sentinel & (targets != pad_id)).sum())
    spans = int(in_sentinel.sum())

    def out_of_order(tokens: torch.Tensor, is_sentinel: torch.Tensor) -> torch.Tensor:
        ordinal = (is_sentinel.cumsum(1) - 1).clamp(0, len(sentinels) - 1)
        return (is_sentinel & (tokens != sentinels[ordinal])).any(1)

    misordered = out_of_order(inputs, in_sentinel) | out_of_order(targets, out_sentinel)
    misordered |= out_sentinel.sum(1) != in_sentinel.sum(1) + 1  # one closing sentinel
    rebuilt = reconstruct_from_spans(inputs, targets, sentinels, pad_id)
    width = max(rebuilt.shape[1], length)
    wrong_rows = (F.pad(rebuilt, (0, width - rebuilt.shape[1]), value=pad_id)
                  != F.pad(blocks, (0, width - length), value=pad_id)).any(1)
    return {
        "noise_density": (dropped / blocks.numel(), num_noise / length),
        "mean_noise_span_length": (dropped / max(spans, 1), num_noise / num_spans),
        "sentinel_order_errors": (float(misordered.sum()), 0.0),
        "reconstruction_errors": (float(wrong_rows.sum()), 0.0),
    }


@registry.objectives.register("span_corruption")
class SpanCorruption(EncoderDecoderObjective):
    """T5 span corruption on an encoder-decoder: 15% of tokens in spans of mean length 3, each span a sentinel.

    Follows Raffel et al. 2020 (T5, sec. 3.3.4 and the baseline objective): the input keeps
    85% of the block with each dropped span replaced by a unique sentinel ``<extra_id_i>``;
    the target lists each sentinel followed by its span and ends with a closing sentinel.
    Every row gets the same number of noise tokens and spans (T5's rounding), so inputs and
    targets need no padding. Unlike T5 no ``[EOS]`` is appended: blocks are packed streams
    whose ``[EOS]`` already marks document ends. Loss-bearing tokens are the target tokens
    (spans + sentinels, about 0.2 x the block length); FLOPs count the encoder over the
    shortened input and the decoder over the target.
    """

    Params = SpanCorruptionParams

    def __init__(self, params: SpanCorruptionParams, setup: Setup):
        super().__init__(params, setup)
        self.sentinels = sentinel_ids(setup.tokenizer)

    def corrupt(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return span_corrupt(blocks["input_ids"], self.params.noise_density, self.params.mean_noise_span_length,
                            self.sentinels, generator)

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        return span_statistics(blocks["input_ids"], batch["input_ids"].cpu(), batch["labels"].cpu(), self.sentinels,
                               self.setup.tokenizer.pad_token_id, self.params.noise_density,
                               self.params.mean_noise_span_length)
