"""Damaged state heals: a run killed with SIGKILL anywhere finishes on the next try with exactly the
planned records and the leaderboard of a run that was never interrupted; a truncated record or
checkpoint is found, named and redone; ``objbench doctor`` tells a healthy store from a damaged one."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.results import read_record

from tests.helpers import tiny_raw, write_suite

pytestmark = pytest.mark.slow

RUNNER = Path(__file__).with_name("fault_runner.py")
REPO = Path(__file__).resolve().parents[1]


def kill_suite(root: Path) -> Path:
    raw = tiny_raw(root, objectives=["none", "clm", "mlm"], results_dir="results", reports_dir="reports")
    raw["pretrain"] = {**raw["pretrain"], "budget": 6, "resume_every_steps": 2}
    raw["finetune"] = {**raw["finetune"], "seeds": [0, 1]}
    return write_suite(root / "suite.yaml", raw)


def objbench(root: Path, *args: str, kill: tuple[str, int] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, str(RUNNER), *map(str, kill), *args] if kill else \
        [sys.executable, "-m", "benchmark", *args]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"})


def planned_points(seed: int = 20261201) -> list[tuple[str, int]]:
    """Ten kill points: every phase once, then three more drawn at random, each at a random occurrence.

    Occurrences stay within what the suite reaches: 2 pretrained objectives x 6 steps, resume states
    at steps 2 and 4, 2 checkpoints, 6 runs (4 finetuned with a few batches each), 6 records.
    """
    reach = {"corpus": 1, "data_save": 1, "pretrain_step": 12, "resume_save": 4, "checkpoint_save": 2,
             "finetune_step": 8, "record_write": 6}
    rng = random.Random(seed)
    phases = list(reach) + rng.choices(list(reach), k=10 - len(reach))
    return [(phase, rng.randint(1, reach[phase])) for phase in phases]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> bytes:
    root = tmp_path_factory.mktemp("uninterrupted")
    kill_suite(root)
    assert objbench(root, "run", "suite.yaml", "--quiet").returncode == 0
    return (root / "reports" / "tiny" / "leaderboard.csv").read_bytes()


@pytest.mark.parametrize("phase,nth", planned_points(), ids=[f"{p}-{n}" for p, n in planned_points()])
def test_a_kill_anywhere_heals_on_the_next_run(phase, nth, uninterrupted, tmp_path, monkeypatch, capsys):
    kill_suite(tmp_path)
    killed = objbench(tmp_path, "run", "suite.yaml", "--quiet", kill=(phase, nth))
    assert killed.returncode == -signal.SIGKILL, (phase, nth, killed.stderr[-2000:])
    monkeypatch.chdir(tmp_path)  # the next run and the doctor in this process: only the kill needs its own
    assert main(["run", "suite.yaml", "--quiet"]) == 0, capsys.readouterr().err[-2000:]
    runs = sorted((tmp_path / "results" / "tiny" / "runs").glob("*.json"))
    records = [read_record(p) for p in runs]  # every one whole: it parses and matches its hash
    assert len(records) == 6 and len({r["run_id"] for r in records}) == 6
    assert not list((tmp_path / "results").rglob("*.partial")), "a killed write was left behind"
    assert not list((tmp_path / "results").rglob("*.resume.pt")), "a resume state outlived its checkpoint"
    assert (tmp_path / "reports" / "tiny" / "leaderboard.csv").read_bytes() == uninterrupted
    capsys.readouterr()
    assert main(["doctor", "suite.yaml"]) == 0
    assert capsys.readouterr().out.startswith("healthy")


def test_truncated_record_and_checkpoint_are_named_quarantined_and_redone(tmp_path, monkeypatch, capsys):
    kill_suite(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "suite.yaml", "--quiet", "--no-report"]) == 0
    runs = sorted((tmp_path / "results" / "tiny" / "runs").glob("*.json"))
    checkpoint = next(p for p in (tmp_path / "results" / "cache" / "checkpoints").iterdir() if p.is_dir())
    # a run of that checkpoint: redoing it makes the next run load the damaged checkpoint
    record = next(p for p in runs if read_record(p)["checkpoint"] == checkpoint.name)
    record.write_text(record.read_text()[:200])  # cut short
    weights = checkpoint / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    capsys.readouterr()

    assert main(["doctor", "suite.yaml"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"{record.relative_to(tmp_path)}: damaged record") for line in out), out
    assert any(line.startswith(f"{checkpoint.relative_to(tmp_path)}: damaged checkpoint") and "model.safetensors"
               in line for line in out), out

    assert main(["plan", "suite.yaml"]) == 0  # the first to read the record names it and moves it aside
    planned = capsys.readouterr()
    assert "damaged" not in planned.out  # planning hashes no checkpoint: `doctor` does, and loading it does
    assert f"objbench: warning: record {record.relative_to(tmp_path)} is damaged" in planned.err

    assert main(["run", "suite.yaml", "--quiet", "--no-report"]) == 0
    err = capsys.readouterr().err
    assert f"objbench: warning: checkpoint {checkpoint.relative_to(tmp_path)} is damaged" in err
    healed = [read_record(p) for p in sorted((tmp_path / "results" / "tiny" / "runs").glob("*.json"))]
    assert len(healed) == 6 and record.is_file()  # the damaged run was redone under its own name
    assert len(list((tmp_path / "results" / "tiny" / "quarantine").iterdir())) == 1
    assert len(list((tmp_path / "results" / "cache" / "quarantine").iterdir())) == 1
    assert main(["doctor", "suite.yaml"]) == 0
    assert capsys.readouterr().out.startswith("healthy")


def test_doctor_lists_each_problem_on_its_own_line_and_repairs(tmp_path, monkeypatch, capsys):
    kill_suite(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "suite.yaml", "--quiet", "--no-report"]) == 0
    runs = sorted((tmp_path / "results" / "tiny" / "runs").glob("*.json"))
    edited = json.loads(runs[1].read_text())
    edited["metrics"]["accuracy"] = -1.0  # an edit the hash catches
    runs[1].write_text(json.dumps(edited))
    runs[2].write_text("")
    (runs[0].parent / f".{runs[0].name}.0000.partial").write_text("{")
    tokenizer = next((tmp_path / "results" / "cache" / "tokenizers").iterdir())
    (tokenizer / "tokenizer.json").unlink()
    capsys.readouterr()
    assert main(["doctor", "suite.yaml"]) == 1
    lines = capsys.readouterr().out.splitlines()
    problems = lines[:-1]
    assert len(problems) == 4, lines
    assert any("content hash differs" in line for line in problems)
    assert any("not valid JSON" in line for line in problems)
    assert any("never finished" in line for line in problems)
    assert any("tokenizer.json is missing" in line for line in problems)
    assert main(["doctor", "suite.yaml", "--repair"]) == 0
    capsys.readouterr()
    assert main(["doctor", "suite.yaml"]) == 0
    assert capsys.readouterr().out.startswith("healthy")
    assert main(["run", "suite.yaml", "--quiet", "--no-report"]) == 0  # redoes the two quarantined runs
    assert len([read_record(p) for p in (tmp_path / "results" / "tiny" / "runs").glob("*.json")]) == 6
    assert read_record(runs[1])["metrics"]["accuracy"] != -1.0  # redone, not the edited copy


def test_a_record_copied_over_another_is_found_quarantined_and_both_runs_are_recorded_after(tmp_path, monkeypatch,
                                                                                             capsys):
    kill_suite(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "suite.yaml", "--quiet"]) == 0
    runs = sorted((tmp_path / "results" / "tiny" / "runs").glob("*.json"))
    planned = {read_record(p)["run_id"] for p in runs}
    runs[1].write_bytes(runs[0].read_bytes())  # whole, hash intact, and not the run its name says
    capsys.readouterr()
    assert main(["doctor", "suite.yaml"]) == 1
    out = capsys.readouterr().out
    assert f"{runs[1].relative_to(tmp_path)}: damaged record: holds run {runs[0].stem}, not the run {runs[1].stem}" \
        in out, out
    assert main(["run", "suite.yaml", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "a record copied over another's" in err and "its run will be redone" in err
    lines = (tmp_path / "reports" / "tiny" / "records.jsonl").read_text().splitlines()
    ids = [json.loads(line)["run_id"] for line in lines]
    assert sorted(ids) == sorted(planned), "each planned run once: none twice, none missing"
    assert read_record(runs[1])["run_id"] == runs[1].stem  # redone under its own name
    assert main(["doctor", "suite.yaml"]) == 0
