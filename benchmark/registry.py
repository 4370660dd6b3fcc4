"""One small registry shared by models, objectives and tasks.

Entries register themselves with a decorator next to their code, one entry per file::

    @objectives.register("mlm")
    class MaskedLM: ...

A duplicate name is an error (two entries silently shadowing each other would corrupt a
comparison); an unknown name gets a "did you mean" suggestion.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Callable, Generic, TypeVar

from benchmark.errors import ObjbenchError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of entries of one kind (``"objective"``, ``"model"``, ``"task"``)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that adds an entry under ``name``; raises on a duplicate name."""

        def add(entry: T) -> T:
            if name in self._entries:
                raise ObjbenchError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return add

    def get(self, name: str) -> T:
        """The entry called ``name``; an unknown name raises with the closest known names."""
        try:
            return self._entries[name]
        except KeyError:
            raise ObjbenchError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown {self.kind} {name!r}{hint} (known: {', '.join(self.names())})"

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def describe(self) -> dict[str, str]:
        """Name -> first line of the entry's docstring, for ``objbench list``."""
        out = {}
        for name in self.names():
            doc = inspect.getdoc(self._entries[name]) or ""
            out[name] = doc.strip().splitlines()[0] if doc.strip() else ""
        return out


models: Registry = Registry("model")
objectives: Registry = Registry("objective")
tasks: Registry = Registry("task")


def load_entries() -> None:
    """Import the entry packages so that every decorator has run."""
    import benchmark.models  # noqa: F401
    import benchmark.objectives  # noqa: F401
    import benchmark.tasks  # noqa: F401
