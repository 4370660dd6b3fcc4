"""README.md: the report's sections as Markdown that renders on a code host, figures linked beside it."""

from __future__ import annotations

import html
from pathlib import Path

from benchmark.report.cells import Cell
from benchmark.report.sections import Note, Prose, Section, Table

# The README's own pointers: where the long tables can be sorted, and the files beside it.
SORTABLE_ELSEWHERE = "Sortable in [index.html](index.html); every column is also in [leaderboard.csv](leaderboard.csv)."
# A collapsed element, which code hosts render with Markdown inside when blank lines surround it.
DETAILS_OPEN, DETAILS_CLOSE = "<details><summary>Details</summary>", "</details>"
FILES = ("Machine-readable: [leaderboard.csv](leaderboard.csv), [leaderboard.json](leaderboard.json). "
         "Self-contained page: [index.html](index.html).")


def text(value) -> str:
    """Text from records made inert in Markdown: HTML escaped, table pipes and emphasis characters quoted."""
    escaped = html.escape(str(value), quote=False)
    for char in "\\|*_`[]":
        escaped = escaped.replace(char, "\\" + char)
    return escaped.replace("\n", " ")


def _prose(spans: Prose) -> str:
    """Plain and strong text escaped; code spans verbatim (sections.py writes them, records never do)."""
    marks = {"plain": text, "strong": lambda s: f"**{text(s)}**", "code": lambda s: f"`{s}`"}
    return "".join(marks[span.style](span.text) for span in spans)


def _cell(cell: Cell) -> str:
    shown = f"**{text(cell.text)}**" if cell.best else text(cell.text)
    return f"{shown} · {cell.rank_label}" if cell.rank_label else shown


def _table(table: Table) -> list[str]:
    if not table.in_readme:
        return [SORTABLE_ELSEWHERE]
    lines = ["| " + " | ".join(text(h) for h in table.headers) + " |", "|" + "---|" * len(table.headers)]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]


def _notes(notes: tuple[Note, ...]) -> list[str]:
    """One quote block, a line per note (a warning is bold already through its strong span), then the notes'
    details in one collapsed element, each under its note's line."""
    quoted = []
    for note in notes:
        quoted += [">"] if quoted else []
        quoted.append(f"> {_prose(note.text)}")
    detailed = [note for note in notes if note.details]
    if not detailed:
        return quoted
    listed = [line for note in detailed
              for line in [f"- {_prose(note.text)}", *(f"  - {_prose(detail)}" for detail in note.details)]]
    return quoted + ["", DETAILS_OPEN, "", *listed, "", DETAILS_CLOSE]


def _section(section: Section, folder: Path) -> list[str]:
    blocks = [["#" * section.level + " " + text(section.title)]]
    blocks += [[_prose(section.intro)]] if section.intro else []
    blocks += [_notes(section.notes)] if section.notes else []
    blocks += [[f"- {_prose(line)}" for line in section.bullets]] if section.bullets else []
    blocks += [_table(section.table)] if section.table else []
    for figure in section.figures:
        blocks += [[f"![{text(figure.caption)}]({figure.file.relative_to(folder).as_posix()})"],
                   [f"*{text(figure.caption)}*"]]
    return [line for block in blocks for line in block + [""]]


def render(sections: list[Section], folder: Path) -> str:
    """The whole README, to be written into ``folder`` (figure links are relative to it)."""
    lines = [line for section in sections for line in _section(section, folder)]
    return "\n".join(lines + [FILES, ""])
