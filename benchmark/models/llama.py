"""Llama-style decoder blocks, randomly initialised from a `transformers` config."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification, PreTrainedModel

from benchmark import registry
from benchmark.errors import ObjbenchError
from benchmark.models.flops import forward_flops_per_token
from benchmark.models.kinds import ModelKind

PRESETS: dict[str, dict[str, int]] = {
    # ~1M parameters with the default 2k vocabulary: tests and CI.
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=512),
    # ~10M: the size of cramming-style and BabyLM-strict small baselines.
    "small": dict(hidden_size=320, num_hidden_layers=6, num_attention_heads=5, intermediate_size=1280),
    # ~100M: BERT-base / GPT-2-small width and depth.
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
}


@registry.models.register("llama")
class Llama:
    """Llama blocks (RMSNorm, RoPE, SwiGLU, tied embeddings) as causal, prefix or bidirectional stacks."""

    kinds = (ModelKind.CAUSAL, ModelKind.PREFIX, ModelKind.ENCODER)
    presets = PRESETS

    @staticmethod
    def preset(size: str) -> dict[str, int]:
        if size not in PRESETS:
            raise ObjbenchError(f"model llama has no size {size!r} (known: {', '.join(PRESETS)})")
        return PRESETS[size]

    @classmethod
    def config(cls, size: str, tokenizer, max_positions: int = 1024, **overrides: int) -> LlamaConfig:
        """The preset's config; ``overrides`` replace preset fields (e.g. a narrower ELECTRA generator)."""
        shape = {**cls.preset(size), **overrides}
        return LlamaConfig(
            vocab_size=len(tokenizer),
            num_key_value_heads=shape["num_attention_heads"],
            max_position_embeddings=max_positions,
            tie_word_embeddings=True,
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            **shape,
        )

    @classmethod
    def build_lm(cls, kind: ModelKind, size: str, tokenizer, **overrides: int) -> PreTrainedModel:
        """A language model (blocks + tied output projection) for ``kind``, randomly initialised."""
        if ModelKind(kind) not in cls.kinds:
            raise ObjbenchError(f"model llama cannot be built as {kind}")
        config = cls.config(size, tokenizer, **overrides)
        config.objbench_kind = str(kind)  # saved in config.json: finetuning reads the attention it was trained with
        return LlamaForCausalLM._from_config(config, attn_implementation="sdpa")

    @classmethod
    def build_classifier(cls, checkpoint: Path | None, size: str, tokenizer, num_labels: int,
                         kind: ModelKind) -> PreTrainedModel:
        """A sequence classifier (last-token pooling) from a pretrained checkpoint, or random init."""
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

    @staticmethod
    def parameters(model: torch.nn.Module) -> int:
        return sum(p.numel() for p in model.parameters())
