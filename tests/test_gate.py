"""The regression gate (``benchmark/report/gate.py``) and the commands built on it, ``objbench compare``
and ``objbench check``.

Records are real-shaped (``tests.report_fixtures.make_record``) with the primary metric, the
pretraining FLOPs and the MFU chosen per pretraining seed, so every interval and verdict can be
checked by hand. Three pretraining seeds give Student's t with 2 degrees of freedom,
t_{0.975,2} = 4.302653; the default tolerance is 2% of the metric's best value (0.02 macro F1,
2 chrF). Nothing here trains: the fixture's template suite runs once per test process.
"""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats as scipy_stats

from benchmark.cli import main
from benchmark.report.gate import check_records
from benchmark.results import DIGEST_KEY, content_digest, read_records_file, write_records_file
from tests.helpers import tiny_raw, write_suite
from tests.report_fixtures import CONFIG, make_record

T2 = 4.302653  # t_{0.975,2}: three pretraining seeds, paired
TOPIC = "synthetic_topic"  # classification: macro F1, higher is better, best 1.0
TRANSLATION = "synthetic_translation"  # translation: chrF, higher is better, best 100


def runs(objective: str, task: str, *values: float, first: int = 0, mfu: list[float] | None = None,
         flops: dict[int, float] | None = None, **options) -> list[dict]:
    """One record per pretraining seed ``first``, ``first + 1``, ... (finetuning seed 0) with these primary
    metric values; ``mfu`` per seed in the same order, ``flops`` by pretraining seed, replace what the harness
    wrote."""
    out = []
    for i, value in enumerate(values):
        record = make_record(objective, task, first + i, 0, value, **options)
        if mfu is not None:
            record["pretrain"]["mfu"] = mfu[i]
        if flops is not None and first + i in flops:
            record["pretrain"]["flops"] = flops[first + i]
        out.append(record)
    return out


def row(gate, objective: str, task: str = TOPIC):
    """The quality row of (llama, objective, task)."""
    found = gate.quality[(gate.quality["objective"] == objective) & (gate.quality["task"] == task)]
    assert len(found) == 1, gate.quality
    return found.iloc[0]


def cost_row(gate, objective: str = "clm"):
    found = gate.cost[gate.cost["objective"] == objective]
    assert len(found) == 1, gate.cost
    return found.iloc[0]


def sealed(records: list[dict]) -> list[dict]:
    """Records as a report's records.jsonl holds them: each with its content hash."""
    return [{**r, DIGEST_KEY: content_digest(r)} for r in records]


def with_check(**check) -> dict:
    """The fixture suite's config with this ``check`` block."""
    return {**CONFIG, "check": {**CONFIG["check"], **check}}


# --- quality: the interval --------------------------------------------------------------------------

def test_same_seeds_are_paired_with_k_minus_1_degrees_of_freedom():
    """Seeds 0-2 on both sides: paired differences -0.05, -0.04, -0.06 (mean -0.05, std 0.01), interval
    -0.05 -+ 4.303 * 0.01 / sqrt(3) = [-0.0748, -0.0252]. The drop 0.05 is beyond the tolerance 0.02 and
    the interval lies below 0: regressed."""
    gate = check_records(runs("clm", TOPIC, 0.80, 0.81, 0.82), runs("clm", TOPIC, 0.75, 0.77, 0.76))
    r = row(gate, "clm")
    assert r["pairing"] == "paired" and r["metric"] == "f1_macro"
    assert (r["baseline"], r["current"], r["difference"]) == pytest.approx((0.81, 0.76, -0.05))
    half = T2 * 0.01 / math.sqrt(3)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-0.05 - half, -0.05 + half))
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-0.0748, -0.0252), abs=1e-4)
    assert r["tolerance"] == pytest.approx(0.02)
    assert (r["statistical"], r["practical"], r["verdict"]) == ("worse", "worse", "regressed")
    assert gate.regressed
    assert gate.status() == "FAIL: regressed: clm on synthetic_topic (f1_macro)"


