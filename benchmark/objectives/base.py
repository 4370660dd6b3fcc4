"""What an objective is: the small interface every entry in ``benchmark/objectives`` implements, and its bases.

An objective turns a batch of packed token blocks into model inputs and labels (vectorized
torch ops on the whole batch), computes its loss, says which model kinds it needs, and counts
the training FLOPs of each batch. Objectives on the same kind of network compute their loss and
FLOPs the same way, so that part lives once, in a base class per backbone: ``DecoderStackObjective``
(causal, prefix or bidirectional attention over one stack), ``EncoderDecoderObjective``, and
``SentencePairObjective`` (``sentence_pairs.py``). An entry then holds only what makes it
different: its ``Params``, its corruption (``prepare``) and the ``statistics`` that check it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict

from benchmark.models.base import lm_head
from benchmark.models.flops import training_flops
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
    # The loss as a sum of terms, each a mean over its own items (``Objective.loss_items`` counts them):
    # a batch split over devices or micro-batches weights each part's terms by its share of the items,
    # so that the split batch's gradient is the whole batch's. None: parts are weighted by their rows.
    terms: tuple[torch.Tensor, ...] | None = None


class Objective(Protocol):
    """The interface, implemented by the base classes below; ``clm.py`` is the smallest complete entry."""

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

    def loss_items(self, batch: dict[str, torch.Tensor]) -> tuple[int, ...]:
        """How many items (target tokens, labelled rows) each of the loss's ``terms`` is a mean over, in ``batch``."""

    def flops(self, network: torch.nn.Module, batch: dict[str, torch.Tensor]) -> float:
        """Training FLOPs (forward + backward of every network trained) for this batch."""

    def backbone(self, network: torch.nn.Module) -> Any:
        """The pretrained model that downstream finetuning starts from (saved with ``save_pretrained``)."""

    def statistics(self, blocks: dict[str, torch.Tensor],
                   batch: dict[str, torch.Tensor]) -> dict[str, tuple[float, float]]:
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
    logits = lm_head(network)(hidden[where])
    targets = labels[where]
    loss = F.cross_entropy(logits.float(), targets)
    return LossOutput(loss, int(targets.numel()), (loss,))


def labelled(labels: torch.Tensor) -> int:
    """How many of ``labels`` carry a loss: the items of a cross-entropy term."""
    return int((labels != IGNORE).sum())


def lm_training_flops(setup: Setup, network, batch_shape: torch.Size, logit_positions: int) -> float:
    """Training FLOPs of one pass of a decoder stack over a batch, with ``logit_positions`` outputs."""
    batch, seq = batch_shape
    per_token = setup.model.flops_per_token(network, context=seq, vocab_outputs=0)
    return training_flops(per_token * batch * seq + head_flops(setup, network, seq) * logit_positions)


def head_flops(setup: Setup, network, context: int) -> float:
    """Forward FLOPs of the LM head at one position: the entry's count with logits less its count without."""
    per_token = setup.model.flops_per_token
    return per_token(network, context=context, vocab_outputs=network.config.vocab_size) - per_token(
        network, context=context, vocab_outputs=0)


class PretrainingObjective(ABC):
    """What every pretraining entry shares: it keeps its settings, and trains one LM of ``kind`` that is its backbone.

    An entry that trains more than that (a sentence head, ELECTRA's generator) overrides
    ``build`` and ``backbone``. Every entry writes its own ``prepare`` and ``statistics``: they are
    what it is.
    """

    Params: ClassVar[type[Params]]
    kind: ClassVar[ModelKind]
    pretrains: ClassVar[bool] = True

    def __init__(self, params: Params, setup: Setup):
        self.params, self.setup = params, setup

    def build(self) -> torch.nn.Module:
        return self.setup.model.build_lm(self.kind, self.setup.size, self.setup.tokenizer)

    def backbone(self, network: torch.nn.Module) -> Any:
        return network

    @abstractmethod
    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        """See ``Objective.prepare``; every random draw comes from ``generator``, in a fixed order."""

    @abstractmethod
    def statistics(self, blocks: dict[str, torch.Tensor],
                   batch: dict[str, torch.Tensor]) -> dict[str, tuple[float, float]]:
        """See ``Objective.statistics``: what the entry's docstring and parameters promise, observed."""


