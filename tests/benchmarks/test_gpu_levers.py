"""The GPU speed levers, each with and without (pytest-benchmark): fused AdamW, torch.compile and
SDPA attention (flash attention where the GPU and dtype allow it) against the eager attention.

The harness switches on what pays off: fused AdamW on CUDA, SDPA everywhere, torch.compile as the
suite option ``pretrain.compile``. Quick mode (the normal test run): each row runs once on the tiny
preset and checks that the lever computes what it replaces (the same update, the same loss).
Timed (``make bench``, and ``make gpu-check`` on a GPU): the base preset on CUDA (the small one on a
CPU), and the on/off ratios are printed after the benchmark table. torch.compile is not run on a
CPU: compiling takes minutes there, and it is a GPU lever.
"""

from __future__ import annotations

import pytest
import torch

from benchmark.measure import autocast, resolve_precision

from tests.benchmarks.timing import Times, timed
from tests.helpers import make

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
PRECISION = resolve_precision("auto", DEVICE)


def _shapes(config) -> tuple[str, int, int]:
    if not timed(config):
        return "tiny", 8, 32
    return ("base", 16, 512) if DEVICE.type == "cuda" else ("small", 16, 128)


def _clm(setup, size: str, rows: int, seq: int):
    objective = make("clm", type(setup)(setup.tokenizer, setup.model, size))
    blocks = {"input_ids": torch.randint(setup.first_regular_id, len(setup.tokenizer), (rows, seq),
                                         generator=torch.Generator().manual_seed(0))}
    batch = {k: v.to(DEVICE) for k, v in objective.prepare(blocks, torch.Generator().manual_seed(0)).items()}
    return objective, batch


def _network(objective):
    torch.manual_seed(0)
    return objective.build().to(DEVICE).train()


def _same_loss(objective, batch, network, reference) -> None:
    with torch.no_grad(), autocast(DEVICE, PRECISION):
        ours, theirs = objective.loss(network, batch).loss.item(), objective.loss(reference, batch).loss.item()
    tolerance = 2e-2 if PRECISION == "bf16" else 1e-4
    assert abs(ours - theirs) <= tolerance * abs(theirs), f"loss {ours} against {theirs} without the lever"


def _record(benchmark, timings, lever: str, on: bool, **info) -> None:
    if benchmark.enabled:
        timings.levers[lever, "on" if on else "off"] = Times.of(benchmark)
        benchmark.extra_info.update(device=DEVICE.type, precision=PRECISION, **info)


@pytest.mark.parametrize("fused", [False, True], ids=["foreach", "fused"])
def test_adamw_step(benchmark, request, timings, tiny_setup, fused):
    size, rows, seq = _shapes(request.config)
    objective, batch = _clm(tiny_setup, size, rows, seq)
    networks = [_network(objective), _network(objective)]
    for network in networks:  # the same gradients in both copies
        with autocast(DEVICE, PRECISION):
            objective.loss(network, batch).loss.backward()
    reference = torch.optim.AdamW(networks[0].parameters(), lr=1e-3, foreach=False)  # one tensor at a time
    kernel = {"fused": True} if fused else {"foreach": True}
    optimizer = torch.optim.AdamW(networks[1].parameters(), lr=1e-3, **kernel)
    reference.step()
    optimizer.step()
    for (name, a), b in zip(networks[0].named_parameters(), networks[1].parameters()):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6, msg=f"{name}: {'fused' if fused else 'foreach'} "
                                                                  f"AdamW's update is not the plain loop's")
    benchmark.pedantic(optimizer.step, rounds=20, warmup_rounds=3, iterations=1)
    _record(benchmark, timings, "AdamW", fused, size=size)


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_attention_step(benchmark, request, timings, tiny_setup, attention):
    size, rows, seq = _shapes(request.config)
    objective, batch = _clm(tiny_setup, size, rows, seq)
    network = _network(objective)
    network.set_attn_implementation(attention)
    if attention != "eager":  # the same loss as eager attention, from another kernel
        eager = _network(objective)
        eager.set_attn_implementation("eager")
        _same_loss(objective, batch, network, eager)

    def step():
        with autocast(DEVICE, PRECISION):
            loss = objective.loss(network, batch).loss
        loss.backward()
        network.zero_grad(set_to_none=True)
        return loss.detach()

    loss = benchmark.pedantic(step, rounds=10, warmup_rounds=2, iterations=1)
    assert torch.isfinite(loss)
    _record(benchmark, timings, "SDPA", attention == "sdpa", size=size, batch=rows, seq=seq)


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_compiled_step(benchmark, request, timings, tiny_setup, compiled):
    if compiled and DEVICE.type != "cuda":
        pytest.skip("torch.compile is measured on a GPU: compiling takes minutes on a small CPU")
    size, rows, seq = _shapes(request.config)
    objective, batch = _clm(tiny_setup, size, rows, seq)
    network = _network(objective)
    if compiled:
        plain = _network(objective)
        network.compile()  # as the harness does for pretrain.compile: in place, the weights keep their names
        _same_loss(objective, batch, network, plain)
        assert list(network.state_dict()) == list(plain.state_dict())  # a compiled network saves as a plain one

    def step():
        with autocast(DEVICE, PRECISION):
            loss = objective.loss(network, batch).loss
        loss.backward()
        network.zero_grad(set_to_none=True)
        return loss.detach()

    loss = benchmark.pedantic(step, rounds=10, warmup_rounds=3, iterations=1)  # warm-up rounds compile
    assert torch.isfinite(loss)
    _record(benchmark, timings, "compile", compiled, size=size, batch=rows, seq=seq)
