"""The published-claims section of a report: one row per check, formatted by markdown.py and page.py like any
other section (``claims_markdown`` and ``claims_html`` render it alone)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchmark.report import markdown, page
from benchmark.report.cells import Cell
from benchmark.report.claim_compute import flops_range_text, observed_text, scale_gap
from benchmark.report.claims import ClaimCheck
from benchmark.report.sections import Note, Section, Table, prose

TITLE = "Published findings at this budget"

INTRO = prose(
    "Orderings that published comparisons reported, checked on this suite's runs wherever it ran both objectives "
    "on tasks of the claim's format. The difference is the first objective minus the second on the primary "
    "metric scaled to 0-1 (1 best), averaged over the format's tasks and paired by (pretraining seed, finetuning "
    "seed), with its 95% interval over pretraining seeds: agrees or contradicts only when the interval excludes "
    "0 (or contradicts when it lies within the tolerance: no difference of the claimed kind). A claim tested on a "
    "design that differs from the paper's in a stated way is only indicative, with the difference named; one "
    "about a benchmark's average needs two or more unsaturated tasks of its format, and a task on which both "
    "objectives reach the ceiling tells nothing: otherwise it is not testable here. Published figures are quoted "
    "as printed; their compute is the paper's where it printed one, else an estimate. Claims whose objectives or "
    "task format this suite did not run are left out.")


def _rows(checks: Sequence[ClaimCheck], with_model: bool) -> list[list[Cell]]:
    rows = []
    for check in checks:
        claim = check.claim
        said = f"{claim.finding} ({claim.figures or 'qualitative'})"
        said += f". In objbench: {claim.mapping}." if claim.mapping else ""
        objectives = f"{claim.better} > {claim.worse}" + (f" ({check.model})" if with_model else "")
        tested = (flops_range_text(*check.tested_flops) + " FLOPs") if check.tested_flops else "n/a"
        gap = scale_gap(claim, check.tested_flops)
        tested += f" ({gap})" if gap else ""
        verdict = f"{check.verdict}: {check.interval_text} over {len(check.tasks)} task(s); {check.reason}"
        rows.append([Cell(said, claim.name), Cell(claim.source, claim.source), Cell(objectives, objectives),
                     Cell(claim.family, claim.family), Cell(observed_text(claim), claim.flops[0]),
                     Cell(tested, check.tested_flops[1] if check.tested_flops else None),
                     Cell(verdict, check.verdict)])
    return rows


def claims_section(checks: Sequence[ClaimCheck]) -> Section:
    """The report section: one row per check (claim, source, objectives, family, observed at, tested at, verdict)."""
    if not checks:
        return Section(TITLE, INTRO, bullets=(prose("No published claim can be tested: this suite did not run both "
                                                    "objectives of any claim on tasks of its format."),))
    with_model = len({c.model for c in checks}) > 1
    headers = ["claim", "source", "objectives", "family", "observed at", "tested at", "verdict"]
    estimates = dict.fromkeys((flops_range_text(*c.claim.flops), c.claim.flops_note) for c in checks
                              if c.claim.flops_estimated)
    notes = tuple(Note(prose(f"Observed compute {shown} FLOPs, {how}.")) for shown, how in estimates)
    return Section(TITLE, INTRO, notes=notes, table=Table("claims", headers, _rows(checks, with_model)))


def claims_markdown(checks: Sequence[ClaimCheck]) -> str:
    """The section as Markdown, formatted as README.md formats every section."""
    return "\n".join(markdown._section(claims_section(checks), Path(".")))


def claims_html(checks: Sequence[ClaimCheck]) -> str:
    """The section as an HTML fragment (a heading, a paragraph and a ``<table>``), as index.html formats it."""
    return "\n".join(page._section(claims_section(checks)))
