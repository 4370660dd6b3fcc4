"""Where the harness's units of work run.

An executor takes the unit of work (``harness.run_job``), the suite and the pretraining jobs,
and yields one outcome per job as each finishes. The unit of work takes plain, picklable
inputs and writes its own records, so an executor that runs it in other processes or on other
machines needs nothing back but the outcome. This module imports nothing else of the project.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

Outcome = TypeVar("Outcome")


class Executor(Protocol):
    def map(self, work: Callable[..., Outcome], suite: Any, jobs: Sequence[Any], **options: Any) -> Iterator[Outcome]:
        """``work(suite, job, **options)`` for every job; outcomes in the order the jobs finish."""


class SerialExecutor:
    """Every job in this process, one after another, in plan order."""

    def map(self, work: Callable[..., Outcome], suite: Any, jobs: Sequence[Any], **options: Any) -> Iterator[Outcome]:
        for job in jobs:
            yield work(suite, job, **options)
