"""PEGASUS gap-sentence generation: remove whole sentences, leave one mask each, generate them."""

from __future__ import annotations

import torch
from pydantic import Field

from benchmark import registry
from benchmark.objectives.base import IGNORE, EncoderDecoderObjective, Params
from benchmark.objectives.sentence_selection import BlockSentences, Selection, block_sentences, select_sentences


class GapSentencesParams(Params):
    # PEGASUS: the share of a document's sentences removed; their ablation favoured ratios below half
    gap_ratio: float = Field(0.3, gt=0, lt=1)
    selection: Selection = "principal"  # PEGASUS: principal sentences (Ind-Orig) beat lead and random


def left_pack(tokens: torch.Tensor, keep: torch.Tensor, pad_id: int, width: int) -> torch.Tensor:
    """The kept tokens of each row moved to its front, in order, right-padded with ``pad_id`` to ``width``."""
    order = torch.sort((~keep).long(), dim=1, stable=True).indices
    packed = tokens.gather(1, order)
    valid = torch.arange(tokens.shape[1]) < keep.sum(1, keepdim=True)
    packed = torch.where(valid, packed, pad_id)
    if width > packed.shape[1]:
        packed = torch.cat([packed, torch.full((tokens.shape[0], width - packed.shape[1]), pad_id)], 1)
    return packed[:, :width]


