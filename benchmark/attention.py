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
``checkpoint_attention`` switches the model to it for the call and back afterwards.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from benchmark import files
from benchmark.errors import ObjbenchError
from benchmark.models.kinds import ModelKind, attention_mask

STATISTICS = ("mean_distance", "entropy", "special_share", "previous_share", "next_share")
DPI = 110
LABELLED_TOKENS = 64  # a map with more tokens than this has no per-token tick labels (they would overlap)
HTML_TABLE_CELLS = 100_000  # the heat map page writes its tables of weights up to this many cells in all


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


class _Eager:
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


def _forward_attentions(network, kind: ModelKind, input_ids: torch.Tensor, padding: torch.Tensor,
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
    with torch.no_grad(), _Eager(network):
        for start in range(0, len(input_ids), batch_size):
            rows = slice(start, start + batch_size)
            prefix = None if prefix_lengths is None else prefix_lengths[rows].to(device)
            weights = _forward_attentions(network, kind, input_ids[rows].to(device), padding[rows].to(device), prefix)
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


# --- heat maps -------------------------------------------------------------------------------

def _check_index(index: int | None, count: int, what: str) -> None:
    if index is not None and not 0 <= index < count:
        raise ObjbenchError(f"no {what} {index}: there are {what}s 0-{count - 1}")


def _selected(attention: torch.Tensor, layer: int | None, head: int | None) -> list[tuple[int, int, torch.Tensor]]:
    """(layer, head, [T, T] map) for each map chosen from ``attention`` [T, T], [heads, T, T] or [layers, heads, T, T].

    A 2-d map is one head, a 3-d one the heads of one layer: ``layer`` (and for 2-d ``head``)
    then only numbers them. Otherwise ``layer`` and ``head`` choose (``None``: all).
    """
    attention = attention.detach().float().cpu()
    if attention.dim() == 2:
        return [(layer or 0, head or 0, attention)]
    if attention.dim() == 3:
        _check_index(head, attention.shape[0], "head")
        heads = range(attention.shape[0]) if head is None else [head]
        return [(layer or 0, h, attention[h]) for h in heads]
    if attention.dim() == 4:
        _check_index(layer, attention.shape[0], "layer")
        _check_index(head, attention.shape[1], "head")
        layers = range(attention.shape[0]) if layer is None else [layer]
        heads = range(attention.shape[1]) if head is None else [head]
        return [(i, h, attention[i, h]) for i in layers for h in heads]
    raise ValueError(f"attention must be [T, T], [heads, T, T] or [layers, heads, T, T], not {tuple(attention.shape)}")


def _png(tokens: list[str], maps: list[tuple[int, int, torch.Tensor]]) -> bytes:
    layers = sorted({i for i, _, _ in maps})
    heads = sorted({h for _, h, _ in maps})
    side = min(8.0, max(2.6, 0.16 * len(tokens) + 1.2))
    fig = Figure(figsize=(side * len(heads), side * len(layers)))
    labelled = len(tokens) <= LABELLED_TOKENS
    for i, h, weights in maps:
        ax = fig.add_subplot(len(layers), len(heads), layers.index(i) * len(heads) + heads.index(h) + 1)
        image = ax.imshow(weights.numpy(), cmap="viridis", vmin=0.0, vmax=max(float(weights.max()), 1e-9))
        ax.set_title(f"layer {i}, head {h}", fontsize=9)
        ax.set_xlabel("key", fontsize=8)
        ax.set_ylabel("query", fontsize=8)
        if labelled:
            ticks = range(len(tokens))
            ax.set_xticks(ticks, tokens, rotation=90, fontsize=6)
            ax.set_yticks(ticks, tokens, fontsize=6)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _html_table(tokens: list[str], layer: int, head: int, weights: torch.Tensor) -> str:
    top = float(weights.max()) or 1.0
    e = html.escape
    head_row = "<tr><th>query \\ key</th>" + "".join(f"<th>{e(t)}</th>" for t in tokens) + "</tr>"
    rows = []
    for query, row in zip(tokens, weights.tolist()):
        cells = "".join(f'<td title="{e(f"{query} -> {key}: {w:.3f}")}" '
                        f'style="background: rgba(68, 1, 84, {w / top:.3f})"></td>' for key, w in zip(tokens, row))
        rows.append(f"<tr><th>{e(query)}</th>{cells}</tr>")
    return f"<h2>Layer {layer}, head {head}</h2>\n<table>\n{head_row}\n" + "\n".join(rows) + "\n</table>"


def heatmap(tokens: list[str], attention: torch.Tensor, path_png: str | Path, path_html: str | Path,
            layer: int | None = None, head: int | None = None) -> tuple[Path, Path]:
    """Heat maps of one sentence's attention: a PNG and a standalone HTML page; returns both paths.

    ``attention`` is one head's [T, T] map, the heads of one layer [heads, T, T], or a whole
    stack [layers, heads, T, T] for the ``T`` ``tokens``. ``layer`` and ``head`` choose the maps
    in a stack (``None``: all of them, drawn as a grid, a row per layer and a column per head)
    and number the maps of a smaller tensor. The page holds the PNG, inline, and a table of the
    weights of each map with the tokens as labels (hover a cell for its weight), while the
    tables stay under ``HTML_TABLE_CELLS`` cells.
    """
    attention = torch.as_tensor(attention)
    if attention.shape[-1] != len(tokens) or attention.shape[-2] != len(tokens):
        raise ValueError(f"attention maps are {tuple(attention.shape[-2:])} for {len(tokens)} tokens")
    maps = _selected(attention, layer, head)
    picture = _png(tokens, maps)
    files.publish(path_png, lambda tmp: tmp.write_bytes(picture))
    data = base64.b64encode(picture).decode("ascii")
    tables = ([_html_table(tokens, i, h, w) for i, h, w in maps] if len(maps) * len(tokens) ** 2 <= HTML_TABLE_CELLS
              else ["<p>Too many weights for tables: see the image.</p>"])
    sentence = html.escape(" ".join(tokens))
    page = "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', "<title>Attention heat map</title>",
        "<style>table { border-collapse: collapse; font: 11px sans-serif; } td { width: 14px; height: 14px; } "
        "th { font-weight: normal; padding: 0 3px; white-space: nowrap; }</style>",
        "</head><body>", "<h1>Attention heat map</h1>", f"<p>Tokens: {sentence}</p>",
        f'<img src="data:image/png;base64,{data}" alt="attention heat map">', *tables, "</body></html>", ""])
    files.write_text(path_html, page)
    return Path(path_png), Path(path_html)


