"""Attention statistics on hand-made maps with known answers, on tiny models of every kind, and heat maps."""

from __future__ import annotations

import json
import math

import pytest
import torch

from benchmark.attention import STATISTICS, as_record, attention_stats, checkpoint_attention
from benchmark.inspect import heatmap, inspect, load_checkpoint
from benchmark.errors import ObjbenchError
from benchmark.models.kinds import ModelKind
from benchmark.models.llama import Llama
from benchmark.objectives.base import special_token_mask


def previous_token(seq: int) -> torch.Tensor:
    """Every query on the token before it; the first, having none, on itself."""
    weights = torch.zeros(seq, seq)
    weights[0, 0] = 1.0
    weights[torch.arange(1, seq), torch.arange(seq - 1)] = 1.0
    return weights


def one_layer(*heads: torch.Tensor) -> tuple[torch.Tensor]:
    """A one-layer attention tuple [1, heads, T, T], as transformers returns it."""
    return (torch.stack(heads)[None],)


def test_all_attention_on_the_previous_token():
    stats = attention_stats(one_layer(previous_token(5)))
    assert set(stats) == set(STATISTICS) and stats["entropy"].shape == (1, 1)
    # queries 1-4 look one back (distance 1), query 0 at itself (distance 0): mean 4/5
    assert stats["mean_distance"].item() == pytest.approx(4 / 5)
    assert stats["entropy"].item() == pytest.approx(0.0)
    assert stats["previous_share"].item() == pytest.approx(4 / 5)
    assert stats["next_share"].item() == pytest.approx(0.0)
    assert stats["special_share"].item() == pytest.approx(0.0)


def test_uniform_attention_has_entropy_log_t_and_the_hand_computed_distance():
    seq = 4
    special = torch.tensor([[True, False, False, True]])  # e.g. [BOS] ... [EOS]
    stats = attention_stats(one_layer(torch.full((seq, seq), 1 / seq)), special_mask=special)
    assert stats["entropy"].item() == pytest.approx(math.log(seq))
    # mean over i, j of |i - j| = (0+1+2+3 + 1+0+1+2 + 2+1+0+1 + 3+2+1+0) / 16 = 20 / 16
    assert stats["mean_distance"].item() == pytest.approx(20 / 16)
    assert stats["mean_distance"].item() == pytest.approx((seq**2 - 1) / (3 * seq))
    # every query but the first (last) has a previous (next) token, weighted 1/T
    assert stats["previous_share"].item() == pytest.approx((seq - 1) / seq**2)
    assert stats["next_share"].item() == pytest.approx((seq - 1) / seq**2)
    assert stats["special_share"].item() == pytest.approx(2 / seq)


def test_causal_uniform_attention_and_heads_apart():
    seq = 6
    causal = torch.tril(torch.ones(seq, seq))
    causal = causal / causal.sum(-1, keepdim=True)  # query i: 1/(i+1) on each of 0..i
    stats = attention_stats((torch.stack([causal, previous_token(seq)])[None],) * 3)
    assert stats["entropy"].shape == (3, 2)
    assert stats["entropy"][:, 0] == pytest.approx(torch.full((3,), sum(math.log(i + 1) for i in range(seq)) / seq))
    assert stats["mean_distance"][:, 0] == pytest.approx(torch.full((3,), sum(i / 2 for i in range(seq)) / seq))
    assert stats["next_share"][:, 0] == pytest.approx(torch.zeros(3))
    assert stats["entropy"][:, 1] == pytest.approx(torch.zeros(3))


def test_padding_is_excluded_from_queries_and_keys():
    seq, padded = 4, 6
    real = torch.full((seq, seq), 1 / seq)
    leaky = torch.rand(padded, padded)  # padding queries: anything; real queries: some weight leaks onto padding
    leaky[:seq, :seq] = real * 0.5
    leaky[:seq, seq:] = 0.25
    batch = torch.stack([torch.nn.functional.pad(real, (0, 2, 0, 2)), leaky])[:, None]  # [2, 1, 6, 6]
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 0]])
    stats = attention_stats((batch,), attention_mask=mask)
    alone = attention_stats(one_layer(real))
    for name in STATISTICS:
        assert stats[name].item() == pytest.approx(alone[name].item()), name


def test_queries_of_longer_sequences_weigh_more():
    long = previous_token(4)  # query distances 0, 1, 1, 1
    short = torch.zeros(4, 4)
    short[:, 0] = 1.0  # queries 0, 1 on key 0: distances 0, 1
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    stats = attention_stats((torch.stack([long, short])[:, None],), attention_mask=mask)
    assert stats["mean_distance"].item() == pytest.approx((0 + 1 + 1 + 1 + 0 + 1) / 6)


# --- tiny models of every kind ------------------------------------------------------------------

@pytest.fixture(scope="module")
def held_out(tiny_data, tiny_setup):
    """Four packed blocks, each with a document boundary ([EOS]) at position 5, the second with its last 8 tokens
    as padding, and their special tokens."""
    input_ids = tiny_data.blocks.to_dict()["input_ids"][:4].clone()
    input_ids[:, 5] = tiny_setup.tokenizer.eos_token_id
    padding = torch.ones_like(input_ids)
    padding[1, -8:] = 0
    input_ids[1, -8:] = tiny_setup.tokenizer.pad_token_id
    return input_ids, padding, special_token_mask(input_ids, tiny_setup.special_ids)


