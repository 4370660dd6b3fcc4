"""Each objective's batch preparation against one training step (pytest-benchmark).

``prepare`` runs on the CPU inside the training loop, so its cost is paid every step; the goal
is that it stays under 5% of a step.

* Quick mode (the normal test run): each benchmark runs once on the tiny shapes and checks what
  it computed: the prepared batch's keys, shapes and label values, and that one step on it gives a
  finite loss and moves every weight. No time is asserted.
* Timed mode (``make bench``): the small preset at the suite defaults, on the device and precision
  the harness would pick. ``test_prepare[name]`` runs before ``test_training_step[name]`` (pytest
  keeps the file's order), and the step test fails when the median of the prepare benchmark is
  5% of the median step or more. The ratios are printed after the benchmark table.
"""

from __future__ import annotations

import pytest
import torch

from benchmark.config import validate_suite
from benchmark.measure import resolve_device, resolve_precision, synchronize
from benchmark.models.kinds import ModelKind
from benchmark.objectives.base import IGNORE
from benchmark.plan import make_plan
from benchmark.pretraining import Pretraining

from tests.benchmarks.timing import Times
from tests.helpers import PRETRAINING, make

PREPARE_BUDGET = 0.05  # of a training step's median time


def check_prepared(objective, setup, blocks: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> None:
    """What the training step relies on in a prepared batch, for any objective."""
    rows, seq = blocks["input_ids"].shape
    vocab = len(setup.tokenizer)
    assert {"input_ids", "labels"} <= set(batch), sorted(batch)
    for key, value in batch.items():
        assert isinstance(value, torch.Tensor) and value.shape[0] == rows, (key, getattr(value, "shape", None))
    inputs, labels = batch["input_ids"], batch["labels"]
    assert inputs.dtype == labels.dtype == torch.long and inputs.dim() == labels.dim() == 2
    assert ((inputs >= 0) & (inputs < vocab)).all(), "input ids outside the vocabulary"
    assert ((labels == IGNORE) | ((labels >= 0) & (labels < vocab))).all(), "labels neither ids nor IGNORE"
    assert (labels != IGNORE).any(), "no position carries loss"
    if objective.kind is ModelKind.ENCODER_DECODER:
        assert batch["attention_mask"].shape == inputs.shape
        assert batch["decoder_input_ids"].shape == labels.shape
        # teacher forcing: the decoder reads the targets shifted right behind [PAD], its start token
        pad = setup.tokenizer.pad_token_id
        targets = torch.where(labels == IGNORE, pad, labels)
        assert (batch["decoder_input_ids"][:, 0] == pad).all()
        assert torch.equal(batch["decoder_input_ids"][:, 1:], targets[:, :-1])
    else:  # one stack reads the block and predicts at its positions
        assert inputs.shape == labels.shape == (rows, seq)


@pytest.mark.parametrize("name", PRETRAINING)
def test_prepare(benchmark, workload, timings, name):
    objective = make(name, workload.setup)
    original = {key: value.clone() for key, value in workload.blocks.items()}
    batch = benchmark(objective.prepare, workload.blocks, torch.Generator().manual_seed(0))
    check_prepared(objective, workload.setup, workload.blocks, batch)
    assert all(torch.equal(workload.blocks[k], original[k]) for k in original), "prepare changed its input blocks"
    if benchmark.enabled:
        timings.prepare[name] = Times.of(benchmark)


@pytest.mark.parametrize("name", PRETRAINING)
def test_training_step(benchmark, workload, timings, name):
    """The harness's own step (``Pretraining.step``): loss under autocast, backward, clip, optimizer, FLOPs count,
    on the device and precision the harness would pick, on the batch ``test_prepare`` prepares."""
    device = resolve_device("auto")
    precision = resolve_precision("auto", device)
    suite = validate_suite({**workload.raw, "objectives": [name]})
    [job] = make_plan(suite, workload.data).jobs
    recipe = Pretraining(suite, job, workload.data, device, precision)
    recipe.setup()
    batch = recipe.objective.prepare(workload.blocks, torch.Generator().manual_seed(0))
    prepared = {k: v.to(device) for k, v in batch.items()}
    before = {k: p.detach().clone() for k, p in recipe.network.named_parameters() if p.requires_grad}

    def step():
        loss = recipe.step(prepared)
        synchronize(device)
        return loss

    loss = benchmark.pedantic(step, rounds=3, warmup_rounds=1, iterations=1)
    assert torch.isfinite(loss) and loss.item() > 0
    assert recipe.progress["loss_bearing_tokens"] > 0 and recipe.progress["flops"] > 0
    after = dict(recipe.network.named_parameters())
    unmoved = [k for k, old in before.items() if torch.equal(after[k].detach().to(old.device), old)]
    assert not unmoved, f"weights the step did not move: {unmoved[:5]}"
    assert all(torch.isfinite(p).all() for p in after.values())

    if not benchmark.enabled:
        return  # quick mode: nothing was timed, so the 5% goal is left to `make bench`
    timings.step[name] = step_times = Times.of(benchmark)
    timings.where = f"{workload.describe}, {device.type}, {precision}"
    benchmark.extra_info.update(device=device.type, precision=precision)
    prepare = timings.prepare.get(name)
    if prepare is None:
        pytest.skip(f"5% goal not checked for {name}: test_prepare[{name}] was not timed in this pytest run")
    ratio = prepare.median / step_times.median
    timings.step_ratios[name] = ratio
    benchmark.extra_info.update(prepare_over_step=ratio, prepare_over_step_min=prepare.min / step_times.min)
    assert ratio < PREPARE_BUDGET, (
        f"{name}: preparing a batch takes {ratio:.1%} of a training step (median {prepare.median * 1e3:.2f} ms "
        f"against {step_times.median * 1e3:.1f} ms on {timings.where}); the goal is under {PREPARE_BUDGET:.0%}")