def test_disjoint_seeds_use_welch_with_satterthwaite_degrees_of_freedom():
    """Baseline on seeds 0-2: 0.80, 0.81, 0.82 (mean 0.81, variance 0.0001); current on seeds 3-5: 0.70,
    0.72, 0.74 (mean 0.72, variance 0.0004). Squared standard errors: current 0.0004 / 3 = 4/30000,
    baseline 0.0001 / 3 = 1/30000, sum 5/30000, se = sqrt(5/30000) = 0.012910.
    Satterthwaite: df = (5/30000)^2 / ((4/30000)^2 / 2 + (1/30000)^2 / 2) = 25 / (17 / 2) = 50/17 = 2.941,
    t_{0.975,2.941} = 3.2188, half-width 3.2188 * 0.012910 = 0.04155: [-0.1316, -0.0484]. Regressed."""
    gate = check_records(runs("clm", TOPIC, 0.80, 0.81, 0.82), runs("clm", TOPIC, 0.70, 0.72, 0.74, first=3))
    r = row(gate, "clm")
    assert r["pairing"] == "unpaired"
    assert r["difference"] == pytest.approx(-0.09)
    dof = 50 / 17
    half = float(scipy_stats.t.ppf(0.975, dof)) * math.sqrt(5 / 30000)
    assert half == pytest.approx(0.04155, abs=1e-5)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((-0.09 - half, -0.09 + half))
    assert r["verdict"] == "regressed"


def test_a_big_drop_whose_interval_holds_zero_is_unchanged_marked_noisy():
    """Paired differences -0.10, +0.01, -0.06: mean -0.05 (beyond the tolerance 0.02), std
    sqrt((0.05^2 + 0.06^2 + 0.01^2) / 2) = sqrt(0.0031) = 0.05568, interval -0.05 -+ 4.303 * 0.05568 /
    sqrt(3) = [-0.188, +0.088], which holds 0: big but noisy, more seeds would tell."""
    gate = check_records(runs("clm", TOPIC, 0.80, 0.80, 0.80), runs("clm", TOPIC, 0.70, 0.81, 0.74))
    r = row(gate, "clm")
    half = T2 * math.sqrt(0.0031) / math.sqrt(3)
    assert (r["difference"], r["ci_low"], r["ci_high"]) == pytest.approx((-0.05, -0.05 - half, -0.05 + half))
    assert r["ci_low"] < 0 < r["ci_high"]
    assert (r["statistical"], r["practical"], r["verdict"]) == ("within noise", "worse", "unchanged ~")
    assert not gate.regressed and gate.status() == "PASS: nothing regressed"


def test_a_significant_drop_within_tolerance_is_unchanged():
    """Paired differences -0.010, -0.011, -0.012: mean -0.011, std 0.001, interval -0.011 -+ 4.303 * 0.001 /
    sqrt(3) = [-0.0135, -0.0085], wholly below 0, but 0.011 is within the tolerance 0.02."""
    gate = check_records(runs("clm", TOPIC, 0.80, 0.81, 0.82), runs("clm", TOPIC, 0.790, 0.799, 0.808))
    r = row(gate, "clm")
    half = T2 * 0.001 / math.sqrt(3)
    assert (r["difference"], r["ci_low"], r["ci_high"]) == pytest.approx((-0.011, -0.011 - half, -0.011 + half))
    assert (r["statistical"], r["practical"], r["verdict"]) == ("worse", "within tolerance", "unchanged")
    assert not gate.regressed


def test_a_rise_beyond_tolerance_and_interval_is_improved():
    """The first test's numbers the other way round: +0.05 with interval [+0.0252, +0.0748]."""
    gate = check_records(runs("clm", TOPIC, 0.75, 0.77, 0.76), runs("clm", TOPIC, 0.80, 0.81, 0.82))
    r = row(gate, "clm")
    assert r["difference"] == pytest.approx(0.05)
    assert (r["statistical"], r["practical"], r["verdict"]) == ("better", "better", "improved")
    assert not gate.regressed


