"""The control: no pretraining at all."""

from __future__ import annotations

from typing import Literal

from benchmark import registry
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import Params, Setup


class NoneParams(Params):
    # Bidirectional by default: the stronger untrained classifier, so a pretrained objective
    # has to earn its lead. Set "causal_decoder" to control a causal comparison exactly.
    kind: Literal["encoder", "causal_decoder"] = "encoder"


@registry.objectives.register("none")
class NoPretraining:
    """Control: finetune from random initialisation, so every table shows whether pretraining helped."""

    Params = NoneParams
    pretrains = False

    def __init__(self, params: NoneParams, setup: Setup):
        self.params, self.setup = params, setup

    @property
    def kind(self) -> ModelKind:
        return ModelKind(self.params.kind)

    def build(self):
        raise RuntimeError("the none control trains nothing before finetuning")

    def prepare(self, blocks, generator):
        raise RuntimeError("the none control trains nothing before finetuning")

    def loss(self, network, batch):
        raise RuntimeError("the none control trains nothing before finetuning")

    def flops(self, network, batch) -> float:
        return 0.0

    def backbone(self, network):
        return None

    def statistics(self, blocks, batch) -> dict[str, tuple[float, float]]:
        return {}
