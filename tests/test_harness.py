"""End to end on the tiny suite: records, checkpoint reuse, seeds, determinism (in one process and across
two), resumability."""

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmark.config import validate_suite
from benchmark.harness import run_suite
from benchmark.results import SCHEMA_VERSION, to_dataframe
from tests.helpers import tiny_raw, write_suite

pytestmark = pytest.mark.slow


def _checkpoints(suite):
    return sorted(p for p in (Path(suite.results_dir) / "cache" / "checkpoints").iterdir() if p.is_dir())


def test_tiny_suite_end_to_end(tiny_suite):
    summary = run_suite(tiny_suite, progress=False)
    assert summary.ran == 3 and summary.reused == 0
    df = to_dataframe(tiny_suite.results_dir, tiny_suite.name)
    assert sorted(df["objective"]) == ["clm", "mlm", "none"]
    assert (df["schema_version"] == SCHEMA_VERSION).all()
    for column in ("metrics.accuracy", "metrics.precision_macro", "metrics.recall_macro", "metrics.f1_macro",
                   "finetune.samples_per_s", "evaluate.tokens_per_s", "finetune.peak_memory_bytes"):
        assert df[column].notna().all(), column
    # the companion beside the primary metric: declared in the record, its value in the metrics
    assert (df["companion_metric.name"] == "gold_logprob").all() and df["companion_metric.higher_is_better"].all()
    assert df["companion_metric.max_value"].isna().all() and (df["primary_metric.name"] == "f1_macro").all()
    assert (df["metrics.gold_logprob"] < 0).all() and df["metrics.gold_logprob"].map(math.isfinite).all()
    pretrained = df[df.objective != "none"]
    assert (pretrained["pretrain.steps"] == 3).all()
    assert (pretrained["pretrain.tokens"] == 3 * 8 * 32).all()
    assert (pretrained["pretrain.flops"] > 0).all()
    assert (pretrained["pretrain.tokens_per_s"] > 0).all()
    # speed as MFU: steady model FLOP/s over the device's peak; a CPU's is a matmul timed in the same process
    assert (pretrained["pretrain.peak_flops_per_s"] > 1e8).all() and (pretrained["pretrain.peak_source"] == "measured").all()
    mfu = pretrained["pretrain.flops_per_s"] / pretrained["pretrain.peak_flops_per_s"]
    assert ((pretrained["pretrain.mfu"] - mfu).abs() < 1e-12).all() and (mfu > 0).all()
    # MLM predicts ~15% of tokens, CLM all but the last of each block
    loss_tokens = pretrained.set_index("objective")["pretrain.loss_bearing_tokens"]
    assert loss_tokens["clm"] == 3 * 8 * 31
    assert 0.05 * 3 * 8 * 32 < loss_tokens["mlm"] < 0.25 * 3 * 8 * 32
    assert df["environment.packages.torch"].notna().all() and df["environment.packages.transformers"].notna().all()
    assert (df["environment.device"] == "cpu").all()
    assert df["config"].iloc[0]["pretrain"]["budget"] == 3
    saved = _checkpoints(tiny_suite)
    assert len(saved) == 2
    assert all((p / "model.safetensors").is_file() and (p / "tokenizer.json").is_file() for p in saved)


def test_second_run_reuses_everything(tiny_suite):
    run_suite(tiny_suite, progress=False)
    before = {p: p.stat().st_mtime_ns for p in _checkpoints(tiny_suite)}
    again = run_suite(tiny_suite, progress=False)
    assert again.ran == 0 and again.reused == 3
    assert {p: p.stat().st_mtime_ns for p in _checkpoints(tiny_suite)} == before


def test_new_finetuning_seed_reuses_the_checkpoint(tmp_path):
    suite = validate_suite(tiny_raw(tmp_path, objectives=["mlm"]))
    run_suite(suite, progress=False)
    [checkpoint] = _checkpoints(suite)
    stamp = (checkpoint / "model.safetensors").stat().st_mtime_ns
    more = validate_suite(tiny_raw(tmp_path, objectives=["mlm"], finetune={**suite.finetune.model_dump(), "seeds": [0, 1]}))
    summary = run_suite(more, progress=False)
    assert summary.ran == 1 and summary.reused == 1
    df = to_dataframe(suite.results_dir, suite.name).set_index("finetune_seed")
    assert bool(df.loc[1, "pretrain.cache_hit"]) is True and bool(df.loc[0, "pretrain.cache_hit"]) is False
    assert (checkpoint / "model.safetensors").stat().st_mtime_ns == stamp
    assert df.loc[0, "checkpoint"] == df.loc[1, "checkpoint"]


def test_same_seed_gives_identical_metrics(tmp_path):
    metrics = []
    for name in ("a", "b"):
        suite = validate_suite(tiny_raw(tmp_path / name, objectives=["mlm"]))
        run_suite(suite, progress=False)
        df = to_dataframe(suite.results_dir, suite.name)
        metrics.append(df.filter(like="metrics.").iloc[0].to_dict())
        metrics.append(df["pretrain.final_loss"].iloc[0])
    assert metrics[0] == metrics[2]
    assert metrics[1] == metrics[3]


