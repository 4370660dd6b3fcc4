"""A command does its work once: on a store of finished runs, ``report`` and ``run`` plan once, hash no
checkpoint, and train or tokenize nothing; the preconditions of a run are checked once."""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from benchmark import files, plan
from benchmark.cli import main
from benchmark.data import tokenizer as tokenization
from benchmark.tasks import availability
from tests.helpers import tiny_raw, write_suite


def _count_calls(monkeypatch, counts: Counter, name: str, original, record=lambda *a, **k: True) -> None:
    """Wrap ``original`` wherever a project module bound it, counting the calls ``record`` accepts."""
    def counted(*args, **kwargs):
        if record(*args, **kwargs):
            counts[name] += 1
        return original(*args, **kwargs)

    for module in [m for key, m in sys.modules.items() if key.startswith("benchmark")]:
        for attr, value in list(vars(module).items()):
            if value is original:
                monkeypatch.setattr(module, attr, counted)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A suite whose every run is recorded (and reported once)."""
    folder = tmp_path_factory.mktemp("finished")
    path = write_suite(folder / "suite.yaml", tiny_raw(folder, objectives=["none", "clm"]))
    assert main(["run", str(path), "--quiet"]) == 0
    return path


def _counted(monkeypatch) -> Counter:
    counts = Counter()
    _count_calls(monkeypatch, counts, "plans", plan.make_plan)
    _count_calls(monkeypatch, counts, "checkpoint hashes", files.damage,
                 record=lambda folder, *a, **k: "checkpoints" in Path(folder).parts)
    _count_calls(monkeypatch, counts, "tokenizers trained", tokenization.train_tokenizer)
    _count_calls(monkeypatch, counts, "task checks", availability.check_tasks_available)
    return counts


def test_a_report_on_finished_runs_plans_once_and_hashes_no_checkpoint(finished, monkeypatch, capsys):
    counts = _counted(monkeypatch)
    assert main(["report", str(finished)]) == 0
    assert counts == Counter({"plans": 1}), counts
    assert "report:" in capsys.readouterr().out


def test_running_a_finished_suite_plans_once_and_checks_once(finished, monkeypatch, capsys):
    counts = _counted(monkeypatch)
    assert main(["run", str(finished), "--quiet"]) == 0
    assert counts == Counter({"plans": 1, "task checks": 1}), counts
    assert "0 runs done" in capsys.readouterr().out


def test_a_report_without_the_suites_data_says_so_and_tokenizes_nothing(finished, monkeypatch, capsys, tmp_path):
    raw = tiny_raw(tmp_path, objectives=["none", "clm"])  # the finished runs' records, without the data cache
    shutil.copytree(finished.parent / "results" / "tiny", tmp_path / "results" / "tiny")
    counts = _counted(monkeypatch)
    assert main(["report", str(write_suite(tmp_path / "suite.yaml", raw))]) == 2
    assert "`objbench run` or `objbench plan` makes them" in capsys.readouterr().err
    assert counts["tokenizers trained"] == 0 and counts["plans"] == 0
