"""The result store: one JSON record per run, written atomically, never edited.

``results/<suite>/runs/<run_id>.json``. A record is first written to a temporary file in the
same folder and then renamed into place, so a crash mid-write never leaves a half record.
Every record carries ``schema_version``; unknown values are ``None``, never placeholders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from benchmark import files

SCHEMA_VERSION = 2  # 2: records carry their task format's primary_metric


def runs_dir(results_dir: str | Path, suite: str) -> Path:
    return Path(results_dir) / suite / "runs"


def record_path(results_dir: str | Path, suite: str, run_id: str) -> Path:
    return runs_dir(results_dir, suite) / f"{run_id}.json"


def has_record(results_dir: str | Path, suite: str, run_id: str) -> bool:
    return record_path(results_dir, suite, run_id).is_file()


def write_record(results_dir: str | Path, record: dict) -> Path:
    """Store one run record; refuses to overwrite an existing one (the store is append-only)."""
    if record.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"record has schema_version {record.get('schema_version')!r}, expected {SCHEMA_VERSION}")
    path = record_path(results_dir, record["suite"], record["run_id"])
    if path.exists():
        raise FileExistsError(f"run {record['run_id']} is already recorded at {path}")
    files.write_json(path, record)
    return path


def iter_records(results_dir: str | Path, suite: str | None = None) -> Iterator[dict]:
    """Every record under ``results_dir`` (one suite's, or all), oldest first."""
    root = Path(results_dir)
    pattern = f"{suite}/runs/*.json" if suite else "*/runs/*.json"
    records = []
    for path in root.glob(pattern):
        with open(path) as fh:
            records.append(json.load(fh))
    yield from sorted(records, key=lambda r: (r.get("created_at") or "", r["run_id"]))


def write_records_file(path: Path, records: list[dict]) -> None:
    """Records as JSON Lines, one per line, in the given order (written atomically)."""
    files.write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))


def read_records_file(path: str | Path) -> list[dict]:
    """The records of a JSON Lines file written by :func:`write_records_file`."""
    with open(path) as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    for r in records:
        if r.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"{path}: record {r.get('run_id')} has schema_version {r.get('schema_version')!r}, "
                             f"this version reads {SCHEMA_VERSION}")
    return records


def flatten(record: dict, prefix: str = "") -> dict:
    """Nested dicts -> dotted columns (``metrics.accuracy``); lists stay as values."""
    out = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key != "config":
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def to_dataframe(results_dir: str | Path = "results", suite: str | None = None) -> pd.DataFrame:
    """All run records as one row each, with dotted columns such as ``metrics.f1_macro``."""
    return pd.DataFrame([flatten(r) for r in iter_records(results_dir, suite)])
