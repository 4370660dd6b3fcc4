"""Sentence-order prediction with MLM (ALBERT): are the two segments in order, or swapped?

The pair layout, sentence head, loss and FLOPs are shared with NSP (``sentence_pairs.py``).
"""

from __future__ import annotations

import torch
from pydantic import Field

from benchmark import registry
from benchmark.objectives.base import IGNORE, Setup
from benchmark.objectives.mlm import MLMParams
from benchmark.objectives.sentence_pairs import (
    NO_SPLIT, SentencePairObjective, choose_splits, label_1_share, pair_layout,
)

class SOPParams(MLMParams):
    # The MLM fields (mask_rate 0.15, 80/10/10) come from MLMParams: ALBERT kept BERT's masking.
    swap_probability: float = Field(0.5, ge=0, le=1)  # ALBERT: half the pairs in swapped order


def sentence_order_layout(blocks: dict[str, torch.Tensor], generator: torch.Generator, swap_probability: float,
                          setup: Setup) -> tuple[torch.Tensor, torch.Tensor]:
    """ALBERT's pairs from packed blocks: (token ids, 0 = in order / 1 = swapped / IGNORE = no pair).

    The pair is the run of whole sentences of the split's document inside the block: A from its
    first sentence to the split, B from the split to its last sentence. A swap rotates that run
    to B A, leaving the fragments around it in place, so both orders start and end on sentence
    boundaries and only the order itself tells them apart.
    """
    input_ids, sentence_ids, document_ids = blocks["input_ids"], blocks["sentence_ids"], blocks["document_ids"]
    rows, seq = input_ids.shape
    split = choose_splits(blocks, generator)
    has_pair = split != NO_SPLIT
    swap = (torch.rand(rows, generator=generator) < swap_probability) & has_pair
    split_document = document_ids.gather(1, split.clamp_min(0)[:, None])
    run = ((document_ids == split_document) & (sentence_ids > sentence_ids[:, :1])
           & (sentence_ids < sentence_ids[:, -1:]) & has_pair[:, None])
    start = run.long().argmax(1)  # first True
    length = run.sum(1).clamp_min(1)
    positions = torch.arange(seq).expand(rows, seq)
    rotated = start[:, None] + (positions - start[:, None] + (split - start)[:, None]) % length[:, None]
    source = torch.where(run & swap[:, None], rotated, positions) + torch.arange(rows)[:, None] * seq
    junction = torch.where(swap, start + length - (split - start), split)
    labels = torch.where(has_pair, swap.long(), IGNORE)
    return pair_layout(input_ids, source, junction, setup), labels


@registry.objectives.register("sop")
class SentenceOrderPrediction(SentencePairObjective):
    """ALBERT sentence-order prediction + MLM: is segment B after A in the text, or were they swapped?

    Follows Lan et al. 2020 (ALBERT), who replaced BERT's next-sentence prediction with it;
    Aroca-Ouellette & Rudzicz 2020 also found ordering tasks beat NSP. Each row is split at a
    sentence start chosen uniformly among those with a whole sentence of the same document on
    either side; the pair is the run of whole sentences of that document inside the block, and
    with probability ``swap_probability`` = 0.5 it is rotated to B A. ``[SEP]`` marks the
    junction and ``[CLS]`` overwrites position 0; the sentence head pools position 0's final
    state. Rows without such a split (short blocks) keep their order and get no sentence label.
    Then BERT masking (15%, 80/10/10, never [CLS]/[SEP]). Loss = MLM + sentence cross-entropy.
    The encoder LM is the backbone; the sentence head is dropped, as ALBERT finetunes without it.
    """

    Params = SOPParams

    def layout(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return sentence_order_layout(blocks, generator, self.params.swap_probability, self.setup)

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        sentence = batch["sentence_labels"]
        # a swap only reorders: without [CLS] and [SEP], a row holds its block's tokens 1..seq-2
        laid_out = torch.where(batch["labels"] != IGNORE, batch["labels"], batch["input_ids"])
        markers = torch.zeros_like(laid_out, dtype=torch.bool)
        markers[:, 0] = True
        markers |= laid_out == self.setup.tokenizer.sep_token_id
        tokens = laid_out.masked_fill(markers, -1).sort(1).values[:, 2:]
        rearranged = (tokens == blocks["input_ids"][:, 1:-1].sort(1).values).all(1)
        return {
            **super().statistics(blocks, batch),
            "swap_rate": (label_1_share(batch), self.params.swap_probability),
            "pairs_not_a_rearrangement_of_their_block": (float(((sentence != IGNORE) & ~rearranged).sum()), 0.0),
        }
