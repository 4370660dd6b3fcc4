"""The result store: one JSON record per run, written atomically, never edited.

``results/<suite>/runs/<run_id>.json``. A record is first written to a temporary file in the
same folder and then renamed into place, so a crash mid-write never leaves a half record.
Every record carries ``schema_version``; unknown values are ``None``, never placeholders.
Every record also carries the SHA-256 of its own content, checked whenever it is read: a record
that does not parse or does not match (cut short, edited, damaged on disk) is moved to
``results/<suite>/quarantine/`` with a warning naming it, and never counts as done.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from benchmark import files
from benchmark.errors import ObjbenchError, warn
from benchmark.paths import inside

# 2: records carry their task format's primary_metric and their content hash; 3: pretraining's MFU is over a
# named peak (``pretrain.peak_flops_per_s`` and ``pretrain.peak_source``, "datasheet" or "measured"), a
# classical baseline sits under ``BASELINE_GROUP`` and says whether it is ``deterministic``, and a record keeps
# its test items (``ITEMS_KEY``; None in a record read from schema 2)
SCHEMA_VERSION = 3
DIGEST_KEY = "content_sha256"
# A classical baseline's ``model``: a group of its own, never a neural model's name (it trains no network,
# and it is fitted once however many models a suite has).
BASELINE_GROUP = "classical"
# Where a record keeps what its primary metric is made of, item by item (``formats/items.py`` writes it, the
# report's test-set bootstrap reads it).
ITEMS_KEY = "test_items"


def upgraded(record: dict) -> dict:
    """A verified record of an older schema this version still reads, in today's form (marked
    ``upgraded_from``, with the digest of its new content); a record of today's schema as it is.

    2 -> 3: version 2 divided model FLOP/s by a matmul timed in the process, which is a measured peak; it
    filed a classical baseline under a neural model's name, now under ``BASELINE_GROUP``.
    """
    if record.get("schema_version") != 2:
        return record
    pretrain = dict(record.get("pretrain") or {})
    if "matmul_flops_per_s" in pretrain:
        pretrain["peak_flops_per_s"] = pretrain.pop("matmul_flops_per_s")
        pretrain["peak_source"] = "measured"
    body = {k: v for k, v in record.items() if k != DIGEST_KEY}
    new = {**body, "pretrain": pretrain, "schema_version": SCHEMA_VERSION, "upgraded_from": 2}
    if record.get("baseline"):
        new["model"] = BASELINE_GROUP
    return {**new, DIGEST_KEY: content_digest(new)}


READS = (2, SCHEMA_VERSION)  # the schemas this version reads (older ones through ``upgraded``)


class DamagedRecord(Exception):
    """A stored record that does not parse or whose content hash does not match."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


def runs_dir(results_dir: str | Path, suite: str) -> Path:
    return inside(results_dir, suite, "runs")


def record_path(results_dir: str | Path, suite: str, run_id: str) -> Path:
    return inside(results_dir, suite, "runs", f"{run_id}.json")


def quarantine_dir(results_dir: str | Path, suite: str) -> Path:
    return inside(results_dir, suite, "quarantine")


def failure_path(results_dir: str | Path, suite: str, run_id: str) -> Path:
    """Where a run that raised keeps its error and traceback until it runs through (then it is removed)."""
    return inside(results_dir, suite, "failed", f"{run_id}.json")


def write_failure(results_dir: str | Path, suite: str, failure: dict) -> Path:
    return files.write_json(failure_path(results_dir, suite, failure["run_id"]), failure)


def clear_failure(results_dir: str | Path, suite: str, run_id: str) -> None:
    failure_path(results_dir, suite, run_id).unlink(missing_ok=True)


def iter_failures(results_dir: str | Path, suite: str, run_ids: set[str] | None = None) -> list[dict]:
    """The failures on record (of ``run_ids`` only, when given), by run id."""
    found = []
    for path in sorted(Path(results_dir, suite, "failed").glob("*.json")):
        try:
            failure = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a failure note cut short says nothing a rerun will not say again
        if run_ids is None or failure.get("run_id") in run_ids:
            found.append(failure)
    return found


def has_record(results_dir: str | Path, suite: str, run_id: str) -> bool:
    """Whether the run is recorded, by a whole record (a damaged one is quarantined: the run is to do)."""
    path = record_path(results_dir, suite, run_id)
    try:
        return path.is_file() and load_or_quarantine(path, results_dir, suite) is not None
    except FileNotFoundError:  # moved to quarantine by another process between the two looks
        return False