def gap_sentence_split(input_ids: torch.Tensor, sentences: BlockSentences, selected: torch.Tensor, mask_id: int,
                       eos_id: int, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(encoder inputs, decoder targets) with the ``selected`` sentences [rows, sentences] taken out.

    Inputs: the block with each selected sentence's text replaced by one ``mask_id``; a
    document's ``[EOS]`` stays in the input, so the encoder still sees where documents end.
    Targets: the selected sentences' text in block order, closed by ``[EOS]``. Both are
    right-padded with ``pad_id`` to the longest row.
    """
    positions = torch.arange(input_ids.shape[1])
    removed = sentences.per_token(selected) & (input_ids != eos_id)
    first = removed & (positions == sentences.per_token(sentences.start))  # text starts where its sentence does
    keep = ~removed | first
    inputs = left_pack(torch.where(first, mask_id, input_ids), keep, pad_id, int(keep.sum(1).max()))
    lengths = removed.sum(1, keepdim=True)
    targets = left_pack(input_ids, removed, pad_id, int(lengths.max()) + 1)
    targets = targets.scatter(1, lengths, eos_id)
    return inputs, targets


def read_gaps(block: list[int], sentence_index: list[int], whole: list[bool], inputs: list[int], targets: list[int],
              mask_id: int, eos_id: int) -> tuple[int, int, bool]:
    """(gaps, gaps in sentences that are not whole, layout is wrong) for one row, read back against its block.

    Walks the block sentence by sentence: a ``[MASK]`` where the sentence's text should be means
    the sentence was removed, and its text must come next in the targets; otherwise the text
    must be in the input as it is. The row is wrong unless input and targets are used up exactly,
    with one closing ``[EOS]`` in the targets.
    """
    at_input = at_target = gaps = cut = 0
    start = 0
    while start < len(block):
        end = start
        while end < len(block) and sentence_index[end] == sentence_index[start]:
            end += 1
        text = [t for t in block[start:end] if t != eos_id]
        closing = block[start:end][len(text):]
        if text and at_input < len(inputs) and inputs[at_input] == mask_id:
            gaps += 1
            cut += not whole[sentence_index[start]]
            if targets[at_target:at_target + len(text)] != text:
                return gaps, cut, True
            at_input, at_target = at_input + 1, at_target + len(text)
        else:
            if inputs[at_input:at_input + len(text)] != text:
                return gaps, cut, True
            at_input += len(text)
        if inputs[at_input:at_input + len(closing)] != closing:
            return gaps, cut, True
        at_input += len(closing)
        start = end
    return gaps, cut, at_input != len(inputs) or targets[at_target:] != [eos_id]


@registry.objectives.register("gap_sentences")
class GapSentences(EncoderDecoderObjective):
    """PEGASUS gap-sentence generation on an encoder-decoder: 30% of whole sentences out, one [MASK] each.

    Follows Zhang et al. 2020 (PEGASUS, sec. 3.1): whole sentences are removed from the block,
    each replaced in the encoder input by one mask token (``[MASK]``), and the decoder generates
    the removed sentences in block order (a pseudo-summary), closed by ``[EOS]``. Sentences are
    chosen by ``selection``: ``random``; ``lead``, the first sentences of each document;
    ``principal`` (default), the sentences with the highest ROUGE-1 F1 against the rest of their
    document, each scored independently over unigram counts ("Ind-Orig"). ROUGE-1 is computed
    over token ids (see ``sentence_selection.principal_scores``). ``gap_ratio`` = 0.3 of each
    row's whole sentences are chosen, rounded at random so the expected share is exact. Only
    whole sentences are picked (``sentence_selection``), never one cut by the block's edges.

    The paper's ablations (sec. 6.1) found principal sentences scored independently with
    original n-gram counts the best selection overall, lead competitive on news datasets but
    weaker elsewhere, and random behind; gap ratios below half of the document did best, and 30%
    is the ratio of the paper's base-model studies. Adding MLM to the encoder input helped early
    in pretraining but not at large step counts, so PEGASUS-Large dropped it; it is left out here.

    Loss-bearing tokens: the removed sentences' tokens plus one ``[EOS]`` per row; FLOPs count the
    padded encoder input (the block less the gaps, plus one mask each) and the padded targets.
    """

    Params = GapSentencesParams

    def corrupt(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        tok = self.setup.tokenizer
        sentences = block_sentences(blocks, tok.eos_token_id)
        selected = select_sentences(blocks, sentences, self.params.selection, self.params.gap_ratio,
                                    self.setup.special_ids, generator)
        return gap_sentence_split(blocks["input_ids"], sentences, selected, tok.mask_token_id, tok.eos_token_id,
                                  tok.pad_token_id)

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        """The gaps read back from the encoder input and decoder targets, against the block.

        ``gap_ratio``: gaps / whole sentences of the batch, against the configured ratio. With
        ``random`` selection every whole sentence is picked with probability ``gap_ratio``, so
        the share of their tokens that is removed (``gap_token_ratio``) is declared too; lead and
        principal sentences are not of average length, so no token share is promised for them.
        """
        tok = self.setup.tokenizer
        sentences = block_sentences(blocks, tok.eos_token_id)
        candidates = sentences.text_mask
        pad = tok.pad_token_id
        inputs, labels = batch["input_ids"].cpu(), batch["labels"].cpu()
        gaps = cut = wrong = 0
        for row in range(inputs.shape[0]):
            row_inputs = inputs[row][inputs[row] != pad].tolist()
            row_targets = labels[row][labels[row] != IGNORE].tolist()
            g, c, w = read_gaps(blocks["input_ids"][row].tolist(), sentences.index[row].tolist(),
                                candidates[row].tolist(), row_inputs, row_targets, tok.mask_token_id,
                                tok.eos_token_id)
            gaps, cut, wrong = gaps + g, cut + c, wrong + w
        stats = {
            "gap_ratio": (gaps / max(1, int(candidates.sum())), self.params.gap_ratio),
            "cut_sentences_removed": (float(cut), 0.0),
            "layout_errors": (float(wrong), 0.0),
        }
        if self.params.selection == "random":
            removed = int((labels != IGNORE).sum()) - labels.shape[0]  # less each row's closing [EOS]
            stats["gap_token_ratio"] = (removed / max(1, int((sentences.text_tokens * candidates).sum())),
                                        self.params.gap_ratio)
        return stats