@pytest.mark.parametrize("kind", list(ModelKind))
def test_checkpoint_attention_on_every_kind(kind, tiny_setup, held_out):
    torch.manual_seed(0)
    network = Llama.build_lm(kind, "tiny", tiny_setup.tokenizer)
    network.train()
    input_ids, padding, special = held_out
    result = checkpoint_attention(network, kind, input_ids, padding, special, batch_size=3)
    layers, heads = Llama.preset("tiny")["num_hidden_layers"], Llama.preset("tiny")["num_attention_heads"]
    assert (result["layers"], result["heads"], result["queries"]) == (layers, heads, int(padding.sum()))
    for name in STATISTICS:
        assert result[name].shape == (layers, heads), name
        assert torch.isfinite(result[name]).all() and (result[name] >= 0).all(), name
        assert result["per_layer"][name] == pytest.approx(result[name].mean(1)), name
    for name in ("special_share", "previous_share", "next_share"):
        assert (result[name] <= 1 + 1e-6).all()
    assert (result["entropy"] <= math.log(input_ids.shape[1]) + 1e-5).all()
    assert result["special_share"].min() > 0  # every query from position 5 on may look at [EOS]
    if kind is ModelKind.CAUSAL:
        assert (result["next_share"] == 0).all()  # a causal decoder never sees the next token
    else:
        assert (result["next_share"] > 0).all()
    assert result["attention"] == ("encoder self-attention" if kind is ModelKind.ENCODER_DECODER else "self-attention")
    # the model is left as it was found: SDPA and training mode
    assert network.config._attn_implementation == "sdpa" and network.training
    json.dumps(as_record(result))  # ready for a record


@pytest.mark.parametrize("kind", list(ModelKind))
def test_checkpoint_attention_ignores_padding_and_batching(kind, tiny_setup, held_out):
    torch.manual_seed(0)
    network = Llama.build_lm(kind, "tiny", tiny_setup.tokenizer)
    input_ids, _, special = held_out
    cut = input_ids.shape[1] - 8
    short = checkpoint_attention(network, kind, input_ids[:, :cut], special_mask=special[:, :cut])
    padding = torch.ones_like(input_ids)
    padding[:, cut:] = 0
    padded = checkpoint_attention(network, kind, input_ids, padding, special, batch_size=1)
    for name in STATISTICS:
        assert padded[name] == pytest.approx(short[name], abs=1e-5), name


# --- heat maps and checkpoints ------------------------------------------------------------------

def saved_checkpoint(folder, kind, tiny_setup):
    """A tiny backbone and the tokenizer saved as pretraining saves them (``Pretraining.save``)."""
    torch.manual_seed(0)
    Llama.build_lm(kind, "tiny", tiny_setup.tokenizer).save_pretrained(folder)
    tiny_setup.tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("kind", list(ModelKind))
def test_inspect_writes_a_png_and_an_html_page(kind, tmp_path, tiny_setup):
    folder = saved_checkpoint(tmp_path / "checkpoint", kind, tiny_setup)
    network, _, loaded_kind = load_checkpoint(folder)
    assert loaded_kind is kind and network.config._attn_implementation == "eager"
    paths = inspect(folder, "the cat sat on the mat.", layer=1, head=2, out_dir=tmp_path / "maps")
    png, page = paths
    assert [p.name for p in paths] == ["attention_layer1_head2.png", "attention_layer1_head2.html"]
    assert png.read_bytes().startswith(b"\x89PNG")
    text = page.read_text()
    assert "data:image/png;base64," in text and "[EOS]" in text
    assert text.count("<table>") == 1 and "Layer 1, head 2" in text


def test_inspect_draws_every_head_of_every_layer_as_a_grid(tmp_path, tiny_setup):
    folder = saved_checkpoint(tmp_path / "checkpoint", ModelKind.CAUSAL, tiny_setup)
    png, page = inspect(folder, "a short sentence.", None, None, tmp_path / "maps")
    assert png.name == "attention_all_layers_all_heads.png" and png.stat().st_size > 0
    preset = Llama.preset("tiny")
    assert page.read_text().count("<table>") == preset["num_hidden_layers"] * preset["num_attention_heads"]
    with pytest.raises(ObjbenchError, match="no head 9"):
        inspect(folder, "a short sentence.", 0, 9, tmp_path / "maps")
    with pytest.raises(ObjbenchError, match="not a checkpoint folder"):
        inspect(tmp_path / "maps", "text", 0, 0, tmp_path / "maps")


def test_heatmap_of_one_map_with_its_token_labels(tmp_path):
    tokens = ["[BOS]", "a", "<b>", "[EOS]"]
    png, page = heatmap(tokens, previous_token(4), tmp_path / "one.png", tmp_path / "one.html", layer=3, head=1)
    text = page.read_text()
    assert png.read_bytes().startswith(b"\x89PNG") and "Layer 3, head 1" in text
    assert "&lt;b&gt;" in text and "<b>" not in text.split("<body>")[1]  # tokens are escaped
    assert 'title="a -&gt; [BOS]: 1.000"' in text
    with pytest.raises(ValueError, match="for 3 tokens"):
        heatmap(tokens[:3], previous_token(4), tmp_path / "x.png", tmp_path / "x.html")
