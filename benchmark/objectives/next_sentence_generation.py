"""Next-sentence generation: a prefix decoder reads whole sentences and writes the sentence that follows."""

from __future__ import annotations

from typing import Literal

import torch

from benchmark import registry
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import IGNORE, DecoderStackObjective, Params
from benchmark.objectives.sentence_pairs import NO_SPLIT, choose_uniformly
from benchmark.objectives.sentence_selection import BlockSentences, block_sentences


class NextSentenceGenerationParams(Params):
    # sentence: the next sentence of the same document; document: the first sentence of the next document,
    # read from the last sentences of the one before it (packing keeps where each document ends)
    unit: Literal["sentence", "document"] = "sentence"


def target_candidates(sentences: BlockSentences, unit: str) -> torch.Tensor:
    """[rows, sentences]: whole sentences that may be the target, with a whole sentence before them to read.

    ``sentence``: the sentence before the target is whole and of the same document.
    ``document``: the target opens a document, and the sentence before it is whole and closes
    the previous document.
    """
    before = torch.zeros_like(sentences.whole)
    before[:, 1:] = sentences.whole[:, :-1]
    candidate = sentences.text_mask & before
    if unit == "sentence":
        same_document = torch.zeros_like(sentences.whole)
        same_document[:, 1:] = sentences.document[:, 1:] == sentences.document[:, :-1]
        return candidate & same_document & ~sentences.opens_document
    closes_before = torch.zeros_like(sentences.whole)
    closes_before[:, 1:] = sentences.closes_document[:, :-1]
    return candidate & sentences.opens_document & closes_before


