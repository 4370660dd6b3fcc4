"""Experiment trackers: a tiny suite run with each of TensorBoard, MLflow (file store), W&B (offline) and
trackio (local) leaves that tracker's files, and each is read back with the tracker's own reader: the
suite's config, the pretraining loss curve point for point as the record keeps it, the finetuning run's
final metrics. A missing extra stops the suite in one line before anything trains; a tracker that
fails costs the run its tracking, not the run."""

from __future__ import annotations

import glob
import importlib.util
import json
import struct
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.config import validate_suite
from benchmark.harness import preflight, run_suite
from benchmark.results import iter_records
from benchmark.tracking import trackers_for
from tests.helpers import tiny_raw, write_suite

PRETRAINED, FINETUNED = "llama/clm/seed0", "llama/clm/seed0/synthetic_topic/finetune0"


def _tracked(tmp_path: Path, tracker: str):
    raw = tiny_raw(tmp_path, objectives=["none", "clm"],
                   tracking={"to": [tracker], "project": f"objbench-test-{tmp_path.name}"})
    raw["pretrain"] = {**raw["pretrain"], "budget": 6}
    suite = validate_suite(raw)
    summary = run_suite(suite, progress=False, executor=preflight(suite))
    assert (summary.failed, summary.ran) == (0, 2)
    records = {r["objective"]: r for r in iter_records(suite.results_dir, suite.name)}
    return suite, records["clm"], Path(suite.results_dir) / suite.name / "tracking"


def _tensorboard(suite, folder: Path) -> tuple[dict, list, dict]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    def events(run: str) -> EventAccumulator:
        found = EventAccumulator(str(folder / "tensorboard" / suite.name / run.replace("/", "-")),
                                 size_guidance={"scalars": 0, "tensors": 0})
        found.Reload()
        return found

    pretrained, finetuned = events(PRETRAINED), events(FINETUNED)
    text = pretrained.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    config = json.loads(text.removeprefix("```json\n").removesuffix("\n```"))
    curve = [(e.step, e.value) for e in pretrained.Scalars("loss")]
    finals = {tag.removeprefix("final/"): finetuned.Scalars(tag)[-1].value for tag in finetuned.Tags()["scalars"]
              if tag.startswith("final/")}
    finals["mfu"] = pretrained.Scalars("final/mfu")[-1].value
    return config, curve, finals


def _mlflow(suite, folder: Path) -> tuple[dict, list, dict]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=(folder / "mlruns").resolve().as_uri())
    experiment = client.get_experiment_by_name(suite.name)
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    pretrained, finetuned = runs[PRETRAINED], runs[FINETUNED]
    config = json.loads(Path(client.download_artifacts(pretrained.info.run_id, "config.json",
                                                       str(folder / "download"))).read_text())
    history = sorted(client.get_metric_history(pretrained.info.run_id, "loss"), key=lambda m: m.step)
    finals = {k.removeprefix("final."): v for k, v in finetuned.data.metrics.items() if k.startswith("final.")}
    finals["mfu"] = pretrained.data.metrics["final.mfu"]
    return config, [(m.step, m.value) for m in history], finals


def _wandb_records(path: str):
    """The records of a W&B run file (its transaction log: a header, then CRC-framed chunks in 32 KiB
    blocks, each record a wandb protobuf ``Record``); wandb itself ships no reader for them."""
    from wandb.proto import wandb_internal_pb2

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B"
    pos, pending = 7, b""
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:  # too little of the block left for a chunk header: padding
            pos += 32768 - pos % 32768
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        pending += chunk
        if kind in (1, 4):  # a whole record, or the last chunk of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def _items(update) -> dict:
    """A W&B record's items: each under its key, or its nested key's parts joined."""
    return {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in update}


def _wandb(suite, folder: Path) -> tuple[dict, list, dict]:
    runs = {}
    for path in glob.glob(str(folder / "wandb" / "offline-run-*" / "run-*.wandb")):
        config, curve, summary, name = {}, [], {}, None
        for record in _wandb_records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                name = record.run.display_name
                assert record.run.run_group == suite.name
                config = _items(record.run.config.update)
            elif kind == "history":
                items = _items(record.history.item)
                if "loss" in items:
                    curve.append((items["_step"], items["loss"]))
            elif kind == "summary":
                summary.update(_items(record.summary.update))
        runs[name] = config, curve, summary
    config, curve, pretrained = runs[PRETRAINED]
    finals = {k.removeprefix("final."): v for k, v in runs[FINETUNED][2].items() if k.startswith("final.")}
    finals["mfu"] = pretrained["final.mfu"]
    return config, curve, finals