def test_identical_results_are_unchanged():
    records = runs("clm", TOPIC, 0.80, 0.81, 0.82) + runs("mlm", TOPIC, 0.70, 0.72, 0.71)
    gate = check_records(records, records)
    assert list(gate.quality["verdict"]) == ["unchanged", "unchanged"]
    assert (gate.quality["difference"] == 0).all()
    assert list(gate.cost["verdict"]) == ["unchanged", "unchanged"]
    assert not gate.regressed and gate.status() == "PASS: nothing regressed"


def test_one_pretraining_seed_per_side_gives_no_interval_and_never_regresses():
    """Seed 0 against seed 1: nothing to pair, one mean per side, no interval. A drop of 0.10 (five
    tolerances) is flagged ~, not regressed: one run cannot tell a change from luck."""
    gate = check_records(runs("clm", TOPIC, 0.80), runs("clm", TOPIC, 0.70, first=1))
    r = row(gate, "clm")
    assert r["difference"] == pytest.approx(-0.10) and r["ci_low"] is None
    assert (r["statistical"], r["verdict"]) == ("no interval", "unchanged ~")
    assert not gate.regressed


# Lower-is-better: no registered format declares a metric where lower is better (every format's
# primary_metric has higher_is_better=True), so that branch has no real records to test with.


# --- quality: the tolerance -------------------------------------------------------------------------

def test_the_default_tolerance_is_two_percent_of_the_metrics_best_value():
    """chrF's best is 100: tolerance 2. A paired drop of 1.5 chrF (differences -1.4, -1.5, -1.6, interval
    [-1.75, -1.25]) is significant but within it; a drop of 3 (-2.9, -3.0, -3.1) regresses."""
    base = runs("clm", TRANSLATION, 30.0, 31.0, 32.0, task_format="translation")
    small = runs("clm", TRANSLATION, 28.6, 29.5, 30.4, task_format="translation")
    big = runs("clm", TRANSLATION, 27.1, 28.0, 28.9, task_format="translation")
    r = row(check_records(base, small), "clm", TRANSLATION)
    assert r["metric"] == "chrf" and r["tolerance"] == pytest.approx(2.0)
    assert r["difference"] == pytest.approx(-1.5)
    assert (r["statistical"], r["verdict"]) == ("worse", "unchanged")
    r = row(check_records(base, big), "clm", TRANSLATION)
    assert r["difference"] == pytest.approx(-3.0) and r["verdict"] == "regressed"


def test_a_task_tolerance_comes_from_the_current_records_check_config():
    """The significant drop of 0.011 above (interval [-0.0135, -0.0085]) regresses once the current suite's
    ``check.tolerance`` for the task is 0.005; another task keeps the default 0.02, and the baseline's own
    ``check`` block is not what counts."""
    strict = with_check(tolerance={TOPIC: 0.005})
    loose = with_check(tolerance={TOPIC: 0.5})
    baseline = runs("clm", TOPIC, 0.80, 0.81, 0.82, config=loose) + runs("clm", "sentiment", 0.60, 0.61, 0.62,
                                                                         config=loose)
    current = (runs("clm", TOPIC, 0.790, 0.799, 0.808, config=strict)
               + runs("clm", "sentiment", 0.590, 0.599, 0.608, config=strict))
    gate = check_records(baseline, current)
    topic, sentiment = row(gate, "clm", TOPIC), row(gate, "clm", "sentiment")
    assert topic["tolerance"] == pytest.approx(0.005) and topic["verdict"] == "regressed"
    assert sentiment["tolerance"] == pytest.approx(0.02) and sentiment["verdict"] == "unchanged"
    assert gate.status() == "FAIL: regressed: clm on synthetic_topic (f1_macro)"
    # tolerances given to check_records win over the records' own
    assert row(check_records(baseline, current, tolerances={}), "clm")["verdict"] == "unchanged"


# --- quality: cells on one side only ------------------------------------------------------------------

