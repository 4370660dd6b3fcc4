"""What an objective is: the small interface every entry in ``benchmark/objectives`` implements.

An objective turns a batch of packed token blocks into model inputs and labels (vectorized
torch ops on the whole batch), computes its loss, says which model kinds it needs, and counts
the training FLOPs of each batch. Shared pieces are plain functions here, not a base class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict

from benchmark.models.kinds import ModelKind, attention_mask

IGNORE = -100  # label value that carries no loss (the Hugging Face convention)


class Params(BaseModel):
    """Base for objective hyperparameters: typed, validated, no unknown keys."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Setup:
    """What an objective builds on: the suite's shared tokenizer and the model entry and size."""

    tokenizer: Any
    model: Any  # a registered model entry (e.g. benchmark.models.llama.Llama)
    size: str

    @property
    def special_ids(self) -> torch.Tensor:
        return torch.tensor(sorted(self.tokenizer.all_special_ids), dtype=torch.long)

    @property
    def first_regular_id(self) -> int:
        """Special tokens take the lowest ids, so [first_regular_id, vocab) are ordinary tokens."""
        return max(self.tokenizer.all_special_ids) + 1


class LossOutput(NamedTuple):
    loss: torch.Tensor
    loss_bearing_tokens: int  # tokens whose prediction contributed to the loss


class Objective(Protocol):
    """The interface; see ``clm.py`` for the smallest complete example."""

    Params: ClassVar[type[Params]]
    pretrains: ClassVar[bool]  # False only for the `none` control

    def __init__(self, params: Params, setup: Setup) -> None: ...

    @property
    def kind(self) -> ModelKind:
        """The model kind this objective pretrains (and then finetunes) as."""

    def build(self) -> torch.nn.Module:
        """Every network this objective trains, randomly initialised (the caller seeds torch)."""

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Packed ``input_ids`` [batch, seq] (plus ``document_ids``, ``sentence_ids``) -> inputs and labels."""

    def loss(self, network: torch.nn.Module, batch: dict[str, torch.Tensor]) -> LossOutput: ...

    def flops(self, network: torch.nn.Module, batch: dict[str, torch.Tensor]) -> float:
        """Training FLOPs (forward + backward of every network trained) for this batch."""

    def backbone(self, network: torch.nn.Module) -> Any:
        """The pretrained model that downstream finetuning starts from (saved with ``save_pretrained``)."""

    def statistics(self, blocks: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> dict[str, tuple[float, float]]:
        """Observed vs declared statistics of a prepared batch, e.g. ``{"mask_rate": (0.149, 0.15)}``.

        The contract test checks every pair within tolerance, so a corruption that drifts from
        what the objective's docstring and parameters promise is caught.
        """


def special_token_mask(input_ids: torch.Tensor, special_ids: torch.Tensor) -> torch.Tensor:
    """True where ``input_ids`` holds a special token ([PAD], [EOS], sentinels, ...)."""
    return torch.isin(input_ids, special_ids.to(input_ids.device))


def hidden_states(network, input_ids: torch.Tensor, kind: ModelKind, padding: torch.Tensor | None = None,
                  prefix_lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Final hidden states of a decoder stack run with the attention of ``kind``."""
    mask = attention_mask(kind, padding, seq_len=input_ids.shape[1], prefix_lengths=prefix_lengths)
    return network.base_model(input_ids=input_ids, attention_mask=mask).last_hidden_state


def token_cross_entropy(network, hidden: torch.Tensor, labels: torch.Tensor) -> LossOutput:
    """Cross-entropy over positions whose label is not ``IGNORE``.

    Logits are computed only at those positions: the output projection is the largest matmul
    of a small model, and an objective that predicts 15% of tokens should pay for 15%.
    """
    where = labels != IGNORE
    logits = network.get_output_embeddings()(hidden[where])
    targets = labels[where]
    return LossOutput(F.cross_entropy(logits.float(), targets), int(targets.numel()))


def lm_training_flops(setup: Setup, network, batch_shape: torch.Size, logit_positions: int) -> float:
    """Training FLOPs of one pass of a decoder stack over a batch, with ``logit_positions`` outputs."""
    batch, seq = batch_shape
    per_token = setup.model.flops_per_token(network, context=seq, vocab_outputs=0)
    head = 2 * network.config.hidden_size * network.config.vocab_size * logit_positions
    return 3.0 * (per_token * batch * seq + head)
