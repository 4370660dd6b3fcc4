"""Speed of one pretraining step in fp32 and under bf16 autocast (pytest-benchmark).

Quick mode (the normal test run): one step of each on 8 x 32 tokens, checking that it gives a
finite loss, moves the weights and really ran its matrix multiplications in the precision asked
for (a bf16 row that silently ran fp32 would time the wrong thing). Timed mode (``make bench``):
32 x 128 tokens; compare the two rows of one run as a ratio (absolute times drift on shared
machines), which is printed after the benchmark table. bf16 is skipped, saying why, on a CPU
without native bf16. tests/test_precision.py checks both paths for correctness.
"""

import pytest
import torch

from benchmark.measure import autocast, bf16_supported, resolve_precision

from tests.benchmarks.timing import Times, timed
from tests.helpers import make

CPU = torch.device("cpu")
DTYPE = {"fp32": torch.float32, "bf16": torch.bfloat16}


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("size", ["tiny", "small"])
def test_pretraining_step(benchmark, request, timings, tiny_setup, size, precision):
    if precision == "bf16" and not bf16_supported(CPU):
        pytest.skip("bf16 not benchmarked: this CPU has neither AVX512-BF16 nor AMX (no native bf16)")
    precision = resolve_precision(precision, CPU)
    rows, seq = (32, 128) if timed(request.config) else (8, 32)
    setup = type(tiny_setup)(tiny_setup.tokenizer, tiny_setup.model, size)
    objective = make("clm", setup)
    torch.manual_seed(0)
    network = objective.build().train()
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-4)
    blocks = {"input_ids": torch.randint(setup.first_regular_id, len(setup.tokenizer), (rows, seq),
                                         generator=torch.Generator().manual_seed(0))}
    batch = objective.prepare(blocks, torch.Generator().manual_seed(0))
    before = {k: p.detach().clone() for k, p in network.named_parameters()}
    head = network.get_output_embeddings()
    seen: set[torch.dtype] = set()
    hook = head.register_forward_hook(lambda module, inputs, output: seen.add(output.dtype))

    def step():
        with autocast(CPU, precision):
            loss = objective.loss(network, batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    loss = benchmark.pedantic(step, rounds=5, warmup_rounds=2, iterations=1)
    hook.remove()
    assert torch.isfinite(loss) and loss.item() > 0
    assert seen == {DTYPE[precision]}, f"{precision} asked for, the output projection ran in {seen}"
    unmoved = [k for k, p in network.named_parameters() if torch.equal(p.detach(), before[k])]
    assert not unmoved, f"weights the step did not move: {unmoved[:5]}"
    if benchmark.enabled:
        timings.precision[size, precision] = Times.of(benchmark)
        benchmark.extra_info.update(precision=precision, batch=rows, seq=seq)
