"""Encoder-decoder objectives and the T5 built from the Llama preset: corruption statistics, FLOPs, finetuning."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmark import registry
from benchmark.data.tokenizer import MODE_TOKENS
from benchmark.errors import ObjbenchError
from benchmark.models.kinds import ModelKind, attention_mask
from benchmark.objectives.base import IGNORE
from benchmark.objectives.denoising import (
    expected_span_count,
    masked_token_count,
    sentence_permutation,
    text_infilling,
)
from benchmark.objectives.span_corruption import (
    noise_span_counts,
    random_spans_noise_mask,
    reconstruct_from_spans,
    sentinel_ids,
    span_corrupt,
)
from benchmark.objectives.ul2 import UL2Params
from tests.helpers import longer_blocks, make


def runs(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(run count per row, total length of all runs) of True values in a boolean [rows, length] mask."""
    starts = mask & ~torch.nn.functional.pad(mask[:, :-1], (1, 0), value=False)
    return starts.sum(1), mask.sum()


# --- span corruption ---------------------------------------------------------------------------

def test_noise_mask_has_t5_counts_in_every_row(generator):
    num_noise, num_spans = noise_span_counts(128, 0.15, 3.0)
    assert (num_noise, num_spans) == (19, 6)
    mask = random_spans_noise_mask(500, 128, num_noise, num_spans, generator)
    spans, total = runs(mask)
    assert (mask.sum(1) == num_noise).all()
    assert (spans == num_spans).all()
    assert abs(int(total) / mask.numel() - 0.15) < 0.005
    assert abs(int(total) / int(spans.sum()) - 3.0) < 0.2
    # T5's layout: a kept span first, a noise span last; spans land everywhere in between
    assert not mask[:, 0].any() and mask[:, -1].all()
    assert mask[:, 1:-1].float().mean(0).min() > 0.02


def test_span_corruption_inputs_targets_and_exact_reconstruction(tiny_data, tiny_setup, generator):
    blocks = longer_blocks(tiny_data)
    original = blocks["input_ids"]
    rows, length = original.shape
    sentinels = sentinel_ids(tiny_setup.tokenizer)
    pad = tiny_setup.tokenizer.pad_token_id
    objective = make("span_corruption", tiny_setup)
    batch = objective.prepare(blocks, generator)
    inputs, labels = batch["input_ids"], batch["labels"]
    num_noise, num_spans = noise_span_counts(length, 0.15, 3.0)
    assert inputs.shape == (rows, length - num_noise + num_spans)
    assert labels.shape == (rows, num_noise + num_spans + 1)
    assert (labels != IGNORE).all() and batch["attention_mask"].all()  # fixed counts: no padding anywhere
    # sentinels in order: <extra_id_0>, <extra_id_1>, ... in the input; the same plus a closing one in the target
    in_sentinel, out_sentinel = torch.isin(inputs, sentinels), torch.isin(labels, sentinels)
    assert torch.equal(inputs[in_sentinel].view(rows, num_spans), sentinels[:num_spans].expand(rows, -1))
    assert torch.equal(labels[out_sentinel].view(rows, num_spans + 1), sentinels[:num_spans + 1].expand(rows, -1))
    assert (labels[:, 0] == sentinels[0]).all() and (labels[:, -1] == sentinels[num_spans]).all()
    # dropped share and span length, measured on the targets
    dropped = (~out_sentinel).sum(1)
    assert (dropped == num_noise).all()
    assert abs(int(dropped.sum()) / original.numel() - 0.15) < 0.01
    assert abs(int(dropped.sum()) / int(in_sentinel.sum()) - 3.0) < 0.2
    # putting every span back in place of its sentinel gives the original block, row by row
    assert torch.equal(reconstruct_from_spans(inputs, labels, sentinels, pad), original)
    # the decoder reads the target shifted right behind [PAD], T5's start token
    assert (batch["decoder_input_ids"][:, 0] == pad).all()
    assert torch.equal(batch["decoder_input_ids"][:, 1:], labels[:, :-1])
    stats = objective.statistics(blocks, batch)
    assert stats["reconstruction_errors"] == (0.0, 0.0) and stats["sentinel_order_errors"] == (0.0, 0.0)


