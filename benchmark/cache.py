"""Content-addressed cache keys: everything that determines an artefact goes into its hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def stable_hash(*parts: Any, length: int = 16) -> str:
    """A short hex digest of JSON-serialisable parts; key order does not matter."""
    text = json.dumps(parts, sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _plain(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    raise TypeError(f"cannot hash {type(obj).__name__}")


def cache_dir(results_dir: str | Path, kind: str) -> Path:
    """``<results>/cache/<kind>``, created on demand; git-ignored."""
    path = Path(results_dir) / "cache" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path
