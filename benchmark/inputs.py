"""What the runs of a suite read, loaded once per process: its packed pretraining data (its task splits:
``benchmark.tasks.availability.task_splits``), and the libraries kept quiet while they run.

The data is keyed by everything that determines it, so a worker that serves many jobs of one suite
reads the cache once, and two suites in one process never share a tokenizer by accident.
"""

from __future__ import annotations

import logging

from pathlib import Path

import datasets
import transformers

from benchmark.cache import stable_hash
from benchmark.config import Suite
from benchmark.data import corpus, sources

_DATA: dict[str, corpus.PretrainingData] = {}


def prepared_data(suite: Suite, build: bool = True) -> corpus.PretrainingData:
    """The suite's tokenizer and packed blocks, read from the cache once per process.

    ``build=False`` only reads: a command that reports on finished runs never trains a tokenizer or
    tokenizes the corpus, and says so when the cache does not hold them.
    """
    key = stable_hash(str(Path(suite.results_dir).resolve()), suite.corpus, _local_files(suite), suite.tokenizer,
                      suite.pretrain.seq_len)
    if key not in _DATA:
        _DATA[key] = corpus.prepare(suite, build=build)
    corpus.check_fills_a_batch(_DATA[key].blocks, suite)  # the batch size is not part of the data
    return _DATA[key]


def _local_files(suite: Suite) -> list[tuple[str, int, int]] | None:
    """A local corpus's files by path, size and modification time: an edit is noticed without reading them
    (the cache keys themselves hash their contents, once per load)."""
    if suite.corpus.source != "local":
        return None
    return [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sources.resolve_files(suite.corpus.path,
                                                                                               "corpus.path")]


def quiet_libraries() -> None:
    """Keep the libraries' chatter out of run logs; objbench's own progress bars stay."""
    transformers.logging.set_verbosity_error()  # "newly initialized score.weight" is expected, not news
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()  # "Casting the dataset", "Map": once per task and seed, never news
    datasets.logging.set_verbosity_error()
    logging.getLogger("lm_eval").setLevel(logging.ERROR)  # its notes on every evaluation ("num_fewshot from None to 0")
