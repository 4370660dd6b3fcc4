"""Multi-token prediction: a causal trunk with extra heads that predict tokens further ahead (Gloeckle et al. 2024)."""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from benchmark import registry
from benchmark.models.flops import training_flops
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import (
    IGNORE, DecoderStackObjective, LossOutput, Params, head_flops, hidden_states, labelled, lm_training_flops,
    token_cross_entropy,
)


class MTPParams(Params):
    n_tokens: int = Field(4, ge=1, le=16)  # n: tokens predicted at each position (the paper's default is 4)


class FutureHead(nn.Module):
    """One extra output head: a residual feed-forward block on the trunk's final states (norm, up, GELU, down),
    read out through the language model's own, shared, output head."""

    def __init__(self, width: int, inner: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.up = nn.Linear(width, inner)
        self.down = nn.Linear(inner, width)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.down(nn.functional.gelu(self.up(self.norm(hidden))))


class MTPNetworks(nn.Module):
    """The causal language model (trunk and next-token head, what finetuning keeps) and the n - 1 future heads."""

    def __init__(self, lm: nn.Module, extra_heads: int):
        super().__init__()
        self.lm = lm
        width = lm.config.hidden_size
        inner = getattr(lm.config, "intermediate_size", None) or getattr(lm.config, "n_inner", None) or 4 * width
        self.heads = nn.ModuleList(FutureHead(width, inner) for _ in range(extra_heads))


def future_labels(input_ids: torch.Tensor, n_tokens: int) -> torch.Tensor:
    """[batch, n, seq]: row k holds the token k + 1 places ahead of each position, ``IGNORE`` past the block's end."""
    rows, seq = input_ids.shape
    labels = torch.full((rows, n_tokens, seq), IGNORE, dtype=input_ids.dtype)
    for k in range(n_tokens):
        labels[:, k, :seq - k - 1] = input_ids[:, k + 1:]
    return labels


@registry.objectives.register("mtp")
class MultiTokenPrediction(DecoderStackObjective):
    """Multi-token prediction (Gloeckle et al. 2024, "Better & faster large language models via multi-token
    prediction"): at every position of a causal decoder, head k predicts the token k places ahead, k = 1..n.

    The paper's heads are n transformer layers on a shared trunk with a shared unembedding; here the
    next-token head is the language model itself (trunk, final norm, output projection) and each of the
    n - 1 future heads is a residual feed-forward block of the model's width on the trunk's final states,
    read out through the same output projection (a simplification: one head layer that every
    architecture family can build). The loss is the sum of the n heads' cross-entropies, each a mean
    over its own targets, as the paper sums them; with ``n_tokens`` = 1 it is ``clm``'s loss exactly.
    FLOPs count the trunk once, every future head's block and every head's output projection.
    Finetuning and zero-shot scoring use the next-token head only: the future heads are not saved with
    the backbone. Loss-bearing tokens: seq_len - k per block for head k, summed over the heads.
    """

    Params = MTPParams
    kind = ModelKind.CAUSAL

    def build(self) -> torch.nn.Module:
        return MTPNetworks(super().build(), self.params.n_tokens - 1)

    def backbone(self, network: MTPNetworks):
        return network.lm

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        input_ids = blocks["input_ids"]
        ahead = future_labels(input_ids, self.params.n_tokens)
        return {"input_ids": input_ids, "labels": ahead[:, 0], "future_labels": ahead[:, 1:]}

    def loss(self, network: MTPNetworks, batch: dict[str, torch.Tensor]) -> LossOutput:
        hidden = hidden_states(network.lm, batch["input_ids"], self.kind)
        outputs = [token_cross_entropy(network.lm, hidden, batch["labels"])]
        for k, head in enumerate(network.heads):
            outputs.append(token_cross_entropy(network.lm, head(hidden), batch["future_labels"][:, k]))
        terms = tuple(out.loss for out in outputs)
        return LossOutput(sum(terms), sum(out.loss_bearing_tokens for out in outputs), terms)

    def loss_items(self, batch: dict[str, torch.Tensor]) -> tuple[int, ...]:
        future = batch["future_labels"]
        return (labelled(batch["labels"]), *(labelled(future[:, k]) for k in range(future.shape[1])))

    def flops(self, network: MTPNetworks, batch: dict[str, torch.Tensor]) -> float:
        """The trunk over every position with the next-token head at its targets (as ``clm``), plus each future
        head: its feed-forward block at every position and the output projection at its targets."""
        input_ids, future = batch["input_ids"], batch["future_labels"]
        targets = int((future != IGNORE).sum())
        trunk = lm_training_flops(self.setup, network.lm, input_ids.shape, labelled(batch["labels"]))
        block = sum(2 * 2 * head.up.in_features * head.up.out_features for head in network.heads)  # up and down
        outputs = head_flops(self.setup, network.lm, input_ids.shape[1]) * targets
        return trunk + training_flops(block * input_ids.numel() + outputs)

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        input_ids, seq = blocks["input_ids"], blocks["input_ids"].shape[1]
        every = torch.cat([batch["labels"][:, None], batch["future_labels"]], 1)
        out = {}
        misaligned = 0
        for k in range(every.shape[1]):
            scored = every[:, k] != IGNORE
            out[f"head_{k + 1}_loss_bearing_fraction"] = (float(scored.float().mean()), (seq - k - 1) / seq)
            misaligned += int((every[:, k, :seq - k - 1] != input_ids[:, k + 1:]).sum())
        out["misaligned_labels"] = (float(misaligned), 0.0)
        return out
