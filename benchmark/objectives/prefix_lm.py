"""Prefix language modelling: a non-causal decoder that reads a prefix, then continues it."""

from __future__ import annotations

import math

import torch
from pydantic import Field, model_validator

from benchmark import registry
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import IGNORE, DecoderStackObjective, Params


class PrefixLMParams(Params):
    # T5 sec. 3.3 and Wang et al. 2022 split each sequence at a uniformly random point: the whole range.
    min_prefix_fraction: float = Field(0.0, ge=0, le=1)
    max_prefix_fraction: float = Field(1.0, ge=0, le=1)

    @model_validator(mode="after")
    def _range(self) -> "PrefixLMParams":
        if self.min_prefix_fraction > self.max_prefix_fraction:
            raise ValueError("min_prefix_fraction must be at most max_prefix_fraction")
        return self


def prefix_length_range(params: PrefixLMParams, seq_len: int) -> tuple[int, int]:
    """Smallest and largest prefix length in tokens: at least one prefix and one target token."""
    low = min(seq_len - 1, max(1, math.ceil(params.min_prefix_fraction * seq_len)))
    high = max(low, min(seq_len - 1, math.floor(params.max_prefix_fraction * seq_len)))
    return low, high


@registry.objectives.register("prefix_lm")
class PrefixLM(DecoderStackObjective):
    """Prefix LM on a non-causal decoder: bidirectional over a random prefix, next-token loss after it.

    Follows T5 sec. 3.3 ("prefix LM", which matched BERT-style denoising on translation but
    trailed it on GLUE and SQuAD) and the non-causal decoder of Wang et al. 2022. Each row's
    prefix length is drawn uniformly from the integers in
    [``min_prefix_fraction`` x seq, ``max_prefix_fraction`` x seq], clamped so that at least one
    token is prefix and one is target (defaults 0 and 1: the whole range, as both papers). The
    prefix attends to itself in both directions; the rest is causal. Loss-bearing tokens: the
    seq_len - prefix_length targets per row (the last prefix position predicts the first one).
    """

    Params = PrefixLMParams
    kind = ModelKind.PREFIX

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        input_ids = blocks["input_ids"]
        rows, seq = input_ids.shape
        low, high = prefix_length_range(self.params, seq)
        prefix_lengths = torch.randint(low, high + 1, (rows,), generator=generator)
        next_tokens = torch.full_like(input_ids, IGNORE)
        next_tokens[:, :-1] = input_ids[:, 1:]
        # position t predicts token t+1; only targets (t+1 >= prefix length) bear loss
        is_target = torch.arange(seq)[None, :] + 1 >= prefix_lengths[:, None]
        labels = torch.where(is_target, next_tokens, IGNORE)
        return {"input_ids": input_ids, "labels": labels, "prefix_lengths": prefix_lengths}

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        input_ids, labels, prefix = blocks["input_ids"], batch["labels"], batch["prefix_lengths"]
        seq = input_ids.shape[1]
        low, high = prefix_length_range(self.params, seq)
        mean_prefix = (low + high) / 2
        scored = labels[:, :-1] != IGNORE
        misaligned = scored & (labels[:, :-1] != input_ids[:, 1:])
        return {
            "prefix_fraction": (float(prefix.float().mean()) / seq, mean_prefix / seq),
            "loss_bearing_fraction": (float((labels != IGNORE).float().mean()), (seq - mean_prefix) / seq),
            "prefix_outside_range": (float(((prefix < low) | (prefix > high)).sum()), 0.0),
            "misaligned_labels": (float(misaligned.sum()), 0.0),
        }
