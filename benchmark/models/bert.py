"""BERT blocks: a post-LayerNorm encoder with learned absolute positions, a GELU MLP and BERT's MLM head.

Devlin et al. 2019, as Transformers builds it (``BertForMaskedLM``). Its head transforms the
final states (dense, GELU, LayerNorm) before the tied projection; FLOPs count that transform
wherever logits are computed. The MLP is 3/2 as wide as Llama's gated one, so a block has the same
non-embedding parameters (``sizes.py``); dropout is off, as in the other families.
"""

from __future__ import annotations

from pathlib import Path

from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, PreTrainedModel

from benchmark import registry
from benchmark.models.base import buildable_kind, sequence_classifier
from benchmark.models.flops import forward_flops_per_token
from benchmark.models.kinds import ModelKind
from benchmark.models.sizes import SHAPES, lookup, plain_mlp

PRESETS = plain_mlp(SHAPES)


@registry.models.register("bert")
class Bert:
    """A bidirectional encoder only: an objective that needs a decoder is skipped on it."""

    kinds = (ModelKind.ENCODER,)
    presets = PRESETS
    max_positions = 512  # BERT's own position table

    @staticmethod
    def tokenizer(shared):
        """Trained from scratch: it reads the suite's shared tokenizer as it is."""
        return shared

    @staticmethod
    def preset(size: str) -> dict[str, int]:
        return lookup("bert", PRESETS, size)

    @classmethod
    def config(cls, size: str, tokenizer, max_positions: int | None = None, **overrides: int) -> BertConfig:
        shape = {**cls.preset(size), **overrides}
        return BertConfig(
            vocab_size=len(tokenizer),
            max_position_embeddings=max_positions or cls.max_positions,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
            tie_word_embeddings=True,
            pad_token_id=tokenizer.pad_token_id,
            **shape,
        )

    @classmethod
    def build_lm(cls, kind: ModelKind, size: str, tokenizer, **overrides: int) -> PreTrainedModel:
        kind = buildable_kind("bert", cls.kinds, kind)
        config = cls.config(size, tokenizer, **overrides)
        config.objbench_kind = str(kind)
        return BertForMaskedLM._from_config(config, attn_implementation="sdpa")

    @classmethod
    def build_classifier(cls, checkpoint: Path | None, size: str, tokenizer, num_labels: int,
                         kind: ModelKind) -> PreTrainedModel:
        """BERT's classifier: the pooler (dense, tanh) on the first token, then a linear head."""
        config = cls.config(size, tokenizer)
        config.objbench_kind = str(kind)
        return sequence_classifier(BertForSequenceClassification, checkpoint, config, num_labels)

    @staticmethod
    def flops_per_token(model: PreTrainedModel, context: int, vocab_outputs: int) -> float:
        """The blocks, and where ``vocab_outputs`` logits are computed, the head's transform before them."""
        c = model.config
        transform = 2 * c.hidden_size * c.hidden_size if vocab_outputs else 0
        return forward_flops_per_token(c.hidden_size, c.num_hidden_layers, c.intermediate_size, context,
                                       vocab_outputs, gated_mlp=False) + transform