def test_reconstruction_catches_a_misplaced_span(tiny_data, tiny_setup, generator):
    original = longer_blocks(tiny_data)["input_ids"][:4]
    sentinels = sentinel_ids(tiny_setup.tokenizer)
    inputs, targets = span_corrupt(original, 0.15, 3.0, sentinels, generator)
    swapped = targets.clone()
    swapped[:, [0, 1]] = swapped[:, [1, 0]]  # the first sentinel moves behind a span token
    rebuilt = reconstruct_from_spans(inputs, swapped, sentinels, tiny_setup.tokenizer.pad_token_id)
    assert not torch.equal(rebuilt, original)


def test_span_corruption_refuses_more_spans_than_sentinels(tiny_setup, generator):
    ids = torch.full((2, 1024), 200, dtype=torch.long)
    with pytest.raises(ObjbenchError, match="sentinels"):
        span_corrupt(ids, 0.5, 3.0, sentinel_ids(tiny_setup.tokenizer), generator)


# --- BART denoising ----------------------------------------------------------------------------

@pytest.mark.parametrize("zero_length_spans", [True, False])
def test_text_infilling_masks_30_percent_in_poisson_spans(tiny_data, tiny_setup, generator, zero_length_spans):
    original = longer_blocks(tiny_data)["input_ids"].repeat(4, 1)
    tok = tiny_setup.tokenizer
    rows, length = original.shape
    num_mask = masked_token_count(length, 0.3)
    inputs = text_infilling(original, num_mask, 3.0, zero_length_spans, tok.mask_token_id, tok.pad_token_id, generator)
    masks = (inputs == tok.mask_token_id).sum(1)
    kept = ((inputs != tok.mask_token_id) & (inputs != tok.pad_token_id)).sum(1)
    assert (length - kept == num_mask).all()  # exactly ceil(30%) of every row is masked
    assert abs(num_mask / length - 0.3) < 0.01
    spans = expected_span_count(num_mask, 3.0, zero_length_spans)
    assert abs(float(masks.double().mean()) / spans - 1) < 0.05
    # kept tokens are the original ones, in order: deleting the masks leaves a subsequence of the row
    for row in range(0, rows, 37):
        left = inputs[row][(inputs[row] != tok.mask_token_id) & (inputs[row] != tok.pad_token_id)].tolist()
        it = iter(original[row].tolist())
        assert all(token in it for token in left)
    if zero_length_spans:  # zero-length spans insert masks that consume nothing: more masks than without
        without = text_infilling(original, num_mask, 3.0, False, tok.mask_token_id, tok.pad_token_id,
                                 torch.Generator().manual_seed(1234))
        assert masks.double().mean() > (without == tok.mask_token_id).sum(1).double().mean()


def test_expected_span_count_matches_simulation(generator):
    # a direct simulation of "draw Poisson(3) lengths until they reach 10", counted one row at a time
    counts = []
    for _ in range(4000):
        total, k = 0, 0
        while total < 10:
            total += int(torch.poisson(torch.tensor(3.0), generator=generator))
            k += 1
        counts.append(k)
    assert abs(sum(counts) / len(counts) - expected_span_count(10, 3.0, True)) < 0.05


def test_sentence_permutation_keeps_sentences_whole_within_documents(tiny_data, tiny_setup, generator):
    blocks = longer_blocks(tiny_data)
    ids, docs, sents = blocks["input_ids"], blocks["document_ids"], blocks["sentence_ids"]
    eos = tiny_setup.tokenizer.eos_token_id
    order = sentence_permutation(ids, docs, sents, eos, generator)
    assert torch.equal(order.sort(1).values, torch.arange(ids.shape[1]).expand_as(order))  # a permutation
    assert torch.equal(docs.gather(1, order), docs)  # every document keeps its positions
    assert torch.equal(ids.gather(1, order) == eos, ids == eos)  # [EOS] stays at its document's end
    moved_sents = sents.gather(1, order)
    moved_positions = torch.arange(ids.shape[1]).expand_as(order).gather(1, order)
    words = ids.gather(1, order) != eos  # the last sentence's [EOS] stays behind, at the document's end
    for row in range(ids.shape[0]):
        for sentence in sents[row].unique().tolist():
            where = ((moved_sents[row] == sentence) & words[row]).nonzero().squeeze(1)
            if len(where) == 0:  # a block that starts with the previous document's [EOS]
                continue
            assert torch.equal(where, torch.arange(int(where[0]), int(where[0]) + len(where)))  # contiguous
            source = moved_positions[row][where]
            assert torch.equal(source, source.sort().values)  # and in its own order
    assert (~(moved_sents == sents).all(1)).float().mean() > 0.3  # sentences do move


