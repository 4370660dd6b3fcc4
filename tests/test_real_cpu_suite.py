"""suites/real-cpu.yaml, the real-text suite for a CPU, end to end at a handful of steps on the real
samples in tests/fixtures, read through mirrors with the Hub datasets' own layouts: every task is
recorded and the report renders."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.config import load_suite
from benchmark.results import iter_records
from tests import test_data_sources
from tests.real_fixtures import BLIMP_PARADIGMS, write_mirrors

pytestmark = pytest.mark.slow
offline = test_data_sources.offline  # autouse: no network, an empty datasets cache
hub_mirror = test_data_sources.hub_mirror

SUITE = Path(__file__).parents[1] / "suites" / "real-cpu.yaml"
HANDFUL = ["pretrain.budget_unit=steps", "pretrain.budget=3", "pretrain.batch_size=4", "finetune.epochs=1",
           "tokenizer.vocab_size=1024", "task_params.sst2.train_size=32", "task_params.squad.train_size=32",
           "task_params.squad.test_size=24", "task_params.wmt16_ro_en.train_size=32",
           "task_params.wmt16_ro_en.test_size=12", "task_params.blimp.pairs_per_paradigm=8",
           f"task_params.blimp.paradigms={','.join(BLIMP_PARADIGMS)}"]


def test_the_suite_reads_real_data_from_the_hub_at_pinned_revisions():
    suite = load_suite(SUITE)
    assert suite.corpus.source == "hub" and suite.corpus.config == "wikitext-2-raw-v1"
    assert set(suite.tasks) == {"sst2", "squad", "wmt16_ro_en", "blimp"}
    assert suite.tokenizer.algorithm == "byte_bpe" and suite.tokenizer.pretrained is None
    assert len(suite.pretrain.seeds) >= 2 and {"none", "clm"} <= set(suite.objectives)


def test_real_cpu_runs_end_to_end_on_the_real_samples(hub_mirror, tmp_path, capsys):
    write_mirrors(hub_mirror)
    store = [f"results_dir={tmp_path / 'results'}", f"reports_dir={tmp_path / 'reports'}"]
    assert main(["fetch", str(SUITE), *store, *HANDFUL]) == 0
    assert main(["run", str(SUITE), "--quiet", *store, *HANDFUL]) == 0, capsys.readouterr().err
    records = list(iter_records(tmp_path / "results", "real-cpu"))
    by_task = {}
    for r in records:
        by_task.setdefault(r["task"], []).append(r)
    assert set(by_task) == {"sst2", "squad", "wmt16_ro_en", "blimp"}
    for r in by_task["squad"]:
        assert r["evaluate"]["answers_outside_windows"] == 0 and r["finetune"]["answers_outside_windows"] == 0
        assert r["evaluate"]["windows"] > r["evaluate"]["examples"]  # long contexts took several windows
    for r in by_task["wmt16_ro_en"]:
        assert r["evaluate"]["chrf_signature"].startswith("nrefs:1|case:mixed|")
        assert r["evaluate"]["max_new_tokens"]["ceiling"] == 192 and "chrf_lc" in r["metrics"]
    assert {r["objective"] for r in by_task["blimp"]} >= {"none", "clm", "mlm", "span_corruption"}
    report = (tmp_path / "reports" / "real-cpu" / "README.md").read_text()
    for task in ("sst2", "squad", "wmt16_ro_en", "blimp"):
        assert f"{task.replace('_', chr(92) + '_')}: " in report  # each task's column (Markdown escapes "_")
