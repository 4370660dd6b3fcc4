"""What logging to an experiment tracker adds to training (pytest-benchmark): the training step, and a point
of the loss curve handed to each tracker.

A run hands its trackers ``LOSS_POINTS`` points of its curve, one per ``steps / LOSS_POINTS`` steps, so
a point's cost is spread over ``EVERY`` steps in a run of 1000 steps (and over one step in a run of
50 or fewer: the worst case, printed beside). Timed apart and compared as medians, because a whole
run's time drifts on a shared machine by far more than a point costs. The tiny preset, where a step
is shortest and logging weighs most, on the tiny suite's shapes (8 blocks of 32 tokens).

* Quick mode: each runs once and checks that the step trained and the point reached the tracker.
* Timed mode (``make bench``): the step runs first (pytest keeps the order), and each tracker's test
  fails when a point costs 3% or more of ``EVERY`` steps.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from benchmark import registry
from benchmark.config import validate_suite
from benchmark.plan import make_plan
from benchmark.pretraining import LOSS_POINTS, Pretraining
from benchmark.tracking import trackers_for
from tests.benchmarks.timing import Times
from tests.helpers import tiny_raw

OVERHEAD_BUDGET = 0.03  # of the training steps one point of the curve is spread over
EVERY = 1000 // LOSS_POINTS  # steps between two points of the curve, in a run of 1000 steps


class Counting:
    """Counts the points a tracker was handed, then passes them on."""

    def __init__(self, inner):
        self.inner, self.points = inner, 0

    def start(self, name, config):
        self.inner.start(name, config)

    def log(self, metrics, step):
        self.points += 1
        self.inner.log(metrics, step)

    def finish(self, summary):
        self.inner.finish(summary)


def _recipe(tmp_path, tiny_data, trackers: list[str]):
    suite = validate_suite(tiny_raw(tmp_path, objectives=["clm"], tracking=trackers))
    [job] = make_plan(suite, tiny_data).jobs
    sinks = [Counting(sink) for sink in trackers_for(suite)]
    recipe = Pretraining(suite, job, tiny_data, torch.device("cpu"), "fp32", sinks)
    recipe.setup()
    batch = recipe.objective.prepare({k: v[:8] for k, v in tiny_data.blocks.to_dict().items()},
                                     torch.Generator().manual_seed(0))
    return suite, recipe, sinks, batch


def test_training_step_unlogged(benchmark, tiny_data, timings, tmp_path):
    _, recipe, _, batch = _recipe(tmp_path, tiny_data, [])
    loss = benchmark.pedantic(recipe.step, args=(batch,), rounds=60, warmup_rounds=3, iterations=1)
    assert torch.isfinite(loss) and recipe.progress["step"] >= 1
    if benchmark.enabled:
        timings.tracking["none"] = Times.of(benchmark)


@pytest.mark.parametrize("tracker", ["tensorboard", "mlflow", "wandb", "trackio"])
def test_point_of_the_curve(benchmark, tiny_data, timings, tmp_path, monkeypatch, tracker):
    if importlib.util.find_spec(registry.trackers.get(tracker).package) is None:
        pytest.skip(f"{tracker} is not installed (pip install 'objbench[{tracker}]')")
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "trackio"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    suite, recipe, [sink], batch = _recipe(tmp_path, tiny_data, [tracker])
    sink.start("benchmark/clm/seed0", suite.model_dump(mode="json"))
    loss = recipe.step(batch).item()
    benchmark.pedantic(recipe.log_point, args=(loss,), rounds=60, warmup_rounds=3, iterations=1)
    sink.finish({"final_loss": loss})
    assert sink.points == len(recipe.progress["curve"]) >= 1
    if not benchmark.enabled:
        return
    timings.tracking[tracker] = point = Times.of(benchmark)
    step = timings.tracking.get("none")
    if step is None:
        pytest.skip("the training step was not timed in this pytest run")
    overhead = point.median / (EVERY * step.median)
    benchmark.extra_info.update(overhead=overhead, overhead_every_step=point.median / step.median)
    assert overhead < OVERHEAD_BUDGET, (f"{tracker}: a point of the curve ({point.median * 1e3:.2f} ms) costs "
                                        f"{overhead:.1%} of the {EVERY} steps it is spread over "
                                        f"({step.median * 1e3:.2f} ms each)")
