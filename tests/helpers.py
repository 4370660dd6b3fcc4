"""Shared test helpers (not fixtures): the tiny suite that trains in seconds, and how to write it out.

Tests import these as ``from tests.helpers import tiny_raw``; fixtures built on them live in
``tests/conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from benchmark import registry

TINY_SUITE = {
    "name": "tiny",
    "models": ["llama"],
    "size": "tiny",
    "objectives": ["none", "clm", "mlm"],
    "tasks": ["synthetic_topic"],
    "device": "cpu",
    "corpus": {"documents": 120},
    "tokenizer": {"vocab_size": 640},  # byte-level: ~2 tokens per synthetic word, as the vocabulary grows past the bytes
    "pretrain": {"budget_unit": "steps", "budget": 3, "seq_len": 32, "batch_size": 8, "seeds": [0]},
    "finetune": {"epochs": 1, "batch_size": 16, "max_length": 32, "seeds": [0]},
    "task_params": {"synthetic_topic": {"train_size": 32, "test_size": 32}},
}


def tiny_raw(tmp_path: Path, **changes) -> dict:
    """The tiny suite as a plain mapping, storing under ``tmp_path``; ``changes`` replace top-level keys."""
    raw = yaml.safe_load(yaml.safe_dump(TINY_SUITE))
    raw.update(results_dir=str(tmp_path / "results"), reports_dir=str(tmp_path / "reports"))
    raw.update(changes)
    return raw


def write_suite(path: Path, raw: dict) -> Path:
    """``raw`` as a suite YAML file at ``path``."""
    path.write_text(yaml.safe_dump(raw))
    return path


# --- objectives on the tiny data ---------------------------------------------------------------

# Every registered objective that pretrains (all but the ``none`` control).
PRETRAINING = [name for name in registry.objectives.names() if registry.objectives.get(name).pretrains]


def make(name: str, setup, **params):
    """Objective ``name`` with its defaults, overridden by ``params``."""
    entry = registry.objectives.get(name)
    return entry(entry.Params(**params), setup)


def first_blocks(data, rows: int) -> dict:
    """The first ``rows`` packed blocks of ``data`` as a batch of tensors."""
    return {key: value[:rows] for key, value in data.blocks.to_dict().items()}


def longer_blocks(data, rows: int | None = None, seq: int = 128) -> dict:
    """``rows`` blocks of ``seq`` tokens (all that fit for ``None``): consecutive packed blocks joined,
    exactly what packing at ``seq`` gives."""
    per_row = seq // data.blocks.seq_len
    rows = len(data.blocks) // per_row if rows is None else rows
    return {key: value[:rows * per_row].reshape(rows, seq) for key, value in data.blocks.to_dict().items()}