def test_a_cell_on_one_side_only_is_listed_not_dropped():
    """The baseline has clm on topic and on sentiment; the current, clm and mlm on topic."""
    baseline = runs("clm", TOPIC, 0.80, 0.81, 0.82) + runs("clm", "sentiment", 0.60, 0.61, 0.62)
    current = runs("clm", TOPIC, 0.80, 0.81, 0.82) + runs("mlm", TOPIC, 0.70, 0.71, 0.72)
    gate = check_records(baseline, current)
    assert len(gate.quality) == 3
    assert row(gate, "clm", "sentiment")["verdict"] == "only in baseline"
    assert row(gate, "mlm", TOPIC)["verdict"] == "only in current"
    assert row(gate, "clm", TOPIC)["verdict"] == "unchanged"
    lines = gate.lines()
    assert any(line.startswith("llama/clm/sentiment ") and line.endswith("only in baseline") for line in lines)
    assert any(line.startswith("llama/mlm/synthetic_topic ") and line.endswith("only in current") for line in lines)
    assert "| llama | mlm | synthetic_topic | | | | | | | | only in current |" in gate.markdown()
    assert "nan" not in "\n".join(lines) + gate.markdown()  # a side with no runs shows blanks, not NaN
    assert not gate.regressed  # a cell that is gone is shown, not called a regression
    assert list(gate.cost["objective"]) == ["clm"]  # pretraining is compared where both sides pretrained


# --- cost: FLOPs and MFU --------------------------------------------------------------------------------

def test_flops_that_differ_for_one_seed_are_flops_changed_and_regress():
    """Same quality; pretraining seed 1 of the current counted twice the FLOPs of the baseline's."""
    baseline = runs("clm", TOPIC, 0.80, 0.81, 0.82)
    flops = baseline[1]["pretrain"]["flops"]
    current = runs("clm", TOPIC, 0.80, 0.81, 0.82, flops={1: 2 * flops})
    gate = check_records(baseline, current)
    assert row(gate, "clm")["verdict"] == "unchanged"
    c = cost_row(gate)
    assert c["verdict"] == "FLOPs changed" and c["flops_changed_seeds"] == [1]
    assert gate.regressed
    assert gate.status() == "FAIL: regressed: clm pretraining (FLOPs changed)"


def test_mfu_halved_on_every_seed_is_slower():
    """MFU 0.040, 0.042, 0.044 -> 0.020, 0.021, 0.022: ratio 0.5, below 1 - 0.35. Welch (the seeds' MFUs
    are independent timings): squared standard errors 1e-6 / 3 and 4e-6 / 3, df 50/17 as in the
    quality test, interval -0.021 -+ 3.2188 * sqrt(5e-6 / 3) = [-0.0252, -0.0168], below 0."""
    baseline = runs("clm", TOPIC, 0.80, 0.81, 0.82, mfu=[0.040, 0.042, 0.044])
    current = runs("clm", TOPIC, 0.80, 0.81, 0.82, mfu=[0.020, 0.021, 0.022])
    gate = check_records(baseline + runs("none", TOPIC, 0.4, 0.4, 0.4), current + runs("none", TOPIC, 0.4, 0.4, 0.4))
    assert list(gate.cost["objective"]) == ["clm"]  # the untrained control has no pretraining to time
    c = cost_row(gate)
    half = float(scipy_stats.t.ppf(0.975, 50 / 17)) * math.sqrt(5e-6 / 3)
    assert (c["baseline_mfu"], c["current_mfu"], c["mfu_ratio"]) == pytest.approx((0.042, 0.021, 0.5))
    assert (c["mfu_ci_low"], c["mfu_ci_high"]) == pytest.approx((-0.021 - half, -0.021 + half))
    assert c["verdict"] == "slower" and gate.regressed
    assert gate.status() == "FAIL: regressed: clm pretraining (slower)"
    assert any(line == "llama/clm pretraining: MFU 0.50x of the baseline's; slower" for line in gate.lines())


def test_speed_is_not_compared_across_precisions():
    """The same halved MFU, but the current side ran in bf16: each MFU is against its own precision's
    matmul peak (bf16 on AMX is several times fp32's), so the ratio would measure the precision."""
    baseline = runs("clm", TOPIC, 0.80, 0.81, 0.82, mfu=[0.040, 0.042, 0.044])
    current = runs("clm", TOPIC, 0.80, 0.81, 0.82, mfu=[0.020, 0.021, 0.022])
    for record in baseline:
        record["environment"]["precision"] = "fp32"
    for record in current:
        record["environment"]["precision"] = "bf16"
    gate = check_records(baseline, current, allow_incomparable=True)
    assert cost_row(gate)["verdict"].startswith("speed not compared: precision") and not gate.regressed


