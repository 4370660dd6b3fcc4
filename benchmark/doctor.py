"""``objbench doctor``: check a results store without running anything, and repair what can be repaired.

It reads every run record of a suite (parse, content hash, schema) and every cached artefact of
the store (checkpoints, tokenizers, packed blocks: each file's size and hash against the folder's
manifest), and finds what a killed write left behind. Repairing moves damaged records and
artefacts to a quarantine folder (the next run redoes them) and deletes leftovers of writes
that never finished; nothing is ever repaired by editing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from benchmark import files
from benchmark.cache import cache_dir
from benchmark.errors import ObjbenchError
from benchmark.results import READS, SCHEMA_VERSION, DamagedRecord, quarantine_dir, read_record, runs_dir

CACHED_KINDS = ("checkpoints", "tokenizers", "blocks")


@dataclass(frozen=True)
class Finding:
    path: Path
    problem: str
    action: str  # "quarantine", "delete", or "" when only a person can decide

    def line(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass
class Examination:
    findings: list[Finding]
    records: int
    artefacts: dict[str, int]

    def healthy_line(self, results_dir: str, suite: str) -> str:
        held = ", ".join(f"{n} {kind}" for kind, n in self.artefacts.items())
        return f"healthy: {results_dir} holds {self.records} whole records of suite {suite}; cache: {held}"


def examine(results_dir: str, suite: str) -> Examination:
    """Every problem in the suite's records and the store's cache, one finding each."""
    findings, records = [], 0
    folder = runs_dir(results_dir, suite)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = read_record(path)
        except DamagedRecord as err:
            findings.append(Finding(path, f"damaged record: {err.problem}", "quarantine"))
            continue
        if record.get("schema_version") != SCHEMA_VERSION:
            findings.append(Finding(path, f"schema_version {record.get('schema_version')!r}; this version reads "
                                          f"{', '.join(map(str, READS))} (report it with the objbench that wrote it)", ""))
            continue
        records += 1
    if folder.is_dir():
        findings += [Finding(p, "left by a write that never finished", "delete") for p in files.leftovers(folder)]
    artefacts = {}
    for kind in CACHED_KINDS:
        where = cache_dir(results_dir, kind)
        entries = sorted(where.iterdir()) if where.is_dir() else []
        artefacts[kind] = 0
        for path in entries:
            if path.name.startswith(".") and path.name.endswith(".partial"):
                findings.append(Finding(path, "left by a save that never finished", "delete"))
            elif path.name.endswith(".resume.pt") and path.with_name(path.name.removesuffix(".resume.pt")).is_dir():
                findings.append(Finding(path, "resume state of a checkpoint that is already saved", "delete"))
            elif path.is_dir():
                problem = files.damage(path)
                if problem:
                    findings.append(Finding(path, f"damaged {kind[:-1]}: {problem}", "quarantine"))
                else:
                    artefacts[kind] += 1
    return Examination(findings, records, artefacts)


def held_locks(results_dir: str) -> list[Path]:
    """The store's locks that some process holds now: a run is writing, and its temporary files are live."""
    held = []
    folder = cache_dir(results_dir, "locks")
    for path in sorted(folder.glob("*.lock")) if folder.is_dir() else []:
        probe = FileLock(path, timeout=0)
        try:
            probe.acquire()
        except Timeout:
            held.append(path)
        else:
            probe.release()
    return held


def repair(findings: list[Finding], results_dir: str, suite: str) -> list[str]:
    """Apply each finding's action; returns one line per finding saying what was done.

    Refused while any process holds a lock on the store: what looks like a leftover may be a
    file that a live run is writing.
    """
    busy = held_locks(results_dir)
    if busy:
        raise ObjbenchError(f"a run is using {results_dir} ({busy[0].name} is held); repair once it has finished")
    done = []
    for f in findings:
        if f.action == "delete":
            files.remove(f.path)
            done.append(f"deleted {f.path}")
        elif f.action == "quarantine":
            is_record = f.path.parent == runs_dir(results_dir, suite)
            target = quarantine_dir(results_dir, suite) if is_record else cache_dir(results_dir, "quarantine")
            done.append(f"moved {f.path} to {files.quarantine(f.path, target)}; the next run redoes it")
        else:
            done.append(f"left {f.path}: {f.problem}")
    return done
