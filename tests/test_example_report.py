"""The committed example reports are exactly what `objbench report` makes from their recorded runs."""

from pathlib import Path

import pytest

from benchmark.cli import main

REPORTS = Path(__file__).resolve().parent.parent / "reports"
# (suite file, report folder, records beside records.jsonl that the report reads too)
EXAMPLES = [("suites/quickstart.yaml", "quickstart", ("replica-records.jsonl",)),
            ("suites/objectives-2024.yaml", "objectives-2024", ())]


@pytest.mark.parametrize(("suite", "folder", "extra"), EXAMPLES, ids=[folder for _, folder, _ in EXAMPLES])
def test_example_report_matches_its_records(suite, folder, extra, tmp_path, capsys):
    example = REPORTS / folder
    replica = ["--replica", str(example / extra[0])] if extra else []
    code = main(["report", suite, "--records", str(example / "records.jsonl"), *replica, f"reports_dir={tmp_path}"])
    assert code == 0, capsys.readouterr().err
    again = tmp_path / folder
    for name in ("README.md", "leaderboard.csv", "leaderboard.json", "records.jsonl", *extra):
        assert (again / name).read_text() == (example / name).read_text(), name
    assert sorted(p.name for p in (again / "figures").glob("*.png")) == \
        sorted(p.name for p in (example / "figures").glob("*.png"))
