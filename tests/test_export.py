"""``objbench export``: a tiny suite's checkpoints as Hub model folders that transformers and huggingface_hub
read back (AutoModel, AutoTokenizer, ModelCard.load), the card's metadata naming the objective, the FLOPs and
the recorded scores; one run by id; ``--push`` offline refused in one line; bad targets in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

from benchmark.cli import main
from benchmark.config import validate_suite
from benchmark.harness import run_suite
from benchmark.results import iter_records
from tests.helpers import tiny_raw, write_suite


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    raw = tiny_raw(root, objectives=["none", "clm", "mlm"])
    raw["pretrain"] = {**raw["pretrain"], "seeds": [0, 1]}
    suite_file = write_suite(root / "suite.yaml", raw)
    assert run_suite(validate_suite(raw), progress=False).failed == 0
    return root, suite_file, {(r["objective"], r["pretrain_seed"]): r for r in iter_records(root / "results", "tiny")}


def test_a_suites_checkpoints_export_as_model_folders_that_load(trained, tmp_path, capsys):
    root, suite_file, records = trained
    assert main(["export", str(suite_file), "--to", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.split()
    names = sorted(Path(p).name for p in printed)
    assert names == ["llama-tiny-clm-seed0", "llama-tiny-clm-seed1", "llama-tiny-mlm-seed0", "llama-tiny-mlm-seed1"]
    folder = tmp_path / "out" / "llama-tiny-clm-seed1"
    record = records[("clm", 1)]
    assert type(AutoModelForCausalLM.from_pretrained(folder)).__name__ == "LlamaForCausalLM"
    assert AutoModel.from_pretrained(folder).config.objbench_kind == "causal_decoder"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer.decode(tokenizer("the cat sleeps .")["input_ids"], skip_special_tokens=True) == "the cat sleeps ."
    card = ModelCard.load(folder / "README.md")
    meta = card.data.objbench
    assert (meta["objective"], meta["model"], meta["size"], meta["pretrain_seed"]) == ("clm", "llama", "tiny", 1)
    assert meta["pretrain_flops"] == record["pretrain"]["flops"]
    assert meta["pretrain_tokens"] == record["pretrain"]["tokens"]
    assert meta["corpus"]["id"] == record["corpus_id"] and meta["provenance"]["run_ids"] == [record["run_id"]]
    [score] = meta["scores"]
    assert score["task"] == "synthetic_topic" and score["metric"] == "f1_macro"
    assert score["this_checkpoint"] == pytest.approx(record["metrics"]["f1_macro"])
    both = [records[("clm", s)]["metrics"]["f1_macro"] for s in (0, 1)]
    assert score["objective_mean"] == pytest.approx(sum(both) / 2) and score["pretraining_seeds"] == [0, 1]
    low, high = score["objective_ci"]
    assert low <= score["objective_mean"] <= high
    [result] = card.data.eval_results  # the Hub's model-index
    assert (result.task_type, result.metric_type) == ("text-classification", "f1_macro")
    assert "bidirectional" not in card.text and "every position" in (tmp_path / "out" / "llama-tiny-mlm-seed0" /
                                                                     "README.md").read_text()


def test_one_run_exports_its_own_checkpoint(trained, tmp_path, capsys):
    root, _, records = trained
    run_id = records[("mlm", 0)]["run_id"]
    assert main(["export", run_id[:8], "--results", str(root / "results"), "--to", str(tmp_path)]) == 0
    assert [Path(p).name for p in capsys.readouterr().out.split()] == ["llama-tiny-mlm-seed0"]
    assert ModelCard.load(tmp_path / "llama-tiny-mlm-seed0" / "README.md").data.objbench["objective"] == "mlm"


@pytest.mark.parametrize("argv, expect", [
    (["--push", "me/objbench-clm"], "--push: the Hugging Face Hub is offline here"),
    ([], "nothing to export: these runs started from no pretrained checkpoint"),
])
def test_refusals_are_one_line_and_write_nothing(trained, tmp_path, monkeypatch, capsys, argv, expect):
    root, _, records = trained
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    target = records[("clm" if argv else "none", 0)]["run_id"]
    assert main(["export", target, "--results", str(root / "results"), "--to", str(tmp_path / "out"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expect in err, err
    assert not (tmp_path / "out").exists()


def test_an_existing_folder_is_not_overwritten(trained, tmp_path, capsys):
    root, _, records = trained
    run_id = records[("clm", 0)]["run_id"]
    (tmp_path / "llama-tiny-clm-seed0").mkdir()
    assert main(["export", run_id, "--results", str(root / "results"), "--to", str(tmp_path)]) == 2
    assert "exists: export to another folder, or remove it" in capsys.readouterr().err
    assert not any((tmp_path / "llama-tiny-clm-seed0").iterdir())


def test_a_rung_below_the_budget_gets_no_interval_of_the_whole_budget():
    from benchmark.export import scores

    own = [{"model": "llama", "objective": "clm", "task": "t", "task_format": "classification", "rung": rung,
            "primary_metric": {"name": "f1_macro"}, "metrics": {"f1_macro": 0.5}, "finetune_seed": 0}
           for rung in (0.5,)]
    board = [{"model": "llama", "objective": "clm", "task": "t", "mean": 0.9, "ci_low": 0.8, "ci_high": 1.0,
              "pretrain_seeds": [0, 1]}]
    [below] = scores(own, board)
    assert below["this_checkpoint"] == 0.5 and below["objective_mean"] is None and below["objective_ci"] is None
    [whole] = scores([{**own[0], "rung": 1.0}], board)
    assert (whole["objective_mean"], whole["objective_ci"]) == (0.9, [0.8, 1.0])
