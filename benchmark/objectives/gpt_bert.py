"""GPT-BERT: causal language modelling and masked next-token prediction in one model (Charpentier & Samuel 2024)."""

from __future__ import annotations

import torch
from pydantic import Field

from benchmark import registry
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import IGNORE, DecoderStackObjective, special_token_mask
from benchmark.objectives.mlm import MLMParams, bert_masking


class GPTBERTParams(MLMParams):
    # The share of rows trained causally; the rest are masked. The paper's best ratio is 1 causal to 15 masked.
    causal_fraction: float = Field(1 / 16, ge=0, le=1)


@registry.objectives.register("gpt_bert")
class GPTBERT(DecoderStackObjective):
    """GPT-BERT (Charpentier & Samuel 2024, "GPT or BERT: why not both?"; BabyLM 2024's winner).

    One decoder stack learns two ways of reading, row by row of each batch: a row is causal with
    probability ``causal_fraction`` (attention causal, every position predicts the next token, as
    ``clm``), otherwise masked: BERT masking (15%, 80/10/10, as ``mlm``) and bidirectional attention,
    and the masked token at position t is predicted at position t - 1 ("masked next-token
    prediction"), so both ways predict the next token from the same output position and share one
    head. The loss is the cross-entropy over every predicted token of the batch, of either way.
    Simplified against the paper: no attention gate or layer weighting, a per-row draw of the mode,
    the first token of a block never masked (nothing precedes it to predict it).

    It is a prefix decoder: a causal row is a one-token prefix, a masked row an all-prefix one, so
    finetuning reads task inputs bidirectionally and generates causally, and zero-shot scoring records
    both the causal log-likelihood (the primary score) and the masked next-token pseudo-log-likelihood.
    Loss-bearing tokens: seq_len - 1 per causal row, about 15% of a masked row.
    """

    Params = GPTBERTParams
    kind = ModelKind.PREFIX

    def build(self) -> torch.nn.Module:
        network = super().build()
        network.config.objbench_scores = ["log_likelihood", "masked_next"]  # saved with the checkpoint
        return network

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        input_ids = blocks["input_ids"]
        rows, seq = input_ids.shape
        causal = torch.rand(rows, generator=generator) < self.params.causal_fraction
        corrupted, selected = bert_masking(input_ids, self.setup, self.params, generator)
        corrupted[:, 0], selected[:, 0] = input_ids[:, 0], IGNORE  # no position before the first to predict it
        masked_next = torch.full_like(input_ids, IGNORE)
        masked_next[:, :-1] = selected[:, 1:]  # position t - 1 predicts the masked token t
        next_token = torch.full_like(input_ids, IGNORE)
        next_token[:, :-1] = input_ids[:, 1:]
        return {
            "input_ids": torch.where(causal[:, None], input_ids, corrupted),
            "labels": torch.where(causal[:, None], next_token, masked_next),
            # a one-token prefix is causal attention; a whole-row prefix, bidirectional
            "prefix_lengths": torch.where(causal, 1, seq),
        }

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        original, corrupted, labels = blocks["input_ids"], batch["input_ids"], batch["labels"]
        seq = original.shape[1]
        causal = batch["prefix_lengths"] == 1
        masked_rows = ~causal
        eligible = ~special_token_mask(original, self.setup.special_ids)
        eligible[:, 0] = False
        predicted = torch.zeros_like(eligible)
        predicted[:, 1:] = labels[:, :-1] != IGNORE  # the token each label stands for
        masked_selected = predicted[masked_rows]
        misaligned = (labels[:, :-1] != IGNORE) & (labels[:, :-1] != original[:, 1:])
        return {
            "causal_row_fraction": (float(causal.float().mean()), self.params.causal_fraction),
            "mask_rate": (float(masked_selected.sum() / eligible[masked_rows].sum().clamp_min(1)),
                          self.params.mask_rate),
            "causal_rows_fully_labelled": (float((labels[causal, :-1] == IGNORE).sum()), 0.0),
            "causal_rows_corrupted": (float((corrupted[causal] != original[causal]).sum()), 0.0),
            "special_tokens_predicted": (float((predicted & masked_rows[:, None] & ~eligible).sum()), 0.0),
            "misaligned_labels": (float(misaligned.sum()), 0.0),
            "prefix_not_1_or_whole": (float(((batch["prefix_lengths"] != 1) & (batch["prefix_lengths"] != seq)).sum()),
                                      0.0),
        }
