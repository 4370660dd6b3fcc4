"""The report's files: what each holds, provenance, refusal of incomparable runs, escaping, CLI."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import matplotlib.image
import pytest

from benchmark.cli import main
from benchmark.errors import ObjbenchError
from benchmark.files import write_json
from benchmark.report import write_report
from benchmark.report.page import script_json
from benchmark.results import DIGEST_KEY, SCHEMA_VERSION, content_digest, runs_dir
from tests.report_fixtures import (
    CONFIG,
    ONE_PRETRAINING_RUN,
    STANDARD,
    make_record,
    priors_from_few_cells,  # noqa: F401 (autouse)
    seeds,
    write_runs,
)

SUITE = "fixture"
HOSTILE_TASK = "<img src=x onerror=alert(1)>"
HOSTILE_OBJECTIVE = '</script><script>alert("pwned")</script>$x$'


@pytest.fixture
def store(tmp_path):
    results, reports = tmp_path / "results", tmp_path / "reports"
    return results, reports


def report(store, **kwargs) -> Path:
    results, reports = store
    return write_report(results, SUITE, reports, **kwargs)


@pytest.fixture(scope="module")
def standard(tmp_path_factory) -> Path:
    """The report of the STANDARD records, written once for the tests that only read it."""
    root = tmp_path_factory.mktemp("standard")
    write_runs(root / "results", STANDARD)
    return write_report(root / "results", SUITE, root / "reports")


def test_writes_every_output(standard):
    out = standard
    for name in ("README.md", "index.html", "leaderboard.csv", "leaderboard.json"):
        assert (out / name).is_file(), name
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert figures == ["attention_by_layer.png", "control_heatmap.png", "metric_by_task.png", "metric_vs_compute.png",
                       "pretraining_loss.png", "throughput_memory.png"]
    for name in figures:
        height, width, _ = matplotlib.image.imread(out / "figures" / name).shape
        assert width > 300 and height > 200
    readme = (out / "README.md").read_text()
    for name in figures:
        assert f"](figures/{name})" in readme


def test_readme_puts_aggregate_beside_per_task_columns(standard):
    readme = (standard / "README.md").read_text()
    header = next(line for line in readme.splitlines() if line.startswith("| model | objective |"))
    assert "sentiment" in header and "synthetic\\_topic" in header and "aggregate score" in header
    mlm = next(line for line in readme.splitlines() if line.startswith("| llama | mlm |"))
    # 0.70, 0.71, 0.72 over three pretraining seeds, std 0.01 like every sentiment cell, so the task's prior is
    # s0 = 0.01 with d0 of about 1.6: 0.71 -+ t_{0.975,3.6} * 0.01 / sqrt(3) = 0.71 -+ 2.89 * 0.005774
    # (Student's t on the cell alone: 0.71 -+ 4.303 * 0.005774 = [0.685, 0.735])
    assert "**0.710 ± 0.010 \\[0.693, 0.727\\]** · rank 1" in mlm
    assert "provisional" not in mlm
    versus_reference = readme.split("## Against the reference")[1]
    clm = next(line for line in versus_reference.splitlines() if line.startswith("| llama | clm | sentiment"))
    # -0.10 on every seed: narrow, but never zero-width (the prior for differences sits at the metric's resolution)
    assert "-0.100 \\[-0.101, -0.099\\]" in clm and "worse than the reference" in clm
    assert "3 pretraining seeds x 1 finetuning seed (pretraining seeds varied)" in readme
    assert "Intervals: 95% moderated-t intervals over pretraining seeds" in readme and "Provisional:" not in readme
    controls = readme.split("## Against no pretraining")[1].split("## Against the reference")[0]
    assert ("| llama | mlm | sentiment | none | +0.200 \\[+0.199, +0.201\\] | 3 | better than no pretraining |"
            in controls)
    assert "sentiment (vs none): of 2 pretrained objectives, 2 better (mlm, clm)" in controls


def test_csv_and_json_for_machines(store):
    write_runs(store[0], STANDARD)
    out = report(store, reference="none")
    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    assert len(rows) == 6  # 3 objectives x 2 tasks
    mlm = next(r for r in rows if r["objective"] == "mlm" and r["task"] == "sentiment")
    assert float(mlm["mean"]) == pytest.approx(0.71) and mlm["metric"] == "f1_macro"
    assert float(mlm["difference"]) == pytest.approx(0.20) and mlm["reference"] == "none"
    assert json.loads(mlm["pretrain_seeds"]) == [0, 1, 2] and json.loads(mlm["finetune_seeds"]) == [0]
    assert mlm["pretrain_seed_count"] == "3" and mlm["provisional"] == "False" and mlm["direction"] == "better"
    data = json.loads((out / "leaderboard.json").read_text())
    assert data["reference"] == "none"
    assert data["metrics"]["sentiment"] == {"name": "f1_macro", "higher_is_better": True, "max_value": 1.0}
    assert {r["objective"] for r in data["aggregate"]} == {"none", "clm", "mlm"}
    assert {(c["objective"], c["task"], c["control"]) for c in data["controls"]} == {
        (o, t, "none") for o in ("clm", "mlm") for t in ("sentiment", "synthetic_topic")}
    none_cost = next(c for c in data["costs"] if c["objective"] == "none")
    assert none_cost["flops"] == 0.0
    # every row against no pretraining is decided here (4 better), and the rows say how each was judged
    assert data["decisions"]["against_control"]["decided"] == data["decisions"]["against_control"]["rows"] == 4
    rows = {(r["objective"], r["task"]): r for r in data["rows"]}
    assert rows[("mlm", "sentiment")]["verdict_vs_control"] == "better (vs none)"
    assert rows[("mlm", "sentiment")]["sample_std"] == pytest.approx(0.01) and rows[("mlm", "sentiment")]["dof"] > 2
    assert [c["tolerance"] for c in data["controls"]] == pytest.approx([0.02] * 4)


REAL = make_record("mlm", "synthetic_topic", 0, 0, 0.8)  # what the harness wrote, for the expected values


def test_provenance_on_every_output(standard):
    out = standard
    prov = json.loads((out / "leaderboard.json").read_text())["provenance"]
    torch_version = REAL["environment"]["packages"]["torch"]
    assert prov["corpus_id"] == [REAL["corpus_id"]] and prov["tokenizer_id"] == [REAL["tokenizer_id"]]
    assert prov["schema_version"] == [SCHEMA_VERSION] and prov["report_reads_schema_version"] == SCHEMA_VERSION
    assert prov["pretrain_seeds"] == [0, 1, 2] and prov["finetune_seeds"] == [0]
    assert prov["packages"]["torch"] == [torch_version] and prov["device"] == ["cpu"]
    budget = CONFIG["pretrain"]["budget"]
    assert prov["pretrain_budget"][0]["budget"] == budget
    assert prov["pretrain_budget"][0]["budget_unit"] == CONFIG["pretrain"]["budget_unit"]
    assert all(re.match(r"\d{4}-\d\d-\d\dT", t) for t in prov["runs_recorded_between"])
    assert "report_generated" not in prov  # a report is a function of its records: it can be remade exactly
    for text in ((out / "README.md").read_text(), (out / "index.html").read_text()):
        for expected in (REAL["corpus_id"], REAL["tokenizer_id"], f"torch {torch_version}", f"budget={budget}",
                         "0, 1, 2", "record schema version", REAL["environment"]["platform"].split("_")[0]):
            assert expected in text, expected


def test_mixed_environment_is_shown_as_differing(store):
    write_runs(store[0], {"mlm": {"t": seeds(0.8, 0.81)}})
    other = make_record("clm", "t", 0, 0, 0.7)
    other["environment"]["packages"]["torch"] = "9.9.9"
    from benchmark.results import write_record
    write_record(store[0], other)
    readme = (report(store) / "README.md").read_text()
    assert f"torch {REAL['environment']['packages']['torch']} / 9.9.9" in readme


def test_single_seed_report_says_no_interval(store):
    write_runs(store[0], {"mlm": {"t": {(0, 0): 0.8}}, "clm": {"t": {(0, 0): 0.7}}})
    out = report(store)
    for name in ("README.md", "index.html"):
        text = (out / name).read_text()
        assert "0.800 (1 run: no interval)" in text
        assert "Provisional: every entry had one pretraining run" in text
        assert "-0.100 (one pretraining run: no interval)" in text and "provisional (one pretraining run)" in text
        assert "rank 1 (provisional)" in text and "Intervals:" not in text


def test_one_pretraining_run_report_shows_the_finetuning_spread(store):
    write_runs(store[0], ONE_PRETRAINING_RUN)
    out = report(store)
    readme = (out / "README.md").read_text()
    mlm = next(line for line in readme.splitlines() if line.startswith("| llama | mlm |"))
    assert "**0.710 (finetuning sd 0.010; one pretraining run: no interval)** · rank 1 (provisional)" in mlm
    assert "| 1 (provisional) |" in mlm  # the mean rank
    assert "Provisional: every entry had one pretraining run" in readme
    assert "1 pretraining seed x 3 finetuning seeds (finetuning seeds varied)" in readme
    controls = readme.split("## Against no pretraining")[1].split("## Against the reference")[0]
    assert "| llama | mlm | sentiment | none | +0.200 (one pretraining run: no interval) | 3 | " \
           "provisional (one pretraining run) |" in controls
    assert "of 2 pretrained objectives, 2 without a verdict (one pretraining run: no interval)" in controls
    page = (out / "index.html").read_text()
    assert "0.710 (finetuning sd 0.010; one pretraining run: no interval)" in page
    assert "std between pretraining seeds" in page and "finetuning sd" in page  # the details table's headers
    rows = {(r["objective"], r["task"]): r for r in json.loads((out / "leaderboard.json").read_text())["rows"]}
    assert rows[("mlm", "sentiment")]["finetune_std"] == pytest.approx(0.01)
    assert rows[("mlm", "sentiment")]["provisional"] is True and rows[("mlm", "sentiment")]["rank_provisional"] is True
    assert rows[("clm", "sentiment")]["direction"] == "provisional"


@pytest.mark.parametrize("change, field, values", [
    ({"corpus_id": "corpus-OTHER"}, "corpus_id", ("corpus-OTHER in 2 runs", f"{REAL['corpus_id']} in 2 runs")),
    ({"tokenizer_id": "tok-OTHER"}, "tokenizer_id", ("tok-OTHER in 2 runs", f"{REAL['tokenizer_id']} in 2 runs")),
    ({"config": {**CONFIG, "pretrain": {**CONFIG["pretrain"], "budget": 800000.0}}}, "config.pretrain.budget",
     (f"{CONFIG['pretrain']['budget']} in 2 runs", "800000.0 in 2 runs")),
])
def test_incomparable_runs_are_refused_with_one_line(store, change, field, values):
    write_runs(store[0], {"mlm": {"t": seeds(0.8, 0.81)}})
    write_runs(store[0], {"clm": {"t": seeds(0.7, 0.71)}}, **change)
    with pytest.raises(ObjbenchError) as err:
        report(store)
    message = str(err.value)
    assert "\n" not in message and f"{field} differs" in message and "--allow-incomparable" in message
    for value in values:
        assert value in message
    out = report(store, allow_incomparable=True)
    assert "Incomparable runs combined on request" in (out / "README.md").read_text()
    assert "Incomparable runs combined on request" in (out / "index.html").read_text()
    assert any(field in d for d in json.loads((out / "leaderboard.json").read_text())["incomparable_fields"])


def test_other_schema_version_is_refused(store):
    """Schema 1 is not read (schema 2 is, in today's form: see test_results)."""
    write_runs(store[0], {"mlm": {"t": seeds(0.8, 0.81)}})
    older = make_record("clm", "t", 0, 0, 0.7)
    older.update(schema_version=1, run_id="older")
    older[DIGEST_KEY] = content_digest(older)  # whole, so it is read, not quarantined
    write_json(runs_dir(store[0], SUITE) / "older.json", older)  # the store itself only writes the current schema
    with pytest.raises(ObjbenchError, match="schema_version differs") as err:
        report(store)
    assert f"{SCHEMA_VERSION} in 2 runs" in str(err.value) and "1 in 1 run" in str(err.value)


def test_seeds_may_differ_between_runs(store):
    write_runs(store[0], {"mlm": {"t": seeds(0.8, 0.81)}})
    write_runs(store[0], {"clm": {"t": seeds(0.7, 0.71)}},
               config={**CONFIG, "finetune": {**CONFIG["finetune"], "seeds": [0, 1]}})
    out = report(store)  # no refusal: seeds are what intervals are made of, not a change of recipe
    rows = {r["objective"]: r for r in json.loads((out / "leaderboard.json").read_text())["rows"]}
    assert rows["mlm"]["runs"] == rows["clm"]["runs"] == 2
    assert "Incomparable" not in (out / "README.md").read_text()


def test_only_the_control_has_no_loss_or_compute_figure(store):
    write_runs(store[0], STANDARD)
    out = report(store)
    assert (out / "figures" / "pretraining_loss.png").exists()
    (store[0] / SUITE).rename(store[0] / "old")
    write_runs(store[0], {"none": STANDARD["none"]})
    report(store)
    assert not (out / "figures" / "pretraining_loss.png").exists()  # stale figure from the earlier report removed
    assert "pretraining_loss.png" not in (out / "README.md").read_text()


def test_formats_with_other_metrics_and_scales(store):
    write_runs(store[0], {o: {"topic": seeds(v, v + 0.01)} for o, v in (("mlm", 0.8), ("clm", 0.7))})
    write_runs(store[0], {o: {"pairs": seeds(v, v + 0.01)} for o, v in (("mlm", 0.6), ("clm", 0.75))},
               task_format="zero_shot")
    write_runs(store[0], {o: {"en-xx": seeds(v, v + 1.0)} for o, v in (("mlm", 30.0), ("clm", 40.0))},
               task_format="translation")
    out = report(store)
    readme = (out / "README.md").read_text()
    # one decimal on a 0..100 metric; 30.0 and 31.0 from two pretraining seeds: std 1 / sqrt(2) = 0.707, and so
    # has clm's cell (40.0, 41.0), so the task's prior is s0^2 = 0.5 with d0 = 1: the variance stays 0.5 and
    # the interval is Student's t on 1 + 1 degrees of freedom, half-width 4.303 * 0.707 / sqrt(2) = 2.151,
    # so [28.349, 32.651] (on the cell's own degree of freedom: 12.706 * 0.5 = 6.353)
    assert "en-xx: chrf" in readme and "30.5 ± 0.7 \\[28.3, 32.7\\]" in readme
    assert "pairs: accuracy (zero-shot)" in readme and "mean rank, zero-shot" in readme
    data = json.loads((out / "leaderboard.json").read_text())
    mlm = {(a["use"]): a["score"] for a in data["aggregate"] if a["objective"] == "mlm"}
    assert mlm["finetuned"] == pytest.approx((0.805 + 0.305) / 2)  # chrF 30.5 normalised by its max, 100
    assert mlm["zero-shot"] == pytest.approx(0.605)


def test_no_records_is_a_clear_error(store):
    with pytest.raises(ObjbenchError, match="no results for suite 'fixture'"):
        report(store)


def test_script_json_cannot_close_its_element():
    text = script_json({"name": "</script><!-- & -->"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"name": "</script><!-- & -->"}


def test_hostile_names_are_inert_in_the_page(store):
    write_runs(store[0], {"mlm": {HOSTILE_TASK: seeds(0.8, 0.81)}, HOSTILE_OBJECTIVE: {HOSTILE_TASK: seeds(0.7, 0.6)}})
    out = report(store)
    page = (out / "index.html").read_text()
    assert "<img src=x" not in page and 'alert("pwned")</script>' not in page
    assert page.count("<script") == 2  # the JSON copy and the sort script, nothing injected
    assert page.count("</script>") == 2
    assert page.count("<img ") == len(list((out / "figures").glob("*.png")))
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    pattern = r'<script type="application/json" id="leaderboard-data">(.*?)</script>'
    embedded = re.search(pattern, page, re.DOTALL).group(1)
    assert HOSTILE_TASK in {r["task"] for r in json.loads(embedded)["rows"]}
    readme = (out / "README.md").read_text()
    assert "<img" not in readme and "<script" not in readme and "&lt;img src=x" in readme


def _suite_file(tmp_path: Path, store) -> Path:
    path = tmp_path / "fixture.yaml"
    path.write_text(f"name: {SUITE}\nmodels: [llama]\nobjectives: [none, clm, mlm]\ntasks: [synthetic_topic]\n"
                    f"results_dir: {store[0]}\nreports_dir: {store[1]}\n")
    return path


def test_cli_report_flags(tmp_path, store, capsys):
    write_runs(store[0], STANDARD)
    write_runs(store[0], {"clm": {"extra": seeds(0.5, 0.6)}}, corpus_id="corpus-OTHER")
    suite = _suite_file(tmp_path, store)
    assert main(["report", str(suite), "--all-runs"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("objbench: error: runs are not comparable: corpus_id differs") and "\n" not in err
    assert main(["report", str(suite), "--all-runs", "--allow-incomparable", "--reference", "clm"]) == 0
    assert "index.html" in capsys.readouterr().out
    data = json.loads((store[1] / SUITE / "leaderboard.json").read_text())
    assert data["reference"] == "clm"
    assert main(["report", str(suite), "--all-runs", "--allow-incomparable", "--reference", "electra"]) == 2
    assert "reference objective 'electra' has no runs" in capsys.readouterr().err


def test_by_default_the_cli_reports_only_the_suite_as_it_is_now(tmp_path, store, capsys):
    """Fixture records carry run ids that no plan of this suite produces: they stay out."""
    write_runs(store[0], STANDARD)
    suite_file = str(_suite_file(tmp_path, store))
    assert main(["report", suite_file]) == 2  # a report builds no data: it says what does
    assert "`objbench run` or `objbench plan` makes them" in capsys.readouterr().err
    assert main(["plan", suite_file]) == 0
    capsys.readouterr()
    assert main(["report", suite_file]) == 2
    assert "no results for suite" in capsys.readouterr().err
