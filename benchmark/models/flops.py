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


def encoder_decoder_forward_flops(hidden: int, encoder_layers: int, decoder_layers: int, intermediate: int,
                                  batch: int, encoder_len: int, decoder_len: int, logit_positions: int = 0,
                                  vocab_size: int = 0, kv_hidden: int | None = None, gated_mlp: bool = True) -> float:
    """Forward FLOPs of an encoder-decoder over a batch of ``batch`` x (``encoder_len``, ``decoder_len``) tokens.

    Encoder tokens go through the encoder blocks, attending over ``encoder_len`` keys; decoder
    tokens go through the decoder blocks, attending over ``decoder_len`` keys and, in each
    block's cross-attention, over ``encoder_len`` encoder positions. The cross-attention key
    and value projections run once per encoder position in every decoder block (not once per
    decoder token, which would miscount whenever the two lengths differ, as they do for span
    corruption). The output projection (``vocab_size`` wide) runs at ``logit_positions``
    positions of the whole batch.
    """
    kv_hidden = hidden if kv_hidden is None else kv_hidden
    encoder = forward_flops_per_token(hidden, encoder_layers, intermediate, encoder_len, 0, kv_hidden, gated_mlp)
    decoder = forward_flops_per_token(hidden, decoder_layers, intermediate, decoder_len, 0, kv_hidden, gated_mlp)
    # cross-attention: q, o projections and scores/values per decoder token; k, v per encoder position
    cross_per_decoder_token = decoder_layers * (2 * hidden * hidden * 2 + 4 * encoder_len * hidden)
    cross_per_encoder_token = decoder_layers * 2 * hidden * kv_hidden * 2
    return (batch * encoder_len * (encoder + cross_per_encoder_token)
            + batch * decoder_len * (decoder + cross_per_decoder_token)
            + 2 * hidden * vocab_size * logit_positions)


def t5_encoder_decoder_flops(model, batch: int, encoder_len: int, decoder_len: int, logit_positions: int) -> float:
    """Forward FLOPs of a Transformers T5 ``model`` (any feed-forward) over one padded batch; ``logit_positions``
    is the number of target positions in the batch that get logits."""
    c = model.config
    return encoder_decoder_forward_flops(c.d_model, c.num_layers, c.num_decoder_layers, c.d_ff, batch, encoder_len,
                                         decoder_len, logit_positions, c.vocab_size, kv_hidden=c.num_heads * c.d_kv,
                                         gated_mlp=c.is_gated_act)
