"""Several model families and sizes in one suite: budgets matched within a size, a control per (model, size), and
the report's two model-axis views (objective x architecture; whether the ordering holds across sizes)."""

from __future__ import annotations

import pytest

from benchmark.config import validate_suite
from benchmark.data import corpus
from benchmark.harness import run_suite
from benchmark.plan import make_plan
from benchmark.report.leaderboard import write_report
from benchmark.results import to_dataframe
from tests.helpers import tiny_raw

OBJECTIVES = ["none_causal", "clm", "prefix_lm", "next_sentence_generation"]


def mixed_raw(tmp_path, **changes) -> dict:
    return tiny_raw(tmp_path, name="mixed", models=["llama", "gpt2"], size=["tiny", "small"], objectives=OBJECTIVES,
                    variants={"none_causal": {"objective": "none", "kind": "causal_decoder"}},
                    tasks=["synthetic_topic", "synthetic_minimal_pairs"],
                    task_params={"synthetic_topic": {"train_size": 32, "test_size": 32},
                                 "synthetic_minimal_pairs": {"test_size": 16}},
                    pretrain={"budget_unit": "flops", "budget": 4e10, "seq_len": 32, "batch_size": 4,
                              "seeds": [0, 1]}, **changes)


def test_budgets_are_matched_within_a_size_and_each_model_size_has_its_control(tmp_path):
    suite = validate_suite(mixed_raw(tmp_path))
    plan = make_plan(suite, corpus.prepare(suite))
    cells = {(j.model, j.size) for j in plan.jobs}
    assert cells == {(m, s) for m in ("llama", "gpt2") for s in ("tiny", "small")}
    for model, size in cells:
        jobs = [j for j in plan.jobs if (j.model, j.size) == (model, size)]
        assert {j.objective for j in jobs} == set(OBJECTIVES)  # the control among them
        for job in jobs:
            if job.checkpoint is not None:  # within one step of the FLOPs budget, never short of it
                assert suite.pretrain.budget <= job.flops < suite.pretrain.budget + job.flops_per_step
    keys = [j.key for j in plan.jobs if j.checkpoint is not None]
    assert len(keys) == len(set(keys)), "two (model, size) cells share a checkpoint"
    small, tiny = (next(j for j in plan.jobs if (j.model, j.size, j.objective) == ("llama", s, "clm"))
                   for s in ("small", "tiny"))
    assert small.steps < tiny.steps  # a bigger model: fewer steps of the same compute


@pytest.mark.slow  # 32 runs, half of them on the small preset
def test_a_mixed_suite_runs_end_to_end_and_reports_the_model_axis(tmp_path):
    suite = validate_suite(mixed_raw(tmp_path))
    summary = run_suite(suite, progress=False)
    assert summary.ran == 2 * 2 * 4 * 2 * 2  # models x sizes x objectives x seeds x tasks
    df = to_dataframe(suite.results_dir, suite.name)
    assert set(zip(df["model"], df["size"])) == {(m, s) for m in ("llama", "gpt2") for s in ("tiny", "small")}
    out = write_report(suite.results_dir, suite.name, suite.reports_dir)
    readme = (out / "README.md").read_text()
    grid = readme[readme.index("## Objective × architecture"):readme.index("## Does the ordering hold")]
    assert "| objective | task | llama-tiny | gpt2-tiny | llama-small | gpt2-small |" in grid
    assert sum(line.startswith("| clm |") for line in grid.splitlines()) == 2  # one row per task
    across = readme[readme.index("## Does the ordering hold"):]
    across = across[:across.index("\n## ", 3)]
    pairs = [line for line in across.splitlines() if line.startswith(("| gpt2 |", "| llama |"))]
    assert len(pairs) == 2 * 2 * 3  # families x tasks x C(3, 2) pairs of pretrained objectives
    assert all(line.rstrip(" |").endswith(("yes", "no")) for line in pairs)
    assert "gpt2 at tiny:" in across and "llama at tiny:" in across
    board = readme[readme.index("## Leaderboard"):]
    assert "| llama-small | clm |" in board.replace("\\_", "_")


def test_a_suite_of_one_size_refuses_records_of_another(tmp_path):
    """Sizes are split only where the suite lists several: records of two sizes under one name are incomparable."""
    from benchmark.report.comparability import by_model_and_size, differences

    one = {"model": "llama", "size": "tiny", "config": {"size": "tiny"}, "objective": "clm"}
    other = {**one, "size": "small", "config": {"size": "small"}}
    assert any(line.startswith("size differs") for line in differences(by_model_and_size([one, other])))
    listed = [{**r, "config": {"size": ["tiny", "small"]}} for r in (one, other)]
    assert not any(line.startswith("size differs") for line in differences(by_model_and_size(listed)))


@pytest.mark.parametrize(("change", "message"), [
    ({"models": ["bert"], "objectives": ["clm"]}, "objective clm needs a causal_decoder and model bert cannot be one"),
    ({"models": ["gpt3"]}, "models: unknown model 'gpt3'"),
    ({"size": ["tiny", "huge"]}, "has no size 'huge'"),
])
def test_bad_model_axis_input_is_one_line_before_any_training(tmp_path, change, message):
    from benchmark.errors import ObjbenchError

    raw = tiny_raw(tmp_path, **change)
    with pytest.raises((ObjbenchError, ValueError)) as err:
        suite = validate_suite(raw)
        make_plan(suite, corpus.prepare(suite))
    assert message in str(err.value) and "\n" not in str(err.value).strip()
    assert not (tmp_path / "results" / "checkpoints").exists() or not any((tmp_path / "results" / "checkpoints").iterdir())
