"""The committed example report is exactly what `objbench report` makes from its recorded runs."""

from pathlib import Path

from benchmark.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "reports" / "quickstart"


def test_example_report_matches_its_records(tmp_path, capsys):
    code = main(["report", "suites/quickstart.yaml", "--records", str(EXAMPLE / "records.jsonl"),
                 "--replica", str(EXAMPLE / "replica-records.jsonl"), f"reports_dir={tmp_path}"])
    assert code == 0, capsys.readouterr().err
    again = tmp_path / "quickstart"
    for name in ("README.md", "leaderboard.csv", "leaderboard.json", "records.jsonl", "replica-records.jsonl"):
        assert (again / name).read_text() == (EXAMPLE / name).read_text(), name
    assert sorted(p.name for p in (again / "figures").glob("*.png")) == \
        sorted(p.name for p in (EXAMPLE / "figures").glob("*.png"))
