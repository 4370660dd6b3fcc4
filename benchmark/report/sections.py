"""The report's sections, said once: markdown.py (README.md) and page.py (index.html) only format this list.

A section is a title, intro prose, notes, bullet lines, a table of cells.py's cells and figures,
each optional but the title. The order is the reading order: the answer first (a few sentences
made from the results, then the heat map of differences from no pretraining), then the
leaderboard, then the notices behind it (one line per kind, details on request), then the rest.
Prose is a tuple of spans: plain text, or text marked ``strong`` or
``code``, which each renderer writes in its own syntax, so no renderer has to strip the other's.
Everything here is plain text, record names included; each renderer escapes it for its format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from benchmark.report.cells import (
    Cell,
    comparison_rows,
    control_rows,
    control_summary,
    cost_rows,
    crossover_rows,
    detail_rows,
    leaderboard_grid,
)
from benchmark.report.compare import Replication
from benchmark.report.decision_accuracy import decision_sentences
from benchmark.report.decisions import Decisions, agreement_sentences
from benchmark.report.headline import summary_sentences
from benchmark.report.ladder import TREND_RULE, Ladder
from benchmark.report.provenance import as_lines
from benchmark.report.ranks import NOISE_SDS
from benchmark.report.tables import Leaderboard, Notice


@dataclass(frozen=True)
class Span:
    """A run of prose: ``plain``, ``strong`` (what a reader must not miss) or ``code`` (a name or flag to type).

    Code spans hold names written in this module, never record text: Markdown writes them verbatim.
    """

    text: str
    style: Literal["plain", "strong", "code"] = "plain"


Prose = tuple[Span, ...]


def prose(*parts: str | Span) -> Prose:
    """Prose from plain strings and marked spans, in reading order."""
    return tuple(part if isinstance(part, Span) else Span(part) for part in parts)


def strong(text: str) -> Span:
    return Span(text, "strong")


def code(text: str) -> Span:
    return Span(text, "code")


@dataclass(frozen=True)
class Note:
    """A caveat shown apart from the intro, on one line; ``details`` are shown on request (a collapsed
    element); ``warning`` when the runs should not have been compared at all."""

    text: Prose
    warning: bool = False
    details: tuple[Prose, ...] = ()


@dataclass(frozen=True)
class Table:
    """A header and rows of cells.py's cells: each renderer writes a cell's text, emphasis and rank its own way."""

    id: str  # the table's HTML id: links and the browser tests find it by this
    headers: list[str]
    rows: list[list[Cell]]
    sortable: bool = True  # False where the row order is the meaning (provenance)
    in_readme: bool = True  # False: too long to read unsorted; the README points to index.html and the CSV


@dataclass(frozen=True)
class Figure:
    """One plot written by the plots package, with the caption both renderers show under it."""

    file: Path  # a PNG in the report folder: the README links it, the page inlines it
    caption: str


@dataclass(frozen=True)
class Section:
    """One heading and what sits under it, in this order: intro, notes, bullets, table, figures."""

    title: str
    intro: Prose = ()
    notes: tuple[Note, ...] = ()
    bullets: tuple[Prose, ...] = ()
    table: Table | None = None
    figures: tuple[Figure, ...] = ()
    level: int = 2  # 1: the report's own title, first in the list
    anchor: str | None = None  # the HTML id of the section, where links and the browser tests need one


LEGEND = prose(
    "Cells: mean ± std between pretraining seeds [95% interval of the mean over pretraining seeds], then the "
    "rank; each pretraining seed's runs are first averaged over its finetuning seeds. Ranks respect ties: rank = "
    "1 + the number of entries whose interval lies wholly on the better side, so entries that no interval "
    "separates share a rank. ", strong("Bold"), f": the best mean; ≈: within {NOISE_SDS:g} pooled standard "
    "deviations between pretraining seeds of the best (T5's rule). ", strong("provisional"), ": one pretraining "
    "run, so the rank is the order of means, not a finding. The aggregate score is the mean over tasks of each "
    "primary metric scaled to 0-1 (1 is best), beside the per-task columns, never instead of them.")
VERDICTS = ("better or worse when the interval excludes 0; equivalent when it lies within the task's tolerance "
            "(±delta: the suite's check.tolerance, else 2% of the metric's range); otherwise undecided, with a power "
            "estimate of how many pretraining seeds would decide it, from the observed difference and variance")
CONTROLS = prose(
    "Each pretrained objective against the untrained control of the same model on the same task (", code("none"),
    ", or a variant of it), paired by (pretraining seed, finetuning seed): the difference is objective minus "
    "control, with a 95% moderated-t interval over pretraining seeds; " + VERDICTS + ". An objective that is not "
    "better than no pretraining learnt nothing the task could use, at this budget. Classical baselines are "
    "listed apart: they are not pretrained.")
REFERENCE = prose(
    "Paired by (pretraining seed, finetuning seed): the difference is candidate minus reference, with a 95% "
    "moderated-t interval over pretraining seeds; " + VERDICTS + ".")


CURVES = prose(
    "Each pretrained objective at each rung of the compute ladder: a finished (decayed) checkpoint at that share "
    "of the budget, finetuned and evaluated like the final one. Points are means with their 95% interval over "
    "pretraining seeds, at the FLOPs that made the checkpoint; each untrained control is a band (its interval). ",
    strong("First better than no pretraining"), ": the smallest rung whose paired difference from the control (by "
    "pretraining and finetuning seed, as in Against no pretraining) is significant on the better side. ",
    strong("Overtakes"), ": a rung at which the objective is significantly better than another, paired the same way, "
    "after an undecided verdict or a loss at the rung before. ", TREND_RULE,
    " Everywhere else this report reads the final rung only.")
DECISIONS = prose(
    "How many rows against no pretraining the report decides, told apart from those too few runs leave open. "
    "Each task's continuous companion metric (a log-probability or likelihood margin, recorded with every run) is "
    "judged the same way, with its own noise prior: DataDecide (Magnusson et al. 2025) found such scores decide "
    "more reliably at small scale than accuracy does. The primary metric stays the headline. Decision accuracy: "
    "the share of objective pairs that a smaller rung of the compute ladder already orders as the full budget "
    "does.")
HEATMAP = ("Difference from no pretraining per objective and task, in the task's primary metric (objective minus "
           "untrained control, paired by seeds; colour: the difference over the metric's range, blue better, red "
           "worse). * marks a difference whose 95% interval excludes 0 (better or worse); = one whose interval "
           "lies within the task's tolerance (equivalent); ? one more pretraining seeds could decide (undecided); "
           "no mark: provisional (one pretraining run) or unpaired.")


def _head(suite: str, board: Leaderboard, costs: pd.DataFrame, differences: list[str], ladder: Ladder | None,
          failures: int) -> Section:
    notes = (Note(prose(strong("Incomparable runs combined on request"), " (", code("--allow-incomparable"),
                        f"): the runs differ in {len(differences)} field{'s' if len(differences) != 1 else ''}"),
                  warning=True, details=tuple(prose(d) for d in differences)),) if differences else ()
    intro = prose(" ".join(summary_sentences(board, costs, ladder, failures)))
    return Section(f"objbench leaderboard: {suite}", intro, notes=notes, level=1, anchor="summary")


def _heatmap(heatmap: Path | None) -> Section | None:
    if heatmap is None:
        return None
    return Section("Difference from no pretraining", figures=(Figure(heatmap, HEATMAP),), anchor="heatmap")


def _leaderboard(board: Leaderboard, provenance: dict, ladder: Ladder | None) -> Section:
    specs = "; ".join(f"{task}: {spec.describe()}" for task, spec in board.metrics.items())
    runs = int(board.rows["runs"].sum())
    counted = f"{runs} runs at the final rung (of {provenance['runs']})" if ladder is not None else f"{runs} runs"
    intro = prose(f"{counted}. Primary metric per task: {specs}. Reference objective for paired comparisons: "
                  f"{board.reference or 'none chosen'}. ") + LEGEND
    return Section("Leaderboard", intro, table=Table("leaderboard", *leaderboard_grid(board)))


def notices(found: list[Notice]) -> tuple[Note, ...]:
    """One note per kind of notice, in the order the kinds first appear; what differs between notices of a
    kind (and each one's longer reason) are its details."""
    kinds: dict[str, list[Notice]] = {}
    for notice in found:
        kinds.setdefault(notice.kind, []).append(notice)
    return tuple(Note(prose(f"{kind}{f' ({len(group)})' if len(group) > 1 else ''}: {group[0].summary}."),
                      details=tuple(prose(n.detail + ".") for n in group if n.detail)) for kind, group in kinds.items())


def _notices(board: Leaderboard) -> Section | None:
    return Section("Notices", notes=notices(board.notes)) if board.notes else None


def _controls(board: Leaderboard) -> Section | None:
    if not len(board.controls):
        return None
    return Section("Against no pretraining", CONTROLS, bullets=tuple(prose(line) for line in control_summary(board)),
                   table=Table("controls", *control_rows(board)))


def _curves(board: Leaderboard, ladder: Ladder | None, curves: Path | None) -> Section | None:
    if ladder is None or curves is None:
        return None
    return Section("Score against compute", CURVES, table=Table("crossovers", *crossover_rows(ladder, board)),
                   figures=(Figure(curves, "Score against pretraining FLOPs per task: one line per objective through "
                                           "its rungs (mean, 95% interval), fitted trend dotted where it fits, the "
                                           "untrained control as a band"),), anchor="compute")


def _reference(board: Leaderboard) -> Section | None:
    if not board.reference:
        return None
    headers, rows = comparison_rows(board)
    return Section(f"Against the reference objective ({board.reference})", REFERENCE,
                   table=Table("comparisons", headers, rows) if rows else None,
                   notes=() if rows else (Note(prose("No other objective.")),))


def _replication(replication: Replication | None) -> Section | None:
    if replication is None:
        return None
    intro = prose("The same suite rerun where only chance should differ: ", replication.varied, ". A cell holds "
                  "when each run's mean lies inside the other's 95% prediction interval for a rerun's mean; a verdict "
                  "holds when it is the same. A move between a verdict and undecided is what the intervals allow "
                  "now and then; a reversal (better against worse, or equivalent against an effect beyond the "
                  "tolerance) means a finding was wrong. Reproduce with ",
                  code("objbench replicate SUITE"), ".")
    return Section("Replication on other seeds", intro,
                   bullets=tuple(prose(line) for line in replication.comparison.summary()))


def _decisions(decisions: Decisions | None) -> Section | None:
    if decisions is None:
        return None
    bullets = [prose(decisions.share.sentence())]
    bullets += [prose(line) for line in agreement_sentences(decisions.companion)]
    if decisions.ladder is not None and len(decisions.ladder):
        bullets += [prose("Decision accuracy (DataDecide): " + line) for line in decision_sentences(decisions.ladder)]
    rows = [[Cell(r.task, r.task), Cell(r.companion, r.companion), Cell(str(r.rows), r.rows),
             Cell(str(r.primary_decided), r.primary_decided), Cell(str(r.companion_decided), r.companion_decided),
             Cell(str(r.both_decided), r.both_decided), Cell(str(r.agree), r.agree),
             Cell(str(r.disagree), r.disagree)] for r in decisions.companion.itertuples()]
    table = Table("decisions", ["task", "companion metric", "rows vs control", "primary decides",
                                "companion decides", "both decide", "agree", "disagree"], rows) if rows else None
    return Section("How much is decided", DECISIONS, bullets=tuple(bullets), table=table, anchor="decisions")


def _failed(failures: list[dict]) -> Section | None:
    if not failures:
        return None
    rows = [[Cell(str(f[k]), f[k]) for k in ("model", "objective", "task", "pretrain_seed", "finetune_seed", "phase",
                                              "error")] for f in failures]
    intro = prose(f"{len(failures)} planned run(s) raised and have no record, so no cell above counts them. Each "
                  "keeps its traceback in ", code("results/<suite>/failed/<run id>.json"), "; ", code("objbench run"),
                  " again does only these.")
    return Section("Failed runs", intro, table=Table("failed", ["model", "objective", "task", "pretraining seed",
                                                                "finetuning seed", "phase", "error"], rows))


def _details(board: Leaderboard) -> Section:
    return Section("Per-task details", prose("Every per-task number in its own column, for sorting and checking."),
                   table=Table("details", *detail_rows(board), in_readme=False))


def _costs(costs: pd.DataFrame, board: Leaderboard) -> Section:
    return Section("Cost of pretraining", prose("Mean over pretraining seeds (± std where seeds differ)."),
                   table=Table("costs", *cost_rows(costs, board)))


def _figures(figures: list[tuple[Path, str]]) -> Section | None:
    return Section("Figures", figures=tuple(Figure(path, caption) for path, caption in figures)) if figures else None


def _provenance(provenance: dict) -> Section:
    rows = [[Cell(label, None), Cell(value, None)] for label, value in as_lines(provenance)]
    return Section("Provenance", table=Table("provenance", ["field", "value"], rows, sortable=False))


def report_sections(suite: str, board: Leaderboard, costs: pd.DataFrame, provenance: dict,
                    figures: list[tuple[Path, str]], differences: list[str],
                    replication: Replication | None = None, failures: list[dict] | None = None,
                    ladder: Ladder | None = None, heatmap: Path | None = None,
                    curves: Path | None = None, claims: Section | None = None,
                    attention: Section | None = None, decisions: Decisions | None = None,
                    model_axis: list[Section] | None = None) -> list[Section]:
    """Every section of a report in reading order; ``figures`` are (PNG file, caption) for the figures section,
    ``heatmap`` and ``curves`` the PNGs that open the report and show the compute ladder."""
    failures = failures or []
    sections = [_head(suite, board, costs, differences, ladder, len(failures)), _heatmap(heatmap),
                _leaderboard(board, provenance, ladder), _notices(board), _failed(failures), _controls(board),
                _decisions(decisions), *(model_axis or []),
                _curves(board, ladder, curves), claims, _reference(board), _replication(replication), _details(board),
                _costs(costs, board), attention, _figures(figures), _provenance(provenance)]
    return [section for section in sections if section is not None]