def test_denoising_batch_rebuilds_the_block(tiny_data, tiny_setup, generator):
    blocks = longer_blocks(tiny_data)
    objective = make("denoising", tiny_setup)
    batch = objective.prepare(blocks, generator)
    original = blocks["input_ids"]
    tok = tiny_setup.tokenizer
    assert torch.equal(batch["labels"], original)
    assert torch.equal(batch["attention_mask"].bool(), batch["input_ids"] != tok.pad_token_id)
    stats = objective.statistics(blocks, batch)
    observed, declared = stats["mask_rate"]
    assert observed == declared and abs(declared - 0.3) < 0.01
    observed, declared = stats["mean_span_length"]
    assert abs(observed - declared) < 0.1 and 2.5 < declared < 3.0
    # without sentence permutation, every row's kept tokens are a subsequence of the original row
    plain = make("denoising", tiny_setup, permute_sentences=False).prepare(blocks, torch.Generator().manual_seed(0))
    for row, source in zip(plain["input_ids"], original):
        it = iter(source.tolist())
        assert all(token in it for token in row[(row != tok.mask_token_id) & (row != tok.pad_token_id)].tolist())


# --- deshuffling -------------------------------------------------------------------------------

def test_deshuffle_input_is_a_uniform_permutation_of_the_target(tiny_data, tiny_setup, generator):
    blocks = longer_blocks(tiny_data)
    original = blocks["input_ids"]
    batch = make("deshuffle", tiny_setup).prepare(blocks, generator)
    assert torch.equal(batch["labels"], original)
    assert torch.equal(batch["input_ids"].sort(1).values, original.sort(1).values)
    # a uniform shuffle keeps position t's token with probability count(token_t in row) / length
    counts = (original[:, :, None] == original[:, None, :]).sum(2).double()
    expected = float(counts.mean()) / original.shape[1]
    observed = float((batch["input_ids"] == original).double().mean())
    assert abs(observed - expected) < 0.3 * expected


# --- UL2 ---------------------------------------------------------------------------------------

def test_ul2_mode_frequencies_follow_the_mixture_weights(tiny_data, tiny_setup, generator):
    blocks = {k: v.repeat(8, 1) for k, v in longer_blocks(tiny_data).items()}  # ~800 rows
    weights = {"r_weight": 0.5, "s_weight": 0.2, "x_weight": 0.3}
    objective = make("ul2", tiny_setup, **weights)
    batch = objective.prepare(blocks, generator)
    mode_ids = tiny_setup.tokenizer.convert_tokens_to_ids(list(MODE_TOKENS))
    first = batch["input_ids"][:, 0]
    rows = first.shape[0]
    for mode_id, share in zip(mode_ids, weights.values()):
        observed = float((first == mode_id).double().mean())
        assert abs(observed - share) < 4 * math.sqrt(share * (1 - share) / rows), (mode_id, observed, share)
    assert torch.isin(first, torch.tensor(mode_ids)).all()
    assert not torch.isin(batch["input_ids"][:, 1:], torch.tensor(mode_ids)).any()  # one mode token, first


def test_ul2_modes_corrupt_as_declared(tiny_data, tiny_setup, generator):
    blocks = longer_blocks(tiny_data)
    objective = make("ul2", tiny_setup)
    batch = objective.prepare(blocks, generator)
    stats = objective.statistics(blocks, batch)
    for name in ("R", "X"):
        assert stats[f"{name}_reconstruction_errors"] == (0.0, 0.0)
        assert stats[f"{name}_sentinel_order_errors"] == (0.0, 0.0)
    assert stats["S_split_errors"] == (0.0, 0.0)
    assert stats["R_noise_density"][0] == pytest.approx(19 / 128)  # 15% of 128
    assert stats["X_noise_density"][0] == pytest.approx(0.5)
    assert stats["X_mean_noise_span_length"][0] == pytest.approx(8.0)
    # S rows: prefix after the mode token, the last quarter as target
    s_rows = batch["input_ids"][:, 0] == tiny_setup.tokenizer.convert_tokens_to_ids("[S]")
    assert s_rows.any()
    assert torch.equal(batch["labels"][s_rows][:, :32], blocks["input_ids"][s_rows][:, 96:])


