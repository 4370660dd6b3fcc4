"""The model seam: what a model entry supplies, so that objectives, formats and FLOPs never name an architecture.

A model entry is a class registered with ``@registry.models.register(name)``, one file each, built on
Hugging Face classes. The registry refuses an entry that lacks a member below (a decoder-only entry
needs no encoder-decoder members). ``llama.py`` is the complete example.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol

from transformers import PretrainedConfig, PreTrainedModel

from benchmark.errors import ObjbenchError
from benchmark.models.kinds import ModelKind


class ModelEntry(Protocol):
    kinds: ClassVar[tuple[ModelKind, ...]]  # what it can be built as; an objective needing another kind is skipped
    presets: ClassVar[dict[str, dict[str, int]]]  # size name (tiny, small, base) -> its shape
    max_positions: ClassVar[int]  # the longest block or finetuning input its positions serve

    @staticmethod
    def preset(size: str) -> dict[str, int]:
        """The shape of ``size``; an unknown size is an ``ObjbenchError`` naming the known ones."""

    @staticmethod
    def tokenizer(shared):
        """The tokenizer this model reads, given the suite's shared one (an entry trained from scratch uses it as
        it is; one that brings its own vocabulary returns its own). Its special tokens set the config's ids."""

    @classmethod
    def config(cls, size: str, tokenizer, **overrides: int) -> PretrainedConfig:
        """The decoder-stack config of a preset (``overrides`` replace shape fields, e.g. a narrower generator)."""

    @classmethod
    def build_lm(cls, kind: ModelKind, size: str, tokenizer, **overrides: int) -> PreTrainedModel:
        """A randomly initialised language model (blocks + output projection) of ``kind``; its HF class
        serves ``save_pretrained`` and every head class that finetuning loads from the checkpoint."""

    @classmethod
    def build_classifier(cls, checkpoint: Path | None, size: str, tokenizer, num_labels: int,
                         kind: ModelKind) -> PreTrainedModel:
        """A sequence classifier from a pretrained checkpoint (or random init for the untrained control)."""

    @staticmethod
    def flops_per_token(model: PreTrainedModel, context: int, vocab_outputs: int) -> float:
        """Forward FLOPs per token over ``context`` keys with ``vocab_outputs`` logits (tested against
        PyTorch's FLOP counter in tests/test_flops.py)."""


class EncoderDecoderEntry(ModelEntry, Protocol):
    """What an entry whose kinds include the encoder-decoder adds."""

    @classmethod
    def encoder_decoder_config(cls, size: str, tokenizer, **overrides: int) -> PretrainedConfig: ...

    @staticmethod
    def encoder_decoder_flops(model: PreTrainedModel, batch: int, encoder_len: int, decoder_len: int,
                              logit_positions: int) -> float: ...


def buildable_kind(family: str, kinds: tuple[ModelKind, ...], kind: ModelKind | str) -> ModelKind:
    """``kind`` as a ModelKind, refused in one line where the family cannot be built as it."""
    kind = ModelKind(kind)
    if kind not in kinds:
        raise ObjbenchError(f"model {family} cannot be built as {kind}")
    return kind


def lm_head(network: PreTrainedModel):
    """The whole language-model head of ``network``: final hidden states -> vocabulary logits.

    BERT-style heads transform before they project (BERT's ``cls``, RoBERTa's ``lm_head``: dense,
    GELU, LayerNorm, then the tied decoder); elsewhere the head is the output projection itself.
    """
    for name in ("cls", "lm_head"):
        head = getattr(network, name, None)
        if head is not None:
            return head
    return network.get_output_embeddings()


def sequence_classifier(head_class: type[PreTrainedModel], checkpoint: Path | None, config: PretrainedConfig,
                        num_labels: int) -> PreTrainedModel:
    """``head_class`` on a pretrained checkpoint, or randomly initialised from ``config`` (the untrained control)."""
    if checkpoint is None:
        config.num_labels = num_labels
        return head_class._from_config(config, attn_implementation="sdpa")
    return head_class.from_pretrained(checkpoint, num_labels=num_labels, attn_implementation="sdpa")
