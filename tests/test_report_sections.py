"""One list of report sections, two renderers: README.md and index.html must show the same sections, in order."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from benchmark.report import leaderboard, markdown, page
from benchmark.report.cells import Cell
from benchmark.report.sections import Note, Section, Table, code, prose, report_sections, strong
from tests.report_fixtures import STANDARD, finetune_seeds, write_runs

HOSTILE = '<img src=x onerror=alert(1)> *not emphasis* | `tick`'


class _VisibleText(HTMLParser):
    """The text a reader sees in each block element of a page, in document order."""

    BLOCKS = {"h1", "h2", "p", "li", "th", "td", "figcaption", "summary"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._open: list[str] | None = None
        self._skip = False

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self._open = []
        self._skip = self._skip or tag in ("script", "style")

    def handle_endtag(self, tag):
        if tag in self.BLOCKS and self._open is not None:
            self.blocks.append("".join(self._open).strip())
            self._open = None
        if tag in ("script", "style"):
            self._skip = False

    def handle_data(self, data):
        if self._open is not None and not self._skip:
            self._open.append(data)


def page_blocks(page_html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(page_html)
    return parser.blocks


def _unmark(line: str) -> str:
    """What Markdown shows for one line of ours: emphasis and code marks gone, escapes resolved."""
    line = re.sub(r"(?<!\\)\*\*|(?<!\\)`", "", line)
    line = re.sub(r"^\*(.*)\*$", r"\1", line)
    return html.unescape(re.sub(r"\\(.)", r"\1", line)).strip()


def readme_blocks(readme: str) -> list[str]:
    """The text a reader sees in each heading, paragraph, list item and table cell of a README."""
    blocks = []
    for line in readme.splitlines():
        if line.startswith("|---") or line.startswith("![") or line.strip() in ("", ">", markdown.DETAILS_CLOSE):
            continue
        if line == markdown.DETAILS_OPEN:
            blocks.append("Details")
            continue
        if line.startswith("|"):
            blocks += [_unmark(cell) for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        else:
            blocks.append(_unmark(re.sub(r"^(#+|>|-|  -) ", "", line)))
    return blocks


def expected_blocks(sections: list[Section], readme: bool) -> list[tuple[str, bool]]:
    """(text, whole block?) in reading order; a table cell may be followed by its rank."""
    expected = []
    for section in sections:
        expected.append((section.title, True))
        texts = [section.intro, *(note.text for note in section.notes)]
        if readme and any(note.details for note in section.notes):  # the README lists details after every note
            texts += [text for note in section.notes if note.details for text in (note.text, *note.details)]
        elif not readme:  # the page puts each note's details right under its line
            texts = [section.intro] + [text for note in section.notes for text in (note.text, *note.details)]
        for text in (*texts, *section.bullets):
            if text:
                expected.append(("".join(span.text for span in text), True))
        if section.table and (section.table.in_readme or not readme):
            expected += [(header, True) for header in section.table.headers]
            expected += [(cell.text, False) for row in section.table.rows for cell in row]
        expected += [(figure.caption, True) for figure in section.figures]
    return expected


def assert_shown_in_order(expected: list[tuple[str, bool]], blocks: list[str]) -> None:
    shown = iter(blocks)
    for text, whole in expected:
        found = any(block == text if whole else block.startswith(text) for block in shown)
        assert found, f"missing or out of order: {text!r}"


@pytest.fixture
def rendered(tmp_path, monkeypatch):
    """A report with every kind of section and note; returns its folder and the sections it was made from."""
    made: list[Section] = []

    def keep(*args, **kwargs):
        made.extend(report_sections(*args, **kwargs))
        return made

    monkeypatch.setattr(leaderboard, "report_sections", keep)
    write_runs(tmp_path / "results", STANDARD)  # three pretraining seeds: intervals, and the note on them
    # one pretraining run finetuned twice: a provisional cell, and the note that says so
    write_runs(tmp_path / "results", {"mlm": {"extra": finetune_seeds(0.5, 0.6)}}, corpus_id="corpus-OTHER")
    out = leaderboard.write_report(tmp_path / "results", "fixture", tmp_path / "reports", allow_incomparable=True)
    return out, made


def test_readme_and_page_show_the_same_sections_in_order(rendered):
    out, sections = rendered
    titles = [s.title for s in sections]
    assert titles == ["objbench leaderboard: fixture", "Difference from no pretraining", "Leaderboard", "Notices",
                      "Against no pretraining", "How much is decided", "Published findings at this budget",
                      "Against the reference objective (mlm)", "Per-task details", "Cost of pretraining",
                      "Attention across objectives", "Figures", "Provenance"]
    decided = sections[titles.index("How much is decided")]
    assert decided.anchor == "decisions" and '<section id="decisions">' in (out / "index.html").read_text()
    (warning,) = sections[0].notes  # the one notice that stays at the top: runs that should not share a table
    assert warning.warning and "corpus_id differs" in "".join(span.text for span in warning.details[0])
    notes = ["".join(span.text for span in note.text) for note in sections[3].notes]
    assert any(n.startswith("Provisional: mlm on extra had one pretraining run") for n in notes)
    assert any(n.startswith("Intervals: 95% moderated-t intervals over pretraining seeds") for n in notes)
    assert len(notes) == len({n.split(":")[0] for n in notes})  # one line per kind
    assert_shown_in_order(expected_blocks(sections, readme=True), readme_blocks((out / "README.md").read_text()))
    assert_shown_in_order(expected_blocks(sections, readme=False), page_blocks((out / "index.html").read_text()))


def test_the_check_notices_a_section_one_renderer_drops(rendered):
    out, sections = rendered
    readme = (out / "README.md").read_text()
    dropped = readme.replace("## Cost of pretraining\n", "")
    with pytest.raises(AssertionError, match="Cost of pretraining"):
        assert_shown_in_order(expected_blocks(sections, readme=True), readme_blocks(dropped))


def _one_section(**fields) -> list[Section]:
    return [Section("report", level=1), Section(HOSTILE, **fields)]


def test_markup_is_formatted_by_each_renderer_not_stripped(tmp_path):
    sections = _one_section(intro=prose("Plain, ", strong("strong"), " and ", code("--flag"), "."),
                            notes=(Note(prose(strong("Careful")), warning=True),))
    readme, page_html = markdown.render(sections, tmp_path), page.render(sections, {})
    assert "Plain, **strong** and `--flag`." in readme and "> **Careful**" in readme
    assert "<p>Plain, <strong>strong</strong> and <code>--flag</code>.</p>" in page_html
    assert '<p class="note warning"><strong>Careful</strong></p>' in page_html
    assert "<img" not in readme and "&lt;img src=x" in readme and "\\*not emphasis\\* \\| \\`tick\\`" in readme
    assert "<img" not in page_html and "<h2>&lt;img src=x" in page_html


def test_a_table_too_long_for_the_readme_is_pointed_to(tmp_path):
    table = Table("long", ["objective", "mean"], [[Cell("mlm", "mlm"), Cell("0.810", 0.81)]], in_readme=False)
    sections = _one_section(intro=prose("Every number."), table=table)
    readme, page_html = markdown.render(sections, tmp_path), page.render(sections, {})
    assert "Every number." in readme and markdown.SORTABLE_ELSEWHERE in readme and "| mlm |" not in readme
    assert '<table class="sortable" id="long">' in page_html and '<td data-value="0.81">0.810</td>' in page_html