def next_sentence_layout(blocks: dict[str, torch.Tensor], unit: str, eos_id: int,
                         generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Inputs, labels and prefix lengths: each row rotated so that its prefix sentences come first.

    One target per row, chosen uniformly among the candidates. The prefix is every whole
    sentence of the document it reads (the target's, or the previous one) up to the target.
    The row is rotated left to start at the prefix, so the bidirectional prefix holds whole
    sentences only; the block's other tokens follow the target, where causal attention keeps
    them out of its predictions. Rows without a candidate keep their block, a prefix of 0 and no loss.
    """
    input_ids = blocks["input_ids"]
    rows, seq = input_ids.shape
    sentences = block_sentences(blocks, eos_id)
    candidates = target_candidates(sentences, unit)
    target = choose_uniformly(candidates, generator)
    has_target = target != NO_SPLIT
    target = target.clamp_min(0)[:, None]
    read_document = sentences.document.gather(1, (target - 1).clamp_min(0))  # the document the prefix reads
    count = sentences.whole.shape[1]
    k = torch.arange(count)
    in_prefix = sentences.whole & (sentences.document == read_document) & (k < target)
    first = torch.where(in_prefix, k, count).amin(1, keepdim=True).clamp(max=count - 1)
    prefix_start = torch.where(has_target[:, None], sentences.start.gather(1, first), 0)
    target_start = sentences.start.gather(1, target)
    target_end = sentences.end.gather(1, target)
    positions = torch.arange(seq).expand(rows, seq)
    rotated = input_ids.gather(1, (positions + prefix_start) % seq)
    prefix_lengths = torch.where(has_target[:, None], target_start - prefix_start, 0)
    target_length = torch.where(has_target[:, None], target_end - target_start, 0)
    next_tokens = torch.full_like(rotated, IGNORE)
    next_tokens[:, :-1] = rotated[:, 1:]
    # position t predicts token t+1: the last prefix position predicts the target's first token
    scored = (positions + 1 >= prefix_lengths) & (positions + 1 < prefix_lengths + target_length)
    return {"input_ids": rotated, "labels": torch.where(scored, next_tokens, IGNORE),
            "prefix_lengths": prefix_lengths.squeeze(1)}


def misplaced_targets(blocks: dict[str, torch.Tensor], sentences: BlockSentences, inputs: torch.Tensor,
                      labels: torch.Tensor, prefix_lengths: torch.Tensor, unit: str, eos_id: int) -> torch.Tensor:
    """[rows] bool: rows whose layout is not what ``next_sentence_layout`` promises, read back from the batch.

    A row must be its block rotated to start at a sentence start after position 0; its prefix
    must be whole sentences of one document, its loss must fall on exactly the whole sentence
    that follows the prefix in the block (``sentence``: of the same document; ``document``: the
    opening of the next document, right after the prefix's [EOS]) and its labels must be the
    next tokens of the row.
    """
    original = blocks["input_ids"]
    rows, seq = original.shape
    scored = labels != IGNORE
    positions = torch.arange(seq).expand(rows, seq)
    rotations = (torch.arange(seq)[:, None] + torch.arange(seq)[None, :]) % seq  # [shift, position]
    matches = (original[:, rotations] == inputs[:, None, :]).all(2)
    shift = matches.long().argmax(1, keepdim=True)  # the block position the row starts from
    prefix = prefix_lengths[:, None]
    target_start, target_length = shift + prefix, scored.sum(1, keepdim=True)
    k_target = sentences.index.gather(1, target_start.clamp(max=seq - 1))
    k_first = sentences.index.gather(1, shift)

    def at(table: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return table.gather(1, k.clamp_min(0))

    target_whole = ((at(sentences.start, k_target) == target_start) & at(sentences.whole, k_target)
                    & (at(sentences.end, k_target) == target_start + target_length))
    prefix_whole = ((at(sentences.start, k_first) == shift) & (shift > 0) & (prefix > 0)
                    & (at(sentences.end, k_target - 1) == target_start))
    in_prefix = (positions >= shift) & (positions < target_start)
    read_document = at(sentences.document, k_first)
    one_document = ((blocks["document_ids"] == read_document) | ~in_prefix).all(1, keepdim=True)
    if unit == "sentence":
        follows = one_document & (at(sentences.document, k_target) == read_document)
    else:
        follows = (one_document & at(sentences.opens_document, k_target)
                   & (original.gather(1, (target_start - 1).clamp_min(0)) == eos_id))
    next_tokens = torch.full_like(inputs, IGNORE)
    next_tokens[:, :-1] = inputs[:, 1:]
    wrong_labels = (scored & (labels != next_tokens)).any(1, keepdim=True)
    outside = (positions + 1 < prefix) | (positions + 1 >= prefix + target_length)
    outside_target = (scored & outside).any(1, keepdim=True)
    right = matches.any(1, keepdim=True) & target_whole & prefix_whole & follows & ~wrong_labels & ~outside_target
    return ~right.squeeze(1)


@registry.objectives.register("next_sentence_generation")
class NextSentenceGeneration(DecoderStackObjective):
    """Next-sentence generation on a prefix decoder: read whole sentences, write the one that follows.

    The generative form of next-sentence prediction: rather than BERT's yes/no (``nsp``), the
    model writes the next sentence, as Skip-Thought (Kiros et al. 2015) generated a sentence's
    neighbours, here with T5's prefix LM (sec. 3.3) as the model: bidirectional over the
    prefix, causal after it. Each row gets one target, a whole sentence chosen uniformly among
    those that have a whole sentence before them; the prefix is every whole sentence of the
    document being read up to the target, and the row is rotated to start there, so the prefix
    holds whole sentences only. ``unit``: ``sentence`` (default) predicts the next sentence of
    the same document; ``document`` predicts the first sentence of the next document from the
    whole sentences that end the previous one (their ``[EOS]`` included). Where consecutive
    documents are unrelated, as in the synthetic corpus, that variant learns how documents open
    more than what follows from the one before. A target that ends its document includes the
    ``[EOS]``. Rows without a candidate (blocks too short for two whole sentences) bear no loss.

    Loss-bearing tokens: the target sentence's tokens, one sentence per row; FLOPs count the
    whole block through the decoder and the output projection at the target positions only.
    """

    Params = NextSentenceGenerationParams
    kind = ModelKind.PREFIX
    may_hold_no_targets = True  # a batch of short blocks may hold no two whole sentences

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        return next_sentence_layout(blocks, self.params.unit, self.setup.tokenizer.eos_token_id, generator)

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        """Each row read back against its block (``misplaced_targets``), and the share of tokens that bear loss.

        ``loss_bearing_fraction``: target tokens over the batch's tokens, against its expectation
        when every row with candidates picks one of them uniformly (the mean of their lengths).
        """
        original, labels = blocks["input_ids"], batch["labels"].cpu()
        sentences = block_sentences(blocks, self.setup.tokenizer.eos_token_id)
        candidates = target_candidates(sentences, self.params.unit)
        has_candidate, has_target = candidates.any(1), (labels != IGNORE).any(1)
        lengths = (sentences.end - sentences.start) * candidates
        expected = (lengths.sum(1) / candidates.sum(1).clamp_min(1)).sum() / original.numel()
        eos = self.setup.tokenizer.eos_token_id
        misplaced = misplaced_targets(blocks, sentences, batch["input_ids"].cpu(), labels,
                                      batch["prefix_lengths"].cpu(), self.params.unit, eos)
        return {
            "loss_bearing_fraction": (float((labels != IGNORE).sum()) / original.numel(), float(expected)),
            "rows_without_a_target_despite_a_candidate": (float((has_candidate & ~has_target).sum()), 0.0),
            "loss_in_rows_without_a_candidate": (float((~has_candidate & has_target).sum()), 0.0),
            "misplaced_targets": (float((has_target & misplaced).sum()), 0.0),
        }
