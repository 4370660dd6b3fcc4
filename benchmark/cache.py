"""Content-addressed cache keys: everything that determines an artefact goes into its hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from filelock import FileLock

from benchmark.paths import inside


def stable_hash(*parts: Any, length: int = 16) -> str:
    """A short hex digest of JSON-serialisable parts; key order does not matter."""
    text = json.dumps(parts, sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _plain(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    raise TypeError(f"cannot hash {type(obj).__name__}")


def cache_dir(results_dir: str | Path, kind: str) -> Path:
    """``<results>/cache/<kind>`` (git-ignored); created by the first artefact published there."""
    return inside(results_dir, "cache", kind)


def lock(results_dir: str | Path, name: str) -> FileLock:
    """The file lock that guards one shared artefact (or one run's record) across processes.

    Whoever builds a shared artefact holds its lock, checks again whether it exists, builds it,
    and publishes it by one rename (as huggingface_hub and datasets lock their caches).
    """
    folder = cache_dir(results_dir, "locks")
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(folder / f"{name}.lock")
