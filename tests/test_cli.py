"""Bad input gives one line naming the problem, exit status 2, no traceback, before any training."""

import subprocess
import sys

import pytest

from benchmark.cli import main

from conftest import tiny_raw, write_suite


def _run(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_objectives(capsys):
    code, out, _ = _run(["list", "objectives"], capsys)
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert {"none", "clm", "mlm"} <= set(names)


@pytest.mark.parametrize("mutate, expected", [
    (lambda raw: raw.update(objectives=["none", "mln"]), "did you mean 'mlm'"),
    (lambda raw: raw["pretrain"].update(lr="fast"), "pretrain.lr"),
    (lambda raw: raw.update(colour="blue"), "colour: unknown key"),
])
def test_bad_suites_fail_in_one_line(tmp_path, capsys, mutate, expected):
    raw = tiny_raw(tmp_path)
    mutate(raw)
    code, out, err = _run(["run", str(write_suite(tmp_path / "bad.yaml", raw))], capsys)
    assert code == 2
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert not (tmp_path / "results").exists()  # nothing was trained or cached


def test_malformed_yaml_and_bad_override(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    code, _, err = _run(["plan", str(path)], capsys)
    assert code == 2 and "malformed YAML" in err and err.count("\n") == 1
    good = write_suite(tmp_path / "good.yaml", tiny_raw(tmp_path))
    code, _, err = _run(["run", str(good), "--quiet", "finetune.epochs=two"], capsys)
    assert code == 2 and "finetune.epochs" in err and "'two'" in err


def test_plan_lists_runs_and_cost(tmp_path, capsys):
    good = write_suite(tmp_path / "good.yaml", tiny_raw(tmp_path))
    code, out, _ = _run(["plan", str(good)], capsys)
    assert code == 0
    assert "3 runs in 3 pretraining jobs" in out
    assert "llama/mlm" in out and "to train" in out


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "benchmark", "list", "tasks"], capture_output=True, text=True, check=True)
    assert "synthetic_topic" in out.stdout