def test_speed_is_not_compared_across_peak_sources():
    """MFU over a GPU's datasheet peak against MFU over a matmul timed in the process: two yardsticks."""
    baseline = runs("clm", TOPIC, 0.80, 0.81, 0.82, mfu=[0.040, 0.042, 0.044])
    current = runs("clm", TOPIC, 0.80, 0.81, 0.82, mfu=[0.020, 0.021, 0.022])
    for record in current:
        record["pretrain"]["peak_source"] = "datasheet"
    gate = check_records(baseline, current)
    verdict = cost_row(gate)["verdict"]
    assert verdict == "speed not compared: MFU over a measured peak against a datasheet one", verdict
    assert not gate.regressed


def test_records_of_the_previous_schema_still_compare(tmp_path, capsys):
    """A baseline written by schema 2 (MFU over ``matmul_flops_per_s``, no ``peak_source``) against today's
    records: read as measured peaks, so quality and speed are both compared."""
    def as_schema_2(record: dict) -> dict:
        pretrain = dict(record["pretrain"])
        if "peak_source" in pretrain:
            assert pretrain.pop("peak_source") == "measured"
            pretrain["matmul_flops_per_s"] = pretrain.pop("peak_flops_per_s")
        return {**record, "schema_version": 2, "pretrain": pretrain}

    old = write(tmp_path / "old.jsonl", [as_schema_2(r) for r in baseline_records()])
    new = write(tmp_path / "new.jsonl", lowered(baseline_records(), "mlm", 0.10))
    code, out, err = _run(["compare", old, new], capsys)
    assert code == 1, err
    assert "mlm" in out.splitlines()[-1] and "regressed" in out.splitlines()[-1]
    gate = check_records(read_records_file(old), baseline_records())
    assert cost_row(gate)["verdict"] == "unchanged" and not gate.regressed


def test_mfu_within_noise_or_within_the_allowed_drop_is_unchanged():
    """0.040, 0.042, 0.044 -> 0.010, 0.040, 0.028: mean 0.026, ratio 0.62 (beyond 0.35), but the timings
    scatter: squared standard errors 0.000228 / 3 and 4e-6 / 3, interval about [-0.053, +0.021], which
    holds 0. And 0.036, 0.037, 0.038 (mean 0.037, ratio 0.881): squared standard errors 1e-6 / 3 and
    4e-6 / 3, df 50/17, interval -0.005 -+ 3.2188 * sqrt(5e-6 / 3) = [-0.0092, -0.0008], below 0, but a
    12% fall is within 35%; with ``check.mfu_drop: 0.05`` in the current suite it is slower."""
    baseline = runs("clm", TOPIC, 0.80, 0.81, 0.82, mfu=[0.040, 0.042, 0.044])
    noisy = runs("clm", TOPIC, 0.80, 0.81, 0.82, mfu=[0.010, 0.040, 0.028])
    c = cost_row(check_records(baseline, noisy))
    assert c["mfu_ratio"] == pytest.approx(0.026 / 0.042)
    assert c["mfu_ci_low"] < 0 < c["mfu_ci_high"] and c["verdict"] == "unchanged"

    slightly = runs("clm", TOPIC, 0.80, 0.81, 0.82, mfu=[0.036, 0.037, 0.038])
    c = cost_row(check_records(baseline, slightly))
    half = float(scipy_stats.t.ppf(0.975, 50 / 17)) * math.sqrt(5e-6 / 3)
    assert (c["mfu_ratio"], c["mfu_ci_low"], c["mfu_ci_high"]) == pytest.approx((0.037 / 0.042, -0.005 - half,
                                                                                -0.005 + half))
    assert c["mfu_ci_high"] < 0 and c["verdict"] == "unchanged"
    assert cost_row(check_records(baseline, slightly, mfu_drop=0.05))["verdict"] == "slower"
    strict = runs("clm", TOPIC, 0.80, 0.81, 0.82, mfu=[0.036, 0.037, 0.038], config=with_check(mfu_drop=0.05))
    assert cost_row(check_records(baseline, strict))["verdict"] == "slower"


