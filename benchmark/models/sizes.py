"""The size presets every family shares, so that a comparison across families changes the blocks and nothing else.

The shapes are Llama's (a gated, three-matrix MLP). A family whose MLP has two matrices (GPT-2,
BERT, the original T5) widens its feed-forward layer by 3/2, which gives each block the same
non-embedding parameters: 4 h^2 for attention plus 3 h f (gated) = 2 h (3f/2) (plain). Width,
depth and heads are the same in every family. The README's table gives each family's counts.
"""

from __future__ import annotations

from benchmark.errors import ObjbenchError

SHAPES: dict[str, dict[str, int]] = {
    # ~0.5M non-embedding parameters: tests and CI.
    "tiny": {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 512},
    # ~10M: the size of cramming-style and BabyLM-strict small baselines.
    "small": {"hidden_size": 320, "num_hidden_layers": 6, "num_attention_heads": 5, "intermediate_size": 1280},
    # ~113M: BERT-base / GPT-2-small width and depth (gated, so a third more MLP than BERT-base).
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}


def plain_mlp(shapes: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The presets for a two-matrix MLP: the gated feed-forward width times 3/2 (same parameters per block)."""
    return {size: {**shape, "intermediate_size": shape["intermediate_size"] * 3 // 2} for size, shape in shapes.items()}


def lookup(family: str, presets: dict[str, dict[str, int]], size: str) -> dict[str, int]:
    """The shape of ``size``; an unknown size names the known ones."""
    if size not in presets:
        raise ObjbenchError(f"model {family} has no size {size!r} (known: {', '.join(presets)})")
    return presets[size]