def content_digest(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != DIGEST_KEY}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def read_record(path: Path) -> dict:
    """The record stored at ``path``, checked: it parses, its content matches the hash written with it, and, in a
    suite's ``runs`` folder, it is who its place says: the run its file is named after, of the suite whose folder
    holds it (a record copied over another's is whole, and still the wrong one)."""
    try:
        record = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise DamagedRecord(path, "not valid JSON (cut short or overwritten)") from None
    if isinstance(record, dict) and "run_id" in record and record.get("schema_version") not in READS:
        return record  # another schema's record: not ours to verify; the report refuses to mix schemas
    if not isinstance(record, dict) or DIGEST_KEY not in record:
        raise DamagedRecord(path, f"not a run record (no {DIGEST_KEY})")
    if record[DIGEST_KEY] != content_digest(record):
        raise DamagedRecord(path, "changed since it was written (content hash differs)")
    if path.parent.name == "runs":
        if record.get("run_id") != path.stem:
            raise DamagedRecord(path, f"holds run {record.get('run_id')}, not the run {path.stem} it is named for "
                                      "(a record copied over another's)")
        if record.get("suite") != path.parent.parent.name:
            raise DamagedRecord(path, f"holds a run of suite {record.get('suite')!r}, not of "
                                      f"{path.parent.parent.name!r} whose folder it is in")
    return upgraded(record)


def load_or_quarantine(path: Path, results_dir: str | Path, suite: str) -> dict | None:
    """The record at ``path``; a damaged one is moved to the suite's quarantine folder, with a warning, and None."""
    try:
        return read_record(path)
    except DamagedRecord as err:
        aside = quarantine_dir(results_dir, suite)
        moved = files.quarantine(path, aside)
        if moved is not None:
            warn(f"record {err.path} is damaged ({err.problem}); moved to {moved}; its run will be redone")
        return None


def write_record(results_dir: str | Path, record: dict) -> Path:
    """Store one run record; refuses to overwrite an existing one (the store is append-only)."""
    if record.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"record has schema_version {record.get('schema_version')!r}, expected {SCHEMA_VERSION}")
    sealed = {**record, DIGEST_KEY: content_digest(record)}  # what doctor and every read check it against
    path = record_path(results_dir, record["suite"], record["run_id"])
    if path.exists():
        raise FileExistsError(f"run {record['run_id']} is already recorded at {path}")
    for leftover in files.leftovers(path.parent, path.name):  # a write that a kill cut short
        files.remove(leftover)
    files.write_json(path, sealed)
    return path


def iter_records(results_dir: str | Path, suite: str | None = None) -> Iterator[dict]:
    """Every record under ``results_dir`` (one suite's, or all), oldest first."""
    root = Path(results_dir)
    pattern = f"{suite}/runs/*.json" if suite else "*/runs/*.json"
    records = []
    for path in sorted(root.glob(pattern)):
        try:
            record = load_or_quarantine(path, results_dir, path.parent.parent.name)
        except FileNotFoundError:  # moved by another process
            continue
        if record is not None:
            records.append(record)
    yield from sorted(records, key=lambda r: (r.get("created_at") or "", r["run_id"]))


def write_records_file(path: Path, records: list[dict]) -> None:
    """Records as JSON Lines, one per line, in the given order (written atomically)."""
    files.write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))


def read_records_file(path: str | Path) -> list[dict]:
    """The records of a JSON Lines file written by :func:`write_records_file`; anything else is refused
    with the file and line."""
    records = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise ObjbenchError(f"{path}: not a records file (byte {err.start} is not UTF-8)") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as err:
            raise ObjbenchError(f"{path}, line {number}: not a JSON record ({err.msg})") from None
        if not isinstance(record, dict) or "run_id" not in record:
            raise ObjbenchError(f"{path}, line {number}: not a run record")
        if record.get("schema_version") not in READS:
            raise ObjbenchError(f"{path}, line {number}: record {record.get('run_id')} has schema_version "
                                f"{record.get('schema_version')!r}, this version reads {', '.join(map(str, READS))}")
        if record.get(DIGEST_KEY) != content_digest(record):
            raise ObjbenchError(f"{path}, line {number}: record {record['run_id']} changed since it was written "
                                f"(content hash differs)")
        records.append(upgraded(record))
    if not records:
        raise ObjbenchError(f"{path}: no records in it")
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
