"""suites/real-small.yaml (WikiText-103; SST-2, MNLI, SQuAD, WMT16 ro-en, BLiMP) validates, fetches and
plans offline against local mirrors with the Hub datasets' own column layouts."""

from __future__ import annotations

from pathlib import Path

from benchmark.cli import main
from benchmark.config import load_suite
from benchmark.tasks.blimp import PARADIGMS
from tests import test_data_sources
from tests.test_data_sources import write_hub_mirror
from tests.test_real_tasks import blimp_rows, squad_rows

offline = test_data_sources.offline  # autouse: no network, an empty datasets cache
hub_mirror = test_data_sources.hub_mirror

SUITE = Path(__file__).parents[1] / "suites" / "real-small.yaml"
WORDS = "river stone light field house garden music winter letter morning".split()


def _article(i: int) -> list[str]:
    body = " ".join(f"The {WORDS[(i + k) % 10]} of {WORDS[(i * 3 + k) % 10]} was {k} years old ." for k in range(40))
    return ["", f" = Article {i} = ", "", f" {body} ", ""]


def _mirrors(root: Path) -> None:
    write_hub_mirror(root, "Salesforce/wikitext", {"wikitext-103-raw-v1": {
        "train": {"text": [row for i in range(120) for row in _article(i)]},
        "validation": {"text": _article(999)}, "test": {"text": _article(998)}}})
    glue_rows = {"sentence": [f"a {w} film" for w in WORDS], "label": [i % 2 for i in range(10)], "idx": list(range(10))}
    pairs = {"premise": [f"p {w}" for w in WORDS], "hypothesis": [f"h {w}" for w in WORDS],
             "label": [i % 3 for i in range(10)], "idx": list(range(10))}
    write_hub_mirror(root, "nyu-mll/glue", {
        "sst2": {"train": glue_rows, "validation": glue_rows, "test": {**glue_rows, "label": [-1] * 10}},
        "mnli": {"train": pairs, "validation_matched": pairs, "validation_mismatched": pairs}})
    answers = [{"text": ["March 1889"], "answer_start": [33]}] * 4
    write_hub_mirror(root, "rajpurkar/squad", {"plain_text": {"train": squad_rows(4, answers),
                                                              "validation": squad_rows(4, answers)}})
    write_hub_mirror(root, "wmt/wmt16", {"ro-en": {split: {"translation": [{"ro": f"ro {w}", "en": f"en {w}"}
                                                                           for w in WORDS]}
                                                   for split in ("train", "validation", "test")}})
    write_hub_mirror(root, "nyu-mll/blimp", {p: {"train": blimp_rows(p, "term")} for p in PARADIGMS})


def test_real_small_validates_fetches_and_plans_offline_on_mirrors(hub_mirror, tmp_path, monkeypatch, capsys):
    suite = load_suite(SUITE)
    assert suite.corpus.dataset == "Salesforce/wikitext" and suite.corpus.config == "wikitext-103-raw-v1"
    assert suite.size in ("small", "base") and len(suite.pretrain.seeds) >= 2
    assert {"sst2", "mnli", "squad", "wmt16_ro_en", "blimp"} <= set(suite.tasks)
    _mirrors(hub_mirror)
    store = [f"results_dir={tmp_path / 'results'}", f"reports_dir={tmp_path / 'reports'}"]
    assert main(["fetch", str(SUITE), *store]) == 0
    fetched = capsys.readouterr().out
    assert "corpus (hub): 120 documents" in fetched and "task blimp: 0 train" in fetched
    assert main(["plan", str(SUITE), *store]) == 0
    plan = capsys.readouterr().out
    assert "suite real-small:" in plan and "llama/span_corruption" in plan
    for task in ("sst2", "mnli", "squad", "wmt16_ro_en", "blimp"):
        assert f"\n{task} " in plan, task  # the plan's task table
