"""The one place where names become paths.

Suite names, variant names and every other user-chosen name that objbench turns into a file or
folder name must be a safe name: letters, digits, ``_``, ``-`` and ``.``, starting with a letter
or digit. Every path objbench writes is built with :func:`inside`, which refuses a path that
would land outside its configured root (``results_dir`` or ``reports_dir``). This module imports
nothing else of the project except its error type.
"""

from __future__ import annotations

import re
from pathlib import Path

from benchmark.errors import ObjbenchError

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
SAFE_NAME_RULE = ("letters, digits, '_', '-' and '.', starting with a letter or digit, "
                  "at most 100 characters")


def check_name(value: object) -> str:
    """``value`` if it is a safe file name, else a ValueError that says what a name may hold."""
    if not isinstance(value, str) or not SAFE_NAME.fullmatch(value):
        raise ValueError(f"{value!r} cannot name files: use {SAFE_NAME_RULE}")
    return value


def derived_name(base: str, suffix: str, what: str) -> str:
    """``base`` + ``suffix``, the name objbench gives something it derives (a replica, a task variant), refused in one
    line where it would not be a safe name (too long, most often), saying which name to change."""
    name = f"{base}{suffix}"
    if not SAFE_NAME.fullmatch(name):
        raise ObjbenchError(f"{what} would be named {name[:40]!r}... ({len(name)} characters), which cannot name files "
                            f"({SAFE_NAME_RULE}): shorten {base!r}" if len(name) > 100 else
                            f"{what} would be named {name!r}, which cannot name files ({SAFE_NAME_RULE})")
    return name


def inside(root: str | Path, *parts: str) -> Path:
    """``root/parts...``, refused unless it lies under ``root`` once both are resolved."""
    base = Path(root).resolve()
    path = Path(root, *parts)
    if not path.resolve().is_relative_to(base):
        raise ObjbenchError(f"{path} would lie outside {root}")
    return path


def check_folder(path: str | Path, key: str) -> None:
    """A configured folder must be a folder (or not exist yet), never a file."""
    if Path(path).exists() and not Path(path).is_dir():
        raise ValueError(f"{path} is a file; {key} must name a folder")