# --- a checkpoint folder ----------------------------------------------------------------------------

def load_checkpoint(folder: str | Path):
    """(backbone, tokenizer, kind) from a checkpoint folder written by pretraining (``harness.save_checkpoint``).

    The backbone is the base model (``AutoModel``: Llama blocks, or a T5 with its encoder and
    decoder) with eager attention; the kind is the one it was pretrained as, which the model
    entry writes into ``config.json`` as ``objbench_kind``.
    """
    from transformers import AutoConfig, AutoModel

    from benchmark.data.tokenizer import load as load_tokenizer

    folder = Path(folder)
    if not (folder / "config.json").is_file() or not (folder / "tokenizer.json").is_file():
        raise ObjbenchError(f"{folder} is not a checkpoint folder: it needs config.json and tokenizer.json, as "
                            "objbench's pretraining saves them")
    config = AutoConfig.from_pretrained(folder)
    kind = getattr(config, "objbench_kind", None)
    if kind is None:
        raise ObjbenchError(f"{folder}/config.json does not say which model kind it was pretrained as "
                            "(objbench_kind); it was not saved by objbench")
    network = AutoModel.from_pretrained(folder, attn_implementation="eager")
    return network, load_tokenizer(folder), ModelKind(kind)


def _name(layer: int | None, head: int | None) -> str:
    return (f"layer{layer}" if layer is not None else "all_layers") + (f"_head{head}" if head is not None
                                                                         else "_all_heads")


def inspect(target: str | Path, text: str, layer: int | None = None, head: int | None = None,
            out_dir: str | Path = "attention") -> list[Path]:
    """Heat maps of a checkpoint's attention on ``text``: writes a PNG and an HTML page into ``out_dir``.

    ``target`` is a checkpoint folder (the backbone and tokenizer pretraining saved). The text
    is tokenized as pretraining saw a document, its tokens then ``[EOS]``, and read with the
    kind's own attention (an encoder-decoder's encoder; a prefix decoder with half of it as
    prefix). ``layer`` and ``head`` choose the map (``None``: every layer or head, as a grid).
    Returns the written paths, PNG first.
    """
    network, tokenizer, kind = load_checkpoint(target)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    input_ids = torch.tensor([ids])
    with torch.no_grad(), _Eager(network):
        weights = _forward_attentions(network, kind, input_ids, torch.ones_like(input_ids), None)
    stack = torch.stack([w[0] for w in weights])  # [layers, heads, T, T]
    out_dir = Path(out_dir)
    name = _name(layer, head)
    tokens = tokenizer.convert_ids_to_tokens(ids)
    return list(heatmap(tokens, stack, out_dir / f"attention_{name}.png", out_dir / f"attention_{name}.html",
                        layer, head))


__all__ = ["STATISTICS", "as_record", "attention_stats", "checkpoint_attention", "default_prefix_lengths",
           "heatmap", "inspect", "load_checkpoint"]
