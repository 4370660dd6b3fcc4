"""Speed of one pretraining step in fp32 and under bf16 autocast (pytest-benchmark).

Run with ``python -m pytest tests/benchmarks --benchmark-only --benchmark-enable``; compare the
two rows of one run as a ratio (absolute times drift on shared machines).
"""

import pytest
import torch

from benchmark import registry
from benchmark.measure import autocast, bf16_supported


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("size", ["tiny", "small"])
def test_pretraining_step(benchmark, tiny_data, tiny_setup, size, precision):
    device = torch.device("cpu")
    if precision == "bf16" and not bf16_supported(device):
        pytest.skip("this CPU has no native bf16")
    setup = type(tiny_setup)(tiny_setup.tokenizer, tiny_setup.model, size)
    objective = registry.objectives.get("clm")(registry.objectives.get("clm").Params(), setup)
    torch.manual_seed(0)
    network = objective.build().train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-4)
    blocks = {"input_ids": torch.randint(setup.first_regular_id, len(setup.tokenizer), (32, 128))}
    batch = objective.prepare(blocks, torch.Generator().manual_seed(0))

    def step():
        with autocast(device, precision):
            loss = objective.loss(network, batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    loss = benchmark.pedantic(step, rounds=5, warmup_rounds=2, iterations=1)
    assert torch.isfinite(loss)
