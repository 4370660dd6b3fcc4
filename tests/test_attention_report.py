"""Attention in the harness and the report: each final checkpoint's statistics on held-out text are
recorded, averaged per objective into a table and a figure, and `objbench inspect` draws a run's
checkpoint; the published-claims section is in every report."""

from __future__ import annotations

import json

import pytest

from benchmark.cli import main
from benchmark.report.attention_view import STATISTICS, attention_by_entry
from benchmark.results import iter_records
from tests.helpers import tiny_raw, write_suite


def _attention(value: float, layers: int = 2, heads: int = 2) -> dict:
    return {**{s: [[value] * heads] * layers for s in STATISTICS}, "kind": "causal_decoder"}


def test_attention_is_averaged_per_checkpoint_over_heads_and_seeds():
    records = [
        {"model": "m", "objective": "clm", "checkpoint": "a", "rung": 1.0, "pretrain": {"attention": _attention(1.0)}},
        {"model": "m", "objective": "clm", "checkpoint": "a", "rung": 1.0, "pretrain": {"attention": _attention(1.0)}},
        {"model": "m", "objective": "clm", "checkpoint": "b", "rung": 1.0, "pretrain": {"attention": _attention(3.0)}},
        {"model": "m", "objective": "clm", "checkpoint": "c", "rung": 0.5, "pretrain": {"attention": _attention(9.0)}},
        {"model": "m", "objective": "tfidf_lr", "checkpoint": None, "baseline": True, "pretrain": {}},
    ]
    [(key, summary)] = attention_by_entry(records).items()
    assert key == ("m", "clm") and summary["checkpoints"] == 2  # a checkpoint's runs count once; rungs not at all
    assert summary["per_layer"]["entropy"] == [2.0, 2.0] and summary["mean"]["mean_distance"] == 2.0


@pytest.mark.slow
def test_a_run_records_attention_the_report_shows_it_and_inspect_draws_its_checkpoint(tmp_path, monkeypatch,
                                                                                       capsys):
    write_suite(tmp_path / "suite.yaml", tiny_raw(tmp_path, objectives=["none", "clm", "mlm"],
                                                  results_dir="results", reports_dir="reports"))
    monkeypatch.chdir(tmp_path)
    assert main(["run", "suite.yaml", "--quiet"]) == 0
    records = {r["objective"]: r for r in iter_records("results", "tiny")}
    attention = records["clm"]["pretrain"]["attention"]
    assert len(attention["entropy"]) == 2 and len(attention["entropy"][0]) == 4  # tiny preset: 2 layers x 4 heads
    assert all(v == 0 for row in attention["next_share"] for v in row)  # a causal decoder never looks ahead
    assert any(v > 0 for row in records["mlm"]["pretrain"]["attention"]["next_share"] for v in row)
    report = (tmp_path / "reports" / "tiny" / "README.md").read_text()
    assert "## Attention across objectives" in report and "figures/attention_by_layer.png" in report
    assert "## Published findings at this budget" in report
    board = json.loads((tmp_path / "reports" / "tiny" / "leaderboard.json").read_text())
    assert {a["objective"] for a in board["attention"]} == {"clm", "mlm"}
    capsys.readouterr()
    run_id = records["mlm"]["run_id"]
    assert main(["inspect", run_id[:12], "--text", "the cat sleeps .", "--layer", "0", "--head", "1",
                 "--out", "maps"]) == 0
    written = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[-1] for p in written] == ["attention_layer0_head1.png", "attention_layer0_head1.html"]
    assert all((tmp_path / p).stat().st_size > 0 for p in written)
    assert main(["inspect", records["none"]["run_id"], "--text", "x"]) == 2  # an untrained control: one line
