"""Shared fixtures: a tiny suite that trains in seconds, written into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from benchmark import registry
from benchmark.config import validate_suite
from benchmark.data import corpus
from benchmark.objectives.base import Setup

registry.load_entries()

TINY_SUITE = {
    "name": "tiny",
    "models": ["llama"],
    "size": "tiny",
    "objectives": ["none", "clm", "mlm"],
    "tasks": ["synthetic_topic"],
    "device": "cpu",
    "corpus": {"documents": 120},
    "tokenizer": {"vocab_size": 400},
    "pretrain": {"budget_unit": "steps", "budget": 3, "seq_len": 32, "batch_size": 8, "seeds": [0]},
    "finetune": {"epochs": 1, "batch_size": 16, "max_length": 32, "seeds": [0]},
    "task_params": {"synthetic_topic": {"train_size": 32, "test_size": 32}},
}


def tiny_raw(tmp_path: Path, **changes) -> dict:
    raw = yaml.safe_load(yaml.safe_dump(TINY_SUITE))
    raw.update(results_dir=str(tmp_path / "results"), reports_dir=str(tmp_path / "reports"))
    raw.update(changes)
    return raw


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


def write_suite(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw))
    return path
