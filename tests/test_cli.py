"""The command line: bad input gives one line naming the problem, exit status 2, no traceback, before any
training; good input runs, fetches and plans; Ctrl-C stops with status 130."""

import subprocess
import sys

import pytest

from benchmark.cli import main
from tests.helpers import tiny_raw, write_suite


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


@pytest.mark.slow  # a fresh interpreter
def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "benchmark", "list", "tasks"], capture_output=True, text=True, check=True)
    assert "synthetic_topic" in out.stdout


@pytest.mark.slow
def test_run_records_every_run_and_writes_the_report(tmp_path, capsys):
    raw = tiny_raw(tmp_path, objectives=["none", "clm"])
    code, out, err = _run(["run", str(write_suite(tmp_path / "tiny.yaml", raw)), "--quiet"], capsys)
    assert code == 0, err
    assert "tiny: 2 runs done, 0 reused from earlier, 0 skipped" in out
    records = list((tmp_path / "results" / "tiny" / "runs").glob("*.json"))
    assert len(records) == 2
    report = tmp_path / "reports" / "tiny"
    assert f"report: {report / 'README.md'} and {report / 'index.html'}" in out
    assert (report / "README.md").is_file() and (report / "index.html").is_file()


def test_fetch_reads_the_corpus_and_every_task(tmp_path, capsys):
    (tmp_path / "train.csv").write_text("text,label\n" + "".join(f"text {i},{'ab'[i % 2]}\n" for i in range(6)))
    (tmp_path / "test.csv").write_text("text,label\nfresh,a\nnew,b\n")
    raw = tiny_raw(tmp_path, tasks=["synthetic_topic", "local_classification"],
                   task_params={**tiny_raw(tmp_path)["task_params"], "local_classification": {
                       "train_path": str(tmp_path / "train.csv"), "test_path": str(tmp_path / "test.csv")}})
    code, out, err = _run(["fetch", str(write_suite(tmp_path / "s.yaml", raw))], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert "corpus (synthetic): 120 documents" in lines
    assert "task synthetic_topic: 32 train, 32 test" in lines
    assert "task local_classification: 6 train, 2 test" in lines
    assert "it can now run offline" in lines[-1]
    assert not (tmp_path / "results" / "tiny" / "runs").exists()  # fetching trains and records nothing


def test_ctrl_c_stops_with_status_130_and_one_line(tmp_path, capsys, monkeypatch):
    import benchmark.harness

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(benchmark.harness, "run_suite", interrupted)
    code, out, err = _run(["run", str(write_suite(tmp_path / "s.yaml", tiny_raw(tmp_path))), "--quiet"], capsys)
    assert code == 130
    assert err == "objbench: interrupted; finished runs are recorded and will be reused\n"
    assert "Traceback" not in out + err
