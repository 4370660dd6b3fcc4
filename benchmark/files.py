"""Writing files and folders that appear whole or not at all.

Every artefact objbench stores (run records, tokenizers, packed blocks, checkpoints, resume
states, records files) is written under a temporary name in the same folder and then renamed
into place in one step, so a crash or a kill mid-write never leaves half an artefact under the
real name. This module imports nothing else of the project.
"""

from __future__ import annotations

import hashlib
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
    atomically; a folder is published only where none stands (callers move a damaged one to
    quarantine first, under the artefact's lock), so nothing is ever deleted to make room.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        write(tmp)
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


def write_named(path: str | Path, text: str) -> Path:
    """``text`` to a path the user named (``--json``, ``--markdown``): a regular file (or a new one) is
    replaced atomically, as every artefact is; anything else is written in place, as the shell would:
    a symlink's target, a named pipe (its reader gets the text), a device such as ``/dev/stdout``, so
    that no rename ever replaces what the path is. Returns the path written."""
    path = Path(path)
    target = path.resolve() if path.is_symlink() else path
    if target.exists() and not target.is_file():  # a pipe, a device, a process substitution
        with open(target, "w") as fh:
            fh.write(text)
        return target
    return write_text(target, text)


def write_json(path: str | Path, data: Any) -> Path:
    """``data`` as indented JSON with sorted keys."""
    return write_text(path, json.dumps(data, indent=1, sort_keys=True))


MANIFEST = "MANIFEST.json"  # in every cached folder: each file's size and content hash, written last


def publish_folder(path: str | Path, write: Callable[[Path], None]) -> Path:
    """:func:`publish` for a folder artefact, sealed with a manifest that :func:`damage` checks on every read."""
    def fill(tmp: Path) -> None:
        tmp.mkdir()
        write(tmp)
        manifest = {str(f.relative_to(tmp)): {"bytes": f.stat().st_size, "sha256": sha256_of(f)}
                    for f in sorted(tmp.rglob("*")) if f.is_file()}
        write_json(tmp / MANIFEST, manifest)
    return publish(path, fill)


def damage(folder: str | Path) -> str | None:
    """What is wrong with a published folder (a missing or changed file), or None when it is whole."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        expected = {str(name): (int(entry["bytes"]), str(entry["sha256"])) for name, entry in manifest.items()}
    except FileNotFoundError:
        return f"no {MANIFEST}"
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return f"{MANIFEST} is unreadable"
    for name, (size, digest) in expected.items():
        path = folder / name
        try:
            if path.stat().st_size != size:
                return f"{name} has {path.stat().st_size} bytes, {size} were written"
            if sha256_of(path) != digest:
                return f"{name} changed since it was written (content hash differs)"
        except FileNotFoundError:
            return f"{name} is missing"
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def leftovers(folder: str | Path, name: str = "*") -> list[Path]:
    """Temporary siblings that a killed :func:`publish` left behind (for ``name``, or for any name)."""
    return sorted(Path(folder).glob(f".{name}.*.partial"))


def remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def quarantine(path: Path, quarantine_dir: Path) -> Path | None:
    """Move a damaged artefact aside (never delete evidence) and return where it went; None when
    another process moved it first."""
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    target = quarantine_dir / f"{path.name}.{uuid.uuid4().hex[:8]}"
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None
    return target


def load_whole(folder: str | Path, load: Callable[[Path], Any], quarantine_dir: Path,
               on_damage: Callable[[Path, str, Path | None], None] | None = None) -> Any:
    """``load(folder)`` when ``folder`` is a whole published artefact; None when there is none, or when it
    is damaged: then it is moved to ``quarantine_dir`` and ``on_damage(folder, problem, moved_to)`` is told."""
    folder = Path(folder)
    if not folder.exists():
        return None
    problem = damage(folder)
    if problem is None:
        return load(folder)
    moved = quarantine(folder, quarantine_dir)
    if on_damage is not None:
        on_damage(folder, problem, moved)
    return None
