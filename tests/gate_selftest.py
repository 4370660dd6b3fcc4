"""The regression gate tests itself: broken variants must be caught and named, unchanged reruns must pass.

    python -m tests.gate_selftest                 # the three broken variants and 5 reruns on disjoint seeds
    python -m tests.gate_selftest --reruns 10     # more reruns for a tighter false-alarm rate

Each case runs ``suites/ci.yaml`` from scratch (a fresh results folder: nothing is reused from
the baseline) with one change applied in this process, then gates it against the committed
baseline ``reports/ci/records.jsonl``, exactly as ``objbench check`` does:

* ``mlm_labels_shifted``: MLM's labels taken one position off, the token after each masked one (an
  off-by-one in a new objective); expected a quality regression on MLM;
* ``finetune_lr_100x_small``: the finetuning learning rate divided by 100 inside the recipe's
  training loop (the suite file unchanged); expected quality regressions;
* ``clm_prepare_sleeps``: CLM's batch preparation sleeps as long as the baseline's mean training
  step; expected a speed regression on CLM ("slower");
* ``rerun_N``: the unchanged code on pretraining and finetuning seeds disjoint from the baseline's;
  expected to pass. Their count of failures is the false-alarm rate.

Prints one line per case and a summary; exits 1 if any case came out other than expected.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path
from unittest import mock

import torch

from benchmark.config import load_suite
from benchmark.formats import training
from benchmark.harness import run_suite
from benchmark.objectives.clm import CausalLM
from benchmark.objectives.base import IGNORE
from benchmark.objectives.mlm import MaskedLM
from benchmark.report.gate import check_records
from benchmark.results import iter_records, read_records_file

REPO = Path(__file__).resolve().parent.parent
SUITE = REPO / "suites" / "ci.yaml"
BASELINE = REPO / "reports" / "ci" / "records.jsonl"


@contextlib.contextmanager
def mlm_labels_shifted():
    """Each masked position's label taken one token off (the token after it, as ``ids[1:]`` in
    place of ``ids`` would give). That token is visible in the input, so the network learns to
    copy its neighbour rather than to fill in what is missing. Rolling the label tensor itself
    would not do: an encoder sees both sides, so predicting a masked token one position over is
    as hard, and as useful, as MLM."""
    prepare = MaskedLM.prepare

    def shifted(self, blocks, generator):
        batch = prepare(self, blocks, generator)
        following = blocks["input_ids"].roll(-1, dims=1)
        return {**batch, "labels": torch.where(batch["labels"] != IGNORE, following, IGNORE)}
    with mock.patch.object(MaskedLM, "prepare", shifted):
        yield


@contextlib.contextmanager
def finetune_lr_100x_small():
    train = training.train

    def small_lr(model, head, examples, make_batch, recipe, *args, **kwargs):
        return train(model, head, examples, make_batch, recipe.model_copy(update={"lr": recipe.lr / 100}),
                     *args, **kwargs)
    with mock.patch.object(training, "train", small_lr):
        yield


def baseline_step_seconds(baseline: list[dict], objective: str) -> float:
    """The baseline's mean pretraining step of ``objective``, in seconds."""
    jobs = {r["pretrain_seed"]: r["pretrain"] for r in baseline if r["objective"] == objective}
    return sum(p["wall_s"] for p in jobs.values()) / sum(p["steps"] for p in jobs.values())


@contextlib.contextmanager
def clm_prepare_sleeps(seconds: float):
    prepare = CausalLM.prepare

    def slow(self, blocks, generator):
        time.sleep(seconds)
        return prepare(self, blocks, generator)
    with mock.patch.object(CausalLM, "prepare", slow):
        yield


def kind(gate) -> str:
    """What the gate caught: 'quality', 'speed', both, or 'pass'."""
    found = [name for name, rows in (("quality", gate.regressions), ("speed", gate.cost_regressions)) if len(rows)]
    return " and ".join(found) or "pass"


def run_case(name: str, change, overrides: list[str], baseline: list[dict]) -> tuple[str, str, float]:
    """(kind of regression or 'pass', what the gate said, seconds) for the CI suite run with ``change`` applied."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"objbench-selftest-{name}-") as folder:
        suite = load_suite(SUITE, [f"results_dir={folder}/results", f"reports_dir={folder}/reports", *overrides])
        with change:
            summary = run_suite(suite, progress=False)
        ids = {r.run_id for r in summary.plan.runs}
        current = [r for r in iter_records(suite.results_dir, suite.name) if r["run_id"] in ids]
        gate = check_records(baseline, current)
    return kind(gate), gate.status(), time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=5, help="unchanged reruns on disjoint seeds (default 5)")
    args = parser.parse_args(argv)
    baseline = read_records_file(BASELINE)
    seeds = load_suite(SUITE)
    k = len(seeds.pretrain.seeds)
    cases = [("mlm_labels_shifted", mlm_labels_shifted(), [], "quality"),
             ("finetune_lr_100x_small", finetune_lr_100x_small(), [], "quality"),
             ("clm_prepare_sleeps", clm_prepare_sleeps(baseline_step_seconds(baseline, "clm")), [], "speed")]
    for i in range(1, args.reruns + 1):
        pretrain = list(range(max(seeds.pretrain.seeds) + 1 + (i - 1) * k, max(seeds.pretrain.seeds) + 1 + i * k))
        cases.append((f"rerun_{i}", contextlib.nullcontext(),
                      [f"pretrain.seeds={pretrain}", f"finetune.seeds=[{max(seeds.finetune.seeds) + i}]"], "pass"))
    outcomes = []
    for name, change, overrides, expected in cases:
        found, status, seconds = run_case(name, change, overrides, baseline)
        outcomes.append((name, expected, found))
        verdict = "as expected" if found == expected else "UNEXPECTED"
        print(f"{name:<24} expected {expected:<8} got {found:<20} {verdict:<12} {seconds:6.1f} s  {status}", flush=True)
    broken = [o for o in outcomes if o[1] != "pass"]
    reruns = [o for o in outcomes if o[1] == "pass"]
    print(f"caught {sum(o[2] == o[1] for o in broken)} of {len(broken)} broken variants as the right kind; "
          f"false alarms {sum(o[2] != 'pass' for o in reruns)} of {len(reruns)} unchanged reruns")
    return 0 if all(o[1] == o[2] for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
