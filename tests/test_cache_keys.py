"""What a checkpoint's cache key holds: what determines the weights, and nothing that does not.

A key that misses something (the recipe, the objective's settings, the model size, the precision
the machine computes in) reuses a checkpoint that another setting trained; a key that holds too
much (the finetuning recipe) trains again for nothing. Also: ``exclude`` leaves its runs out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark import plan as plan_module
from benchmark.config import validate_suite
from benchmark.plan import make_plan
from benchmark.results import to_dataframe
from tests.helpers import tiny_raw


def keys(suite, data) -> dict[str, tuple[str, list[str]]]:
    """objective -> (checkpoint key, run ids)."""
    return {job.objective: (job.key, [r.run_id for r in job.runs]) for job in make_plan(suite, data).jobs}


# --- precision -----------------------------------------------------------------------------------

def resolving_auto_to(precision: str):
    """``resolve_precision`` as on a machine where ``auto`` means ``precision`` (fp32 or bf16 both allowed)."""
    def resolve(requested: str, device) -> str:
        return precision if requested == "auto" else requested
    return resolve


@pytest.mark.parametrize("auto_means, other", [("bf16", "fp32"), ("fp32", "bf16")])
def test_keys_hash_the_precision_that_auto_resolves_to(tmp_path, tiny_data, monkeypatch, auto_means, other):
    monkeypatch.setattr(plan_module, "resolve_precision", resolving_auto_to(auto_means))
    at = {p: keys(validate_suite(tiny_raw(tmp_path, objectives=["mlm"], precision=p)), tiny_data)["mlm"]
          for p in ("auto", auto_means, other)}
    assert at["auto"] == at[auto_means]  # same checkpoint and same run ids: auto is what it resolves to
    assert at["auto"][0] != at[other][0]  # never another precision's checkpoint
    assert set(at["auto"][1]).isdisjoint(at[other][1])  # nor its runs


def test_auto_precision_keys_match_what_this_machine_resolves(tmp_path, tiny_data):
    from benchmark.measure import resolve_device, resolve_precision

    resolved = resolve_precision("auto", resolve_device("cpu"))
    auto = keys(validate_suite(tiny_raw(tmp_path, objectives=["mlm"], precision="auto")), tiny_data)
    explicit = keys(validate_suite(tiny_raw(tmp_path, objectives=["mlm"], precision=resolved)), tiny_data)
    assert auto == explicit


# --- exclude -------------------------------------------------------------------------------------

def test_exclude_skips_its_runs_and_says_why(tmp_path, tiny_data):
    suite = validate_suite(tiny_raw(tmp_path, exclude=["*/clm/*"]))
    plan = make_plan(suite, tiny_data)
    assert ("llama/clm/synthetic_topic", "excluded by the suite") in plan.skipped
    assert not any(run.job.objective == "clm" for run in plan.runs)
    assert {run.job.objective for run in plan.runs} == {"none", "mlm"}
    assert "clm" not in {job.objective for job in plan.jobs}  # no pretraining for runs that will not happen


# --- what a change retrains ----------------------------------------------------------------------

def _checkpoints(results_dir: str) -> set[str]:
    return {p.name for p in (Path(results_dir) / "cache" / "checkpoints").iterdir()
            if p.is_dir() and not p.name.startswith(".")}


@pytest.mark.slow
def test_what_determines_the_weights_trains_a_new_checkpoint_and_finetuning_does_not(tmp_path, tiny_data):
    from benchmark.harness import run_suite

    base = tiny_raw(tmp_path, objectives=["mlm"])
    changes = {
        "pretraining recipe": {"pretrain": {**base["pretrain"], "lr": 1e-3}},
        "objective params": {"objective_params": {"mlm": {"mask_rate": 0.3}}},
        "model size": {"size": "small"},
    }
    suite = validate_suite(base)
    run_suite(suite, progress=False)
    [first] = _checkpoints(suite.results_dir)
    seen = {first}
    for what, change in changes.items():
        changed = validate_suite({**base, **change})
        [(key, _)] = keys(changed, tiny_data).values()
        assert key not in seen, f"{what}: the checkpoint key did not change"
        summary = run_suite(changed, progress=False)
        assert summary.ran == 1, what
        assert _checkpoints(suite.results_dir) == seen | {key}, f"{what}: no new checkpoint was trained"
        seen.add(key)

    finetuning = {**base, "finetune": {**base["finetune"], "epochs": 2, "lr": 5e-4}}
    same_weights = validate_suite(finetuning)
    [(key, run_ids)] = keys(same_weights, tiny_data).values()
    assert key == first
    assert run_suite(same_weights, progress=False).ran == 1  # a new run (a new finetuning) ...
    assert _checkpoints(suite.results_dir) == seen  # ... on the checkpoint already trained
    records = to_dataframe(suite.results_dir, suite.name).set_index("run_id")
    assert bool(records.loc[run_ids[0], "pretrain.cache_hit"]) is True
    assert records.loc[run_ids[0], "checkpoint"] == first
    changed = records.drop(index=run_ids[0])
    assert (changed["pretrain.cache_hit"] == False).all()  # noqa: E712  every other run trained its own


# --- what a run computes -------------------------------------------------------------------------

def test_run_ids_carry_the_run_key_version_and_checkpoints_do_not(tmp_path, tiny_data, monkeypatch):
    """A change in what a run computes (the finetuning init's seed) is a new run, on the same checkpoint."""
    suite = validate_suite(tiny_raw(tmp_path, objectives=["mlm"]))
    key, run_ids = keys(suite, tiny_data)["mlm"]
    monkeypatch.setattr(plan_module, "RUN_KEY_VERSION", plan_module.RUN_KEY_VERSION + 1)
    bumped_key, bumped_ids = keys(suite, tiny_data)["mlm"]
    assert bumped_key == key  # the pretrained weights are the same
    assert set(bumped_ids).isdisjoint(run_ids)  # no record of the old behaviour is reused


def test_the_finetuning_init_seed_tells_pretraining_and_finetuning_seeds_apart():
    from benchmark.harness import init_seed

    pairs = [(p, f) for p in range(4) for f in range(4)]
    assert len({init_seed(p, f) for p, f in pairs}) == len(pairs)  # (0, 1) and (1, 0) seed differently
