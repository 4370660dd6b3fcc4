"""Every real-data and local-file task end to end on a tiny model, offline: SQuAD, WMT16 and BLiMP
from local mirrors with the Hub's column layout, and two variants of local_classification beside
a local QA set, a local translation set and local minimal pairs, in one suite. QA and translation
finetune and evaluate; the minimal pairs score zero-shot; the report has a column per variant."""

from __future__ import annotations

import csv
import json

import pytest

from benchmark.cli import main
from benchmark.results import iter_records
from tests import test_data_sources
from tests.helpers import tiny_raw, write_suite
from tests.test_data_sources import write_hub_mirror
from tests.test_real_tasks import blimp_rows, squad_rows

offline = test_data_sources.offline  # autouse: no network, an empty datasets cache
hub_mirror = test_data_sources.hub_mirror

pytestmark = pytest.mark.slow

WORDS = "red green blue amber violet olive coral ivory".split()


def _csv(path, header, rows):
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _local_files(root) -> dict:
    """Two classification sets (8 colours; warm or cool), QA, translation and minimal pairs files."""
    def sentences(start, n):
        return [(f"the {WORDS[i % 8]} kite number {i} flies .", WORDS[i % 8]) for i in range(start, start + n)]
    colour = {"task": "local_classification", "text_column": "text", "label_column": "label",
              "train_path": _csv(root / "colour-train.csv", ["text", "label"], sentences(0, 32)),
              "test_path": _csv(root / "colour-test.csv", ["text", "label"], sentences(100, 16))}
    warm = {"red", "amber", "coral", "ivory"}
    def tempers(start, n):
        return [(text, "warm" if c in warm else "cool") for text, c in sentences(start, n)]
    temper = {**colour, "train_path": _csv(root / "temper-train.csv", ["text", "label"], tempers(0, 32)),
              "test_path": _csv(root / "temper-test.csv", ["text", "label"], tempers(100, 16))}
    qa = [(f"what flies number {i} ?", f"the {WORDS[i % 8]} kite number {i} flies .", f"{WORDS[i % 8]} kite")
          for i in range(24)]
    mt = [(f"the {WORDS[i % 8]} kite {i}", f"le cerf-volant {WORDS[i % 8]} {i}") for i in range(24)]
    pairs = [(f"the kites {w} fly .", f"the kites {w} flies .", "agreement") for w in WORDS]
    return {
        "colour": colour, "temper": temper,
        "local_extractive_qa": {"train_path": _csv(root / "qa-train.csv", ["question", "context", "answer"], qa[:16]),
                                "test_path": _csv(root / "qa-test.csv", ["question", "context", "answer"], qa[16:])},
        "local_translation": {"train_path": _csv(root / "mt-train.csv", ["source", "target"], mt[:16]),
                              "test_path": _csv(root / "mt-test.csv", ["source", "target"], mt[16:])},
        "local_minimal_pairs": {"test_path": _csv(root / "pairs.csv", ["good", "bad", "phenomenon"], pairs),
                                "phenomenon_column": "phenomenon"},
    }


def _hub_mirrors(root) -> None:
    train = [{"text": ["March 1889"], "answer_start": [33]}, {"text": ["Gustave Eiffel"], "answer_start": [47]}] * 6
    test = [{"text": ["1889", "March 1889"], "answer_start": [39, 33]}] * 4
    write_hub_mirror(root, "rajpurkar/squad", {"plain_text": {"train": squad_rows(12, train),
                                                              "validation": squad_rows(4, test)}})
    pairs = {split: {"translation": [{"ro": f"pisica {i} doarme", "en": f"the cat {i} sleeps"} for i in range(n)]}
             for split, n in (("train", 12), ("validation", 2), ("test", 4))}
    write_hub_mirror(root, "wmt/wmt16", {"ro-en": pairs})
    write_hub_mirror(root, "nyu-mll/blimp", {"passive_1": {"train": blimp_rows("passive_1", "argument_structure")}})


def test_every_real_and_local_task_runs_end_to_end_with_two_variants_side_by_side(tmp_path, hub_mirror,
                                                                                  monkeypatch, capsys):
    _hub_mirrors(hub_mirror)
    files = _local_files(tmp_path)
    tasks = ["colour", "temper", "local_extractive_qa", "local_translation", "local_minimal_pairs", "squad",
             "wmt16_ro_en", "blimp"]
    raw = tiny_raw(tmp_path, objectives=["none", "clm"], tasks=tasks, results_dir="results", reports_dir="reports",
                   task_variants={"colour": files["colour"], "temper": files["temper"]},
                   task_params={k: v for k, v in files.items() if k not in ("colour", "temper")
                                } | {"blimp": {"paradigms": "passive_1"}})
    raw["finetune"] = {**raw["finetune"], "max_length": 48}
    write_suite(tmp_path / "suite.yaml", raw)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "suite.yaml", "--quiet"]) == 0, capsys.readouterr()
    records = list(iter_records("results", "tiny"))
    by_task = {}
    for r in records:
        by_task.setdefault(r["task"], []).append(r)
    assert set(by_task) == set(tasks)  # every task recorded; translation only for clm (none is an encoder)
    assert [r["objective"] for r in by_task["local_translation"]] == ["clm"]
    for task in ("local_extractive_qa", "squad"):
        assert all(r["finetune"]["steps"] > 0 and 0 <= r["metrics"]["f1"] <= 1 for r in by_task[task])
    for task in ("local_translation", "wmt16_ro_en"):
        [r] = by_task[task]
        assert r["finetune"]["steps"] > 0 and "chrf" in r["metrics"] and "bleu_signature" in r["evaluate"]
    for task in ("local_minimal_pairs", "blimp"):
        assert all(r["finetune"]["steps"] == 0 and 0 <= r["metrics"]["accuracy"] <= 1 for r in by_task[task])
    report = (tmp_path / "reports" / "tiny" / "README.md").read_text()
    header = next(line for line in report.splitlines() if line.startswith("|") and "colour" in line)
    assert "temper" in header  # one column per variant, side by side in one leaderboard
    board = json.loads((tmp_path / "reports" / "tiny" / "leaderboard.json").read_text())
    assert {"colour", "temper"} <= {row["task"] for row in board["rows"]}
