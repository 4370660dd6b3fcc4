"""Shared fixtures: the tiny suite (``tests.helpers``) in a temporary folder, its data and model setup."""

from __future__ import annotations

import pytest
import torch

from benchmark import registry
from benchmark.config import validate_suite
from benchmark.data import corpus
from benchmark.objectives.base import Setup
from tests.helpers import tiny_raw


@pytest.fixture(scope="session", autouse=True)
def one_thread_per_process(request):
    """Every test process (and every process a test starts) computes on one thread.

    The models here are tiny: a second intra-op thread gains nothing, and on a busy machine (two
    test processes side by side, or a run beside the tests) the threads' spinning waits for one
    another make a tiny training step ten times slower or worse. Timed benchmarks
    (``--benchmark-enable``) keep torch's own setting, since that is what they measure.
    """
    if request.config.getoption("benchmark_enable", default=False):
        yield
        return
    patch, threads = pytest.MonkeyPatch(), torch.get_num_threads()
    patch.setenv("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    patch.undo()


@pytest.fixture
def tiny_suite(tmp_path):
    return validate_suite(tiny_raw(tmp_path))


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """Tokenizer and packed blocks of the tiny suite (trained once per test session)."""
    suite = validate_suite(tiny_raw(tmp_path_factory.mktemp("data")))
    return corpus.prepare(suite)


@pytest.fixture(scope="session")
def tiny_setup(tiny_data):
    return Setup(tiny_data.tokenizer, registry.models.get("llama"), "tiny")


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(1234)
