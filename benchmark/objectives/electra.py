"""ELECTRA: a small MLM generator proposes replacements, the encoder learns to spot them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from benchmark import registry
from benchmark.models.base import lm_head
from benchmark.models.flops import training_flops
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import (
    IGNORE, LossOutput, Params, PretrainingObjective, Setup, head_flops, hidden_states, special_token_mask,
)
from benchmark.objectives.mlm import MLMParams, bert_masking, masking_statistics


class ElectraParams(Params):
    mask_rate: float = Field(0.15, gt=0, lt=1)  # ELECTRA-Small/Base mask 15% for the generator, as BERT
    generator_fraction: float = Field(0.25, gt=0, le=1)  # generator width / discriminator width: best at 1/4-1/2
    discriminator_weight: float = Field(50.0, gt=0)  # lambda: the paper's value (the BCE is ~50x smaller than MLM)
    share_embeddings: bool = True  # the paper ties generator and discriminator token embeddings (+0.7 GLUE)


class ProjectedEmbedding(nn.Module):
    """The discriminator's token embeddings, projected down to the generator's width."""

    def __init__(self, shared: nn.Embedding, width: int):
        super().__init__()
        self.shared = shared
        same = width == shared.embedding_dim
        self.project = nn.Identity() if same else nn.Linear(shared.embedding_dim, width, bias=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.project(self.shared(input_ids))


class ProjectedOutput(nn.Module):
    """Generator logits: its states projected up to the shared embeddings' width, scored against them."""

    def __init__(self, shared: nn.Embedding, width: int):
        super().__init__()
        self.shared = shared
        same = width == shared.embedding_dim
        self.project = nn.Identity() if same else nn.Linear(width, shared.embedding_dim, bias=False)
        self.bias = None  # no output bias: a head that links its decoder's bias (BERT's) links none

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return F.linear(self.project(hidden), self.shared.weight)


