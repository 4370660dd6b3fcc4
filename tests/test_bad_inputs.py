"""Every bad input in the catalogue (tests/bad_inputs.py) is refused the same way: exit status 2,
one line naming the problem, no traceback, and nothing written under results_dir or reports_dir,
nor anywhere else. The catalogue runs in-process, so it costs seconds, not minutes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from benchmark.cli import main
from tests.bad_inputs import CATALOGUE

KINDS = {"paths", "validation", "yaml", "data", "store", "hardware", "cli"}


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_the_catalogue_covers_every_class_of_problem():
    assert len(CATALOGUE) >= 80
    assert {case.kind for case in CATALOGUE} == KINDS
    assert len({case.name for case in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_a_bad_input_is_one_line_and_writes_nothing(case, tmp_path, monkeypatch, capsys):
    if case.kind == "hardware" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA, so asking for it is not a bad input here")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = case.build(work)
    before, around = _tree(work), set(os.listdir(tmp_path))
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("objbench: error: "), err
    assert case.expect in lines[0], lines[0]
    assert "Traceback" not in out + err
    assert _tree(work) == before, sorted(_tree(work) - before)  # no results, no reports, no caches, no locks
    assert set(os.listdir(tmp_path)) == around  # and nothing beside the working folder either
    assert not Path("/tmp/objbench-absolute-name").exists()
