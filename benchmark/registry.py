"""One small registry shared by models, objectives, tasks, task formats and classical baselines.

Entries register themselves with a decorator next to their code, one entry per file::

    @objectives.register("mlm")
    class MaskedLM: ...

A duplicate name is an error (two entries silently shadowing each other would corrupt a
comparison); an unknown name gets a "did you mean" suggestion; an entry that lacks what its
kind requires (a format without its primary or companion metric) is an error when it registers, at import.
The registry imports no entry: the package does (``benchmark/__init__.py``), as timm's
``__init__`` imports its model files.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Callable, Generic, TypeVar

from benchmark.errors import ObjbenchError
from benchmark.metric_spec import MetricSpec

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of entries of one kind (``"objective"``, ``"model"``, ``"task"``)."""

    def __init__(self, kind: str, requires: Callable[[str, T], str | None] | None = None):
        self.kind = kind
        self._requires = requires  # (name, entry) -> what the entry lacks, or None
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that adds an entry under ``name``; raises on a duplicate name."""

        def add(entry: T) -> T:
            if name in self._entries:
                raise ObjbenchError(f"{self.kind} {name!r} is registered twice")
            lacking = self._requires(name, entry) if self._requires else None
            if lacking:
                raise ObjbenchError(f"{self.kind} {name!r} cannot register: {lacking}")
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


def _format_requirements(name: str, entry) -> str | None:
    """A format must say, beside its code, which metric ranks it (one with a best value, for the
    report's 0..1 scale) and which likelihood-based metric it records beside it, each with its direction."""
    spec = getattr(entry, "primary_metric", None)
    if not isinstance(spec, MetricSpec):
        return ("it declares no primary_metric; add e.g. primary_metric = MetricSpec('accuracy', "
                "higher_is_better=True, max_value=1.0) to the class")
    if not spec.bounded:
        return (f"its primary_metric {spec.name!r} has no max_value, and the report puts the primary metric "
                f"on a 0..1 scale; an unbounded score can only be the companion_metric")
    companion = getattr(entry, "companion_metric", None)
    if not isinstance(companion, MetricSpec):
        return ("it declares no companion_metric; add e.g. companion_metric = MetricSpec('gold_logprob', "
                "higher_is_better=True, max_value=None) to the class")
    if companion.name == spec.name:
        return f"its companion_metric is its primary_metric {spec.name!r}; the companion is a second score"
    missing = [m for m in ("build", "evaluate", "unsupported") if not callable(getattr(entry, m, None))]
    if getattr(entry, "finetunes", None) is None:
        missing.append("finetunes")
    elif entry.finetunes and not callable(getattr(entry, "finetune", None)):
        missing.append("finetune")
    return f"it lacks {', '.join(missing)}" if missing else None


def _baseline_requirements(name: str, entry) -> str | None:
    """A baseline must say which formats it serves, what settings it takes, whether it reads the corpus and
    whether its fit depends on a seed."""
    lacking = []
    formats_served = getattr(entry, "formats", None)
    if not (isinstance(formats_served, tuple) and formats_served and all(isinstance(f, str) for f in formats_served)):
        lacking.append("formats (a non-empty tuple of format names)")
    if not isinstance(getattr(entry, "uses_corpus", None), bool):
        lacking.append("uses_corpus (a bool)")
    if not isinstance(getattr(entry, "seeded", None), bool):
        lacking.append("seeded (a bool: does its fit depend on the seed)")
    params = getattr(entry, "Params", None)
    if not (inspect.isclass(params) and callable(getattr(params, "model_validate", None))):
        lacking.append("Params (a pydantic model)")
    if not callable(getattr(entry, "fit_and_evaluate", None)):
        lacking.append("fit_and_evaluate")
    return f"it lacks {', '.join(lacking)}" if lacking else None


def _model_requirements(name: str, entry) -> str | None:
    """A model entry must supply what ``benchmark/models/base.py`` lists: its kinds, presets and positions, its
    tokenizer handling, its HF classes and its FLOPs (the encoder-decoder members only if it can be one)."""
    kinds = getattr(entry, "kinds", None)
    lacking = [] if isinstance(kinds, tuple) and kinds else ["kinds (a non-empty tuple of ModelKind)"]
    if not isinstance(getattr(entry, "presets", None), dict):
        lacking.append("presets (size name -> shape)")
    if not isinstance(getattr(entry, "max_positions", None), int):
        lacking.append("max_positions (an int)")
    members = ["preset", "tokenizer", "config", "build_lm", "build_classifier", "flops_per_token"]
    if "encoder_decoder" in {str(k) for k in kinds or ()}:
        members += ["encoder_decoder_config", "encoder_decoder_flops"]
    lacking += [m for m in members if not callable(getattr(entry, m, None))]
    return f"it lacks {', '.join(lacking)}" if lacking else None


models: Registry = Registry("model", requires=_model_requirements)
objectives: Registry = Registry("objective")
tasks: Registry = Registry("task")
formats: Registry = Registry("format", requires=_format_requirements)
baselines: Registry = Registry("baseline", requires=_baseline_requirements)
trackers: Registry = Registry("tracker")
