"""The compute ladder: each rung is the checkpoint a run of that budget would have made, the main
run is untouched by its branches, and every branch's FLOPs are counted."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from benchmark.config import validate_suite
from benchmark.inputs import prepared_data
from benchmark.pretraining import pretrain, wsd_factor
from benchmark.plan import make_plan, wsd_steps
from tests.helpers import tiny_raw

CPU = torch.device("cpu")


def _suite(root, budget: int, ladder: list[float] | None, objective: str = "clm"):
    raw = tiny_raw(root, objectives=[objective])
    raw["pretrain"] = {**raw["pretrain"], "budget": budget, "ladder": ladder, "warmup_steps": 2,
                       "resume_every_steps": 0}
    return validate_suite(raw)


def _pretrained(suite):
    data = prepared_data(suite)
    [job] = make_plan(suite, data).jobs
    stats = pretrain(job, suite, data, CPU, "fp32", progress=False)
    return job, stats


def _weights(folder) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("objective", ["clm", "mlm"])
def test_a_rung_is_the_run_its_budget_would_have_made_and_the_main_run_never_notices(tmp_path, objective):
    ladder, _ = _pretrained(_suite(tmp_path / "ladder", 40, [0.5, 1.0], objective))
    half, _ = _pretrained(_suite(tmp_path / "half", 20, [1.0], objective))  # a WSD run of half the budget
    whole, _ = _pretrained(_suite(tmp_path / "whole", 40, [1.0], objective))  # the full run, never branched
    [rung] = ladder.rungs
    assert (rung.steps, rung.branch_at, rung.decay_steps) == (20, 17, 3)
    assert _same(_weights(rung.checkpoint), _weights(half.checkpoint))  # decayed at step 17: the same weights
    assert _same(_weights(ladder.checkpoint), _weights(whole.checkpoint))  # the branch left no trace
    assert not _same(_weights(rung.checkpoint), _weights(ladder.checkpoint))


def test_every_branch_is_counted_in_its_rung_and_in_the_run(tmp_path):
    job, stats = _pretrained(_suite(tmp_path, 40, [0.25, 0.5, 1.0]))
    per_step = stats["flops"] / stats["steps"]  # CLM: the same FLOPs every step
    assert [r.decay_steps for r in job.rungs] == [2, 3]
    assert stats["flops"] == pytest.approx(40 * per_step)  # the checkpoint's own cost: the budget
    assert stats["ladder_flops"] == pytest.approx((2 + 3) * per_step)  # the branches, beside it
    import json

    for rung in job.rungs:
        own = json.loads((rung.checkpoint / "pretrain.json").read_text())
        assert own["steps"] == rung.steps and own["flops"] == pytest.approx(rung.steps * per_step)
        assert own["rung"] == rung.fraction and own["branched_at"] == rung.branch_at


def test_the_schedule_warms_up_holds_then_decays_linearly():
    stable_end, decay = wsd_steps(40, 0.15)
    assert (stable_end, decay) == (34, 6)
    factors = [wsd_factor(step, 2, stable_end, 40) for step in range(40)]
    assert factors[:3] == [0.0, 0.5, 1.0] and set(factors[2:34]) == {1.0}
    assert factors[34:] == pytest.approx([6 / 6, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6])


def test_plan_refuses_a_rung_too_small_to_decay_and_a_clock_budget(tmp_path):
    from benchmark.errors import ObjbenchError

    with pytest.raises(ObjbenchError, match="too few to branch"):
        make_plan(_suite(tmp_path, 4, [0.25, 1.0]), prepared_data(_suite(tmp_path, 4, [0.25, 1.0])))
    raw = tiny_raw(tmp_path)
    raw["pretrain"] = {**raw["pretrain"], "budget_unit": "seconds", "budget": 5, "ladder": [0.5, 1.0]}
    with pytest.raises(Exception, match="needs a budget in steps"):
        validate_suite(raw)
    raw["pretrain"] = {**raw["pretrain"], "budget_unit": "steps", "budget": 40, "ladder": [0.5, 1.0],
                       "ladder_tasks": ["synthetic_topik"]}
    with pytest.raises(Exception, match="unknown task 'synthetic_topik'"):
        validate_suite(raw)
    raw["pretrain"]["ladder_tasks"] = None
    for ladder in ([0.5, 0.25, 1.0], [0.5, 0.9]):
        raw["pretrain"] = {**raw["pretrain"], "budget_unit": "steps", "budget": 40, "ladder": ladder}
        with pytest.raises(Exception, match="rise|last rung"):
            validate_suite(raw)


def test_runs_on_rungs_only_for_the_ladder_tasks_and_each_names_its_rung(tmp_path):
    raw = tiny_raw(tmp_path, objectives=["none", "clm"], tasks=["synthetic_topic", "synthetic_sentiment"])
    raw["pretrain"] = {**raw["pretrain"], "budget": 40, "ladder": [0.5, 1.0], "ladder_tasks": ["synthetic_topic"]}
    raw["task_params"] = {t: {"train_size": 32, "test_size": 32} for t in raw["tasks"]}
    suite = validate_suite(raw)
    plan = make_plan(suite, prepared_data(suite))
    runs = [(r.job.objective, r.task, r.fraction) for r in plan.runs]
    assert sorted(runs, key=str) == sorted([("none", "synthetic_topic", None), ("none", "synthetic_sentiment", None),
                                            ("clm", "synthetic_topic", 0.5), ("clm", "synthetic_topic", 1.0),
                                            ("clm", "synthetic_sentiment", 1.0)], key=str)
    assert len({r.run_id for r in plan.runs}) == len(plan.runs)
