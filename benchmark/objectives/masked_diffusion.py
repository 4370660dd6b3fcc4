"""Masked diffusion language modelling (MDLM, Sahoo et al. 2024; LLaDA, Nie et al. 2025)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from benchmark import registry
from benchmark.models.base import lm_head
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import (
    IGNORE, DecoderStackObjective, LossOutput, Params, hidden_states, special_token_mask,
)


class MaskedDiffusionParams(Params):
    # The masking ratio is t' = eps + (1 - eps) t with t ~ U(0, 1), as LLaDA's pretraining code: eps keeps 1/t finite.
    min_mask_rate: float = Field(1e-3, gt=0, lt=1)
    # Monte Carlo samples of the ELBO per sentence when the zero-shot format scores this model (recorded with
    # its scores); LLaDA's likelihood estimates use the same low-variance form with more samples.
    elbo_samples: int = Field(16, ge=1, le=1024)


def diffusion_masking(input_ids: torch.Tensor, special_ids: torch.Tensor, mask_id: int, min_rate: float,
                      generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(corrupted ids, labels, each row's masking ratio t): every ordinary token of a row becomes ``[MASK]`` with
    probability t, t drawn once per row from U(``min_rate``, 1). Labels hold the original token where masked."""
    rows = input_ids.shape[0]
    ratio = min_rate + (1 - min_rate) * torch.rand(rows, generator=generator)
    eligible = ~special_token_mask(input_ids, special_ids)
    masked = (torch.rand(input_ids.shape, generator=generator) < ratio[:, None]) & eligible
    return torch.where(masked, mask_id, input_ids), torch.where(masked, input_ids, IGNORE), ratio


@registry.objectives.register("masked_diffusion")
class MaskedDiffusion(DecoderStackObjective):
    """A masked diffusion language model on a bidirectional encoder: MDLM's and LLaDA's objective.

    Each row draws a masking ratio t ~ U(0, 1) (floored at ``min_mask_rate``), masks every ordinary
    token with probability t (all become ``[MASK]``: the absorbing state, no random or kept tokens),
    and is trained on the masked tokens with the cross-entropy weighted by 1/t. Summed over a row and
    divided by its length, the weighted loss is an unbiased estimate of the negative ELBO per token of
    the continuous-time absorbing-state diffusion (Sahoo et al. 2024, eq. 10; Nie et al. 2025, eq. 3):
    log p(x) >= E_t E_{x_t} [ (1/t) sum over masked i of log p(x_i | x_t) ]. Here the loss is the
    weighted sum over the batch divided by its ordinary tokens: one term, a mean over them.
    Simplified against the papers: no time conditioning (neither LLaDA nor MDLM's final models use
    one), special tokens are never masked, and blocks are packed documents, as for every objective.
    Loss-bearing tokens: the masked ones, about half of the ordinary tokens.

    Zero-shot scoring uses the ELBO (``benchmark.formats.zero_shot.elbo``) with ``elbo_samples``
    Monte Carlo samples per sentence, recorded with the scores.
    """

    Params = MaskedDiffusionParams
    kind = ModelKind.ENCODER

    def build(self) -> torch.nn.Module:
        network = super().build()
        # saved with the checkpoint: the zero-shot format scores this backbone by its ELBO, so many samples
        network.config.objbench_scores = ["elbo"]
        network.config.objbench_elbo_samples = self.params.elbo_samples
        return network

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        corrupted, labels, ratio = diffusion_masking(blocks["input_ids"], self.setup.special_ids,
                                                     self.setup.tokenizer.mask_token_id, self.params.min_mask_rate,
                                                     generator)
        ordinary = (~special_token_mask(blocks["input_ids"], self.setup.special_ids)).sum(1)
        return {"input_ids": corrupted, "labels": labels, "mask_ratio": ratio, "ordinary_tokens": ordinary}

    def loss(self, network, batch: dict[str, torch.Tensor]) -> LossOutput:
        """sum over masked tokens of CE / t of their row, over the batch's ordinary tokens; logits at masked ones."""
        hidden = hidden_states(network, batch["input_ids"], self.kind)
        labels = batch["labels"]
        where = labels != IGNORE
        ordinary = batch["ordinary_tokens"].sum().clamp_min(1)
        if not where.any():  # every row drew a tiny t and masked nothing: a zero that keeps the graph whole
            zero = hidden.sum() * 0.0
            return LossOutput(zero, 0, (zero,))
        logits = lm_head(network)(hidden[where])
        per_token = F.cross_entropy(logits.float(), labels[where], reduction="none")
        weights = batch["mask_ratio"][:, None].expand_as(labels)[where].reciprocal()
        loss = (per_token * weights).sum() / ordinary
        return LossOutput(loss, int(where.sum()), (loss,))

    def loss_items(self, batch: dict[str, torch.Tensor]) -> tuple[int, ...]:
        return (int(batch["ordinary_tokens"].sum()),)

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        original, corrupted, labels = blocks["input_ids"], batch["input_ids"], batch["labels"]
        ratio = batch["mask_ratio"]
        eligible = ~special_token_mask(original, self.setup.special_ids)
        masked = labels != IGNORE
        low = self.params.min_mask_rate
        per_row = masked.sum(1) / eligible.sum(1).clamp_min(1)
        return {
            "mask_rate": (float(per_row.mean()), (1 + low) / 2),  # E[t] over U(low, 1)
            "ratio_outside_range": (float(((ratio < low) | (ratio > 1)).sum()), 0.0),
            "masked_not_mask_token": (float((masked & (corrupted != self.setup.tokenizer.mask_token_id)).sum()), 0.0),
            "special_tokens_masked": (float((masked & ~eligible).sum()), 0.0),
            "misaligned_labels": (float((masked & (labels != original)).sum()), 0.0),
        }
