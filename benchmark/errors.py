"""User-facing errors and warnings: the CLI prints each as one line, with no traceback."""

from __future__ import annotations

import warnings


class ObjbenchError(Exception):
    """A problem with the user's input or environment that the user can fix."""


class ObjbenchWarning(UserWarning):
    """Something the user should know that does not stop the run (a healed cache, a suspicious split)."""


def warn(message: str) -> None:
    warnings.warn(message, ObjbenchWarning, stacklevel=2)
