"""FLOPs: each objective's formula against a count of the real matmuls, and budgets turned into steps.

A FLOPs-matched comparison (ELECTRA's rule, T5's encoder-decoder vs decoder matching) is only
as fair as these counts: an objective whose FLOPs are undercounted gets extra steps.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import PreTrainedModel

from benchmark.config import validate_suite
from benchmark.plan import budget_steps, make_plan

from conftest import tiny_raw
from test_objective_contract import PRETRAINING, first_blocks, longer_blocks, make


def counted_training_flops(objective, network, batch) -> int:
    """FLOPs of one forward + backward of ``objective.loss``, counted op by op by PyTorch.

    Attention runs eagerly here: the CPU kernel of scaled_dot_product_attention has no entry
    in FlopCounterMode's table, so its scores and values would go uncounted, whereas the eager
    path's batched matmuls are counted. The arithmetic is the same.
    """
    for module in network.modules():
        if isinstance(module, PreTrainedModel):
            module.set_attn_implementation("eager")
    with FlopCounterMode(display=False) as counter:
        objective.loss(network, batch).loss.backward()
    return counter.get_total_flops()


# Every objective with its defaults, and settings whose FLOPs take another path through a formula.
VARIANTS = [(name, {}) for name in PRETRAINING] + [
    # a generator as wide as the discriminator costs half the step: leaving it out cannot hide in 10%
    ("electra", {"generator_fraction": 1.0}),
    ("electra", {"generator_fraction": 0.5, "share_embeddings": False}),
]


@pytest.mark.parametrize("seq", [32, 128])
@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=[
    name + "".join(f"-{k}={v}" for k, v in params.items()) for name, params in VARIANTS])
def test_flops_formula_matches_a_count_of_the_matmuls(name, params, seq, tiny_data, tiny_setup, generator):
    objective = make(name, tiny_setup, **params)
    blocks = first_blocks(tiny_data, 8) if seq == tiny_data.blocks.seq_len else longer_blocks(tiny_data, 4, seq)
    batch = objective.prepare(blocks, generator)
    torch.manual_seed(0)
    network = objective.build().train()
    counted = counted_training_flops(objective, network, batch)
    formula = objective.flops(network, batch)
    assert counted > 0
    assert formula == pytest.approx(counted, rel=0.10), f"formula {formula:.4g} vs counted {counted:.4g}"


def flops_suite(tmp_path, objectives, budget, unit="flops"):
    return validate_suite(tiny_raw(tmp_path, objectives=objectives,
                                   pretrain={"budget_unit": unit, "budget": budget, "seq_len": 32, "batch_size": 8}))


def test_budget_steps_rounds_a_flops_budget_up_to_whole_steps(tmp_path):
    suite = flops_suite(tmp_path, ["clm"], budget=1e12)
    assert budget_steps(suite, 1e9) == 1000
    assert budget_steps(suite, 3e9) == 334  # the last, partial step is taken: at least the budget is spent
    assert budget_steps(suite, 2e12) == 1  # a budget below one step still trains one step


def test_flops_budget_gives_cheaper_steps_more_of_them(tmp_path, tiny_data):
    """ELECTRA's rule: equal training FLOPs, generator included, so steps differ between objectives."""
    objectives = ["clm", "mlm", "electra"]
    probe = make_plan(flops_suite(tmp_path / "probe", objectives, budget=1.0), tiny_data)
    per_step = {job.objective: job.flops_per_step for job in probe.jobs}
    # MLM computes logits at 15% of positions, CLM at all; ELECTRA adds a generator to an MLM-sized encoder
    assert per_step["mlm"] < per_step["clm"] and per_step["mlm"] < per_step["electra"]

    budget = 1000 * per_step["clm"]
    plan = make_plan(flops_suite(tmp_path / "matched", objectives, budget=budget), tiny_data)
    steps = {job.objective: job.steps for job in plan.jobs}
    assert steps["mlm"] > steps["clm"] and steps["mlm"] > steps["electra"]
    for a in objectives:
        for b in objectives:
            if per_step[a] < per_step[b]:
                assert steps[a] >= steps[b]
    for job in plan.jobs:
        assert job.steps == math.ceil(budget / job.flops_per_step)
        assert budget <= job.flops < budget + job.flops_per_step  # every objective spends the budget, to one step


def test_token_budget_gives_every_objective_the_same_steps(tmp_path, tiny_data):
    plan = make_plan(flops_suite(tmp_path, ["clm", "mlm", "electra"], budget=8 * 32 * 10, unit="tokens"), tiny_data)
    assert {job.steps for job in plan.jobs} == {10}
