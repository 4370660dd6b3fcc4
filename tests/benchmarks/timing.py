"""What the benchmarks share besides fixtures: whether this pytest run times them, the workload they
run on, and the times they measured (used by ``conftest.py`` and by the benchmark modules)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
import torch

from benchmark.objectives.base import Setup


@dataclass(frozen=True)
class Workload:
    """The tokenizer, model size and one batch of packed blocks a benchmark runs on."""

    setup: Setup
    blocks: dict[str, torch.Tensor]
    describe: str  # for messages: preset and shapes
    raw: dict  # the suite these blocks come from, as a mapping (its objectives replaced per benchmark)
    data: object  # that suite's tokenizer and packed blocks


@dataclass(frozen=True)
class Times:
    min: float  # seconds
    median: float

    @classmethod
    def of(cls, benchmark) -> Times:
        stats = benchmark.stats.stats  # only there when the benchmark was timed
        return cls(stats.min, stats.median)


@dataclass
class Timings:
    """Medians of this pytest run's timed benchmarks, by objective (prepare, step) or (size, precision)."""

    prepare: dict[str, Times] = field(default_factory=dict)
    step: dict[str, Times] = field(default_factory=dict)
    step_ratios: dict[str, float] = field(default_factory=dict)  # prepare median / step median
    precision: dict[tuple[str, str], Times] = field(default_factory=dict)
    levers: dict[tuple[str, str], Times] = field(default_factory=dict)  # (lever, "on"/"off") on a GPU
    tracking: dict[str, Times] = field(default_factory=dict)  # a logged training step, by tracker ("none": off)
    where: str = ""


def timed(config: pytest.Config) -> bool:
    """Whether pytest-benchmark times this pytest run, by the rule it applies itself (``--benchmark-enable``
    beats ``--benchmark-disable``; xdist workers never time)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return False
    return bool(config.getoption("benchmark_enable") or not config.getoption("benchmark_disable"))
