"""What NSP and SOP share (BERT, ALBERT): the sentence-pair layout, and their base class.

A packed block becomes ``[CLS] ... A [SEP] B ...``: it is split at a sentence boundary, the
junction gets a ``[SEP]`` and position 0 is overwritten by ``[CLS]``, whose final hidden state
is pooled by a sentence head (BERT's pooler: dense + tanh, then a 2-way linear layer). Every
step is a gather over the whole batch. The two objectives differ only in which pair a row
holds and what its label says, so each writes just that (``SentencePairObjective.layout``).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from benchmark.models.flops import training_flops
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import (
    IGNORE, LossOutput, PretrainingObjective, Setup, hidden_states, lm_training_flops, token_cross_entropy,
)
from benchmark.objectives.mlm import MLMParams, bert_masking, masking_statistics

NO_SPLIT = -1  # split position of a row that holds no usable sentence pair


class SentencePairNetwork(nn.Module):
    """An encoder LM plus the sentence head that reads its ``[CLS]`` state (dropped after pretraining)."""

    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm = lm
        width = lm.config.hidden_size
        self.sentence_head = nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 2))


def sentence_starts(sentence_ids: torch.Tensor) -> torch.Tensor:
    """True where a sentence starts inside the block (position 0 is unknown: the block may cut a sentence)."""
    starts = torch.zeros_like(sentence_ids, dtype=torch.bool)
    starts[:, 1:] = sentence_ids[:, 1:] != sentence_ids[:, :-1]
    return starts


def choose_uniformly(candidates: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per row of ``candidates`` [rows, n], the index of one True entry chosen uniformly; ``NO_SPLIT`` if none.

    One uniform per row picks the k-th True entry (a cumulative count, searched), which is far
    cheaper than a random score for every entry when rows are long.
    """
    counts = candidates.sum(1)
    k = (torch.rand(candidates.shape[0], generator=generator) * counts).long()
    k = torch.minimum(k, (counts - 1).clamp_min(0))  # float rounding could reach ``counts``
    index = torch.searchsorted(candidates.long().cumsum(1), (k + 1)[:, None]).squeeze(1)
    return torch.where(counts > 0, index, NO_SPLIT)


def choose_splits(blocks: dict[str, torch.Tensor], generator: torch.Generator) -> torch.Tensor:
    """Per row, a sentence start ``t`` chosen uniformly among those where the pair makes sense.

    ``t`` must continue the document of ``t - 1``, with a whole sentence of that document
    before it and a whole sentence after it (from ``t``) inside the block: neither segment is a
    fragment only, as in BERT and ALBERT, whose segments hold at least one sentence. Rows with
    no such start get ``NO_SPLIT``.
    """
    sentence_ids, document_ids = blocks["sentence_ids"], blocks["document_ids"]
    same_document = torch.zeros_like(sentence_ids, dtype=torch.bool)
    same_document[:, 1:] = document_ids[:, 1:] == document_ids[:, :-1]
    # packing numbers sentences consecutively, so sentence s-1 starts inside the block iff s-1 > the first id
    candidate = (sentence_starts(sentence_ids) & same_document & (sentence_ids - 1 > sentence_ids[:, :1])
                 & (sentence_ids < sentence_ids[:, -1:]))
    return choose_uniformly(candidate, generator)


def pair_layout(input_ids: torch.Tensor, source: torch.Tensor, junction: torch.Tensor, setup: Setup) -> torch.Tensor:
    """``[CLS]`` at 0 and ``[SEP]`` inserted at ``junction`` of the rows gathered by ``source``.

    ``source`` [batch, seq] holds flat indices into ``input_ids``; tokens after the junction
    move right by one and the last one falls off. A row whose junction is ``NO_SPLIT`` only
    gets the ``[CLS]``.
    """
    rows, seq = input_ids.shape
    positions = torch.arange(seq).expand(rows, seq)
    junction = torch.where(junction == NO_SPLIT, seq, junction)[:, None]
    shifted = source.gather(1, positions - (positions > junction).long())
    out = input_ids.reshape(-1)[shifted]
    out = torch.where(positions == junction, setup.tokenizer.sep_token_id, out)
    out[:, 0] = setup.tokenizer.cls_token_id
    return out


def label_1_share(batch: dict[str, torch.Tensor]) -> float:
    """The share of labelled rows whose sentence label is 1 (random next / swapped)."""
    sentence = batch["sentence_labels"]
    return float((sentence == 1).sum()) / max(1, int((sentence != IGNORE).sum()))


