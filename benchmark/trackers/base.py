"""What every tracker shares: where it writes, how a suite's runs are grouped, and the plain values it logs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar


@dataclass(frozen=True)
class Where:
    """Where a suite's runs go: local files under ``folder``, in ``project``, grouped by ``group`` (the suite)."""

    folder: Path
    project: str
    group: str
    options: Mapping[str, Any]  # the tracking section's settings for one library (wandb_mode, mlflow_uri)


class Tracker:
    """A metric logger over one library. ``start`` opens a run, ``log`` adds a point, ``finish`` closes it
    with the run's summary (its final values logged beside the curve)."""

    package: ClassVar[str]  # what ``import`` names, to check the extra is installed
    extra: ClassVar[str]  # pip install "objbench[<extra>]"

    def __init__(self, where: Where):
        self.where = where

    def start(self, name: str, config: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        raise NotImplementedError

    def finish(self, summary: Mapping[str, Any]) -> None:
        raise NotImplementedError


def final_values(summary: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of a run's summary a dashboard can plot (throughput, MFU, FLOPs, metrics), one level
    deep (``metrics.accuracy``); curves, texts and flags stay in the run record."""
    out: dict[str, float] = {}
    for key, value in summary.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            out[key] = float(value)
        elif isinstance(value, Mapping):
            out.update({f"{key}.{k}": float(v) for k, v in value.items()
                        if isinstance(v, int | float) and not isinstance(v, bool)})
    return out


def safe_name(name: str) -> str:
    """A run's name as one path segment: llama/clm/seed0 -> llama-clm-seed0."""
    return name.replace("/", "-")
