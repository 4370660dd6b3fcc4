"""Next-sentence prediction with MLM, as BERT pretrained."""

from __future__ import annotations

import torch
from pydantic import Field

from benchmark import registry
from benchmark.objectives.base import IGNORE, Setup
from benchmark.objectives.mlm import MLMParams
from benchmark.objectives.sentence_pairs import (
    NO_SPLIT, SentencePairObjective, choose_splits, choose_uniformly, label_1_share, pair_layout, sentence_starts,
)


class NSPParams(MLMParams):
    # The MLM fields (mask_rate 0.15, 80/10/10) come from MLMParams, as BERT trained both at once.
    random_next_probability: float = Field(0.5, ge=0, le=1)  # BERT: 50% IsNext, 50% NotNext


def next_sentence_layout(blocks: dict[str, torch.Tensor], generator: torch.Generator, random_probability: float,
                         setup: Setup) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's pairs from packed blocks: (token ids, 0 = true next / 1 = random next / IGNORE = no pair).

    A runs from the block start to a sentence start ``t``; B is the rest of the block, at
    least one whole sentence (the block's last token falls off for the ``[SEP]``). A random
    next B is the same number of tokens from another row of the batch, starting at one of its
    sentence starts, and containing no text of A's document. Both kinds of B thus begin on a
    sentence start and run to the block's end, so only what they say tells them apart.
    """
    input_ids, document_ids = blocks["input_ids"], blocks["document_ids"]
    rows, seq = input_ids.shape
    split = choose_splits(blocks, generator)
    has_pair = split != NO_SPLIT
    t = split.clamp_min(0)[:, None, None]  # [row, 1, 1]
    a_document = document_ids.gather(1, t[:, :, 0])[:, :, None]
    # candidate sources [row, other row, start]: B' = other[start : start + seq - t] must fit in the block
    positions = torch.arange(seq)
    last = (positions[None, None, :] + seq - 1 - t).clamp(max=seq - 1)
    other_documents = document_ids[None].expand(rows, rows, seq)
    first_document, last_document = other_documents, other_documents.gather(2, last.expand(rows, rows, seq))
    candidate = (sentence_starts(blocks["sentence_ids"])[None] & (positions[None, None, :] <= t)
                 & ~((first_document <= a_document) & (a_document <= last_document))
                 & ~torch.eye(rows, dtype=torch.bool)[:, :, None])
    pick = choose_uniformly(candidate.reshape(rows, -1), generator)
    has_pair &= pick != NO_SPLIT
    replace = (torch.rand(rows, generator=generator) < random_probability) & has_pair
    other_row, other_start = pick.clamp_min(0) // seq, pick.clamp_min(0) % seq
    in_b = replace[:, None] & (positions[None, :] >= split[:, None])
    source = torch.where(in_b, (other_row * seq + other_start - split)[:, None] + positions,
                         torch.arange(rows)[:, None] * seq + positions)
    labels = torch.where(has_pair, replace.long(), IGNORE)
    return pair_layout(input_ids, source, torch.where(has_pair, split, NO_SPLIT), setup), labels


@registry.objectives.register("nsp")
class NextSentencePrediction(SentencePairObjective):
    """BERT next-sentence prediction + MLM: is segment B the text that follows A, or a random one?

    Follows Devlin et al. 2019. Each row is split at a sentence start chosen uniformly among
    those that continue a document with a whole sentence of it on either side; A is the block
    up to the split, B the rest. With probability ``random_next_probability`` = 0.5, B is replaced by
    as many tokens from another row of the batch, starting at a sentence start and sharing no
    text with A's document. ``[SEP]`` marks the junction and ``[CLS]`` overwrites position 0;
    the sentence head pools position 0's final state. Rows without such a split get no
    sentence label. Then BERT masking (15%, 80/10/10, never [CLS]/[SEP]). Loss = MLM + sentence
    cross-entropy. Included as the baseline that ALBERT and Aroca-Ouellette & Rudzicz 2020
    found to hurt. The encoder LM is the backbone; the sentence head is dropped for finetuning.
    """

    Params = NSPParams

    def layout(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return next_sentence_layout(blocks, generator, self.params.random_next_probability, self.setup)

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        return {**super().statistics(blocks, batch),
                "random_next_rate": (label_1_share(batch), self.params.random_next_probability)}
