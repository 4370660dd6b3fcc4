"""The check that keeps incomparable runs out of one table.

Objectives are compared with one variable changed: the same corpus, tokenizer, model size,
pretraining budget and recipe, finetuning recipe and record schema for every run (see the
protocol's "one variable at a time"). Seeds may differ: that is what intervals are for.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from benchmark.errors import ObjbenchError

# Top-level record fields every run of one table must share; the model size, every run of one model (a suite
# of several sizes compares objectives within each, and names each model with its size).
SHARED_FIELDS = ("schema_version", "corpus_id", "tokenizer_id")
PUBLISHED_OWN = ("corpus_id", "tokenizer_id")
RECIPE_SECTIONS = ("pretrain", "finetune")  # config sections whose every key must match, but these:
# They change no weight: how often resume states are saved, and over how many devices a job is spread
# (the same global batch, schedule and data; only the order of a sum differs).
NOT_RECIPE = {"seeds", "resume_every_steps", "allow_large_budget", "parallel"}
# Recipe keys added after records were first written: a record without one ran with this value.
ADDED_LATER = {("pretrain", "compile"): False, ("pretrain", "ladder"): None, ("pretrain", "ladder_tasks"): None,
               ("pretrain", "decay_fraction"): 0.15}


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _field_values(records: list[dict]) -> Iterable[tuple[str, list[Any]]]:
    """(field, its value in each record it applies to), for every field that must agree."""
    for name in SHARED_FIELDS:  # a published checkpoint brings its own corpus and tokenizer, and is shown apart
        yield name, [r.get(name) for r in records if not (r.get("published") and name in PUBLISHED_OWN)]
    for model in sorted({r.get("model") for r in records if not r.get("baseline")}, key=str):
        yield "size", [r.get("size") for r in records if r.get("model") == model and not r.get("baseline")]
    yield "environment.precision", [(r.get("environment") or {}).get("precision") for r in records]
    for section in RECIPE_SECTIONS:
        keys = sorted({k for r in records for k in ((r.get("config") or {}).get(section) or {}) if k not in NOT_RECIPE})
        for key in keys:
            before = ADDED_LATER.get((section, key))
            yield f"config.{section}.{key}", [((r.get("config") or {}).get(section) or {}).get(key, before)
                                              for r in records]
    # An objective's or task's own settings only need to agree among the runs that use it.
    for params, column in (("objective_params", "objective"), ("variants", "objective"), ("task_params", "task"),
                           ("task_variants", "task")):
        for name in sorted({r.get(column) for r in records}, key=str):
            own = [r for r in records if r.get(column) == name]
            yield f"config.{params}.{name}", [((r.get("config") or {}).get(params) or {}).get(name) or {} for r in own]


def config_differences(records: list[dict]) -> list[str]:
    """The lines of :func:`differences` about the suite's settings (``config.*``) alone: what a suite's plan can be
    checked for before it runs."""
    return [line for line in differences(records) if line.startswith("config.")]


def differences(records: list[dict]) -> list[str]:
    """One line per field on which the runs disagree, naming the values and how many runs hold each."""
    lines = []
    for name, values in _field_values(records):
        counts = Counter(_shown(v) for v in values)
        if len(counts) > 1:
            held = ", ".join(f"{value} in {n} run{'s' if n > 1 else ''}" for value, n in sorted(counts.items()))
            lines.append(f"{name} differs ({held})")
    return lines


def check_comparable(records: list[dict], allow_incomparable: bool = False) -> list[str]:
    """Raise on runs that must not share a table, unless allowed; returns the differences either way."""
    found = differences(records)
    if found and not allow_incomparable:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ObjbenchError(f"runs are not comparable: {found[0]}{more}; "
                            "report them in one table only with --allow-incomparable")
    return found


def by_model_and_size(records: list[dict]) -> list[dict]:
    """The records as the report compares them: within a model at one size. A suite that lists several sizes names
    each of its models with the size (``gpt2-small``), keeping the entry's name as ``family``; a suite of one
    size keeps its names, so two sizes in its records are refused as incomparable, not split."""
    out = []
    for r in records:
        sizes = (r.get("config") or {}).get("size")
        if isinstance(sizes, list) and len(sizes) > 1 and r.get("size") and not r.get("baseline"):
            r = {**r, "model": f"{r['model']}-{r['size']}", "family": r["model"]}
        out.append(r)
    return out
