"""Writing files and folders that appear whole or not at all.

Every artefact objbench stores (run records, tokenizers, packed blocks, checkpoints, resume
states, records files) is written under a temporary name in the same folder and then renamed
into place in one step, so a crash or a kill mid-write never leaves half an artefact under the
real name. This module imports nothing else of the project.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any


def publish(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a fresh temporary sibling of ``path``, then rename it to ``path``.

    ``write`` may make a file or a folder at ``tmp``. A file replaces an existing ``path``
    atomically; a folder cannot replace a folder in one step, so an existing one (a damaged
    leftover, never a finished artefact: callers check first) is removed just before the rename.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        write(tmp)
        if tmp.is_dir() and path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """``text`` to ``path``, flushed to disk before it takes the real name."""
    def write(tmp: Path) -> None:
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    return publish(path, write)


def write_json(path: str | Path, data: Any) -> Path:
    """``data`` as indented JSON with sorted keys."""
    return write_text(path, json.dumps(data, indent=1, sort_keys=True))
