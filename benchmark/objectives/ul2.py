"""UL2 mixture of denoisers: regular and extreme span corruption and prefix LM, each row tagged by its mode."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator

from benchmark import registry
from benchmark.data.tokenizer import MODE_TOKENS
from benchmark.objectives.base import IGNORE, EncoderDecoderObjective, Params, Setup
from benchmark.objectives.span_corruption import sentinel_ids, span_corrupt, span_statistics

MODES = ("R", "S", "X")  # in the order of MODE_TOKENS: [R], [S], [X]


class UL2Params(Params):
    # One setting per paradigm with equal shares: UL2 mixed several R and X settings and one S;
    # a small model and short blocks gain little from finer mixtures.
    r_weight: float = Field(1.0, ge=0)  # relative share of R (regular span corruption) rows
    s_weight: float = Field(1.0, ge=0)  # relative share of S (sequential, prefix LM) rows
    x_weight: float = Field(1.0, ge=0)  # relative share of X (extreme corruption) rows
    r_noise_density: float = Field(0.15, gt=0, lt=1)  # R is T5's span corruption: 15% ...
    r_mean_noise_span_length: float = Field(3.0, ge=1)  # ... in spans of mean length 3
    x_noise_density: float = Field(0.5, gt=0, lt=1)  # UL2's X: corruption rate >= 30% or spans >= 12 tokens
    x_mean_noise_span_length: float = Field(8.0, ge=1)  # 50% in spans of 8 still fits 64 sentinels at 512 tokens
    s_target_fraction: float = Field(0.25, gt=0, lt=1)  # S continues the last quarter of the block from the rest

    @model_validator(mode="after")
    def _weights(self) -> UL2Params:
        if self.r_weight + self.s_weight + self.x_weight <= 0:
            raise ValueError("at least one of r_weight, s_weight, x_weight must be positive")
        return self

    @property
    def shares(self) -> torch.Tensor:
        weights = torch.tensor([self.r_weight, self.s_weight, self.x_weight], dtype=torch.float64)
        return weights / weights.sum()


def sequential_split(input_ids: torch.Tensor, target_fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(prefix, continuation): the last ``round(target_fraction x length)`` tokens are the target."""
    length = input_ids.shape[1]
    split = length - min(max(round(length * target_fraction), 1), length - 1)
    return input_ids[:, :split], input_ids[:, split:]


@registry.objectives.register("ul2")
class UL2(EncoderDecoderObjective):
    """UL2 mixture of denoisers on an encoder-decoder: R (15%, spans of 3), S (prefix LM), X (50%, spans of 8).

    Follows Tay et al. 2022 (UL2, sec. 3): each row is corrupted by one denoiser, drawn
    independently with the configured shares (equal by default), and its encoder input
    starts with the mode token ``[R]``, ``[S]`` or ``[X]`` so the model knows the task. R and X
    are T5 span corruption (see ``span_corruption``); S reads the first 75% of the block and
    writes the rest. Inputs and targets are right-padded to the longest row of the batch.
    Loss-bearing tokens: the target tokens (R: about 0.2, S: 0.25, X: a little over 0.5 x the block
    length); FLOPs count the padded encoder and decoder shapes the model actually runs.
    """

    Params = UL2Params

    def __init__(self, params: UL2Params, setup: Setup):
        super().__init__(params, setup)
        self.sentinels = sentinel_ids(setup.tokenizer)
        self.mode_ids = torch.tensor(setup.tokenizer.convert_tokens_to_ids(list(MODE_TOKENS)), dtype=torch.long)
        self.spans = {"R": (params.r_noise_density, params.r_mean_noise_span_length),
                      "X": (params.x_noise_density, params.x_mean_noise_span_length)}

    def corrupt(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        original = blocks["input_ids"]
        rows = original.shape[0]
        pad = self.setup.tokenizer.pad_token_id
        modes = torch.multinomial(self.params.shares, rows, replacement=True, generator=generator)
        pieces = []
        for mode, name in enumerate(MODES):  # one vectorized corruption per denoiser
            index = (modes == mode).nonzero().squeeze(1)
            if len(index) == 0:
                continue
            if name == "S":
                inputs, targets = sequential_split(original[index], self.params.s_target_fraction)
            else:
                inputs, targets = span_corrupt(original[index], *self.spans[name], self.sentinels, generator)
            inputs = torch.cat([self.mode_ids[mode].expand(len(index), 1), inputs], 1)
            pieces.append((index, inputs, targets))
        input_width = max(p[1].shape[1] for p in pieces)
        target_width = max(p[2].shape[1] for p in pieces)
        inputs = torch.full((rows, input_width), pad, dtype=torch.long)
        targets = torch.full((rows, target_width), pad, dtype=torch.long)
        for index, mode_inputs, mode_targets in pieces:
            inputs[index] = F.pad(mode_inputs, (0, input_width - mode_inputs.shape[1]), value=pad)
            targets[index] = F.pad(mode_targets, (0, target_width - mode_targets.shape[1]), value=pad)
        return inputs, targets

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        original = blocks["input_ids"]
        pad = self.setup.tokenizer.pad_token_id
        inputs, labels = batch["input_ids"].cpu(), batch["labels"].cpu()
        first = inputs[:, 0]
        stats = {"unknown_mode_rows": (float((~torch.isin(first, self.mode_ids)).sum()), 0.0)}
        for mode, name in enumerate(MODES):
            rows = first == self.mode_ids[mode]
            stats[f"share_{name}"] = (float(rows.float().mean()), float(self.params.shares[mode]))
            if not rows.any():
                continue
            if name == "S":
                prefix, continuation = sequential_split(original[rows], self.params.s_target_fraction)
                targets = torch.where(labels[rows] == IGNORE, pad, labels[rows])
                wrong = (inputs[rows, 1:1 + prefix.shape[1]] != prefix).any(1)
                wrong |= (inputs[rows, 1 + prefix.shape[1]:] != pad).any(1)
                wrong |= (targets[:, :continuation.shape[1]] != continuation).any(1)
                wrong |= (targets[:, continuation.shape[1]:] != pad).any(1)
                stats["S_split_errors"] = (float(wrong.sum()), 0.0)
                continue
            spans = span_statistics(original[rows], inputs[rows, 1:], labels[rows], self.sentinels, pad,
                                    *self.spans[name])
            stats.update({f"{name}_{key}": value for key, value in spans.items()})
        return stats
