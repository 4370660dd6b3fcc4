"""Llama-style decoder blocks, randomly initialised from a `transformers` config (the interface: ``base.py``).

The encoder-decoder kind is a T5 built from the same preset (Transformers has no Llama
encoder-decoder): same width, heads, feed-forward width and depth per stack, SwiGLU, RMS
norm without bias and tied embeddings, so one architecture family serves every kind.
"""

from __future__ import annotations

from pathlib import Path

from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    LlamaForSequenceClassification,
    PreTrainedModel,
    T5Config,
    T5ForConditionalGeneration,
    T5ForSequenceClassification,
)

from benchmark import registry
from benchmark.models.base import buildable_kind
from benchmark.models.flops import forward_flops_per_token, t5_encoder_decoder_flops
from benchmark.models.kinds import ModelKind
from benchmark.models.sizes import SHAPES, lookup

PRESETS = SHAPES  # the shared table: Llama is the family the others are matched to


@registry.models.register("llama")
class Llama:
    """Llama blocks (RMSNorm, RoPE, SwiGLU, tied embeddings) as causal, prefix or bidirectional stacks.

    As an encoder-decoder it is a T5 whose encoder and decoder each have the preset's depth:
    T5 (Raffel et al. 2020, sec. 3.2) matched an L+L encoder-decoder against an L-layer
    decoder on FLOPs, not parameters (the encoder-decoder has about twice the block
    parameters). What T5 cannot match: relative position buckets instead of RoPE, and T5's
    own initialisation and unscaled attention logits, which go together.
    """

    kinds = (ModelKind.CAUSAL, ModelKind.PREFIX, ModelKind.ENCODER, ModelKind.ENCODER_DECODER)
    presets = PRESETS
    max_positions = 1024  # the longest block or finetuning input the position table is built for

    @staticmethod
    def tokenizer(shared):
        """Trained from scratch: it reads the suite's shared tokenizer as it is."""
        return shared

    @staticmethod
    def preset(size: str) -> dict[str, int]:
        return lookup("llama", PRESETS, size)

    @classmethod
    def config(cls, size: str, tokenizer, max_positions: int | None = None, **overrides: int) -> LlamaConfig:
        """The preset's config; ``overrides`` replace preset fields (e.g. a narrower ELECTRA generator)."""
        shape = {**cls.preset(size), **overrides}
        return LlamaConfig(
            vocab_size=len(tokenizer),
            num_key_value_heads=shape["num_attention_heads"],
            max_position_embeddings=max_positions or cls.max_positions,
            tie_word_embeddings=True,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            **shape,
        )

    @classmethod
    def encoder_decoder_config(cls, size: str, tokenizer, **overrides: int) -> T5Config:
        """The preset as a T5: each of the encoder and decoder gets the preset's blocks.

        The decoder starts from ``[PAD]``, as T5 does; the decoder never masks it, so it is
        an ordinary learned start embedding ([BOS] would serve as well, but keeping T5's
        convention keeps T5's own ``_shift_right`` and classification head consistent).
        """
        shape = {**cls.preset(size), **overrides}
        hidden, heads = shape["hidden_size"], shape["num_attention_heads"]
        return T5Config(
            vocab_size=len(tokenizer),
            d_model=hidden,
            d_ff=shape["intermediate_size"],
            num_heads=heads,
            d_kv=hidden // heads,
            num_layers=shape["num_hidden_layers"],
            num_decoder_layers=shape["num_hidden_layers"],
            feed_forward_proj="gated-silu",  # SwiGLU, as in the Llama blocks
            dropout_rate=0.0,  # the Llama blocks have no dropout either
            layer_norm_epsilon=1e-6,  # RMS norm with Llama's epsilon
            tie_word_embeddings=True,  # also makes T5 scale decoder outputs by d_model**-0.5 before the tied head
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
        )

    @classmethod
    def build_lm(cls, kind: ModelKind, size: str, tokenizer, **overrides: int) -> PreTrainedModel:
        """A language model (blocks + tied output projection) for ``kind``, randomly initialised."""
        kind = buildable_kind("llama", cls.kinds, kind)
        if kind is ModelKind.ENCODER_DECODER:
            config = cls.encoder_decoder_config(size, tokenizer, **overrides)
            config.objbench_kind = str(kind)
            return T5ForConditionalGeneration._from_config(config, attn_implementation="sdpa")
        config = cls.config(size, tokenizer, **overrides)
        config.objbench_kind = str(kind)  # saved in config.json: finetuning reads the attention it was trained with
        return LlamaForCausalLM._from_config(config, attn_implementation="sdpa")

    @classmethod
    def build_classifier(cls, checkpoint: Path | None, size: str, tokenizer, num_labels: int,
                         kind: ModelKind) -> PreTrainedModel:
        """A sequence classifier (last-token pooling) from a pretrained checkpoint, or random init.

        An encoder-decoder classifies as T5 (and BART) do: the encoder reads the text, the
        decoder reads it shifted right, and the head pools the decoder state at the ``[EOS]``
        that closes it.
        """
        if ModelKind(kind) is ModelKind.ENCODER_DECODER:
            if checkpoint is None:
                config = cls.encoder_decoder_config(size, tokenizer)
                config.num_labels = num_labels
                config.objbench_kind = str(kind)
                return T5ForSequenceClassification._from_config(config, attn_implementation="sdpa")
            return T5ForSequenceClassification.from_pretrained(checkpoint, num_labels=num_labels,
                                                               attn_implementation="sdpa")
        if checkpoint is None:
            config = cls.config(size, tokenizer)
            config.num_labels = num_labels
            config.objbench_kind = str(kind)
            return LlamaForSequenceClassification._from_config(config, attn_implementation="sdpa")
        return LlamaForSequenceClassification.from_pretrained(checkpoint, num_labels=num_labels, attn_implementation="sdpa")

    @staticmethod
    def flops_per_token(model: PreTrainedModel, context: int, vocab_outputs: int) -> float:
        """Forward FLOPs per token of ``model`` over ``context`` keys, with ``vocab_outputs`` logits."""
        c = model.config
        kv = c.hidden_size // c.num_attention_heads * c.num_key_value_heads
        return forward_flops_per_token(c.hidden_size, c.num_hidden_layers, c.intermediate_size, context,
                                       vocab_outputs, kv_hidden=kv)

    encoder_decoder_flops = staticmethod(t5_encoder_decoder_flops)
