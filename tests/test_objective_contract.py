"""The contract every pretraining objective keeps, generated from the registry.

An objective is tested here the moment it registers: batch shapes and label conventions, a
loss that is finite and falls, statistics that match what the objective declares, batch
preparation that is reproducible under its generator, positive FLOPs that do not depend on
where the network lives, and a backbone that survives ``save_pretrained``/``from_pretrained``.
"""

from __future__ import annotations

import math

import pytest
import torch
from transformers import PreTrainedModel

from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import IGNORE
from tests.helpers import PRETRAINING, first_blocks, longer_blocks, make

STATISTICS_ROWS, STATISTICS_SEQ, STATISTICS_BATCHES = 64, 128, 16


def same_batch(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", PRETRAINING)
def test_batch_has_the_declared_layout(name, tiny_data, tiny_setup, generator):
    objective = make(name, tiny_setup)
    blocks = first_blocks(tiny_data, 8)
    batch = objective.prepare(blocks, generator)
    vocab = len(tiny_setup.tokenizer)
    input_ids, labels = batch["input_ids"], batch["labels"]
    assert input_ids.dtype == labels.dtype == torch.long
    assert input_ids.dim() == labels.dim() == 2 and input_ids.shape[0] == labels.shape[0] == 8
    if objective.kind is not ModelKind.ENCODER_DECODER:
        # one label per input position; only an encoder-decoder's targets have their own length
        assert labels.shape == input_ids.shape
        assert (labels == IGNORE).any(), "positions without a loss must be labelled IGNORE"
    assert ((input_ids >= 0) & (input_ids < vocab)).all()
    scored = labels != IGNORE
    assert scored.any()
    assert ((labels[scored] >= 0) & (labels[scored] < vocab)).all(), "a label is neither IGNORE nor a token id"
    for key, value in batch.items():
        assert value.shape[0] == 8, f"{key} is not batched along its first dimension"


@pytest.mark.parametrize("name", PRETRAINING)
def test_loss_is_finite_and_falls_on_a_repeated_batch(name, tiny_data, tiny_setup, generator):
    objective = make(name, tiny_setup)
    batch = objective.prepare(first_blocks(tiny_data, 8), generator)
    torch.manual_seed(0)
    network = objective.build().train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3)
    losses = []
    for step in range(8):
        out = objective.loss(network, batch)
        assert torch.isfinite(out.loss) and out.loss.dim() == 0
        assert out.loss_bearing_tokens > 0
        out.loss.backward()
        if step == 0:
            untrained = [n for n, p in network.named_parameters() if p.requires_grad and p.grad is None]
            assert not untrained, f"parameters outside the loss's graph: {untrained[:5]}"
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(out.loss.item())
    assert losses[-1] < 0.9 * losses[0], losses


@pytest.mark.parametrize("name", PRETRAINING)
def test_statistics_match_what_the_objective_declares(name, tiny_data, tiny_setup):
    """Each observed statistic, averaged over independent batches of 64 x 128 tokens, is its declared value.

    The band is five standard errors of that average, estimated from the batches themselves,
    so a per-row rate (a swap rate over 64 rows) gets a wider band than a per-token one (a
    mask rate over 8k tokens); 0.005 more absorbs the small known biases (a random replacement
    can draw the original token). A count declared 0 must be 0 in every batch.
    """
    objective = make(name, tiny_setup)
    blocks = longer_blocks(tiny_data, STATISTICS_ROWS, STATISTICS_SEQ)
    observed: dict[str, list[float]] = {}
    declared: dict[str, float] = {}
    for seed in range(STATISTICS_BATCHES):
        batch = objective.prepare(blocks, torch.Generator().manual_seed(seed))
        for key, (value, promise) in objective.statistics(blocks, batch).items():
            observed.setdefault(key, []).append(value)
            declared[key] = promise
    assert declared, "a pretraining objective must declare at least one statistic"
    for key, values in observed.items():
        if declared[key] == 0:  # an error count: one error is a bug, however noisy the rest
            assert all(v == 0 for v in values), f"{key}: observed {values}, declared 0"
            continue
        values_t = torch.tensor(values, dtype=torch.float64)
        mean = float(values_t.mean())
        standard_error = float(values_t.std()) / math.sqrt(len(values))
        band = 5 * standard_error + 0.005
        assert abs(mean - declared[key]) <= band, \
            f"{key}: observed {mean:.4f}, declared {declared[key]:.4f} (+-{band:.4f})"


@pytest.mark.parametrize("name", PRETRAINING)
def test_prepare_is_reproducible_under_its_generator(name, tiny_data, tiny_setup):
    objective = make(name, tiny_setup)
    blocks = first_blocks(tiny_data, 8)
    untouched = {k: v.clone() for k, v in blocks.items()}
    generator = torch.Generator().manual_seed(7)
    first = objective.prepare(blocks, generator)
    drew = not torch.equal(generator.get_state(), torch.Generator().manual_seed(7).get_state())
    assert same_batch(blocks, untouched), "prepare changed the blocks it was given"
    assert same_batch(first, objective.prepare(blocks, torch.Generator().manual_seed(7)))
    if drew:  # an objective that draws random numbers must corrupt differently under another seed
        assert not same_batch(first, objective.prepare(blocks, torch.Generator().manual_seed(8)))


@pytest.mark.parametrize("name", PRETRAINING)
def test_flops_are_positive_and_need_no_weights(name, tiny_data, tiny_setup, generator):
    objective = make(name, tiny_setup)
    batch = objective.prepare(first_blocks(tiny_data, 8), generator)
    torch.manual_seed(0)
    flops = objective.flops(objective.build(), batch)
    assert math.isfinite(flops) and flops > 0
    with torch.device("meta"):  # the planner costs a step on a network without weights
        weightless = objective.build()
    assert objective.flops(weightless, batch) == flops


@pytest.mark.parametrize("name", PRETRAINING)
def test_backbone_round_trips_through_save_pretrained(name, tiny_setup, tmp_path):
    objective = make(name, tiny_setup)
    torch.manual_seed(0)
    backbone = objective.backbone(objective.build())
    assert isinstance(backbone, PreTrainedModel)
    backbone.save_pretrained(tmp_path)
    loaded = type(backbone).from_pretrained(tmp_path)
    saved, restored = backbone.state_dict(), loaded.state_dict()
    assert saved.keys() == restored.keys()
    assert all(torch.equal(saved[k], restored[k]) for k in saved)
