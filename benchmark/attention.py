"""Where pretrained models attend, compared across objectives: per-head statistics and heat maps.

Objectives leave marks on attention that scores alone do not show: a causal LM's heads lean on
the previous token, a masked LM's look both ways, a denoiser's encoder reads [MASK] or
sentinel tokens. This module measures, for every layer and head, over the real (non-padding)
query positions of held-out text:

* ``mean_distance``: the expected |i - j| between query i and key j under the attention weights;
* ``entropy``: the attention distribution's entropy in nats (0: one key; log n: n keys alike);
* ``special_share``: the weight on special tokens ([EOS], [MASK], sentinels, ...);
* ``previous_share`` / ``next_share``: the weight on key i - 1 / i + 1.

Weights on padding keys are dropped and each row renormalised over the real keys (the masks
give padding no weight anyway, so this only guards against a mask that leaks). Statistics are
means over every real query of every sequence, pooled, so longer sequences weigh more.

Each kind is run with the attention it was pretrained with (``models.kinds.attention_mask``):
causal for a causal decoder, full for an encoder, a bidirectional prefix then causal for a
prefix decoder (by default half of each sequence: the mean prefix of ``prefix_lm``'s default
draw), and for an encoder-decoder the *encoder's* self-attention, the stack that reads the
input (the decoder's attention runs over generated targets, not the text).

Attention weights need the eager implementation (SDPA never forms them), so
``checkpoint_attention`` switches the model to it for the call and back afterwards. The heat maps
of one sentence (``objbench inspect``) are drawn by ``benchmark.inspect``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from benchmark.models.kinds import ModelKind, attention_mask

STATISTICS = ("mean_distance", "entropy", "special_share", "previous_share", "next_share")


# --- statistics -------------------------------------------------------------------------------

def _layer_sums(weights: torch.Tensor, real: torch.Tensor, special: torch.Tensor) -> torch.Tensor:
    """Sums over real queries of each statistic for one layer's weights [batch, heads, T, T] -> [stats, heads]."""
    weights = weights.float() * real[:, None, None, :]
    weights = weights / weights.sum(-1, keepdim=True).clamp_min(torch.finfo(torch.float32).tiny)
    positions = torch.arange(weights.shape[-1], device=weights.device)
    distance = (positions[:, None] - positions[None, :]).abs().float()
    per_query = torch.stack([
        (weights * distance).sum(-1),
        -torch.special.xlogy(weights, weights).sum(-1),
        (weights * special[:, None, None, :]).sum(-1),
        F.pad(torch.diagonal(weights, offset=-1, dim1=-2, dim2=-1), (1, 0)),  # query i, key i - 1; none at i = 0
        F.pad(torch.diagonal(weights, offset=1, dim1=-2, dim2=-1), (0, 1)),  # query i, key i + 1; none at the end
    ])  # [stats, batch, heads, T]
    return (per_query * real[None, :, None, :]).sum(dim=(1, 3))


