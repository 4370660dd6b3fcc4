"""What a classical baseline is: a non-neural system scored on a task with the task format's own metrics.

A baseline is a class in its own file, registered with ``@registry.baselines.register(name)``.
It declares the task formats it serves, whether it trains on the pretraining corpus (an
n-gram or hidden Markov language model does; a classifier trained on the task's own split
does not) and whether its fit depends on a seed. A seeded baseline is fitted once per
pretraining seed of the suite, with that seed, so its spread is a seed spread like a
pretrained entry's; a deterministic one is fitted once per suite. ``fit_and_evaluate`` fits on ``splits["train"]`` and/or the corpus, scores
``splits["test"]`` with the format's metric functions (imported from ``benchmark.formats``,
never rewritten), and reports what the fit and the evaluation cost.

Word tokens (:func:`words`) are the shared tokenizer's pre-tokenization without the subwords:
NFKC-normalised, lower-cased, split into runs of word characters and runs of punctuation
(``tokenizers``' ``Whitespace`` pre-tokenizer, ``\\w+|[^\\w\\s]+``). Baselines that work on
words use them, so that their words are the units the subword vocabulary was trained on.
"""

from __future__ import annotations

import contextlib
import re
import time
import unicodedata
from collections.abc import Iterator
from typing import ClassVar, Protocol

import datasets
import torch

from benchmark.corpus_config import Strict
from benchmark.errors import ObjbenchError
from benchmark.measure import PeakMemory

WORD = re.compile(r"\w+|[^\w\s]+")
COST_KEYS = ("fit_s", "eval_s", "peak_memory_bytes", "parameters")


class Params(Strict):
    """Base for baseline settings: typed, validated, no unknown keys."""


class Baseline(Protocol):
    """A classical system fitted and scored on one task."""

    Params: ClassVar[type[Params]]
    formats: ClassVar[tuple[str, ...]]  # the task formats it serves, e.g. ("classification",)
    uses_corpus: ClassVar[bool]  # True: it trains on the pretraining corpus
    seeded: ClassVar[bool]  # True: its fit depends on the seed, so it is fitted once per pretraining seed

    def __init__(self, params: Params) -> None: ...

    def fit_and_evaluate(self, splits: datasets.DatasetDict, corpus: list[list[str]] | None, tokenizer,
                         seed: int) -> tuple[dict, dict]:
        """Fit on ``splits["train"]`` (and/or ``corpus``), score ``splits["test"]``: (metrics, cost).

        The metrics are exactly the keys the task's format reports, its companion metric
        included (None where the baseline has no likelihood in the format's units); the cost
        holds at least ``fit_s``, ``eval_s``, ``peak_memory_bytes`` and ``parameters``.
        """


def words(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens, split where the shared tokenizer's pre-tokenizer splits."""
    return WORD.findall(normalize(text))


def normalize(text: str) -> str:
    """The shared tokenizer's normalisation: NFKC, then lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def corpus_sentences(corpus: list[list[str]] | None, baseline: str) -> list[str]:
    """Every sentence of the corpus in order; a baseline that trains on it cannot run without one."""
    if not corpus:
        raise ObjbenchError(f"baseline {baseline!r} trains on the pretraining corpus, and none was given")
    return [sentence for document in corpus for sentence in document]


class Cost:
    """The cost record of a baseline: seconds to fit, seconds to evaluate, peak memory, size.

    Peak memory is what the baseline itself adds to the process: the resident set sampled over
    each phase (``PeakMemory``) less what the process held when the phase began, never the
    harness's own resident memory (the models, the tokenizer, torch). Memory the phase reuses from
    what the process freed earlier is not counted. ``tracemalloc`` would count allocations exactly
    but slows a pure-Python fit (nltk's Kneser-Ney) about threefold, and the time is recorded too.
    """

    def __init__(self):
        self.record: dict = {key: None for key in COST_KEYS}
        self.record["peak_memory_kind"] = "rss_growth"

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as ``<name>_s`` ("fit" or "eval") and fold its peak memory growth into the record."""
        with PeakMemory(torch.device("cpu")) as memory:
            start = time.perf_counter()
            yield
            elapsed = time.perf_counter() - start
        self.record[f"{name}_s"] = elapsed
        peak = memory.peak_bytes - memory.start_bytes
        self.record["peak_memory_bytes"] = max(self.record["peak_memory_bytes"] or 0, peak)
