"""Fixtures the benchmarks share: the workload they run on, and the times they collect for checks
that compare one benchmark with another (printed after pytest-benchmark's table).

Two modes, chosen by pytest-benchmark's own switches:

* quick (``make test``, ``python -m pytest``; pyproject's ``addopts`` has ``--benchmark-disable``):
  each benchmarked function runs once, as a plain test, on the tiny suite's shapes (8 blocks of
  32 tokens, the ``tiny`` preset), and its assertions check what it computed. Nothing is timed,
  so nothing about time is asserted.
* timed (``make bench``: ``--benchmark-only --benchmark-enable``): real rounds on the ``small``
  preset at the suite defaults (32 blocks of 128 tokens); the same assertions, plus the timing
  goals, which compare medians collected earlier in the same session.
"""

from __future__ import annotations

import pytest

from benchmark import registry
from benchmark.config import validate_suite
from benchmark.data import corpus
from benchmark.objectives.base import Setup
from benchmark.pretraining import LOSS_POINTS
from tests.benchmarks.timing import Timings, Workload, timed
from tests.helpers import first_blocks, tiny_raw

TIMINGS = pytest.StashKey[Timings]()


@pytest.fixture(scope="session")
def timings(request) -> Timings:
    return request.config.stash.setdefault(TIMINGS, Timings())


@pytest.fixture(scope="session")
def workload(request, tmp_path_factory) -> Workload:
    """Quick mode: the tiny suite's data (shared with the other tests). Timed: the small preset with
    the default tokenizer size and the suite-default batch, which is what the 5% goal is about."""
    llama = registry.models.get("llama")
    if not timed(request.config):
        data = request.getfixturevalue("tiny_data")
        return Workload(Setup(data.tokenizer, llama, "tiny"), first_blocks(data, 8),
                        "tiny preset, 8 x 32 tokens (quick mode)", tiny_raw(tmp_path_factory.mktemp("tiny")), data)
    raw = tiny_raw(tmp_path_factory.mktemp("small"), size="small", corpus={"documents": 400},
                   tokenizer={"vocab_size": 2048}, pretrain={"seq_len": 128, "batch_size": 32})
    data = corpus.prepare(validate_suite(raw))
    return Workload(Setup(data.tokenizer, llama, "small"), first_blocks(data, 32),
                    "small preset, 32 x 128 tokens (the suite defaults)", raw, data)


def pytest_terminal_summary(terminalreporter, config) -> None:
    """The ratios the timed benchmarks compare, as a table after pytest-benchmark's own."""
    t = config.stash.get(TIMINGS, None)
    if t is None or not (t.step_ratios or t.precision or t.levers or t.tracking):
        return
    write = terminalreporter.write_line
    if t.step_ratios:
        terminalreporter.section(f"batch preparation / training step, medians ({t.where})")
        for name, ratio in sorted(t.step_ratios.items(), key=lambda item: -item[1]):
            prepare, step = t.prepare[name], t.step[name]
            write(f"{name:>16}: prepare {prepare.median * 1e3:8.2f} ms / step {step.median * 1e3:8.1f} ms "
                  f"= {ratio:6.2%}   (min/min {prepare.min / step.min:6.2%})")
    sizes = sorted({size for size, _ in t.precision})
    if sizes:
        terminalreporter.section("bf16 autocast / fp32 step time, medians")
        for size in sizes:
            fp32, bf16 = t.precision.get((size, "fp32")), t.precision.get((size, "bf16"))
            if fp32 and bf16:
                write(f"{size:>6}: bf16 {bf16.median * 1e3:.1f} ms / fp32 {fp32.median * 1e3:.1f} ms "
                      f"= {bf16.median / fp32.median:.2f}")
            elif fp32:
                write(f"{size:>6}: fp32 {fp32.median * 1e3:.1f} ms (bf16 not timed)")
    levers = sorted({lever for lever, _ in t.levers})
    if levers:
        terminalreporter.section("GPU speed levers: on / off, medians")
        for lever in levers:
            on, off = t.levers.get((lever, "on")), t.levers.get((lever, "off"))
            if on and off:
                write(f"{lever:>10}: on {on.median * 1e3:.2f} ms / off {off.median * 1e3:.2f} ms "
                      f"= {on.median / off.median:.2f}")
    step = t.tracking.get("none")
    if step and len(t.tracking) > 1:
        every = 1000 // LOSS_POINTS  # steps between two points of the curve in a run of 1000 steps
        terminalreporter.section("a point of the curve / the training steps it is spread over, medians (tiny preset)")
        for name, point in sorted(t.tracking.items()):
            if name != "none":
                write(f"{name:>12}: {point.median * 1e3:.3f} ms / {step.median * 1e3:.2f} ms a step: "
                      f"{point.median / (every * step.median):.2%} of {every} steps, "
                      f"{point.median / step.median:.2%} of one")
