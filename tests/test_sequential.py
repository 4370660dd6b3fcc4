"""``objbench run --until-decided``: seeds added only where a verdict is open, a false-verdict rate held
at 5% under that optional stopping, and a second invocation that trains nothing."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.config import load_suite
from benchmark.report.leaderboard import board_of
from benchmark.report.stats import CONFIDENCE
from benchmark.report.verdicts import paired_difference
from benchmark.results import iter_records
from benchmark.sequential import load_state, look_confidence, next_round, open_rows, round_suite, seeds_in_use
from tests.helpers import tiny_raw, write_suite
from tests.simulated_boards import as_runs, difference_priors_of, draw, priors_of, true_cells

START, MOST = 2, 5
LOOKS = MOST - START + 1


def sequential_false_verdicts(confidence: float, boards: int = 60, seed: int = 0) -> float:
    """The share of (entry, task) rows with no true effect that some look calls better or worse, when seeds
    are added to the rows still open (undecided, power estimate within ``MOST``) until none is or each has
    ``MOST``, each look at ``confidence``."""
    rng = np.random.default_rng(seed)
    false = rows = 0
    for _ in range(boards):
        tasks = []
        for size in (6, 6, 5, 4):  # a control and its entries, every one with the control's true mean
            mus, sds = true_cells(rng, size, 10.0, ceilings=False, mean=rng.uniform(0.3, 0.7))
            tasks.append(draw(rng, mus, sds, MOST, int(rng.integers(200, 401))))
        seeds = [np.full(len(t), START) for t in tasks]  # seeds each cell has so far
        called = [np.zeros(len(t) - 1, dtype=bool) for t in tasks]
        for _look in range(LOOKS):
            seen = [t[:, :n.max()] for t, n in zip(tasks, seeds)]  # refit on what is seen so far
            priors = difference_priors_of(seen, priors_of(seen))
            grew = False
            for t, scores in enumerate(tasks):
                control = scores[0]
                for i in range(1, len(scores)):
                    k = int(seeds[t][i])
                    p = paired_difference(as_runs(scores[i][:k]), as_runs(control[:k]), priors.get(t), 0.02,
                                          confidence)
                    if p.direction() in ("better", "worse"):
                        called[t][i - 1] = True
                    elif p.direction() == "undecided" and p.seeds_needed and p.seeds_needed <= MOST and k < MOST:
                        seeds[t][i] += 1
                        seeds[t][0] = max(seeds[t][0], seeds[t][i])
                        grew = True
            if not grew:
                break
        false += sum(c.sum() for c in called)
        rows += sum(len(c) for c in called)
    return false / rows


@pytest.mark.slow  # a simulation of many boards
def test_until_decided_holds_false_verdicts_at_five_percent_under_optional_stopping():
    at_each_look = sequential_false_verdicts(look_confidence(LOOKS))
    assert at_each_look <= 0.05, at_each_look


@pytest.mark.slow  # a simulation of many boards
def test_optional_stopping_at_the_plain_level_inflates_false_verdicts():
    """The reason for the spending: the same procedure with every look at 95% calls more false verdicts."""
    naive = sequential_false_verdicts(CONFIDENCE)
    spent = sequential_false_verdicts(look_confidence(LOOKS))
    assert naive > spent, (naive, spent)


@pytest.mark.slow
def test_until_decided_adds_seeds_only_to_open_entries_and_a_second_invocation_trains_nothing(tmp_path, capsys):
    raw = tiny_raw(tmp_path, tasks=["synthetic_topic"])
    raw["pretrain"].update(seeds=[0, 1], budget=12)
    raw["task_params"]["synthetic_topic"] = {"train_size": 128, "test_size": 96}
    path = write_suite(tmp_path / "tiny.yaml", raw)
    assert main(["run", str(path), "--until-decided", "--max-seeds", "6", "--quiet"]) == 0
    first = capsys.readouterr().out
    suite = load_suite(path)
    state = load_state(suite)
    assert state is not None and state.finished and state.looks == 5
    assert state.rounds, first  # two seeds leave these tiny models' verdicts open: seeds were added
    records = list(iter_records(suite.results_dir, suite.name))
    # each round went to exactly the entries open at the look before it, with their controls, and no others
    for i, rnd in enumerate(state.rounds):
        before = {r["run_id"] for r in records if r["pretrain_seed"] in (0, 1, *(x.seed for x in state.rounds[:i]))}
        board = board_of([r for r in records if r["run_id"] in before], confidence=state.confidence)
        rows = open_rows(board.controls, board.rows, board.baselines, 6)
        assert set(rnd.objectives) == {*rows["objective"], *rows["control"]}
        assert set(rnd.tasks) == set(rows["task"])
        assert {r["objective"] for r in records if r["pretrain_seed"] == rnd.seed} == set(rnd.objectives)
    after = board_of(records, confidence=state.confidence)
    assert next_round(suite, state, after) is None  # nothing is left open
    assert seeds_in_use(suite, state) == [0, 1, *(r.seed for r in state.rounds)]
    assert all(len(round_suite(suite, r).pretrain.seeds) == 1 for r in state.rounds)
    # a second invocation reads the rounds back and trains nothing
    assert main(["run", str(path), "--until-decided", "--max-seeds", "6", "--quiet"]) == 0
    second = capsys.readouterr().out
    assert ": 0 runs done" in second, second
    assert f"{len(state.rounds)} round(s)" in first and f"{len(state.rounds)} round(s)" in second
    # the report judges at the looks' level and says so
    report = (tmp_path / "reports" / "tiny" / "README.md").read_text()
    assert "Sequential level" in report


def test_a_different_max_seeds_is_refused_once_rounds_are_planned(tmp_path):
    raw = tiny_raw(tmp_path)
    raw["pretrain"].update(seeds=[0, 1])
    path = write_suite(tmp_path / "tiny.yaml", raw)
    suite = load_suite(path)
    from benchmark.sequential import State, save_state, suite_key

    save_state(suite, State(suite_key(suite), 4, 3))
    assert main(["run", str(path), "--until-decided", "--max-seeds", "5", "--quiet"]) == 2


def test_until_decided_needs_max_seeds(tmp_path):
    raw = tiny_raw(tmp_path)
    raw["pretrain"].update(seeds=[0, 1])
    path = write_suite(tmp_path / "tiny.yaml", raw)
    assert main(["run", str(path), "--until-decided", "--quiet"]) == 2
