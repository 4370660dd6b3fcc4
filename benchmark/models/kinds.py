"""Model kinds and the attention masks that make one decoder stack serve several of them.

The same Llama blocks become a causal decoder, a non-causal (prefix) decoder or a
bidirectional encoder only through the attention mask, so that a CLM/MLM comparison changes
the objective and nothing else (Wang et al. 2022 compare architectures this way).
"""

from __future__ import annotations

from enum import Enum

import torch


class ModelKind(str, Enum):
    CAUSAL = "causal_decoder"  # each token sees itself and the past
    PREFIX = "prefix_decoder"  # bidirectional over a prefix, causal after it
    ENCODER = "encoder"  # every token sees every (non-padding) token
    ENCODER_DECODER = "encoder_decoder"  # a bidirectional encoder read by a causal decoder (T5)

    def __str__(self) -> str:
        return self.value


def attention_mask(kind: ModelKind, padding: torch.Tensor | None, seq_len: int | None = None,
                   prefix_lengths: torch.Tensor | None = None) -> torch.Tensor | None:
    """The mask to pass as ``attention_mask`` to a Hugging Face decoder for ``kind``.

    ``padding`` is the [batch, seq] 0/1 mask of real tokens (``None`` for packed, unpadded
    blocks). Causal attention returns it unchanged (the model adds the causal part itself), and
    so does an encoder-decoder (it builds its encoder's, decoder's and cross-attention masks
    from the padding); the other kinds return a boolean [batch, 1, seq, seq] mask, True where
    a query may attend.
    Every query sees at least itself, so a padded row never becomes all-masked (NaN in SDPA).
    """
    kind = ModelKind(kind)
    if kind in (ModelKind.CAUSAL, ModelKind.ENCODER_DECODER):
        return padding
    if padding is None and seq_len is None:
        raise ValueError("attention_mask needs padding or seq_len")
    if padding is not None:
        batch, seq_len = padding.shape
        device = padding.device
        keys = padding.bool()[:, None, None, :]
    else:
        batch = 1 if prefix_lengths is None else prefix_lengths.shape[0]
        device = None if prefix_lengths is None else prefix_lengths.device
        keys = torch.ones(batch, 1, 1, seq_len, dtype=torch.bool, device=device)
    positions = torch.arange(seq_len, device=device)
    if kind is ModelKind.ENCODER:
        visible = keys.expand(batch, 1, seq_len, seq_len)
    elif kind is ModelKind.PREFIX:
        if prefix_lengths is None:
            raise ValueError("a prefix decoder needs prefix_lengths")
        causal = positions[None, :] <= positions[:, None]
        in_prefix = positions[None, None, None, :] < prefix_lengths[:, None, None, None]
        visible = (causal[None, None] | in_prefix) & keys
    else:
        raise ValueError(f"no decoder attention mask for {kind}")
    return visible | torch.eye(seq_len, dtype=torch.bool, device=device)
