"""A wall-clock budget: pretraining stops by the clock, its steps are recorded, and the plan cannot know them.

The harness's clock is replaced by one that moves only when a training step runs (each step
"takes" one second), so the number of steps a budget buys is exact and the test never waits.
"""

from __future__ import annotations

import pytest

from benchmark import harness, pretraining
from benchmark.cli import main
from benchmark.config import validate_suite
from benchmark.objectives.mlm import MaskedLM
from benchmark.plan import make_plan
from benchmark.results import to_dataframe
from tests.helpers import tiny_raw, write_suite


def seconds_suite(tmp_path, budget: float, objectives=("none", "mlm")):
    raw = tiny_raw(tmp_path, objectives=list(objectives))
    raw["pretrain"] = {**raw["pretrain"], "budget_unit": "seconds", "budget": budget}
    return raw


class StepClock:
    """A ``time`` stand-in for pretraining whose ``perf_counter`` advances one second per training step."""

    def __init__(self):
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now


def test_the_plan_shows_a_seconds_budget_as_unknown_steps(tmp_path, tiny_data, capsys):
    raw = seconds_suite(tmp_path, budget=30)
    plan = make_plan(validate_suite(raw), tiny_data)
    mlm = next(job for job in plan.jobs if job.objective == "mlm")
    assert (mlm.steps, mlm.tokens, mlm.flops) == (None, None, None)
    assert mlm.flops_per_step > 0  # the cost of a step is known; how many fit in 30 s is not
    assert main(["plan", str(write_suite(tmp_path / "s.yaml", raw))]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("llama/mlm "))
    assert row.split()[2:5] == ["-", "-", "-"]  # steps, tokens, FLOPs


@pytest.mark.slow
@pytest.mark.parametrize("budget, steps", [(2.5, 3), (4.0, 4)])
def test_pretraining_stops_by_the_clock_and_records_its_steps(tmp_path, monkeypatch, budget, steps):
    clock = StepClock()
    real_loss = MaskedLM.loss

    def one_second_per_step(self, network, batch):
        clock.now += 1.0
        return real_loss(self, network, batch)

    monkeypatch.setattr(pretraining, "time", clock)
    monkeypatch.setattr(MaskedLM, "loss", one_second_per_step)
    suite = validate_suite(seconds_suite(tmp_path, budget))
    assert harness.run_suite(suite, progress=False).ran == 2
    record = to_dataframe(suite.results_dir, suite.name).set_index("objective").loc["mlm"]
    # a step starts while time is left: ceil(budget) steps of one second each
    assert record["pretrain.steps"] == steps
    assert record["pretrain.tokens"] == steps * suite.pretrain.tokens_per_step
    assert record["pretrain.wall_s"] == pytest.approx(steps)
    assert record["pretrain.flops"] > 0 and record["pretrain.loss_bearing_tokens"] > 0
    assert record["config"]["pretrain"]["budget_unit"] == "seconds"
