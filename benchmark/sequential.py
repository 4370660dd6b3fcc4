"""Pretraining seeds where they decide something: ``objbench run SUITE --until-decided --max-seeds K``.

The suite runs on its own seeds first. Then, a round at a time, one more pretraining seed goes
to every entry whose verdict against no pretraining is still *undecided* and that more seeds
could plausibly decide (its power estimate, ``verdicts.seeds_to_decide``, is at most K), together
with the untrained controls it is paired with, on the tasks where it is open. It stops when no
verdict is open, or when the open ones have K seeds.

**Why the verdicts stay honest.** Looking at the results and adding seeds until an interval
clears 0 inflates false verdicts: each look is another chance for noise to cross the line.
The planned number of looks is fixed before the first (``K - seeds + 1``: the suite's own
seeds, then one look per added seed), and every look's intervals are at the level that
Bonferroni's alpha-spending gives each of them, ``1 - 0.05 / looks``. Whatever rule decides
which entries get more seeds and when to stop, the chance that any look calls a difference of
zero better or worse is then at most 5% (a union bound over the looks).
``tests/test_sequential.py`` checks it by simulating the whole procedure with no true effect.
The report of such a suite uses the same level, said in its notes, so its verdicts are the
ones the stopping rule was built for.

**Reuse and resuming.** Every round is the suite narrowed to some objectives, tasks and one
new seed: its runs have the run ids the full suite would give them, so nothing recorded is
trained again. The rounds are kept in ``results/<suite>/until_decided.json`` before they run:
killed midway, the next invocation runs the same rounds again (reusing what finished) and
goes on from there; once decided, a second invocation trains nothing.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from benchmark import files
from benchmark.cache import stable_hash
from benchmark.config import Suite
from benchmark.errors import ObjbenchError
from benchmark.report.stats import CONFIDENCE

STATE = "until_decided.json"


def planned_looks(suite: Suite, max_seeds: int) -> int:
    """Looks at the verdicts: one at the suite's own seeds, then one per added seed up to ``max_seeds``."""
    return max_seeds - len(suite.pretrain.seeds) + 1


def look_confidence(looks: int) -> float:
    """Each look's confidence level under Bonferroni alpha-spending: the 5% is split evenly over the looks."""
    return 1.0 - (1.0 - CONFIDENCE) / looks


@dataclass
class Round:
    """One added pretraining seed, for the entries still open when it was planned."""

    seed: int
    objectives: list[str]  # the open objectives and the untrained controls they are paired with
    tasks: list[str]  # the tasks where some of them were open


@dataclass
class State:
    suite_key: str  # the suite this was planned for: another suite starts afresh
    max_seeds: int
    looks: int
    rounds: list[Round] = field(default_factory=list)
    finished: bool = False

    @property
    def confidence(self) -> float:
        return look_confidence(self.looks)


def suite_key(suite: Suite) -> str:
    return stable_hash("until-decided", suite.model_dump(mode="json"))


def state_path(suite: Suite) -> Path:
    return Path(suite.results_dir) / suite.name / STATE


def load_state(suite: Suite) -> State | None:
    """The recorded rounds of ``suite`` (this very suite file), or ``None``."""
    path = state_path(suite)
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
        state = State(raw["suite_key"], int(raw["max_seeds"]), int(raw["looks"]),
                      [Round(int(r["seed"]), list(r["objectives"]), list(r["tasks"])) for r in raw["rounds"]],
                      bool(raw.get("finished", False)))
    except (ValueError, KeyError, TypeError) as err:
        raise ObjbenchError(f"{path}: cannot be read ({err}); delete it to start the rounds afresh") from err
    return state if state.suite_key == suite_key(suite) else None


def save_state(suite: Suite, state: State) -> None:
    files.write_json(state_path(suite), asdict(state))


def round_suite(suite: Suite, rnd: Round) -> Suite:
    """The suite narrowed to one round: its objectives and tasks, one new pretraining seed, no baselines
    (they are fitted once with the suite itself)."""
    pretrain = suite.pretrain.model_copy(update={"seeds": [rnd.seed]})
    return suite.model_copy(update={"objectives": [o for o in suite.objectives if o in rnd.objectives],
                                    "tasks": [t for t in suite.tasks if t in rnd.tasks], "baselines": [],
                                    "pretrain": pretrain})


