"""Speed of each objective's batch preparation against one training step (pytest-benchmark).

Both run on the ``small`` preset's shapes (32 blocks of 128 tokens, the suite defaults) on the
device and precision the harness would pick. ``prepare`` runs on the CPU inside the training
loop, so its cost is paid every step: the step benchmark records ``prepare / step`` in its
``extra_info`` (and prints it with ``-s``); it should stay under 5%.

Run with ``python -m pytest tests/benchmarks --benchmark-only --benchmark-enable -s``.
"""

from __future__ import annotations

import pytest
import torch

from benchmark import registry
from benchmark.config import validate_suite
from benchmark.data import corpus
from benchmark.measure import autocast, resolve_device, resolve_precision, synchronize
from benchmark.objectives.base import Setup

from conftest import tiny_raw

PRETRAINING = [name for name in registry.objectives.names() if registry.objectives.get(name).pretrains]
BATCH, SEQ = 32, 128  # the suite defaults, which the small preset is sized for
PREPARE_TIMES: dict[str, tuple[float, float]] = {}  # (min, median) seconds, from the prepare benchmarks


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small preset with the default tokenizer size, and one batch of packed blocks."""
    raw = tiny_raw(tmp_path_factory.mktemp("small"), size="small", corpus={"documents": 400},
                   tokenizer={"vocab_size": 2048}, pretrain={"seq_len": SEQ, "batch_size": BATCH})
    data = corpus.prepare(validate_suite(raw))
    blocks = data.blocks.select(torch.arange(BATCH)).to_dict()
    return Setup(data.tokenizer, registry.models.get("llama"), "small"), blocks


def make(name: str, setup: Setup):
    entry = registry.objectives.get(name)
    return entry(entry.Params(), setup)


def min_and_median(benchmark) -> tuple[float, float] | None:
    stats = getattr(benchmark, "stats", None)  # None when benchmarks are disabled
    return None if stats is None else (stats.stats.min, stats.stats.median)


@pytest.mark.parametrize("name", PRETRAINING)
def test_prepare(benchmark, small, name):
    setup, blocks = small
    objective = make(name, setup)
    generator = torch.Generator().manual_seed(0)
    benchmark(objective.prepare, blocks, generator)
    if (times := min_and_median(benchmark)) is not None:
        PREPARE_TIMES[name] = times


@pytest.mark.parametrize("name", PRETRAINING)
def test_training_step(benchmark, small, name):
    """One step as the harness takes it: to device, loss, backward, clip, optimizer, FLOPs count."""
    setup, blocks = small
    device = resolve_device("auto")
    precision = resolve_precision("auto", device)
    objective = make(name, setup)
    torch.manual_seed(0)
    network = objective.build().to(device).train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-4)
    prepared = objective.prepare(blocks, torch.Generator().manual_seed(0))

    def step():
        batch = {k: v.to(device, non_blocking=True) for k, v in prepared.items()}
        with autocast(device, precision):
            out = objective.loss(network, batch)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        objective.flops(network, batch)
        synchronize(device)

    benchmark.pedantic(step, rounds=3, warmup_rounds=1, iterations=1)
    step = min_and_median(benchmark)
    benchmark.extra_info.update(device=device.type, precision=precision)
    if step is not None and name in PREPARE_TIMES:
        prepare = PREPARE_TIMES[name]
        # medians are the headline; the min/min ratio is the one least disturbed by a busy machine
        benchmark.extra_info["prepare_over_step"] = prepare[1] / step[1]
        benchmark.extra_info["prepare_over_step_min"] = prepare[0] / step[0]
        print(f"\n{name} ({device.type}, {precision}): median prepare {prepare[1] * 1e3:.2f} ms / step "
              f"{step[1] * 1e3:.0f} ms = {prepare[1] / step[1]:.2%}; min {prepare[0] * 1e3:.2f} ms / "
              f"{step[0] * 1e3:.0f} ms = {prepare[0] / step[0]:.2%}")
