"""All-tokens MLM: most of ELECTRA's gain over BERT comes from a loss on every token (Clark et al. 2020, sec. 3.2)."""

from __future__ import annotations

import torch

from benchmark import registry
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import IGNORE, DecoderStackObjective, special_token_mask
from benchmark.objectives.mlm import MLMParams, bert_masking


@registry.objectives.register("all_tokens_mlm")
class AllTokensMLM(DecoderStackObjective):
    """All-tokens MLM: BERT masking (15%, 80/10/10), but every ordinary token bears loss."""

    Params = MLMParams  # the same corruption settings as `mlm`, so only the labels differ
    kind = ModelKind.ENCODER

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        corrupted, _ = bert_masking(blocks["input_ids"], self.setup, self.params, generator)
        special = special_token_mask(blocks["input_ids"], self.setup.special_ids)
        return {"input_ids": corrupted, "labels": torch.where(special, IGNORE, blocks["input_ids"])}

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        ordinary = ~special_token_mask(blocks["input_ids"], self.setup.special_ids)
        scored = float((batch["labels"] != IGNORE).float().mean())
        masked = float((batch["input_ids"] == self.setup.tokenizer.mask_token_id).sum() / ordinary.sum())
        return {"loss_bearing_fraction": (scored, float(ordinary.float().mean())),
                "mask_token_fraction": (masked, self.params.mask_rate * self.params.mask_token_rate)}
