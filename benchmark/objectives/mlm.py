"""Masked language modelling, BERT-style."""

from __future__ import annotations

import torch
from pydantic import Field, model_validator

from benchmark import registry
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import IGNORE, DecoderStackObjective, Params, Setup, special_token_mask


class MLMParams(Params):
    mask_rate: float = Field(0.15, gt=0, lt=1)  # BERT: 15% of tokens are selected for prediction
    mask_token_rate: float = Field(0.8, ge=0, le=1)  # of those, 80% become [MASK] ...
    random_token_rate: float = Field(0.1, ge=0, le=1)  # ... 10% a random token, the rest stay as they are

    @model_validator(mode="after")
    def _rates(self) -> "MLMParams":
        if self.mask_token_rate + self.random_token_rate > 1:
            raise ValueError("mask_token_rate + random_token_rate must be at most 1")
        return self


def bert_masking(input_ids: torch.Tensor, setup: Setup, params: MLMParams,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's corruption (Devlin et al. 2019): returns (corrupted ids, labels).

    Each non-special token is selected with probability ``mask_rate``; a selected token becomes
    [MASK] (80%), a random ordinary token (10%) or stays (10%). Labels hold the original token
    at selected positions and IGNORE elsewhere. Special and padding tokens are never selected.
    """
    eligible = ~special_token_mask(input_ids, setup.special_ids)
    draw = torch.rand(input_ids.shape, generator=generator)
    selected = (draw < params.mask_rate) & eligible
    labels = torch.where(selected, input_ids, IGNORE)
    how = torch.rand(input_ids.shape, generator=generator)
    to_mask = selected & (how < params.mask_token_rate)
    to_random = selected & (how >= params.mask_token_rate) & (how < params.mask_token_rate + params.random_token_rate)
    random_ids = torch.randint(setup.first_regular_id, len(setup.tokenizer), input_ids.shape, generator=generator)
    corrupted = torch.where(to_mask, setup.tokenizer.mask_token_id, input_ids)
    corrupted = torch.where(to_random, random_ids, corrupted)
    return corrupted, labels


def masking_statistics(original: torch.Tensor, corrupted: torch.Tensor, labels: torch.Tensor, setup: Setup,
                       params: MLMParams) -> dict[str, tuple[float, float]]:
    """Observed vs declared BERT masking rates (selection among eligible tokens, then 80/10/10)."""
    eligible = ~special_token_mask(original, setup.special_ids)
    selected = labels != IGNORE
    n = max(1, int(selected.sum()))
    as_mask = selected & (corrupted == setup.tokenizer.mask_token_id)
    kept = selected & (corrupted == original)
    return {
        "mask_rate": (float(selected.sum() / eligible.sum()), params.mask_rate),
        "mask_token_rate": (float(as_mask.sum()) / n, params.mask_token_rate),
        # a random draw can hit the original token (1 in |vocab|): "kept" is slightly above its share
        "kept_rate": (float(kept.sum()) / n, 1 - params.mask_token_rate - params.random_token_rate),
        "special_tokens_selected": (float((selected & ~eligible).sum()), 0.0),
    }


@registry.objectives.register("mlm")
class MaskedLM(DecoderStackObjective):
    """BERT masked LM on a bidirectional encoder: 15% of tokens, 80% [MASK] / 10% random / 10% kept.

    Follows Devlin et al. 2019; T5 sec. 3.3 calls it "BERT-style" denoising and found it the
    strongest objective on GLUE and SQuAD. Only the selected tokens bear loss (about 15%).
    """

    Params = MLMParams
    kind = ModelKind.ENCODER

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        corrupted, labels = bert_masking(blocks["input_ids"], self.setup, self.params, generator)
        return {"input_ids": corrupted, "labels": labels}

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        return masking_statistics(blocks["input_ids"], batch["input_ids"], batch["labels"], self.setup, self.params)