class DecoderStackObjective(PretrainingObjective):
    """An objective on one decoder stack, whose ``kind`` (causal, prefix or encoder) sets its attention.

    ``prepare`` gives ``input_ids`` and one label per position (``IGNORE`` where no loss), plus
    ``prefix_lengths`` for a prefix decoder. The loss is cross-entropy at the labelled positions;
    FLOPs count the stack over every position and the output projection at the labelled ones.
    """

    # True where a batch can hold no target at all (a sentence-level objective on short blocks): its
    # loss is then a zero that keeps the graph whole. Elsewhere an empty batch is a bug, and its NaN shows it.
    may_hold_no_targets: ClassVar[bool] = False

    def loss(self, network, batch: dict[str, torch.Tensor]) -> LossOutput:
        hidden = hidden_states(network, batch["input_ids"], self.kind, prefix_lengths=batch.get("prefix_lengths"))
        if self.may_hold_no_targets and not (batch["labels"] != IGNORE).any():
            zero = hidden.sum() * 0.0
            return LossOutput(zero, 0, (zero,))
        return token_cross_entropy(network, hidden, batch["labels"])

    def loss_items(self, batch: dict[str, torch.Tensor]) -> tuple[int, ...]:
        return (labelled(batch["labels"]),)

    def flops(self, network, batch: dict[str, torch.Tensor]) -> float:
        return lm_training_flops(self.setup, network, batch["input_ids"].shape, int((batch["labels"] != IGNORE).sum()))


class EncoderDecoderObjective(PretrainingObjective):
    """An objective on an encoder-decoder: the encoder reads a corrupted block, the decoder writes its targets.

    An entry writes ``corrupt``; every encoder-decoder batch has one layout, built here from it.
    """

    kind = ModelKind.ENCODER_DECODER

    @abstractmethod
    def corrupt(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(encoder inputs, decoder targets) of the packed ``blocks``, each right-padded with ``[PAD]``."""

    def prepare(self, blocks: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
        """``input_ids`` and ``attention_mask`` for the encoder; ``decoder_input_ids`` and ``labels`` for the decoder.

        The decoder reads the targets shifted right behind its start token, ``[PAD]`` (T5's
        convention; see the model entry's encoder-decoder config), and is trained on the targets,
        ``IGNORE`` on padding. Corrupted and original blocks never contain ``[PAD]``, so it marks
        padding only.
        """
        inputs, targets = self.corrupt(blocks, generator)
        pad = self.setup.tokenizer.pad_token_id
        decoder_input_ids = torch.full_like(targets, pad)
        decoder_input_ids[:, 1:] = targets[:, :-1]
        return {
            "input_ids": inputs,
            "attention_mask": (inputs != pad).long(),
            "decoder_input_ids": decoder_input_ids,
            "labels": torch.where(targets == pad, IGNORE, targets),
        }

    def loss(self, network, batch: dict[str, torch.Tensor]) -> LossOutput:
        """Cross-entropy of the decoder's predictions, with logits only at target (non-padding) positions.

        Loss-bearing tokens are the target tokens: each is predicted once by the decoder.
        """
        encoded = network.get_encoder()(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        decoded = network.get_decoder()(input_ids=batch["decoder_input_ids"],
                                        encoder_hidden_states=encoded.last_hidden_state,
                                        encoder_attention_mask=batch["attention_mask"],
                                        use_cache=False).last_hidden_state
        if getattr(network.config, "scale_decoder_outputs", False):
            decoded = decoded * network.config.d_model ** -0.5  # what T5 does before its tied output projection
        return token_cross_entropy(network, decoded, batch["labels"])

    def loss_items(self, batch: dict[str, torch.Tensor]) -> tuple[int, ...]:
        return (labelled(batch["labels"]),)

    def flops(self, network, batch: dict[str, torch.Tensor]) -> float:
        """Training FLOPs of an encoder-decoder batch, from the shapes the model actually runs on.

        Every encoder position (padding included: it is computed) passes through the encoder,
        every decoder position through the decoder with cross-attention over the encoder length,
        and the output projection runs only at loss-bearing target positions.
        """
        batch_size, encoder_len = batch["input_ids"].shape
        decoder_len = batch["decoder_input_ids"].shape[1]
        logit_positions = int((batch["labels"] != IGNORE).sum())
        forward = self.setup.model.encoder_decoder_flops(network, batch_size, encoder_len, decoder_len, logit_positions)
        return training_flops(forward)
