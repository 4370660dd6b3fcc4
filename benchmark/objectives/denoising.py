"""BART denoising: text infilling with Poisson spans plus sentence permutation; rebuild the block."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import Field

from benchmark import registry
from benchmark.objectives.base import IGNORE, EncoderDecoderObjective, Params


class DenoisingParams(Params):
    mask_rate: float = Field(0.3, gt=0, lt=1)  # BART: 30% of tokens are masked
    poisson_lambda: float = Field(3.0, ge=0.5)  # BART: span lengths ~ Poisson(3)
    zero_length_spans: bool = True  # BART: a 0-length span inserts a [MASK], so the model learns how many are missing
    permute_sentences: bool = True  # BART's pretrained model combines infilling with sentence permutation


def masked_token_count(length: int, mask_rate: float) -> int:
    """Tokens masked per row: ``ceil(length x mask_rate)``, as BART counts its budget, at most all but one."""
    return min(max(math.ceil(length * mask_rate), 1), length - 1)


def sentence_permutation(input_ids: torch.Tensor, document_ids: torch.Tensor, sentence_ids: torch.Tensor, eos_id: int,
                         generator: torch.Generator) -> torch.Tensor:
    """Indices [rows, length] that put each document segment's sentences in random order (BART).

    Documents stay where they are and each sentence stays whole; a document's ``[EOS]`` stays
    at its end, so it does not tell which sentence came last. A block's first and last
    sentences may be cut by the block boundary and move like any other.
    """
    rows, length = input_ids.shape
    starts_sentence = F.pad(sentence_ids[:, 1:] != sentence_ids[:, :-1], (1, 0), value=True)
    starts_document = F.pad(document_ids[:, 1:] != document_ids[:, :-1], (1, 0), value=True)
    sentence = starts_sentence.cumsum(1) - 1
    document = starts_document.cumsum(1) - 1
    score = torch.rand(rows, length, generator=generator, dtype=torch.float64).gather(1, sentence)
    score = torch.where(input_ids == eos_id, 2.0, score)
    # Sorting by (document, sentence score) moves whole sentences; the stable sort keeps each
    # sentence's tokens in order.
    return torch.sort(document * 4 + score, dim=1, stable=True).indices


def draw_span_lengths(rows: int, num_mask: int, poisson_lambda: float, zero_length_spans: bool,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(lengths [rows, most spans], spans [rows, 1]): span lengths drawn as BART draws them.

    Lengths ~ Poisson(lambda) are drawn until they cover ``num_mask`` tokens; the last is cut
    so that exactly ``num_mask`` tokens are masked. Without zero-length spans, 0 draws are
    dropped. Columns past a row's span count hold 0.
    """
    draws = math.ceil(4 * num_mask / poisson_lambda) + 16  # enough that running short is negligible
    lengths = torch.poisson(torch.full((rows, draws), float(poisson_lambda)), generator=generator).long()
    lengths[:, -1] = num_mask  # a row that did run short ends with one span filling the budget
    ends = lengths.cumsum(1)
    spans = (ends < num_mask).sum(1, keepdim=True) + 1
    index = torch.arange(draws)
    lengths = torch.minimum(lengths, num_mask - (ends - lengths))
    used = index < spans
    if not zero_length_spans:
        used &= lengths > 0
    order = torch.sort((~used).long(), dim=1, stable=True).indices  # used spans first, in draw order
    lengths = torch.where(used, lengths, 0).gather(1, order)
    spans = used.sum(1, keepdim=True)
    return lengths[:, :int(spans.max())], spans


