"""Published checkpoints on the board: finetuned and evaluated with the suite's recipe, with their own tokenizers,
their stated compute, and kept apart from the compute-matched comparisons."""

from __future__ import annotations

import json

import pytest

from benchmark.config import validate_suite
from benchmark.data import corpus
from benchmark.errors import ObjbenchError
from benchmark.harness import model_entry, preflight, run_suite
from benchmark.report.leaderboard import write_report
from benchmark.results import iter_records
from tests.helpers import tiny_raw
from tests.published_checkpoints import SPECS, write_checkpoints

ELECTRA_FLOPS = 1.4e18  # ELECTRA-Small's train FLOPs, Clark et al. 2020, Table 1


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("published")
    texts = [" ".join(doc) for doc in corpus.documents(validate_suite(tiny_raw(folder)))]
    return write_checkpoints(folder / "checkpoints", texts)


def published_raw(tmp_path, checkpoints, **changes) -> dict:
    pretrained = {f"{family}_tiny": {"path": str(folder), "objective": SPECS[family][0], "kind": SPECS[family][1]}
                  for family, folder in checkpoints.items()}
    pretrained.get("electra_tiny", {}).update(flops=ELECTRA_FLOPS, source="Clark et al. 2020, Table 1 (ELECTRA-Small)")
    return tiny_raw(tmp_path, objectives=["none", "mlm"], pretrained=pretrained,
                    tasks=["synthetic_topic", "synthetic_minimal_pairs"],
                    task_params={"synthetic_topic": {"train_size": 32, "test_size": 32},
                                 "synthetic_minimal_pairs": {"test_size": 16}}, **changes)


@pytest.mark.slow  # ten finetuning and scoring runs, five checkpoints written
def test_published_checkpoints_are_finetuned_and_shown_apart(tmp_path, checkpoints):
    suite = validate_suite(published_raw(tmp_path, checkpoints))
    summary = run_suite(suite, progress=False)
    assert summary.failed == 0
    records = list(iter_records(suite.results_dir, suite.name))
    published = [r for r in records if r.get("published")]
    assert {(r["model"], r["task"]) for r in published} == {
        (f"{f}_tiny", t) for f in SPECS for t in ("synthetic_topic", "synthetic_minimal_pairs")}
    for r in published:
        family = r["model"].removesuffix("_tiny")
        assert r["objective"] == SPECS[family][0] and r["rung"] is None and r["size"] is None
        assert r["tokenizer_id"] == f"published:{checkpoints[family]}"  # its own tokenizer, not the suite's
        assert r["pretrain"]["compute_source"] == ("Clark et al. 2020, Table 1 (ELECTRA-Small)"
                                                   if family == "electra" else "unknown")
        assert r["pretrain"]["flops"] == (ELECTRA_FLOPS if family == "electra" else None)
        assert 0.0 <= r["metrics"][r["primary_metric"]["name"]] <= 1.0
    out = write_report(suite.results_dir, suite.name, suite.reports_dir)
    readme = (out / "README.md").read_text()
    board = readme[readme.index("## Leaderboard"):].replace("\\_", "_")
    for family in SPECS:
        assert f"| {family}_tiny | {SPECS[family][0]} |" in board
    costs = readme[readme.index("## Cost of pretraining"):].split("\n## ")[0].replace("\\_", "_")
    assert "1.4e+18 (Clark et al. 2020, Table 1 (ELECTRA-Small))" in costs and "| gpt2_tiny | clm | 1 |" in costs
    assert "unknown" in next(line for line in costs.splitlines() if line.startswith("| gpt2_tiny |"))
    controls = readme[readme.index("## Against no pretraining"):].split("\n## ")[0].replace("\\_", "_")
    assert "_tiny" not in controls  # never paired with an untrained control
    # checked against one another, as the papers compared them: ELECTRA-Small against BERT-Small is Table 1's claim
    claims = json.loads((out / "leaderboard.json").read_text())["claims"]
    electra = [c for c in claims if c["claim"] == "electra_small_over_bert_small"]
    assert [c["model"] for c in electra] == ["published checkpoints"]


def offline_cache(monkeypatch, cache):
    """The Hub unreachable and its cache at ``cache`` (the library reads both when it is called)."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))


def test_a_hub_id_absent_offline_stops_in_one_line(tmp_path, checkpoints, monkeypatch):
    offline_cache(monkeypatch, tmp_path / "hf" / "hub")
    raw = published_raw(tmp_path, {"bert": checkpoints["bert"]})
    raw["pretrained"]["hub_bert"] = {"path": "objbench-tests/no-such-checkpoint", "objective": "mlm", "kind": "encoder"}
    with pytest.raises(ObjbenchError) as err:
        preflight(validate_suite(raw))
    assert "hub_bert (objbench-tests/no-such-checkpoint)" in str(err.value) and "\n" not in str(err.value)
    assert "bert_tiny" not in str(err.value)


def test_a_folder_that_is_not_a_checkpoint_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    raw = tiny_raw(tmp_path, pretrained={"mine": {"path": str(tmp_path / "empty"), "objective": "mlm",
                                                  "kind": "encoder"}})
    with pytest.raises(ObjbenchError, match="is not a checkpoint"):
        validate_suite(raw)


def test_a_hub_id_resolves_through_the_hugging_face_cache(tmp_path, checkpoints, monkeypatch):
    """A Hub id found in the usual cache (``HF_HOME``'s hub folder, its refs and snapshots) is used from there."""
    import shutil

    from benchmark.plan import make_plan

    offline_cache(monkeypatch, tmp_path / "hf" / "hub")
    repo = tmp_path / "hf" / "hub" / "models--objbench-tests--tiny-bert"
    commit = "0" * 40
    shutil.copytree(checkpoints["bert"], repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    raw = tiny_raw(tmp_path, pretrained={"hub_bert": {"path": "objbench-tests/tiny-bert", "objective": "nsp",
                                                      "kind": "encoder"}})
    suite = validate_suite(raw)
    preflight(suite)
    job = next(j for j in make_plan(suite, corpus.prepare(suite)).jobs if j.model == "hub_bert")
    assert model_entry(job).folder == repo / "snapshots" / commit
