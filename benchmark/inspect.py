"""``objbench inspect``: heat maps of a checkpoint's attention on one sentence, as a PNG and an HTML page.

The statistics that compare objectives over held-out text are ``benchmark.attention``'s; this module
draws one sentence's maps, layer by layer and head by head, for a reader who wants to look.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import torch
from matplotlib.figure import Figure

from benchmark import files
from benchmark.attention import EagerAttention, forward_attentions
from benchmark.errors import ObjbenchError
from benchmark.models.kinds import ModelKind

DPI = 110
LABELLED_TOKENS = 64  # a map with more tokens than this has no per-token tick labels (they would overlap)
HTML_TABLE_CELLS = 100_000  # the heat map page writes its tables of weights up to this many cells in all


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
    """(backbone, tokenizer, kind) from a checkpoint folder written by pretraining (``Pretraining.save``).

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
    damaged = files.damage(folder) if (folder / files.MANIFEST).is_file() else None
    if damaged:
        raise ObjbenchError(f"checkpoint {folder} is damaged ({damaged}); `objbench doctor SUITE --repair` moves it "
                            "aside and the next run pretrains it again")
    try:
        config = AutoConfig.from_pretrained(folder)
        kind = getattr(config, "objbench_kind", None)
        if kind is None:
            raise ObjbenchError(f"{folder}/config.json does not say which model kind it was pretrained as "
                                "(objbench_kind); it was not saved by objbench")
        network = AutoModel.from_pretrained(folder, attn_implementation="eager")
        return network, load_tokenizer(folder), ModelKind(kind)
    except ObjbenchError:
        raise
    except Exception as err:  # a cut-short weights file, a config another library wrote: whatever fails to load
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ObjbenchError(f"{folder} cannot be loaded as a checkpoint: {first[:300]}") from None


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
    if not text.strip():
        raise ObjbenchError("--text is empty: give the sentence whose attention to draw")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ObjbenchError(f"--out {out_dir} is a file; name a folder (it is made if missing)")
    network, tokenizer, kind = load_checkpoint(target)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    input_ids = torch.tensor([ids])
    with torch.no_grad(), EagerAttention(network):
        weights = forward_attentions(network, kind, input_ids, torch.ones_like(input_ids), None)
    stack = torch.stack([w[0] for w in weights])  # [layers, heads, T, T]
    name = _name(layer, head)
    tokens = tokenizer.convert_ids_to_tokens(ids)
    return list(heatmap(tokens, stack, out_dir / f"attention_{name}.png", out_dir / f"attention_{name}.html",
                        layer, head))