def text_infilling(tokens: torch.Tensor, num_mask: int, poisson_lambda: float, zero_length_spans: bool,
                   mask_id: int, pad_id: int, generator: torch.Generator) -> torch.Tensor:
    """``tokens`` with ``num_mask`` tokens per row in Poisson spans, each span one ``[MASK]``; right-padded.

    A row becomes a sequence of items, its kept tokens and its spans, with the spans placed
    uniformly at random among the kept tokens (spans never overlap; adjacent spans give
    adjacent masks). Each item consumes one token (kept) or its span's length (masked).
    """
    rows, length = tokens.shape
    lengths, spans = draw_span_lengths(rows, num_mask, poisson_lambda, zero_length_spans, generator)
    items = length - num_mask + spans
    width = length - num_mask + lengths.shape[1]
    position = torch.arange(width)
    in_row = position < items
    score = torch.where(in_row, torch.rand(rows, width, generator=generator), 2.0)
    is_span = score.argsort(1).argsort(1) < spans  # `spans` uniformly chosen item slots of each row
    span_number = (is_span.cumsum(1) - 1).clamp(0, lengths.shape[1] - 1)
    consumed = torch.where(is_span, lengths.gather(1, span_number), 1) * in_row
    start = consumed.cumsum(1) - consumed
    kept = tokens.gather(1, start.clamp(max=length - 1))
    out = torch.where(is_span, mask_id, kept)
    out = torch.where(in_row, out, pad_id)
    return out[:, :int(items.max())]


def expected_span_count(num_mask: int, poisson_lambda: float, zero_length_spans: bool) -> float:
    """Expected spans per row of ``draw_span_lengths``: E[k] for k = first draw whose running sum reaches num_mask.

    E[k] = sum_j P(S_j < num_mask), and a sum of j Poisson(lambda) draws is Poisson(j lambda).
    Dropping 0-length draws keeps a (1 - e^-lambda) share of them (Wald's identity; the last,
    cut span is never empty).
    """
    horizon = math.ceil(4 * num_mask / poisson_lambda) + 40
    mean = torch.arange(1, horizon + 1, dtype=torch.float64)[:, None] * poisson_lambda
    below = torch.arange(num_mask, dtype=torch.float64)[None, :]
    cdf = torch.exp(-mean + below * torch.log(mean) - torch.lgamma(below + 1)).sum(1)
    spans = 1.0 + float(cdf.sum())
    return spans if zero_length_spans else spans * (1 - math.exp(-poisson_lambda))


@registry.objectives.register("denoising")
class Denoising(EncoderDecoderObjective):
    """BART denoising on an encoder-decoder: sentence permutation + text infilling (30%, Poisson(3) spans).

    Follows Lewis et al. 2019 (BART, sec. 2.2 and the large-scale model of sec. 5): sentences
    of each document segment are shuffled, then 30% of tokens are masked in spans with lengths
    ~ Poisson(3), each span replaced by a single ``[MASK]`` (0-length spans insert one); the
    decoder rebuilds the original block. Masking is per token, not per whole word, and every
    row masks exactly ``ceil(0.3 x length)`` tokens. BART's Table 1 found text infilling the
    most consistently strong noising. Loss-bearing tokens: the whole block (seq_len per row);
    FLOPs count the encoder over the padded corrupted input and the decoder over the block.
    """

    Params = DenoisingParams

    def corrupt(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        tok, original = self.setup.tokenizer, blocks["input_ids"]
        tokens = original
        if self.params.permute_sentences:
            order = sentence_permutation(original, blocks["document_ids"], blocks["sentence_ids"], tok.eos_token_id,
                                         generator)
            tokens = original.gather(1, order)
        num_mask = masked_token_count(original.shape[1], self.params.mask_rate)
        inputs = text_infilling(tokens, num_mask, self.params.poisson_lambda, self.params.zero_length_spans,
                                tok.mask_token_id, tok.pad_token_id, generator)
        return inputs, original

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        tok, original = self.setup.tokenizer, blocks["input_ids"]
        inputs, labels = batch["input_ids"].cpu(), batch["labels"].cpu()
        length = original.shape[1]
        num_mask = masked_token_count(length, self.params.mask_rate)
        masks = int((inputs == tok.mask_token_id).sum())
        kept = int(((inputs != tok.mask_token_id) & (inputs != tok.pad_token_id)).sum())
        masked = original.numel() - kept
        spans = expected_span_count(num_mask, self.params.poisson_lambda, self.params.zero_length_spans)
        return {
            "mask_rate": (masked / original.numel(), num_mask / length),
            # masked tokens per [MASK]; the cut last span of each row pulls it below lambda at short lengths
            "mean_span_length": (masked / max(masks, 1), num_mask / spans),
            "target_errors": (float((labels != original).any(1).sum()), 0.0),
            "loss_bearing_fraction": (float((labels != IGNORE).float().mean()), 1.0),
        }