def _masks(attentions: Sequence[torch.Tensor], attention_mask: torch.Tensor | None,
           special_mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    batch, _, seq, _ = attentions[0].shape
    device = attentions[0].device
    real = torch.ones(batch, seq, device=device) if attention_mask is None else attention_mask.to(device).float()
    special = torch.zeros(batch, seq, device=device) if special_mask is None else special_mask.to(device).float()
    return real, special


def _stat_sums(attentions: Sequence[torch.Tensor], attention_mask: torch.Tensor | None,
               special_mask: torch.Tensor | None) -> tuple[torch.Tensor, int]:
    """Per-layer sums [stats, layers, heads] over real queries, and the number of real queries."""
    real, special = _masks(attentions, attention_mask, special_mask)
    sums = torch.stack([_layer_sums(layer, real, special) for layer in attentions], dim=1)
    return sums.cpu(), int(real.sum())


def _as_stats(sums: torch.Tensor, queries: int) -> dict[str, torch.Tensor]:
    if queries == 0:
        raise ValueError("attention statistics of no real query position")
    return {name: sums[i] / queries for i, name in enumerate(STATISTICS)}


def attention_stats(attentions: Sequence[torch.Tensor], attention_mask: torch.Tensor | None = None,
                    special_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Per layer and head: mean attention distance, entropy (nats), special-token, previous- and next-token shares.

    ``attentions`` is what ``transformers`` returns with ``output_attentions=True``: one
    [batch, heads, query, key] tensor per layer. ``attention_mask`` [batch, seq] marks real
    tokens (1) against padding (0), ``None`` for none; ``special_mask`` [batch, seq] (bool)
    marks special tokens among the keys, ``None`` for none. Returns ``{name: [layers, heads]}``
    for every name in ``STATISTICS``, each the mean over real query positions of all sequences.
    """
    return _as_stats(*_stat_sums(attentions, attention_mask, special_mask))


# --- running a model ------------------------------------------------------------------------------

def default_prefix_lengths(padding: torch.Tensor) -> torch.Tensor:
    """Half of each sequence's real tokens, at least one: the mean prefix of ``prefix_lm``'s default draw."""
    return (padding.sum(1) // 2).clamp_min(1)


class EagerAttention:
    """The model in eval mode with eager attention for the block, then as it was."""

    def __init__(self, network):
        self.network = network

    def __enter__(self):
        self.training = self.network.training
        self.implementation = self.network.config._attn_implementation
        if self.implementation != "eager":
            self.network.set_attn_implementation("eager")
        self.network.eval()
        return self.network

    def __exit__(self, *exc) -> None:
        if self.implementation != "eager":
            self.network.set_attn_implementation(self.implementation)
        self.network.train(self.training)


def forward_attentions(network, kind: ModelKind, input_ids: torch.Tensor, padding: torch.Tensor,
                        prefix_lengths: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
    """One batch's self-attention weights, per layer, with the kind's own mask (see the module docstring)."""
    if kind is ModelKind.ENCODER_DECODER:
        encoder = network.base_model.get_encoder()
        return encoder(input_ids=input_ids, attention_mask=padding, output_attentions=True).attentions
    if kind is ModelKind.PREFIX and prefix_lengths is None:
        prefix_lengths = default_prefix_lengths(padding)
    mask = attention_mask(kind, padding, prefix_lengths=prefix_lengths)
    if mask is not None and mask.dim() == 4:
        # transformers passes a 4-d mask through as it is, and eager attention *adds* it to the scores: a
        # boolean mask would add 1 or 0 and hide nothing, so it becomes 0 / the dtype's minimum here.
        dtype = next(network.parameters()).dtype
        mask = torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, torch.finfo(dtype).min)
    return network.base_model(input_ids=input_ids, attention_mask=mask, output_attentions=True,
                              use_cache=False).attentions


def checkpoint_attention(network, kind: ModelKind | str, input_ids: torch.Tensor,
                         attention_mask: torch.Tensor | None = None, special_mask: torch.Tensor | None = None,
                         prefix_lengths: torch.Tensor | None = None, batch_size: int = 16) -> dict:
    """Attention statistics of ``network`` (a pretrained backbone, e.g. ``objective.backbone(network)`` or a
    model loaded from a checkpoint) over held-out ``input_ids`` [n, seq], in batches of ``batch_size``.

    ``attention_mask`` [n, seq] marks real tokens (default: all), ``special_mask`` [n, seq]
    special ones (default: none); ``prefix_lengths`` [n] sets a prefix decoder's bidirectional
    prefix (default: half of each sequence). The model runs under ``torch.no_grad`` in eval
    mode with eager attention, and is left as it was found.

    Returns ``{name: [layers, heads]}`` for each of ``STATISTICS``, pooled over every real query,
    and ``per_layer`` (``{name: [layers]}``, the mean over heads), ``kind``, ``attention``
    (which attention was measured), ``layers``, ``heads`` and ``queries`` (real query positions).
    """
    kind = ModelKind(kind)
    padding = torch.ones_like(input_ids) if attention_mask is None else attention_mask.long()
    special = torch.zeros_like(input_ids, dtype=torch.bool) if special_mask is None else special_mask.bool()
    device = next(network.parameters()).device
    total, queries = None, 0
    with torch.no_grad(), EagerAttention(network):
        for start in range(0, len(input_ids), batch_size):
            rows = slice(start, start + batch_size)
            prefix = None if prefix_lengths is None else prefix_lengths[rows].to(device)
            weights = forward_attentions(network, kind, input_ids[rows].to(device), padding[rows].to(device), prefix)
            sums, count = _stat_sums(weights, padding[rows], special[rows])
            total, queries = (sums if total is None else total + sums), queries + count
    if total is None:
        raise ValueError("checkpoint_attention needs at least one sequence")
    stats = _as_stats(total, queries)
    layers, heads = stats[STATISTICS[0]].shape
    return {
        **stats,
        "per_layer": {name: values.mean(1) for name, values in stats.items()},
        "kind": str(kind),
        "attention": "encoder self-attention" if kind is ModelKind.ENCODER_DECODER else "self-attention",
        "layers": layers,
        "heads": heads,
        "queries": queries,
    }


def as_record(result: dict) -> dict:
    """``checkpoint_attention``'s result with tensors as nested lists of floats, ready for a JSON record."""
    def plain(value):
        if isinstance(value, torch.Tensor):
            return value.tolist()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value
    return plain(result)


HELD_OUT_TEXTS = 32  # texts whose attention describes a checkpoint


def held_out_texts(suite, count: int = HELD_OUT_TEXTS) -> list[str]:
    """Text no pretraining step read, the same for every objective: the test split of the suite's
    first task that has running text (a classification text, a QA context, a translation source,
    the grammatical sentence of a pair)."""
    from benchmark.tasks.availability import task_splits

    for name in suite.tasks:
        test = task_splits(suite, name)[0]["test"]
        for column in ("text", "context", "source", "good"):
            if column in test.column_names and len(test):
                return [str(t) for t in test[column][:count]]
    return []


def held_out_attention(suite, tokenizer, objective, network) -> dict | None:
    """Attention statistics of a freshly pretrained backbone per layer and head on held-out text, for the
    report's comparison of objectives (a record's ``pretrain.attention``); None without such text."""
    from benchmark.objectives.base import special_token_mask

    texts = held_out_texts(suite)
    if not texts:
        return None
    encoded = tokenizer(texts, truncation=True, max_length=suite.pretrain.seq_len, padding=True, return_tensors="pt")
    ids, padding = encoded["input_ids"], encoded["attention_mask"]
    special = special_token_mask(ids, torch.tensor(sorted(tokenizer.all_special_ids)))
    return as_record(checkpoint_attention(objective.backbone(network), objective.kind, ids, padding, special))
