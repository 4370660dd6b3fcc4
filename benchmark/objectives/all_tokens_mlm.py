"""All-tokens MLM: BERT's corruption, with a loss on every token."""

from __future__ import annotations

import torch

from benchmark import registry
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import (
    IGNORE, LossOutput, Setup, hidden_states, lm_training_flops, special_token_mask, token_cross_entropy,
)
from benchmark.objectives.mlm import MLMParams, bert_masking


@registry.objectives.register("all_tokens_mlm")
class AllTokensMLM:
    """All-tokens MLM: BERT masking (15%, 80/10/10), but every ordinary token bears loss.

    ELECTRA's efficiency analysis (Clark et al. 2020, sec. 3.2) found that most of ELECTRA's
    gain over BERT comes from a loss on every token (85.0 vs 84.3 vs 82.2 GLUE); this is that
    ablation: the same inputs as `mlm`, with labels at all non-special positions.
    """

    Params = MLMParams  # the same corruption settings as `mlm`
    pretrains = True
    kind = ModelKind.ENCODER

    def __init__(self, params: MLMParams, setup: Setup):
        self.params, self.setup = params, setup

    def build(self) -> torch.nn.Module:
        return self.setup.model.build_lm(self.kind, self.setup.size, self.setup.tokenizer)

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        original = blocks["input_ids"]
        corrupted, _ = bert_masking(original, self.setup, self.params, generator)
        special = special_token_mask(original, self.setup.special_ids)
        return {"input_ids": corrupted, "labels": torch.where(special, IGNORE, original)}

    def loss(self, network, batch: dict[str, torch.Tensor]) -> LossOutput:
        hidden = hidden_states(network, batch["input_ids"], self.kind)
        return token_cross_entropy(network, hidden, batch["labels"])

    def flops(self, network, batch: dict[str, torch.Tensor]) -> float:
        scored = int((batch["labels"] != IGNORE).sum())
        return lm_training_flops(self.setup, network, batch["input_ids"].shape, scored)

    def backbone(self, network):
        return network

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        ordinary = ~special_token_mask(blocks["input_ids"], self.setup.special_ids)
        masked = batch["input_ids"] == self.setup.tokenizer.mask_token_id
        return {
            "loss_bearing_fraction": (float((batch["labels"] != IGNORE).float().mean()), float(ordinary.float().mean())),
            "mask_token_fraction": (float(masked.sum() / ordinary.sum()),
                                    self.params.mask_rate * self.params.mask_token_rate),
        }
