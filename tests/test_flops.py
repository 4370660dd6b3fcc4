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
from tests.helpers import PRETRAINING, first_blocks, longer_blocks, make, tiny_raw


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
    probe = make_plan(flops_suite(tmp_path / "probe", objectives, budget=1e13), tiny_data)
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


# The planner costs a step on one batch (the first blocks, corruption seeded 0); real batches
# vary (masked counts, span layouts, sentence lengths): up to 4% per step on the tiny data (UL2),
# so a run may fall short of its budget by that share of its steps. 5% is that, with a margin.
ESTIMATE_SLACK = 0.05


@pytest.mark.slow
def test_each_run_records_the_flops_budget_to_within_one_step(tmp_path, tiny_data):
    """What a run spends, as its record says, is the budget: at most one step over (the last step
    is whole), and short only by how much real batches differ from the planner's one batch.

    ELECTRA with a generator as wide as its discriminator makes the generator half the step: a
    record that left it out would fall far short of the budget.
    """
    from benchmark.harness import run_suite
    from benchmark.results import to_dataframe

    objectives = ["clm", "mlm", "electra_wide", "ul2"]
    raw = tiny_raw(tmp_path, objectives=["none", *objectives],
                   variants={"electra_wide": {"objective": "electra", "generator_fraction": 1.0}})
    probe = make_plan(validate_suite({**raw, "pretrain": {**raw["pretrain"], "budget_unit": "flops", "budget": 1e13}}),
                      tiny_data)
    budget = 4 * max(job.flops_per_step for job in probe.jobs)  # a few steps of the costliest objective
    suite = validate_suite({**raw, "pretrain": {**raw["pretrain"], "budget_unit": "flops", "budget": budget}})
    plan = {job.objective: job for job in make_plan(suite, tiny_data).jobs}
    run_suite(suite, progress=False)
    records = to_dataframe(suite.results_dir, suite.name).set_index("objective")
    assert sorted(records.index) == sorted(["none", *objectives])
    assert records.loc["none", "pretrain.flops"] == 0 and records.loc["none", "pretrain.steps"] == 0
    for objective in objectives:
        job, record = plan[objective], records.loc[objective]
        recorded, steps = record["pretrain.flops"], record["pretrain.steps"]
        assert steps == job.steps == math.ceil(budget / job.flops_per_step), objective
        slack = ESTIMATE_SLACK * steps * job.flops_per_step
        assert budget - slack <= recorded < budget + job.flops_per_step + slack, (
            f"{objective}: recorded {recorded:.4g} FLOPs in {steps} steps for a budget of {budget:.4g} "
            f"(one step is about {job.flops_per_step:.3g})")
        assert record["pretrain.flops_per_token"] == pytest.approx(recorded / record["pretrain.tokens"])
    assert len({records.loc[o, "pretrain.steps"] for o in objectives}) > 1  # matched compute, not matched steps


def test_token_budget_gives_every_objective_the_same_steps(tmp_path, tiny_data):
    plan = make_plan(flops_suite(tmp_path, ["clm", "mlm", "electra"], budget=8 * 32 * 10, unit="tokens"), tiny_data)
    assert {job.steps for job in plan.jobs} == {10}