class ElectraNetworks(nn.Module):
    """Everything ELECTRA trains: generator LM, discriminator LM and the replaced-token head."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, share_embeddings: bool):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        # D(x, t) = sigmoid(w^T h_t): one logit per token (Clark et al. 2020, sec. 2)
        self.replaced_head = nn.Linear(discriminator.config.hidden_size, 1)
        # The discriminator predicts no token: what its LM head holds beyond the tied embeddings (BERT's
        # transform) is frozen, as unused weights, so that nothing (weight decay included) moves them.
        tied = {id(p) for p in discriminator.get_input_embeddings().parameters()}
        for parameter in lm_head(discriminator).parameters():
            if id(parameter) not in tied:
                parameter.requires_grad_(False)
        if share_embeddings:
            shared, width = discriminator.get_input_embeddings(), generator.config.hidden_size
            generator.set_input_embeddings(ProjectedEmbedding(shared, width))
            generator.set_output_embeddings(ProjectedOutput(shared, width))


def generator_shape(preset: dict[str, int], fraction: float) -> dict[str, int]:
    """The discriminator preset scaled by ``fraction`` in width, FFN width and heads (depth kept).

    Head width stays close to the discriminator's, and is always even (RoPE rotates pairs).
    """
    heads = max(1, round(preset["num_attention_heads"] * fraction))
    hidden = max(2 * heads, round(preset["hidden_size"] * fraction / (2 * heads)) * 2 * heads)
    return {"hidden_size": hidden, "num_attention_heads": heads,
            "intermediate_size": max(1, round(preset["intermediate_size"] * fraction))}


def sample_replacements(logits: torch.Tensor, draws: torch.Tensor, banned: torch.Tensor) -> torch.Tensor:
    """One token per row of ``logits``, sampled by inverting its CDF at ``draws`` (uniform in [0, 1)).

    Drawing the uniforms in ``prepare`` keeps the sampling deterministic under the batch
    generator. ``banned`` (special tokens) get probability zero: the discriminator should judge
    ordinary text, and never sees [MASK] or [PAD] downstream.
    """
    probs = logits.float().index_fill(1, banned, float("-inf")).softmax(-1)
    cdf = probs.cumsum(-1)
    points = (draws * cdf[:, -1]).unsqueeze(-1)
    # right side: the first token whose cumulative mass exceeds the point, so zero-mass tokens are never hit
    return torch.searchsorted(cdf, points, side="right").squeeze(-1).clamp_max(logits.shape[-1] - 1)


@registry.objectives.register("electra")
class Electra(PretrainingObjective):
    """ELECTRA replaced-token detection: an MLM generator corrupts, the encoder classifies every token.

    Follows Clark et al. 2020. A generator (the same Llama blocks, width, FFN width and heads
    scaled by ``generator_fraction`` = 1/4, depth kept) is trained with MLM on 15% of tokens,
    all replaced by [MASK] (no 80/10/10, as ELECTRA). At the masked positions it proposes
    replacements sampled from its output distribution (special tokens excluded); a token whose
    sample equals the original counts as original. The discriminator, a bidirectional encoder,
    labels every ordinary (non-special) token as original or replaced through a linear head.
    Loss = generator MLM + ``discriminator_weight`` (lambda = 50) x discriminator BCE; no gradient
    flows through the sampling. Token embeddings are shared as in the paper, which keeps them at
    the discriminator's width for a narrower generator: the generator reads them through a
    down-projection and scores its logits against them through an up-projection (RoPE leaves
    no position embeddings to share).

    Only the discriminator is kept for finetuning. FLOPs count generator and discriminator, as
    the paper does when it matches ELECTRA against BERT. Loss-bearing tokens: every ordinary
    token (the discriminator's), i.e. about 100% rather than MLM's 15%.
    """

    Params = ElectraParams
    kind = ModelKind.ENCODER

    def __init__(self, params: ElectraParams, setup: Setup):
        super().__init__(params, setup)
        self.masking = MLMParams(mask_rate=params.mask_rate, mask_token_rate=1.0, random_token_rate=0.0)

    def build(self) -> torch.nn.Module:
        model, size, tokenizer = self.setup.model, self.setup.size, self.setup.tokenizer
        discriminator = model.build_lm(self.kind, size, tokenizer)
        generator = model.build_lm(self.kind, size, tokenizer,
                                   **generator_shape(model.preset(size), self.params.generator_fraction))
        return ElectraNetworks(generator, discriminator, self.params.share_embeddings)

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        masked_ids, labels = bert_masking(blocks["input_ids"], self.setup, self.masking, generator)
        draws = torch.rand(masked_ids.shape, generator=generator)  # used only where a token was masked
        return {"input_ids": masked_ids, "labels": labels, "replacement_draws": draws}

    def loss(self, network: ElectraNetworks, batch: dict[str, torch.Tensor]) -> LossOutput:
        masked_ids, labels = batch["input_ids"], batch["labels"]
        selected = labels != IGNORE
        original = torch.where(selected, labels, masked_ids)

        generator_hidden = hidden_states(network.generator, masked_ids, self.kind)
        generator_logits = lm_head(network.generator)(generator_hidden[selected])
        generator_loss = F.cross_entropy(generator_logits.float(), labels[selected])

        with torch.no_grad():
            sampled = sample_replacements(generator_logits, batch["replacement_draws"][selected],
                                          self.setup.special_ids.to(masked_ids.device))
        corrupted = original.masked_scatter(selected, sampled)
        replaced = corrupted != original

        judged = ~special_token_mask(original, self.setup.special_ids)
        discriminator_hidden = hidden_states(network.discriminator, corrupted, self.kind)
        replaced_logits = network.replaced_head(discriminator_hidden[judged]).squeeze(-1)
        discriminator_loss = F.binary_cross_entropy_with_logits(replaced_logits.float(), replaced[judged].float())
        weighted = self.params.discriminator_weight * discriminator_loss
        return LossOutput(generator_loss + weighted, int(judged.sum()), (generator_loss, weighted))

    def loss_items(self, batch: dict[str, torch.Tensor]) -> tuple[int, ...]:
        """The generator's masked positions, and the discriminator's judged (non-special) tokens."""
        selected = batch["labels"] != IGNORE
        original = torch.where(selected, batch["labels"], batch["input_ids"])
        return int(selected.sum()), int((~special_token_mask(original, self.setup.special_ids)).sum())

    def flops(self, network: ElectraNetworks, batch: dict[str, torch.Tensor]) -> float:
        input_ids, labels = batch["input_ids"], batch["labels"]
        rows, seq = input_ids.shape
        tokens = rows * seq
        selected = labels != IGNORE
        masked = int(selected.sum())
        judged = int((~special_token_mask(torch.where(selected, labels, input_ids), self.setup.special_ids)).sum())
        generator, discriminator = network.generator, network.discriminator
        width, generator_width = discriminator.config.hidden_size, generator.config.hidden_size
        vocab = discriminator.config.vocab_size
        blocks = self.setup.model.flops_per_token

        generator_forward = blocks(generator, context=seq, vocab_outputs=0) * tokens
        # a head that transforms before it projects (BERT's) pays for the transform at every masked token
        generator_forward += (head_flops(self.setup, generator, seq) - 2 * generator_width * vocab) * masked
        if self.params.share_embeddings:
            if generator_width != width:  # the down- and up-projections around the generator
                generator_forward += 2 * width * generator_width * (tokens + masked)
            generator_forward += 2 * width * vocab * masked
        else:
            generator_forward += 2 * generator_width * vocab * masked
        discriminator_forward = blocks(discriminator, context=seq, vocab_outputs=0) * tokens + 2 * width * judged
        return training_flops(generator_forward + discriminator_forward)

    def backbone(self, network: ElectraNetworks):
        return network.discriminator

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        draws = batch["replacement_draws"]
        return {
            **masking_statistics(blocks["input_ids"], batch["input_ids"], batch["labels"], self.setup, self.masking),
            "replacement_draw_mean": (float(draws.mean()), 0.5),  # uniform in [0, 1)
        }