def seeds_in_use(suite: Suite, state: State | None) -> list[int]:
    return sorted({*suite.pretrain.seeds, *(r.seed for r in (state.rounds if state else []))})


def open_rows(controls: pd.DataFrame, rows: pd.DataFrame, baselines: set[str], max_seeds: int) -> pd.DataFrame:
    """Rows against a control still open: undecided, a power estimate of at most ``max_seeds``, and fewer than
    ``max_seeds`` pretraining seeds so far."""
    if not len(controls):
        return controls
    seeds = rows.set_index(["model", "objective", "task"])["pretrain_seed_count"]
    undecided = controls[(controls["direction"] == "undecided") & ~controls["objective"].isin(baselines)]
    needed = pd.to_numeric(undecided["seeds_needed"], errors="coerce")
    have = [int(seeds.get((r.model, r.objective, r.task), max_seeds)) for r in undecided.itertuples()]
    keep = needed.notna().to_numpy() & (needed.fillna(math.inf) <= max_seeds).to_numpy() & (
        pd.Series(have, index=undecided.index) < max_seeds).to_numpy()
    return undecided[keep]


def next_round(suite: Suite, state: State, board) -> Round | None:
    """The next round for ``board`` (judged at the state's confidence), or ``None`` when nothing is open."""
    rows = open_rows(board.controls, board.rows, board.baselines, state.max_seeds)
    if not len(rows):
        return None
    objectives = sorted({*rows["objective"], *rows["control"]})
    tasks = sorted(set(rows["task"]))
    return Round(max(seeds_in_use(suite, state)) + 1, objectives, tasks)


@dataclass
class Outcome:
    state: State
    ran: int
    reused: int
    failed: int
    run_ids: set[str]
    seconds: float


def run_until_decided(suite: Suite, max_seeds: int, progress: bool = True, executor=None, board_of=None) -> Outcome:
    """Run ``suite``, then rounds of one more seed for the open entries, until none is open or each has
    ``max_seeds``; ``board_of(run_ids, confidence)`` builds the board the verdicts are read from."""
    from benchmark.harness import run_suite

    if max_seeds < len(suite.pretrain.seeds):
        raise ObjbenchError(f"--max-seeds {max_seeds} is fewer than the suite's {len(suite.pretrain.seeds)} "
                            "pretraining seeds")
    if len(suite.pretrain.seeds) < 2:
        raise ObjbenchError("--until-decided needs two or more pretraining seeds in the suite to start from: one "
                            "seed gives no interval to judge by")
    state = load_state(suite)
    if state is not None and state.max_seeds != max_seeds:
        raise ObjbenchError(f"{state_path(suite)}: these rounds were planned for --max-seeds {state.max_seeds}; the "
                            "looks and their confidence level were fixed by it. Run with the same --max-seeds, or "
                            "delete the file to start afresh")
    state = state or State(suite_key(suite), max_seeds, planned_looks(suite, max_seeds))
    summaries = [run_suite(suite, progress=progress, executor=executor)]
    summaries += [run_suite(round_suite(suite, r), progress=progress, executor=executor) for r in state.rounds]
    while not state.finished:
        run_ids = set().union(*(s.plan.run_ids for s in summaries))
        rnd = next_round(suite, state, board_of(run_ids, state.confidence))
        if rnd is None:
            state.finished = True
            save_state(suite, state)
            break
        state.rounds.append(rnd)
        save_state(suite, state)  # before it runs: a killed round is run again, reusing what it finished
        summaries.append(run_suite(round_suite(suite, rnd), progress=progress, executor=executor))
    return Outcome(state, sum(s.ran for s in summaries), sum(s.reused for s in summaries),
                   sum(s.failed for s in summaries), set().union(*(s.plan.run_ids for s in summaries)),
                   sum(s.seconds for s in summaries))