def test_a_different_finetuning_seed_finetunes_differently(tmp_path, monkeypatch):
    """Same checkpoint, another finetuning seed: other finetuned weights (head init and data order);
    the same seed again, in a fresh store: the very same weights, so the difference is the seed's."""
    from benchmark.formats.classification import Classification

    finetuned = []  # the weights each run evaluates, in the order the runs happen
    real_evaluate = Classification.evaluate

    def keep_weights(self, model, *args, **kwargs):
        finetuned.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return real_evaluate(self, model, *args, **kwargs)

    monkeypatch.setattr(Classification, "evaluate", keep_weights)
    finetune = {**tiny_raw(tmp_path)["finetune"], "seeds": [0, 7]}
    both = validate_suite(tiny_raw(tmp_path / "both", objectives=["mlm"], finetune=finetune))
    assert run_suite(both, progress=False).ran == 2
    again = validate_suite(tiny_raw(tmp_path / "again", objectives=["mlm"]))
    assert run_suite(again, progress=False).ran == 1
    seed_0, seed_7, seed_0_again = finetuned

    def same(a, b):
        return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    assert same(seed_0, seed_0_again)
    assert not same(seed_0, seed_7)
    assert not torch.equal(seed_0["score.weight"], seed_7["score.weight"])  # the head: its init and data order
    df = to_dataframe(both.results_dir, both.name)
    assert df["checkpoint"].nunique() == 1  # one pretrained checkpoint under both seeds


def test_same_suite_in_two_processes_gives_bit_identical_results(tmp_path):
    """The whole pipeline is a function of the suite: two fresh Python processes (the CLI, each with
    its own store) give bit-identical metrics, loss curves and checkpoints."""
    from safetensors.torch import load_file

    stores = []
    for name in ("first", "second"):
        raw = tiny_raw(tmp_path / name, objectives=["clm", "mlm"])
        stores.append((write_suite(tmp_path / f"{name}.yaml", raw), Path(raw["results_dir"])))
    procs = [subprocess.Popen([sys.executable, "-m", "benchmark", "run", str(path), "--quiet", "--no-report"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
             for path, _ in stores]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        assert "tiny: 2 runs done, 0 reused from earlier, 0 skipped" in out
    first, second = (to_dataframe(results, "tiny").set_index("objective").sort_index() for _, results in stores)
    assert list(first.index) == ["clm", "mlm"]
    metrics = [c for c in first.columns if c.startswith("metrics.")]
    assert metrics and first[metrics].to_dict() == second[metrics].to_dict()
    assert first["pretrain.final_loss"].to_dict() == second["pretrain.final_loss"].to_dict()
    assert first["pretrain.loss_curve"].to_dict() == second["pretrain.loss_curve"].to_dict()
    assert first["checkpoint"].to_dict() == second["checkpoint"].to_dict()
    for key in first["checkpoint"]:
        a, b = (load_file(results / "cache" / "checkpoints" / key / "model.safetensors") for _, results in stores)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not any((results.parent / "reports").exists() for _, results in stores)  # --no-report


def test_an_interrupted_pretraining_resumes_to_the_same_weights(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from benchmark.objectives.mlm import MaskedLM

    pretrain = {**tiny_raw(tmp_path)["pretrain"], "budget": 6, "resume_every_steps": 2}

    def weights(suite):
        [checkpoint] = _checkpoints(suite)
        return load_file(checkpoint / "model.safetensors"), checkpoint

    straight = validate_suite(tiny_raw(tmp_path / "straight", objectives=["mlm"], pretrain=pretrain))
    run_suite(straight, progress=False)
    expected, _ = weights(straight)

    broken = validate_suite(tiny_raw(tmp_path / "broken", objectives=["mlm"], pretrain=pretrain))
    real_loss, calls = MaskedLM.loss, {"n": 0}

    def crash_at_step_five(self, network, batch):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real_loss(self, network, batch)

    monkeypatch.setattr(MaskedLM, "loss", crash_at_step_five)
    with pytest.raises(KeyboardInterrupt):
        run_suite(broken, progress=False)
    states = list((Path(broken.results_dir) / "cache" / "checkpoints").glob("*.resume.pt"))
    assert len(states) == 1
    monkeypatch.setattr(MaskedLM, "loss", real_loss)
    run_suite(broken, progress=False)
    resumed, checkpoint = weights(broken)
    assert resumed.keys() == expected.keys()
    assert all(torch.equal(resumed[k], expected[k]) for k in expected)
    df = to_dataframe(broken.results_dir, broken.name)
    assert df["pretrain.resumed_from_step"].iloc[0] == 4 and df["pretrain.steps"].iloc[0] == 6
    assert df["pretrain.samples"].iloc[0] == 6 * 8  # the whole run's blocks, not only those after the resume
    assert not states[0].exists()  # the resume state goes once the checkpoint is whole