def test_a_baseline_without_mfu_says_so_and_does_not_regress():
    """Records written before MFU was measured: FLOPs are still compared, speed cannot be."""
    baseline = runs("clm", TOPIC, 0.80, 0.81, 0.82)
    for record in baseline:
        del record["pretrain"]["mfu"]
    gate = check_records(baseline, runs("clm", TOPIC, 0.80, 0.81, 0.82, mfu=[0.01, 0.01, 0.01]))
    c = cost_row(gate)
    assert c["verdict"] == "no MFU recorded" and c["flops_changed_seeds"] == []
    assert not gate.regressed


def test_runs_that_are_not_comparable_are_refused_unless_allowed():
    from benchmark.errors import ObjbenchError

    baseline = runs("clm", TOPIC, 0.80, 0.81, 0.82)
    current = runs("clm", TOPIC, 0.80, 0.81, 0.82, corpus_id="another-corpus")
    with pytest.raises(ObjbenchError, match="corpus_id differs"):
        check_records(baseline, current)
    gate = check_records(baseline, current, allow_incomparable=True)
    assert gate.differences and "corpus_id differs" in gate.differences[0]
    assert "--allow-incomparable" in gate.markdown()


# --- the commands -----------------------------------------------------------------------------------

def baseline_records() -> list[dict]:
    return (runs("none", TOPIC, 0.40, 0.42, 0.44) + runs("clm", TOPIC, 0.79, 0.84, 0.78)
            + runs("mlm", TOPIC, 0.80, 0.81, 0.80))


def lowered(records: list[dict], objective: str, by: float) -> list[dict]:
    """The same runs with ``objective``'s primary metric lower by ``by`` on every run."""
    out = []
    for record in records:
        if record["objective"] == objective:
            value = record["metrics"]["f1_macro"] - by
            record = make_record(objective, record["task"], record["pretrain_seed"], record["finetune_seed"], value)
        out.append(record)
    return out


def write(path, records: list[dict]):
    write_records_file(path, sealed(records))
    return path


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_compare_a_baseline_with_itself_passes(tmp_path, capsys):
    baseline = write(tmp_path / "records.jsonl", baseline_records())
    code, out, err = _run(["compare", baseline, baseline], capsys)
    assert code == 0, err
    assert out.splitlines()[-1] == "PASS: nothing regressed"
    assert "regressed" not in "\n".join(out.splitlines()[:-1])


def test_compare_a_lowered_objective_fails_naming_it(tmp_path, capsys):
    """mlm 0.10 lower on every run (five tolerances, paired differences all -0.10): exit 1."""
    baseline = write(tmp_path / "baseline.jsonl", baseline_records())
    current = write(tmp_path / "current.jsonl", lowered(baseline_records(), "mlm", 0.10))
    markdown, summary = tmp_path / "out" / "gate.md", tmp_path / "out" / "gate.json"
    code, out, err = _run(["compare", baseline, current, "--markdown", markdown, "--json", summary], capsys)
    assert code == 1, err
    assert out.splitlines()[-1] == "FAIL: regressed: mlm on synthetic_topic (f1_macro)"
    regressed = [line for line in out.splitlines() if line.endswith("  regressed")]
    assert len(regressed) == 1
    assert regressed[0].startswith("llama/mlm/synthetic_topic ") and " f1_macro " in regressed[0]
    assert "-0.100" in regressed[0]

    text = markdown.read_text()
    assert text.startswith("### objbench check: FAIL: regressed: mlm on synthetic_topic (f1_macro)")
    bold = [line for line in text.splitlines() if "**regressed**" in line]
    assert len(bold) == 1 and bold[0].startswith("| llama | mlm | synthetic_topic | f1_macro |")
    assert "| llama | clm | synthetic_topic | f1_macro |" in text  # the other cells are shown too, not bold

    found = json.loads(summary.read_text())
    assert found["regressed"] is True and found["status"] == out.splitlines()[-1]
    verdicts = {(q["objective"], q["task"]): q["verdict"] for q in found["quality"]}
    assert verdicts == {("none", TOPIC): "unchanged", ("clm", TOPIC): "unchanged", ("mlm", TOPIC): "regressed"}
    assert {c["objective"]: c["verdict"] for c in found["cost"]} == {"clm": "unchanged", "mlm": "unchanged"}


