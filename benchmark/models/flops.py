"""Training FLOPs of a transformer, per token, from its shapes.

Forward FLOPs per token = 2 x (matmul parameters touched per token) + attention scores and
values (2 x 2 x layers x context x width); training = 3 x forward (backward is twice the
forward), as in Kaplan et al. 2020 and nanoGPT's ``estimate_mfu``. Norms, softmax and the
loss are left out: they are a few percent at these sizes.
"""

from __future__ import annotations


def forward_flops_per_token(hidden: int, layers: int, intermediate: int, context: int, vocab_outputs: int = 0,
                            kv_hidden: int | None = None, gated_mlp: bool = True, cross_context: int = 0) -> float:
    """Forward FLOPs for one token through ``layers`` blocks attending over ``context`` keys.

    ``vocab_outputs`` is the size of the output projection applied to this token (0 when the
    objective computes no logits at this position); ``cross_context`` adds cross-attention
    over that many encoder positions (encoder-decoder decoders).
    """
    kv_hidden = hidden if kv_hidden is None else kv_hidden
    attn_proj = hidden * hidden * 2 + hidden * kv_hidden * 2  # q, o and k, v
    mlp = hidden * intermediate * (3 if gated_mlp else 2)
    per_layer = 2 * (attn_proj + mlp) + 4 * context * hidden
    if cross_context:
        per_layer += 2 * (hidden * hidden * 2 + hidden * kv_hidden * 2) + 4 * cross_context * hidden
    return layers * per_layer + 2 * hidden * vocab_outputs


def training_flops(forward: float) -> float:
    """Forward + backward: the backward pass costs twice the forward."""
    return 3.0 * forward
