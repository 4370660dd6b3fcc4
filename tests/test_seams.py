"""The three seams later work plugs into, each with a minimal implementation defined here.

- model seam: a model entry on transformers' GPT-2 classes (a causal decoder only) runs a suite:
  the planner prices its steps with the entry's FLOPs, an objective of a kind it lacks is skipped
  with the reason, and finetuning builds its classifier through the entry;
- launcher seam: ``run_job`` pretrains through the launcher it is given, with arguments that can
  cross a process boundary, and only when something is left to do;
- logger seam: a logger that records its calls sees the run start, every point of the loss curve
  the record keeps, and the end, and changes nothing that is recorded.
"""

from __future__ import annotations

import pickle

import pytest
import torch
from transformers import GPT2Config, GPT2ForSequenceClassification, GPT2LMHeadModel

from benchmark import registry
from benchmark.config import validate_suite
from benchmark.errors import ObjbenchError
from benchmark.harness import run_job, run_suite
from benchmark.inputs import prepared_data
from benchmark.launchers import InProcess, Launcher
from benchmark.loggers import MetricLogger
from benchmark.models.flops import forward_flops_per_token
from benchmark.models.kinds import ModelKind
from benchmark.plan import make_plan
from benchmark.pretraining import pretrain
from benchmark.results import iter_records
from benchmark.tasks.availability import task_splits
from tests.helpers import tiny_raw


class TinyGPT2:
    """The fewest members a model entry supplies: a GPT-2 causal decoder (LayerNorm, learned positions, GELU)."""

    kinds = (ModelKind.CAUSAL,)
    presets = {"tiny": {"n_embd": 64, "n_layer": 2, "n_head": 4}}
    max_positions = 128

    @staticmethod
    def preset(size: str) -> dict[str, int]:
        if size not in TinyGPT2.presets:
            raise ObjbenchError(f"no size {size!r}")
        return TinyGPT2.presets[size]

    @staticmethod
    def tokenizer(shared):
        return shared

    @classmethod
    def config(cls, size: str, tokenizer, **overrides: int) -> GPT2Config:
        return GPT2Config(vocab_size=len(tokenizer), n_positions=cls.max_positions, pad_token_id=tokenizer.pad_token_id,
                          bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                          **{**cls.preset(size), **overrides})

    @classmethod
    def build_lm(cls, kind: ModelKind, size: str, tokenizer, **overrides: int) -> GPT2LMHeadModel:
        config = cls.config(size, tokenizer, **overrides)
        config.objbench_kind = str(kind)
        return GPT2LMHeadModel(config)

    @classmethod
    def build_classifier(cls, checkpoint, size: str, tokenizer, num_labels: int, kind: ModelKind):
        if checkpoint is None:
            config = cls.config(size, tokenizer)
            config.num_labels, config.objbench_kind = num_labels, str(kind)
            return GPT2ForSequenceClassification(config)
        return GPT2ForSequenceClassification.from_pretrained(checkpoint, num_labels=num_labels)

    @staticmethod
    def flops_per_token(model, context: int, vocab_outputs: int) -> float:
        c = model.config
        return forward_flops_per_token(c.n_embd, c.n_layer, 4 * c.n_embd, context, vocab_outputs, gated_mlp=False)


@pytest.fixture
def gpt2_entry():
    registry.models.register("seam_gpt2")(TinyGPT2)
    yield "seam_gpt2"
    registry.models._entries.pop("seam_gpt2")


def test_a_model_entry_plugs_in_through_the_registry_and_runs_a_suite(tmp_path, gpt2_entry):
    suite = validate_suite(tiny_raw(tmp_path, models=[gpt2_entry], objectives=["none", "clm", "mlm"],
                                    objective_params={"none": {"kind": "causal_decoder"}}))
    plan = make_plan(suite, prepared_data(suite))
    assert {(j.model, j.objective) for j in plan.jobs} == {(gpt2_entry, "none"), (gpt2_entry, "clm")}
    assert any(t.startswith(f"{gpt2_entry}/mlm/") and "cannot be one" in why for t, why in plan.skipped)
    clm = next(j for j in plan.jobs if j.objective == "clm")
    c, seq = TinyGPT2.presets["tiny"], suite.pretrain.seq_len
    blocks = forward_flops_per_token(c["n_embd"], c["n_layer"], 4 * c["n_embd"], seq, 0, gated_mlp=False)
    assert clm.flops_per_step > 3 * blocks * suite.pretrain.tokens_per_step  # the entry's FLOPs, forward + backward

    summary = run_suite(suite, progress=False)
    assert summary.failed == 0 and summary.ran == len(plan.runs)
    records = list(iter_records(suite.results_dir, suite.name))
    assert {r["model"] for r in records} == {gpt2_entry}
    trained = next(r for r in records if r["objective"] == "clm")
    assert trained["pretrain"]["flops"] == pytest.approx(clm.flops) and 0 <= trained["metrics"]["accuracy"] <= 1
    topics = len(set(task_splits(suite, "synthetic_topic")[0]["train"]["label"]))
    classifier = TinyGPT2.build_classifier(None, "tiny", prepared_data(suite).tokenizer, topics, ModelKind.CAUSAL)
    assert trained["finetune"]["parameters"] == sum(p.numel() for p in classifier.parameters())