def _trackio(suite, folder: Path) -> tuple[dict, list, dict]:
    from trackio.sqlite_storage import SQLiteStorage

    project = suite.tracking.project
    config = SQLiteStorage.get_run_config(project, PRETRAINED)
    curve = [(row["step"], row["loss"]) for row in SQLiteStorage.get_logs(project, PRETRAINED) if "loss" in row]
    last = [row for row in SQLiteStorage.get_logs(project, FINETUNED) if "final.metrics.accuracy" in row][-1]
    finals = {k.removeprefix("final."): v for k, v in last.items() if k.startswith("final.")}
    pretrained_last = [row for row in SQLiteStorage.get_logs(project, PRETRAINED) if "final.mfu" in row][-1]
    finals["mfu"] = pretrained_last["final.mfu"]
    return config, curve, finals


READERS = {"tensorboard": _tensorboard, "mlflow": _mlflow, "wandb": _wandb, "trackio": _trackio}


@pytest.mark.parametrize("tracker", sorted(READERS))
def test_each_tracker_keeps_the_config_the_curve_and_the_final_metrics(tmp_path, monkeypatch, tracker):
    pytest.importorskip({"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb",
                         "trackio": "trackio"}[tracker])
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "trackio"))  # read when trackio is first imported
    monkeypatch.setenv("WANDB_MODE", "offline")
    suite, record, folder = _tracked(tmp_path, tracker)
    config, curve, finals = READERS[tracker](suite, folder)
    assert config["name"] == suite.name and config["pretrain"]["budget"] == 6
    kept = [(p["step"], p["loss"]) for p in record["pretrain"]["loss_curve"]]
    assert len(curve) == len(kept) == 6  # one point per logged step
    assert [s for s, _ in curve] == [s for s, _ in kept]
    assert [v for _, v in curve] == pytest.approx([v for _, v in kept], rel=1e-6)
    finetuned = next(r for r in iter_records(suite.results_dir, suite.name) if r["objective"] == "clm")
    assert finals["metrics.accuracy"] == pytest.approx(finetuned["metrics"]["accuracy"])
    assert finals["mfu"] == pytest.approx(record["pretrain"]["mfu"], rel=1e-6)


def test_a_missing_tracker_extra_is_one_line_before_training(tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    monkeypatch.chdir(tmp_path)
    raw = tiny_raw(tmp_path, tracking=["tensorboard", "wandb"])
    assert main(["run", str(write_suite(tmp_path / "suite.yaml", raw)), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tracking: wandb needs the wandb package: pip install 'objbench[wandb]'" in err
    assert not (tmp_path / "results" / "cache" / "checkpoints").exists()


def test_the_track_flag_and_the_list_shorthand(tmp_path):
    from benchmark.cli import _parse, _tracking_overrides

    assert validate_suite(tiny_raw(tmp_path, tracking=["mlflow"])).tracking.to == ["mlflow"]
    args = _parse(["run", "suite.yaml", "--track", "tensorboard", "--track", "wandb"])
    assert _tracking_overrides(args) == ['tracking.to=["tensorboard", "wandb"]']
    with pytest.raises(Exception, match="unknown tracker 'tensorbord'; did you mean 'tensorboard'"):
        validate_suite(tiny_raw(tmp_path, tracking=["tensorbord"]))


class Broken:
    def start(self, name, config):
        raise OSError("disk full")

    def log(self, metrics, step):
        raise AssertionError("a broken tracker is not called again")

    def finish(self, summary):
        raise AssertionError("a broken tracker is not called again")


def test_a_failing_tracker_costs_its_tracking_not_the_run(tmp_path, monkeypatch):
    from benchmark import harness, registry

    monkeypatch.setitem(registry.trackers._entries, "broken", lambda where: Broken())
    monkeypatch.setattr(harness, "check_trackers", lambda suite: None)  # no package to look for
    suite = validate_suite(tiny_raw(tmp_path, objectives=["clm"], tracking=["broken"]))
    [guarded] = trackers_for(suite)
    with pytest.warns(UserWarning, match="tracking: broken failed in start .OSError: disk full.; the run goes on"):
        guarded.start("run", {})
    guarded.log({"loss": 1.0}, 1)
    guarded.finish({})
    with pytest.warns(UserWarning, match="tracking: broken failed") as caught:
        summary = run_suite(suite, progress=False)
    assert (summary.ran, summary.failed) == (1, 0) and len(caught) == 2  # the pretraining and the finetuning run
