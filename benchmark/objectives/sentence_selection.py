"""Whole sentences of packed blocks: which ones a block holds, how they score, and how some are picked.

Packing keeps, for every token, the id of its sentence (numbered consecutively over the whole
stream) and of its document; a document's last sentence ends with the ``[EOS]`` that closes it.
A block is a window on that stream: its first sentence may have begun in the block before and
its last may go on in the next. A sentence is *whole* in a block when it starts after position 0
and either ends before the block does or ends on the block's last token with its ``[EOS]``. The
first sentence is never whole (the block cannot say whether it starts exactly at position 0).

The sentence-level objectives (``gap_sentences``, ``masked_sentence``, ``next_sentence_generation``)
only ever pick whole sentences, so nothing they remove, mask or predict is a piece of a sentence,
also where a block crosses document boundaries. Everything here works on the whole batch at once:
per-sentence tables [rows, sentences] built by scatters, and no loop over rows or tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from benchmark.objectives.base import special_token_mask

Selection = Literal["random", "lead", "principal"]


@dataclass(frozen=True)
class BlockSentences:
    """Per-sentence tables of a batch of blocks; sentence k of a row is its k-th sentence id after the first.

    Tables are [rows, sentences]; a sentence id that does not occur in a row (a sentence that
    tokenized to nothing) is not ``present`` and is never whole.
    """

    index: torch.Tensor  # [rows, seq]: the sentence (k) of every token
    start: torch.Tensor  # first position of the sentence in the block
    end: torch.Tensor  # one past its last position
    document: torch.Tensor  # its document id
    text_tokens: torch.Tensor  # its tokens other than [EOS]
    present: torch.Tensor  # it has at least one token in the block
    whole: torch.Tensor  # it lies entirely inside the block
    opens_document: torch.Tensor  # it starts inside the block right after another document's text
    closes_document: torch.Tensor  # it ends with its document's [EOS]

    @property
    def text_mask(self) -> torch.Tensor:
        """[rows, sentences]: whole sentences with some text, the ones an objective may pick."""
        return self.whole & (self.text_tokens > 0)

    def per_token(self, table: torch.Tensor) -> torch.Tensor:
        """A per-sentence table spread to the tokens: [rows, seq]."""
        return table.gather(1, self.index)


def block_sentences(blocks: dict[str, torch.Tensor], eos_id: int) -> BlockSentences:
    """The sentences of every row of ``blocks`` (``input_ids``, ``document_ids``, ``sentence_ids``)."""
    input_ids, document_ids, sentence_ids = blocks["input_ids"], blocks["document_ids"], blocks["sentence_ids"]
    rows, seq = input_ids.shape
    index = sentence_ids - sentence_ids[:, :1]
    count = int(index.max()) + 1 if index.numel() else 1
    positions = torch.arange(seq).expand(rows, seq)
    is_eos = input_ids == eos_id

    def table(fill: int, values: torch.Tensor, reduce: str) -> torch.Tensor:
        empty = torch.full((rows, count), fill, dtype=torch.long)
        return empty.scatter_reduce(1, index, values.long(), reduce, include_self=True)

    start = table(seq, positions, "amin")
    end = table(0, positions + 1, "amax")
    present = table(0, torch.ones_like(index), "sum") > 0
    closes_document = table(0, is_eos, "sum") > 0
    first = start.clamp(max=seq - 1)
    previous_document = document_ids.gather(1, (first - 1).clamp_min(0))
    document = document_ids.gather(1, first)
    return BlockSentences(
        index=index,
        start=start,
        end=end,
        document=document,
        text_tokens=table(0, ~is_eos, "sum"),
        present=present,
        whole=present & (start > 0) & ((end < seq) | closes_document),
        opens_document=present & (start > 0) & (previous_document != document),
        closes_document=closes_document,
    )


def lead_scores(sentences: BlockSentences) -> torch.Tensor:
    """Higher for a sentence nearer the start of its document: -(its place among its document's sentences).

    The place counts from the document's first sentence in the block. A document that began in
    an earlier block starts the block with a cut piece, counted as its first sentence, so its
    whole sentences rank after the openings of documents that begin inside the block (the block
    does not say how many sentences came before). Equal places keep the block's order.
    """
    rows, count = sentences.present.shape
    k = torch.arange(count)
    same_document = (sentences.document[:, :, None] == sentences.document[:, None, :]) & sentences.present[:, None, :]
    first_of_document = torch.where(same_document, k, count).amin(2)
    return -(k - first_of_document).double()


def principal_scores(blocks: dict[str, torch.Tensor], sentences: BlockSentences,
                     special_ids: torch.Tensor) -> torch.Tensor:
    """ROUGE-1 F1 of each sentence against the rest of its document in the block, scored independently.

    PEGASUS's "Ind-Orig" principal score (Zhang et al. 2020, sec. 3.1), computed over token ids:
    unigrams are counted as multisets (clipped counts, as ROUGE counts), special tokens ([EOS],
    [UNK]) are left out, and the rest of the document is its other tokens inside the block (cut
    pieces of it included). With overlap o, F1 = 2PR / (P + R) = 2o / (|sentence| + |rest|). No
    ROUGE library is a dependency: the counts of every (sentence, token) and (document, token)
    pair of the batch come from two ``torch.unique`` calls.
    """
    input_ids, document_ids = blocks["input_ids"], blocks["document_ids"]
    rows, seq = input_ids.shape
    count = sentences.present.shape[1]
    counted = ~special_token_mask(input_ids, special_ids)
    vocab = int(input_ids.max()) + 1 if input_ids.numel() else 1
    row = torch.arange(rows)[:, None]
    sentence = (row * count + sentences.index)[counted]  # numbered over the batch
    document = (row * seq + document_ids - document_ids[:, :1])[counted]  # a row holds at most seq documents
    tokens = input_ids[counted]
    _, pair, in_sentence = torch.unique(sentence * vocab + tokens, return_inverse=True, return_counts=True)
    _, document_pair, in_document = torch.unique(document * vocab + tokens, return_inverse=True, return_counts=True)
    # per distinct (sentence, token): which sentence, and how often the token is in its whole document
    pair_sentence = torch.zeros_like(in_sentence).scatter(0, pair, sentence)
    pair_document = torch.zeros_like(in_sentence).scatter(0, pair, in_document[document_pair])
    clipped = torch.minimum(in_sentence, pair_document - in_sentence)  # min(count in sentence, count in the rest)
    overlap = torch.zeros(rows * count, dtype=torch.long).scatter_add(0, pair_sentence, clipped)
    document_length = torch.bincount(document, minlength=rows * seq)[document]
    length = torch.zeros(rows * count, dtype=torch.long).scatter_reduce(0, sentence, document_length, "amax")
    return (2 * overlap.double() / length.clamp_min(1).double()).view(rows, count)  # |sentence| + |rest| = |doc|


def selection_scores(selection: Selection, blocks: dict[str, torch.Tensor], sentences: BlockSentences,
                     special_ids: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """[rows, sentences]: higher scores are picked first (``random``, ``lead`` or ``principal``)."""
    if selection == "random":
        return torch.rand(sentences.present.shape, generator=generator, dtype=torch.float64)
    if selection == "lead":
        return lead_scores(sentences)
    return principal_scores(blocks, sentences, special_ids)


def sentences_to_select(candidates: torch.Tensor, ratio: float, generator: torch.Generator) -> torch.Tensor:
    """Per row, how many of its candidate sentences to pick: ``ratio`` x candidates, rounded at random.

    PEGASUS picks round(ratio x sentences) per document; a block holds only a few whole
    sentences (about 6 of 128 tokens on the synthetic corpus), where fixed rounding would move
    the ratio far from the configured one (1 sentence x 0.3 always rounds to 0). Rounding up
    with probability equal to the fraction keeps the expected count at exactly ratio x candidates.
    """
    wanted = ratio * candidates.sum(1).double()
    floor = wanted.floor()
    return (floor + (torch.rand(wanted.shape, generator=generator, dtype=torch.float64) < wanted - floor)).long()


def select_top(scores: torch.Tensor, candidates: torch.Tensor, how_many: torch.Tensor) -> torch.Tensor:
    """[rows, sentences] bool: the ``how_many`` best-scoring candidates of each row (earlier first on ties)."""
    rows, count = scores.shape
    ranked = torch.where(candidates, scores, -torch.inf)
    order = torch.sort(ranked, dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(count).expand(rows, count))
    return candidates & (rank < how_many[:, None])


def select_sentences(blocks: dict[str, torch.Tensor], sentences: BlockSentences, selection: Selection, ratio: float,
                     special_ids: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """[rows, sentences] bool: about ``ratio`` of each row's whole sentences, chosen by ``selection``."""
    candidates = sentences.text_mask
    how_many = sentences_to_select(candidates, ratio, generator)
    scores = selection_scores(selection, blocks, sentences, special_ids, generator)
    return select_top(scores, candidates, how_many)