def test_a_model_entry_that_lacks_a_member_is_refused_when_it_registers():
    class NoFlops(TinyGPT2):
        flops_per_token = None

    with pytest.raises(ObjbenchError, match="lacks flops_per_token"):
        registry.models.register("seam_no_flops")(NoFlops)
    assert "seam_no_flops" not in registry.models

    class EncoderDecoderWithoutItsMembers(TinyGPT2):
        kinds = (ModelKind.CAUSAL, ModelKind.ENCODER_DECODER)

    with pytest.raises(ObjbenchError, match="encoder_decoder_config, encoder_decoder_flops"):
        registry.models.register("seam_half_t5")(EncoderDecoderWithoutItsMembers)
    assert registry.models.get("llama") and isinstance(InProcess(), Launcher)


class RecordingLauncher:
    """A launcher that checks its work can cross a process boundary, then runs it here and keeps the call."""

    processes = 1

    def __init__(self):
        self.calls = []

    def launch(self, work, *args, **kwargs):
        work, args, kwargs = pickle.loads(pickle.dumps((work, args, kwargs)))  # what N processes would each get
        self.calls.append((work.__name__, args[1].objective))
        return work(*args, **kwargs)


def test_a_job_pretrains_through_the_launcher_it_is_given(tmp_path):
    suite = validate_suite(tiny_raw(tmp_path, objectives=["clm"]))
    [job] = make_plan(suite, prepared_data(suite)).jobs
    launcher = RecordingLauncher()
    assert isinstance(launcher, Launcher)
    outcome = run_job(suite, job, launcher=launcher)
    assert (outcome.ran, outcome.failed) == (len(job.runs), 0)
    assert launcher.calls == [("pretrain_here", "clm")]
    [record] = list(iter_records(suite.results_dir, suite.name))
    assert record["pretrain"]["steps"] == suite.pretrain.budget and record["pretrain"]["cache_hit"] is False
    assert run_job(suite, job, launcher=launcher).reused == len(job.runs)
    assert len(launcher.calls) == 1  # every run recorded: nothing is launched


class RecordingLogger:
    def __init__(self):
        self.calls = []

    def start(self, name, config):
        self.calls.append(("start", name, config["name"]))

    def log(self, metrics, step):
        self.calls.append(("log", step, dict(metrics)))

    def finish(self, summary):
        self.calls.append(("finish", summary["steps"], summary["final_loss"]))


def test_training_metrics_go_to_every_logger_and_change_nothing(tmp_path):
    def pretrained(folder, loggers):
        suite = validate_suite(tiny_raw(folder, objectives=["mlm"], pretrain={
            **tiny_raw(folder)["pretrain"], "budget": 6}))
        data = prepared_data(suite)
        [job] = make_plan(suite, data).jobs
        return pretrain(job, suite, data, torch.device("cpu"), "fp32", loggers=loggers)

    sinks = [RecordingLogger(), RecordingLogger()]
    assert all(isinstance(s, MetricLogger) for s in sinks)
    logged = pretrained(tmp_path / "a", sinks)
    alone = pretrained(tmp_path / "b", [])
    assert sinks[0].calls == sinks[1].calls
    calls = sinks[0].calls
    assert calls[0] == ("start", "llama/mlm/seed0", "tiny") and calls[-1] == ("finish", 6, logged["final_loss"])
    points = [(step, m) for kind, step, m in calls[1:-1]]
    assert [(p["step"], p["loss"], p["tokens"], p["flops"]) for p in logged["loss_curve"]] == [
        (step, m["loss"], m["tokens"], m["flops"]) for step, m in points]
    assert points[0][1]["lr"] > 0 and all(m["lr"] >= 0 for _, m in points)  # the schedule decays to 0
    assert logged["loss_curve"] == alone["loss_curve"] and logged["flops"] == alone["flops"]