class SentencePairObjective(PretrainingObjective):
    """MLM plus a sentence-pair task on an encoder: a subclass writes ``layout``, which pair a row holds.

    The laid-out pairs are then masked as BERT masks (its ``Params`` extend ``MLMParams``, as both
    papers kept BERT's masking). Loss = MLM + the sentence head's cross-entropy on ``[CLS]``. The
    encoder LM is the backbone; the sentence head is dropped for finetuning.
    """

    Params: ClassVar[type[MLMParams]]
    kind = ModelKind.ENCODER

    @abstractmethod
    def layout(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(token ids laid out by ``pair_layout``, sentence labels [batch]: 0, 1, or IGNORE where a row has no pair)."""

    def build(self) -> SentencePairNetwork:
        return SentencePairNetwork(super().build())

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        laid_out, sentence_labels = self.layout(blocks, generator)
        masked, labels = bert_masking(laid_out, self.setup, self.params, generator)
        return {"input_ids": masked, "labels": labels, "sentence_labels": sentence_labels}

    def loss(self, network: SentencePairNetwork, batch: dict[str, torch.Tensor]) -> LossOutput:
        """MLM loss + the sentence head's cross-entropy on the ``[CLS]`` (position 0) state.

        Loss-bearing tokens: the MLM targets plus one ``[CLS]`` prediction per labelled row.
        """
        hidden = hidden_states(network.lm, batch["input_ids"], self.kind)
        mlm = token_cross_entropy(network.lm, hidden, batch["labels"])
        logits = network.sentence_head(hidden[:, 0]).float()
        labels = batch["sentence_labels"]
        labelled = int((labels != IGNORE).sum())
        # a batch without a single pair still trains the head's graph, with zero weight
        sentence = F.cross_entropy(logits, labels, ignore_index=IGNORE) if labelled else logits.sum() * 0.0
        return LossOutput(mlm.loss + sentence, mlm.loss_bearing_tokens + labelled, (mlm.loss, sentence))

    def loss_items(self, batch: dict[str, torch.Tensor]) -> tuple[int, ...]:
        """The masked tokens, and the rows whose pair is labelled."""
        return int((batch["labels"] != IGNORE).sum()), int((batch["sentence_labels"] != IGNORE).sum())

    def flops(self, network: SentencePairNetwork, batch: dict[str, torch.Tensor]) -> float:
        """The encoder with MLM logits at the masked positions, plus the sentence head on every row."""
        width, rows = network.lm.config.hidden_size, batch["input_ids"].shape[0]
        encoder = lm_training_flops(self.setup, network.lm, batch["input_ids"].shape,
                                    int((batch["labels"] != IGNORE).sum()))
        return encoder + training_flops(2 * (width * width + width * 2) * rows)

    def backbone(self, network: SentencePairNetwork):
        return network.lm

    def statistics(self, blocks: dict[str, torch.Tensor],
                   batch: dict[str, torch.Tensor]) -> dict[str, tuple[float, float]]:
        """Masking rates on the laid-out pairs, and the layout itself checked against the blocks.

        A row labelled 0 (in order / true next) must be its block with ``[CLS]`` at 0 and ``[SEP]``
        inserted before a sentence start; a row labelled 1 must differ from that after the
        ``[SEP]``. Every labelled row has exactly one ``[SEP]``. A subclass adds the share of
        rows labelled 1 (``label_1_share``) against its declared probability.
        """
        setup, labels = self.setup, batch["labels"]
        laid_out = torch.where(labels != IGNORE, labels, batch["input_ids"])  # undo the masking
        rows, seq = laid_out.shape
        sep = laid_out == setup.tokenizer.sep_token_id
        junction = sep.long().argmax(1)
        positions = torch.arange(seq).expand(rows, seq)
        expected = blocks["input_ids"].gather(1, positions - (positions > junction[:, None]).long())
        compared = (positions > 0) & ~sep
        same_after = ((laid_out == expected) | ~compared | (positions < junction[:, None])).all(1)
        same_before = ((laid_out == expected) | ~compared | (positions > junction[:, None])).all(1)
        sentence = batch["sentence_labels"]
        kept, changed, labelled = sentence == 0, sentence == 1, sentence != IGNORE
        before_sentence_start = sentence_starts(blocks["sentence_ids"]).gather(1, junction[:, None]).squeeze(1)
        return {
            **masking_statistics(laid_out, batch["input_ids"], labels, setup, self.params),
            "rows_without_cls": (float((laid_out[:, 0] != setup.tokenizer.cls_token_id).sum()), 0.0),
            "pairs_without_one_sep": (float((labelled & (sep.sum(1) != 1)).sum()), 0.0),
            "label_0_rows_out_of_block_order": (float((kept & ~(same_before & same_after)).sum()), 0.0),
            "label_0_rows_split_inside_a_sentence": (float((kept & ~before_sentence_start).sum()), 0.0),
            "label_1_rows_unchanged_after_sep": (float((changed & same_after).sum()), 0.0),
        }