def test_ul2_rejects_all_zero_weights():
    with pytest.raises(ValueError):
        UL2Params(r_weight=0, s_weight=0, x_weight=0)


# --- the model: config, FLOPs, finetuning ------------------------------------------------------

def test_encoder_decoder_matches_the_llama_preset(tiny_setup):
    entry, tok = tiny_setup.model, tiny_setup.tokenizer
    model = entry.build_lm(ModelKind.ENCODER_DECODER, "tiny", tok)
    c, preset = model.config, entry.preset("tiny")
    assert (c.d_model, c.d_ff, c.num_heads, c.d_kv * c.num_heads) == (
        preset["hidden_size"], preset["intermediate_size"], preset["num_attention_heads"], preset["hidden_size"])
    assert c.num_layers == c.num_decoder_layers == preset["num_hidden_layers"]
    assert c.is_gated_act and c.dense_act_fn == "silu" and c.dropout_rate == 0
    assert model.get_output_embeddings().weight is model.get_input_embeddings().weight
    assert c.decoder_start_token_id == c.pad_token_id == tok.pad_token_id and c.eos_token_id == tok.eos_token_id
    assert c.objbench_kind == "encoder_decoder" and c._attn_implementation == "sdpa"
    padding = torch.tensor([[1, 1, 0]])
    assert attention_mask(ModelKind.ENCODER_DECODER, padding) is padding


def test_cross_attention_projections_are_counted_per_encoder_position(tiny_setup):
    """Short targets over a long input: the case a per-decoder-token count of k, v gets wrong.

    Counting the cross-attention k, v projections per decoder token would be 9% short here;
    the formula leaves out only norms, softmax and the position bias (well under 1%).
    """
    model = tiny_setup.model.build_lm(ModelKind.ENCODER_DECODER, "tiny", tiny_setup.tokenizer)
    inputs = torch.randint(80, 300, (2, 120))
    targets = torch.randint(80, 300, (2, 6))
    with FlopCounterMode(display=False) as counter:
        logits = model(input_ids=inputs, decoder_input_ids=targets, use_cache=False).logits
        logits.sum().backward()
    formula = 3 * tiny_setup.model.encoder_decoder_flops(model, 2, 120, 6, logit_positions=12)
    assert abs(formula / counter.get_total_flops() - 1) < 0.02


def test_classification_finetunes_an_encoder_decoder_checkpoint(tiny_suite, tiny_data, tiny_setup, generator, tmp_path):
    objective = make("span_corruption", tiny_setup)
    torch.manual_seed(0)
    network = objective.build()
    batch = objective.prepare({k: v[:8] for k, v in tiny_data.blocks.to_dict().items()}, generator)
    objective.loss(network, batch).loss.backward()  # one pretraining step, so the checkpoint is not the init
    torch.optim.SGD(network.parameters(), lr=0.1).step()
    objective.backbone(network).save_pretrained(tmp_path / "checkpoint")
    task = registry.tasks.get("synthetic_topic")(tiny_suite.task_settings("synthetic_topic"))
    splits = task.load(tiny_suite.corpus)
    kind = objective.kind
    classification = registry.formats.get("classification")()
    model = classification.build(tiny_setup.model, tmp_path / "checkpoint", tiny_setup, splits["train"], kind)
    assert type(model).__name__ == "T5ForSequenceClassification"
    pretrained = network.encoder.block[0].layer[0].SelfAttention.q.weight
    assert torch.equal(model.transformer.encoder.block[0].layer[0].SelfAttention.q.weight, pretrained)
    device = torch.device("cpu")
    stats = classification.finetune(model, splits["train"], tiny_setup.tokenizer, tiny_suite.finetune, kind, 0, device,
                                    "fp32")
    assert stats["examples"] == len(splits["train"])
    assert not torch.equal(model.transformer.encoder.block[0].layer[0].SelfAttention.q.weight, pretrained)
    metrics, _ = classification.evaluate(model, splits["test"], tiny_setup.tokenizer, tiny_suite.finetune, kind,
                                         device, "fp32")
    assert -math.inf < metrics.pop(classification.companion_metric.name) <= 0  # the gold label's log-probability
    assert all(math.isfinite(v) and 0 <= v <= 1 for v in metrics.values())
    control = classification.build(tiny_setup.model, None, tiny_setup, splits["train"], kind)
    assert type(control).__name__ == "T5ForSequenceClassification"
