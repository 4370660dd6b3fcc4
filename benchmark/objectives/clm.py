"""Causal language modelling: predict every next token."""

from __future__ import annotations

import torch

from benchmark import registry
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import IGNORE, DecoderStackObjective, Params


class CLMParams(Params):
    pass  # next-token prediction has no hyperparameters


@registry.objectives.register("clm")
class CausalLM(DecoderStackObjective):
    """Next-token prediction on a causal decoder (GPT; Radford et al. 2018, T5 sec. 3.3 "LM").

    Every position predicts the token after it, including across packed document boundaries
    (the ``[EOS]`` between documents tells the model a new one starts). Loss-bearing tokens:
    seq_len - 1 per block.
    """

    Params = CLMParams
    kind = ModelKind.CAUSAL

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        input_ids = blocks["input_ids"]
        labels = torch.full_like(input_ids, IGNORE)
        labels[:, :-1] = input_ids[:, 1:]  # position t is trained to predict token t+1
        return {"input_ids": input_ids, "labels": labels}

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        seq = blocks["input_ids"].shape[1]
        return {"loss_bearing_fraction": (float((batch["labels"] != IGNORE).float().mean()), (seq - 1) / seq)}
