"""The real-data samples in ``tests/fixtures`` (see its README for sources and licences), read as rows
and written as local mirrors with the Hub datasets' own layouts, for the suites that read the Hub."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_data_sources import write_hub_mirror

FIXTURES = Path(__file__).parent / "fixtures"
BLIMP_PARADIGMS = sorted(p.stem for p in (FIXTURES / "blimp").glob("*.jsonl"))


def rows(path: str) -> list[dict]:
    """The records of one JSON Lines fixture, e.g. ``rows("squad/validation.jsonl")``."""
    return [json.loads(line) for line in (FIXTURES / path).read_text(encoding="utf-8").splitlines() if line.strip()]


def lines(path: str) -> list[str]:
    """The lines of one text fixture, as the Hub's WikiText rows hold them (without the line end)."""
    return (FIXTURES / path).read_text(encoding="utf-8").split("\n")[:-1]


def columns(records: list[dict]) -> dict[str, list]:
    """Records as the columns of a table, in the first record's key order."""
    return {key: [r.get(key) for r in records] for key in records[0]}


def texts() -> list[str]:
    """Every text of every fixture: what a model would read or write, for round-trip checks."""
    out = lines("wikitext/train.txt") + lines("wikitext/validation.txt")
    for split in ("train", "validation"):
        for r in rows(f"squad/{split}.jsonl"):
            out += [r["question"], r["context"], *r["answers"]["text"]]
        for r in rows(f"wmt16_ro_en/{split}.jsonl"):
            out += [r["translation"]["ro"], r["translation"]["en"]]
    for paradigm in BLIMP_PARADIGMS:
        out += [t for r in rows(f"blimp/{paradigm}.jsonl") for t in (r["sentence_good"], r["sentence_bad"])]
    return out


def classification_stand_in(sentences: list[str]) -> dict[str, list]:
    """SST-2's columns (sentence, label, idx) over real sentences, labelled by whether a sentence holds a digit.

    Not SST-2's data, whose licence does not cover redistribution: real text in its layout, with a
    label a model can learn, for running the pipeline on real text end to end.
    """
    return {"sentence": sentences, "label": [int(any(c.isdigit() for c in s)) for s in sentences],
            "idx": list(range(len(sentences)))}


def write_mirrors(root: Path) -> None:
    """Local mirrors of WikiText-2, GLUE SST-2 (the stand-in), SQuAD v1.1, WMT16 ro-en and BLiMP from the fixtures."""
    train, validation = lines("wikitext/train.txt"), lines("wikitext/validation.txt")
    write_hub_mirror(root, "Salesforce/wikitext", {"wikitext-2-raw-v1": {
        "train": {"text": train}, "validation": {"text": validation}, "test": {"text": validation}}})
    sentences = [s.strip() for line in train if line.strip() and not line.strip().startswith("=")
                 for s in line.split(" . ") if 20 < len(s.strip()) < 200]
    write_hub_mirror(root, "nyu-mll/glue", {"sst2": {
        "train": classification_stand_in(sentences[:300]), "validation": classification_stand_in(sentences[300:400]),
        "test": {**classification_stand_in(sentences[400:450]), "label": [-1] * 50}}})
    write_hub_mirror(root, "rajpurkar/squad", {"plain_text": {
        split: columns(rows(f"squad/{split}.jsonl")) for split in ("train", "validation")}})
    pairs = {split: columns(rows(f"wmt16_ro_en/{split}.jsonl")) for split in ("train", "validation")}
    write_hub_mirror(root, "wmt/wmt16", {"ro-en": {**pairs, "test": pairs["validation"]}})
    write_hub_mirror(root, "nyu-mll/blimp", {p: {"train": columns(rows(f"blimp/{p}.jsonl"))} for p in BLIMP_PARADIGMS})