def test_compare_writes_markdown_and_json_when_nothing_regressed(tmp_path, capsys):
    baseline = write(tmp_path / "records.jsonl", baseline_records())
    code, _, _ = _run(["compare", baseline, baseline, "--markdown", tmp_path / "gate.md", "--json",
                       tmp_path / "gate.json"], capsys)
    assert code == 0
    assert (tmp_path / "gate.md").read_text().startswith("### objbench check: PASS: nothing regressed")
    assert "**" not in (tmp_path / "gate.md").read_text().split("\n", 1)[1]
    assert json.loads((tmp_path / "gate.json").read_text())["regressed"] is False


def test_a_named_output_that_is_not_a_regular_file_is_written_in_place(tmp_path, capsys):
    """--json to a named pipe reaches its reader (the pipe stays a pipe); --markdown to a symlink writes its
    target (the link stays a link): a rename would have replaced what each path is."""
    import os
    import threading

    baseline = write(tmp_path / "records.jsonl", baseline_records())
    pipe, target, link = tmp_path / "gate.fifo", tmp_path / "real.md", tmp_path / "link.md"
    os.mkfifo(pipe)
    target.write_text("old")
    link.symlink_to(target)
    read = {}
    reader = threading.Thread(target=lambda: read.setdefault("json", pipe.read_text()), daemon=True)
    reader.start()
    code, _, err = _run(["compare", baseline, baseline, "--json", pipe, "--markdown", link], capsys)
    reader.join(timeout=30)
    assert code == 0, err
    assert json.loads(read["json"])["regressed"] is False and pipe.is_fifo()
    assert link.is_symlink() and target.read_text().startswith("### objbench check: PASS")


def _unusable(tmp_path, kind: str):
    """A baseline file that objbench must refuse, and a phrase of the refusal."""
    path = tmp_path / "baseline.jsonl"
    if kind == "missing":
        return path, "no such records file"
    if kind == "malformed":
        path.write_text("run_id,objective,f1_macro\nabc,clm,0.8\n")
        return path, "not a JSON record"
    if kind == "other schema":
        records = [{**r, "schema_version": 1} for r in baseline_records()]
        return write(path, records), "schema_version 1"
    raise AssertionError(kind)


UNUSABLE = ["missing", "malformed", "other schema"]


def _one_line_error(code: int, out: str, err: str, phrase: str) -> None:
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("objbench: error: ") and phrase in err, err
    assert "Traceback" not in err + out


@pytest.mark.parametrize("kind", UNUSABLE)
def test_compare_refuses_an_unusable_baseline_in_one_line(tmp_path, capsys, kind):
    baseline, phrase = _unusable(tmp_path, kind)
    current = write(tmp_path / "current.jsonl", baseline_records())
    code, out, err = _run(["compare", baseline, current], capsys)
    _one_line_error(code, out, err, phrase)
    assert str(baseline) in err


@pytest.mark.parametrize("kind", UNUSABLE)
def test_check_refuses_an_unusable_baseline_before_running_anything(tmp_path, capsys, kind):
    baseline, phrase = _unusable(tmp_path, kind)
    suite = write_suite(tmp_path / "tiny.yaml", tiny_raw(tmp_path))
    code, out, err = _run(["check", suite, "--baseline", baseline, "--quiet"], capsys)
    _one_line_error(code, out, err, phrase)
    assert not (tmp_path / "results").exists()  # nothing was trained or cached


