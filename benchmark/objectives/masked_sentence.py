"""Masked sentences: whole sentences masked in place on a bidirectional encoder, predicted with MLM's loss."""

from __future__ import annotations

import torch
from pydantic import Field

from benchmark import registry
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import IGNORE, DecoderStackObjective, Params, Setup
from benchmark.objectives.sentence_selection import Selection, block_sentences, select_sentences


class MaskedSentenceParams(Params):
    # the same share and selection as gap_sentences, so the two differ only in where the sentences are predicted
    mask_ratio: float = Field(0.3, gt=0, lt=1)
    selection: Selection = "principal"


def mask_sentences(blocks: dict[str, torch.Tensor], params: MaskedSentenceParams, setup: Setup,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked ids, labels): every token of the chosen whole sentences becomes ``[MASK]``; labels hold the originals.

    A document's ``[EOS]`` is never masked, so the encoder still sees where documents end.
    """
    tok, input_ids = setup.tokenizer, blocks["input_ids"]
    sentences = block_sentences(blocks, tok.eos_token_id)
    selected = select_sentences(blocks, sentences, params.selection, params.mask_ratio, setup.special_ids, generator)
    masked = sentences.per_token(selected) & (input_ids != tok.eos_token_id)
    return torch.where(masked, tok.mask_token_id, input_ids), torch.where(masked, input_ids, IGNORE)


@registry.objectives.register("masked_sentence")
class MaskedSentence(DecoderStackObjective):
    """Whole-sentence masking on a bidirectional encoder: 30% of whole sentences become [MASK], predicted in place.

    The encoder counterpart of ``gap_sentences`` (PEGASUS, Zhang et al. 2020): the same
    sentences are chosen (``selection``: ``random``, ``lead`` or ``principal``, the default, by
    ROUGE-1 F1 against the rest of the document; ``mask_ratio`` = 0.3 of each row's whole
    sentences, rounded at random so the expected share is exact), but every token of a chosen
    sentence is replaced by ``[MASK]`` where it stands (one mask per token, so the model knows
    the sentence's length) and predicted with BERT's MLM loss (Devlin et al. 2019). No 80/10/10
    split: a random or kept token inside a masked sentence would give away part of it. Only whole
    sentences are masked, never one cut by the block's edges; ``[EOS]`` is never masked.

    Loss-bearing tokens: the masked tokens (about 0.3 x the tokens of whole sentences); FLOPs
    count the encoder over the block and the output projection at the masked positions.
    """

    Params = MaskedSentenceParams
    kind = ModelKind.ENCODER
    may_hold_no_targets = True  # a batch of short blocks may hold no whole sentence to mask

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        masked, labels = mask_sentences(blocks, self.params, self.setup, generator)
        return {"input_ids": masked, "labels": labels}

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        """Masked sentences read back from the labels: their share of whole sentences, and that each is masked whole.

        With ``random`` selection every whole sentence is masked with probability ``mask_ratio``,
        so the share of their tokens that is masked (``masked_token_ratio``) is declared too.
        """
        tok, original = self.setup.tokenizer, blocks["input_ids"]
        inputs, labels = batch["input_ids"].cpu(), batch["labels"].cpu()
        sentences = block_sentences(blocks, tok.eos_token_id)
        candidates = sentences.text_mask
        masked = labels != IGNORE
        masked_per_sentence = torch.zeros_like(sentences.text_tokens).scatter_add(1, sentences.index, masked.long())
        chosen = masked_per_sentence > 0
        stats = {
            "masked_sentence_ratio": (float(chosen.sum()) / max(1, int(candidates.sum())), self.params.mask_ratio),
            "cut_sentences_masked": (float((chosen & ~candidates).sum()), 0.0),
            "partly_masked_sentences": (float((chosen & (masked_per_sentence != sentences.text_tokens)).sum()), 0.0),
            "masked_eos": (float((masked & (original == tok.eos_token_id)).sum()), 0.0),
            "labels_not_the_original": (float((masked & (labels != original)).sum()), 0.0),
            "masked_inputs_not_mask": (float((masked & (inputs != tok.mask_token_id)).sum()), 0.0),
            "unmasked_inputs_changed": (float((~masked & (inputs != original)).sum()), 0.0),
        }
        if self.params.selection == "random":
            text_tokens = int((sentences.text_tokens * candidates).sum())
            stats["masked_token_ratio"] = (float(masked.sum()) / max(1, text_tokens), self.params.mask_ratio)
        return stats
