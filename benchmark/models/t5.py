"""T5 blocks: an encoder-decoder with relative position buckets, RMS norm and a ReLU MLP of two matrices.

Raffel et al. 2020, as Transformers builds it (``T5ForConditionalGeneration``), with the original
T5's feed-forward (ReLU, two matrices) rather than the Llama entry's SwiGLU T5. Encoder and decoder
each have the preset's depth (T5's L+L against an L-layer decoder); the MLP is 3/2 as wide as
Llama's gated one, so an encoder block has a Llama block's non-embedding parameters (``sizes.py``).
Dropout is off, as in the other families.
"""

from __future__ import annotations

from pathlib import Path

from transformers import PreTrainedModel, T5Config, T5ForConditionalGeneration, T5ForSequenceClassification

from benchmark import registry
from benchmark.models.base import buildable_kind, sequence_classifier
from benchmark.models.flops import forward_flops_per_token, t5_encoder_decoder_flops
from benchmark.models.kinds import ModelKind
from benchmark.models.sizes import SHAPES, lookup, plain_mlp

PRESETS = plain_mlp(SHAPES)


@registry.models.register("t5")
class T5:
    """An encoder-decoder only: an objective on one stack is skipped on it."""

    kinds = (ModelKind.ENCODER_DECODER,)
    presets = PRESETS
    max_positions = 1024  # relative positions have no table; this bounds the blocks it is tested on

    @staticmethod
    def tokenizer(shared):
        """Trained from scratch: it reads the suite's shared tokenizer as it is."""
        return shared

    @staticmethod
    def preset(size: str) -> dict[str, int]:
        return lookup("t5", PRESETS, size)

    @classmethod
    def encoder_decoder_config(cls, size: str, tokenizer, **overrides: int) -> T5Config:
        """The decoder starts from ``[PAD]``, as T5 does."""
        shape = {**cls.preset(size), **overrides}
        hidden, heads = shape["hidden_size"], shape["num_attention_heads"]
        return T5Config(
            vocab_size=len(tokenizer),
            d_model=hidden, d_ff=shape["intermediate_size"], num_heads=heads, d_kv=hidden // heads,
            num_layers=shape["num_hidden_layers"], num_decoder_layers=shape["num_hidden_layers"],
            feed_forward_proj="relu",
            dropout_rate=0.0,
            tie_word_embeddings=True,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
        )

    config = encoder_decoder_config  # its one kind: every config of it is an encoder-decoder's

    @classmethod
    def build_lm(cls, kind: ModelKind, size: str, tokenizer, **overrides: int) -> PreTrainedModel:
        kind = buildable_kind("t5", cls.kinds, kind)
        config = cls.encoder_decoder_config(size, tokenizer, **overrides)
        config.objbench_kind = str(kind)
        return T5ForConditionalGeneration._from_config(config, attn_implementation="sdpa")

    @classmethod
    def build_classifier(cls, checkpoint: Path | None, size: str, tokenizer, num_labels: int,
                         kind: ModelKind) -> PreTrainedModel:
        """T5's classifier: the decoder reads the text shifted right; the head pools its state at ``[EOS]``."""
        config = cls.encoder_decoder_config(size, tokenizer)
        config.objbench_kind = str(kind)
        return sequence_classifier(T5ForSequenceClassification, checkpoint, config, num_labels)

    @staticmethod
    def flops_per_token(model: PreTrainedModel, context: int, vocab_outputs: int) -> float:
        """One encoder block stack's FLOPs per token (the encoder-decoder's are ``encoder_decoder_flops``)."""
        c = model.config
        return forward_flops_per_token(c.d_model, c.num_layers, c.d_ff, context, vocab_outputs,
                                       kv_hidden=c.num_heads * c.d_kv, gated_mlp=c.is_gated_act)

    encoder_decoder_flops = staticmethod(t5_encoder_decoder_flops)