def test_compare_refuses_incomparable_runs_unless_allowed(tmp_path, capsys):
    baseline = write(tmp_path / "baseline.jsonl", baseline_records())
    other = [{**r, "corpus_id": "another-corpus"} for r in baseline_records()]
    current = write(tmp_path / "current.jsonl", other)
    code, out, err = _run(["compare", baseline, current], capsys)
    _one_line_error(code, out, err, "corpus_id differs")
    code, out, _ = _run(["compare", baseline, current, "--allow-incomparable"], capsys)
    assert code == 0 and out.splitlines()[-1] == "PASS: nothing regressed"


def test_a_recipe_key_added_later_reads_as_its_old_value_in_older_records():
    from benchmark.report.comparability import differences

    def run(pretrain: dict) -> dict:
        return {"schema_version": 1, "corpus_id": "c", "tokenizer_id": "t", "size": "tiny",
                "config": {"pretrain": {"lr": 2e-3, **pretrain}, "finetune": {}}}

    assert differences([run({}), run({"compile": False})]) == []  # a record from before the option: not compiled
    newer = {"compile": False, "ladder": None, "ladder_tasks": None, "decay_fraction": 0.15}
    assert differences([run({}), run(newer)]) == []  # nor a ladder, at the default decay
    [line] = differences([run({}), run({"compile": True})])
    assert line.startswith("config.pretrain.compile differs")


# --- numbers the gate cannot judge by -----------------------------------------------------------

@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_current_run_that_diverged_is_a_named_failure(value):
    gate = check_records(runs("clm", TOPIC, 0.5, 0.5, 0.5), runs("clm", TOPIC, 0.5, value, 0.5))
    shown = "NaN" if math.isnan(value) else "inf"
    assert row(gate, "clm")["verdict"] == f"diverged ({shown})"
    assert gate.regressed and gate.status() == f"FAIL: regressed: clm on {TOPIC} diverged ({shown})"
    assert any(f"diverged ({shown})" in line for line in gate.lines())


@pytest.mark.parametrize(("change", "expect"), [
    (lambda r: r["metrics"].update(f1_macro=math.nan), "f1_macro = nan"),
    (lambda r: r["metrics"].update(f1_macro=math.inf), "f1_macro = inf"),
    (lambda r: r.pop("metrics"), "has no metrics"),
    (lambda r: r["metrics"].pop("f1_macro"), "no value of its primary metric 'f1_macro'"),
])
def test_a_baseline_that_cannot_judge_is_unusable_input(change, expect, tmp_path, capsys):
    records = runs("clm", TOPIC, 0.5, 0.5, 0.5)
    change(records[1])
    write_records_file(tmp_path / "baseline.jsonl", sealed(records))
    write_records_file(tmp_path / "current.jsonl", sealed(runs("clm", TOPIC, 0.5, 0.5, 0.5)))
    assert main(["compare", str(tmp_path / "baseline.jsonl"), str(tmp_path / "current.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expect in err[0] and "Traceback" not in err[0], err


@pytest.mark.slow
def test_check_with_another_suites_baseline_trains_nothing(tmp_path, monkeypatch, capsys):
    """The baseline is judged against the suite's plan before anything runs: no checkpoint is written."""
    raw = tiny_raw(tmp_path, objectives=["none", "clm"], results_dir="results", reports_dir="reports")
    write_suite(tmp_path / "suite.yaml", raw)
    other = {**raw, "name": "other", "pretrain": {**raw["pretrain"], "budget": raw["pretrain"]["budget"] + 1}}
    write_suite(tmp_path / "other.yaml", other)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "other.yaml", "--quiet"]) == 0
    checkpoints = tmp_path / "results" / "cache" / "checkpoints"
    before = sorted(p.name for p in checkpoints.iterdir())
    capsys.readouterr()
    assert main(["check", "suite.yaml", "--baseline", "reports/other/records.jsonl", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cannot judge suite 'tiny': config.pretrain.budget differs" in err and "nothing was run" in err
    assert sorted(p.name for p in checkpoints.iterdir()) == before  # not one checkpoint more
    assert not (tmp_path / "results" / "tiny").exists()  # and no run of the suite recorded
