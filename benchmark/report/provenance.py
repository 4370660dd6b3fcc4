"""Where the numbers came from: code, packages, hardware, data identity, seeds and budgets.

Every field lists the distinct values found across the records (most runs share one); a
field with several values is shown with all of them, so a mixed environment is visible.
"""

from __future__ import annotations

import json
from typing import Any

from benchmark.results import SCHEMA_VERSION


def _distinct(values) -> list:
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return sorted(seen, key=lambda v: json.dumps(v, sort_keys=True, default=str))


def _env(records: list[dict], key: str) -> list:
    return _distinct((r.get("environment") or {}).get(key) for r in records)


def _recipe(records: list[dict], section: str) -> list:
    return _distinct({k: v for k, v in ((r.get("config") or {}).get(section) or {}).items() if k != "seeds"}
                     for r in records)


def collect(records: list[dict], suite: str, differences: list[str]) -> dict[str, Any]:
    """The provenance block written into every report, as plain JSON-ready data."""
    packages: dict[str, list] = {}
    for record in records:
        for name, version in ((record.get("environment") or {}).get("packages") or {}).items():
            packages.setdefault(name, [])
            if version not in packages[name]:
                packages[name].append(version)
    created = sorted(r["created_at"] for r in records if r.get("created_at"))
    return {
        "suite": suite,
        "report_reads_schema_version": SCHEMA_VERSION,
        "schema_version": _distinct(r.get("schema_version") for r in records),
        "runs": len(records),
        "runs_recorded_between": [created[0], created[-1]] if created else None,
        "corpus_id": _distinct(r.get("corpus_id") for r in records),
        "tokenizer_id": _distinct(r.get("tokenizer_id") for r in records),
        "models": _distinct(r.get("model") for r in records),
        "size": _distinct(r.get("size") for r in records),
        "objectives": _distinct(r.get("objective") for r in records),
        "tasks": _distinct(r.get("task") for r in records),
        "pretrain_seeds": _distinct(r.get("pretrain_seed") for r in records),
        "finetune_seeds": _distinct(r.get("finetune_seed") for r in records),
        "pretrain_budget": _recipe(records, "pretrain"),
        "finetune_recipe": _recipe(records, "finetune"),
        "corpus_config": _distinct((r.get("config") or {}).get("corpus") for r in records),
        "tokenizer_config": _distinct((r.get("config") or {}).get("tokenizer") for r in records),
        "python": _env(records, "python"),
        "packages": {name: sorted(v, key=str) for name, v in sorted(packages.items())},
        "platform": _env(records, "platform"),
        "cpu": _env(records, "cpu"),
        "cpu_features": _env(records, "cpu_features"),
        "cpu_count": _env(records, "cpu_count"),
        "device": _env(records, "device"),
        "device_name": _env(records, "device_name"),
        "cuda": _env(records, "cuda"),
        "precision": _env(records, "precision"),
        "git_commit": _env(records, "git_commit"),
        "incomparable_fields": differences,
    }


LABELS = {
    "suite": "suite",
    "report_reads_schema_version": "report schema version",
    "schema_version": "record schema version", "runs": "runs", "runs_recorded_between": "runs recorded between",
    "corpus_id": "corpus id", "tokenizer_id": "tokenizer id", "models": "models", "size": "model size",
    "objectives": "objectives", "tasks": "tasks", "pretrain_seeds": "pretraining seeds",
    "finetune_seeds": "finetuning seeds", "pretrain_budget": "pretraining budget and recipe",
    "finetune_recipe": "finetuning recipe", "corpus_config": "corpus settings",
    "tokenizer_config": "tokenizer settings",
    "python": "python", "packages": "packages", "platform": "platform", "cpu": "cpu",
    "cpu_features": "cpu model and instruction set", "cpu_count": "cpu count",
    "device": "device", "device_name": "device name", "cuda": "cuda", "precision": "precision",
    "git_commit": "git commit", "incomparable_fields": "incomparable fields combined",
}


# Fields that are lists by nature: several values there are expected, not a mixed environment.
LISTS = ("runs_recorded_between", "incomparable_fields", "pretrain_seeds", "finetune_seeds", "models", "objectives",
         "tasks")


def _text(value: Any) -> str:
    if value is None:
        return "not recorded"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        if not value:
            return "none"
        separator = "; " if any(isinstance(v, (dict, list)) for v in value) else ", "
        return separator.join(_text(v) for v in value)
    return str(value)


def as_lines(block: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, plain text) pairs for a human-readable provenance table; renderers escape them."""
    lines = []
    for key, label in LABELS.items():
        value = block.get(key)
        if key == "packages":
            text = ", ".join(f"{name} {' / '.join(_text(v) for v in versions)}" for name, versions in value.items())
        elif key == "runs_recorded_between" and value:
            text = f"{value[0]} to {value[1]}"
        elif key == "incomparable_fields" and not value:
            continue
        else:
            text = _text(value)
        multiple = isinstance(value, list) and len(value) > 1 and key not in LISTS
        lines.append((label, f"{text} (differs across runs)" if multiple else text))
    return lines
