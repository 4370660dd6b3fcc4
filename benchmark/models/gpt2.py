"""GPT-2 blocks: pre-LayerNorm, learned absolute positions, a GELU MLP of two matrices, tied embeddings.

Radford et al. 2019, as Transformers builds it (``GPT2LMHeadModel``). Width, depth and heads are
the shared presets'; the MLP is 3/2 as wide as Llama's gated one, so a block has the same
non-embedding parameters (``sizes.py``). Dropout is off, as in the Llama blocks, so that a
comparison across families changes the blocks and not the regularisation.
"""

from __future__ import annotations

from pathlib import Path

from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel, PreTrainedModel

from benchmark import registry
from benchmark.models.base import buildable_kind, sequence_classifier
from benchmark.models.flops import forward_flops_per_token
from benchmark.models.kinds import ModelKind
from benchmark.models.sizes import SHAPES, lookup, plain_mlp

PRESETS = plain_mlp(SHAPES)


@registry.models.register("gpt2")
class GPT2:
    """GPT-2 blocks as a causal decoder, or as a non-causal (prefix) decoder through the attention mask."""

    kinds = (ModelKind.CAUSAL, ModelKind.PREFIX)
    presets = PRESETS
    max_positions = 1024  # GPT-2's own context

    @staticmethod
    def tokenizer(shared):
        """Trained from scratch: it reads the suite's shared tokenizer as it is."""
        return shared

    @staticmethod
    def preset(size: str) -> dict[str, int]:
        return lookup("gpt2", PRESETS, size)

    @classmethod
    def config(cls, size: str, tokenizer, max_positions: int | None = None, **overrides: int) -> GPT2Config:
        shape = {**cls.preset(size), **overrides}
        return GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=max_positions or cls.max_positions,
            n_embd=shape["hidden_size"],
            n_layer=shape["num_hidden_layers"],
            n_head=shape["num_attention_heads"],
            n_inner=shape["intermediate_size"],
            resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, summary_first_dropout=0.0,
            tie_word_embeddings=True,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )

    @classmethod
    def build_lm(cls, kind: ModelKind, size: str, tokenizer, **overrides: int) -> PreTrainedModel:
        kind = buildable_kind("gpt2", cls.kinds, kind)
        config = cls.config(size, tokenizer, **overrides)
        config.objbench_kind = str(kind)
        return GPT2LMHeadModel._from_config(config, attn_implementation="sdpa")

    @classmethod
    def build_classifier(cls, checkpoint: Path | None, size: str, tokenizer, num_labels: int,
                         kind: ModelKind) -> PreTrainedModel:
        """GPT-2's classifier: a linear head on the last non-padding token."""
        config = cls.config(size, tokenizer)
        config.objbench_kind = str(kind)
        return sequence_classifier(GPT2ForSequenceClassification, checkpoint, config, num_labels)

    @staticmethod
    def flops_per_token(model: PreTrainedModel, context: int, vocab_outputs: int) -> float:
        c = model.config
        return forward_flops_per_token(c.n_embd, c.n_layer, c.n_inner or 4 * c.n_embd, context, vocab_outputs,
                                       gated_mlp=False)
