"""index.html: the report's sections as one self-contained page (figures inlined, no network), tables sortable.

All text from records and configs passes through ``html.escape``; the JSON copy of the
leaderboard embedded in the page has ``<``, ``>`` and ``&`` written as ``\\u003c`` etc., so no
string can close its ``<script>`` element. A Content-Security-Policy allows only the page's own
script (by hash), its own style and inline images: even a string that slipped through could
not run code or reach the network.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json

from benchmark.report.cells import Cell
from benchmark.report.sections import Figure, Note, Prose, Section, Table

# The page's own hint: only here can a table be re-sorted.
SORT_HINT = "Click any column header to sort."

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 78rem; padding: 0 1rem; color: #222;
       box-sizing: border-box; overflow-wrap: break-word; }
.table-wrap { max-width: 100%; overflow-x: auto; margin: 0.5rem 0 1.5rem; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.sortable th[aria-sort="descending"]::after { content: " \\25BC"; }
td.best { font-weight: bold; }
td.near-best { background: #eef6ee; }
.rank { color: #555; font-size: 0.8rem; }
.note { background: #fff8e0; border-left: 4px solid #e0b000; padding: 0.4rem 0.8rem; margin: 0.3rem 0; }
.warning { background: #fde8e8; border-left-color: #c00000; }
details.note summary { cursor: pointer; }
details.note ul { margin: 0.3rem 0; }
#summary p:first-of-type { font-size: 1.1rem; line-height: 1.5; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; height: auto; }
figcaption { font-style: italic; color: #444; }
"""

# Sorts a table by the clicked header: by each cell's data-value (numbers numerically), empty cells last.
SCRIPT = """
(function () {
  function key(row, index) {
    var cell = row.cells[index];
    var raw = cell ? cell.getAttribute("data-value") : null;
    if (raw === null || raw === "") { return null; }
    var asNumber = Number(raw);
    return isNaN(asNumber) ? raw.toLowerCase() : asNumber;
  }
  function sortBy(table, header, index) {
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, index), y = key(b, index);
      if (x === null || y === null) { return (x === null) - (y === null); }
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      var order = x < y ? -1 : (x > y ? 1 : 0);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      header.tabIndex = 0;
      header.title = "sort by this column";
      header.addEventListener("click", function () { sortBy(table, header, index); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(table, header, index); }
      });
    });
  });
})();
"""


def e(value) -> str:
    """Escape text for HTML element content and quoted attribute values."""
    return html.escape(str(value), quote=True)


def script_json(data) -> str:
    """JSON safe inside a <script> element: nothing in it can close the element or open a comment."""
    text = json.dumps(data, sort_keys=True, allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def _prose(spans: Prose) -> str:
    tags = {"plain": "{}", "strong": "<strong>{}</strong>", "code": "<code>{}</code>"}
    return "".join(tags[span.style].format(e(span.text)) for span in spans)


def _cell(cell: Cell) -> str:
    classes = [c for c, on in (("best", cell.best), ("near-best", cell.near_best and not cell.best)) if on]
    attrs = f' data-value="{e(cell.sort_value)}"' if cell.sort_value is not None else ""
    attrs += f' class="{" ".join(classes)}"' if classes else ""
    rank = f' <span class="rank">{e(cell.rank_label)}</span>' if cell.rank_label else ""
    return f"<td{attrs}>{e(cell.text)}{rank}</td>"


def _table(table: Table) -> str:
    """The table in a box of its own that scrolls sideways, so a wide table never widens the page."""
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in table.headers)
    body = "\n".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in table.rows)
    kind = ' class="sortable"' if table.sortable else ""
    return (f'<div class="table-wrap"><table{kind} id="{e(table.id)}">\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody>\n</table></div>")


def _note(note: Note) -> str:
    """One line; with details, the line is the summary of a collapsed element that holds them."""
    kind = f'note{" warning" if note.warning else ""}'
    if not note.details:
        return f'<p class="{kind}">{_prose(note.text)}</p>'
    items = "".join(f"<li>{_prose(detail)}</li>" for detail in note.details)
    return f'<details class="{kind}"><summary>{_prose(note.text)}</summary><ul>{items}</ul></details>'


def _figure(figure: Figure) -> str:
    data = base64.b64encode(figure.file.read_bytes()).decode("ascii")
    return (f'<figure id="figure-{e(figure.file.stem)}"><img src="data:image/png;base64,{data}" '
            f'alt="{e(figure.caption)}"><figcaption>{e(figure.caption)}</figcaption></figure>')


def _section(section: Section, hint: bool = False) -> list[str]:
    """The section's elements; ``hint``: say above its table that tables sort (the first sortable one only)."""
    anchor = f' id="{e(section.anchor)}"' if section.anchor else ""
    parts = [f"<section{anchor}>", f"<h{section.level}>{e(section.title)}</h{section.level}>"]
    parts += [f"<p>{_prose(section.intro)}</p>"] if section.intro else []
    parts += [_note(note) for note in section.notes]
    if section.bullets:
        parts.append("<ul>" + "".join(f"<li>{_prose(line)}</li>" for line in section.bullets) + "</ul>")
    parts += [f'<p class="hint">{SORT_HINT}</p>'] if hint else []
    parts += [_table(section.table)] if section.table else []
    return parts + [_figure(figure) for figure in section.figures] + ["</section>"]


def render(sections: list[Section], data: dict) -> str:
    """The whole page; the first section is its title, ``data`` the leaderboard.json content embedded in it."""
    policy = (f"default-src 'none'; img-src data:; style-src {_csp_hash(STYLE)}; script-src {_csp_hash(SCRIPT)}; "
              "base-uri 'none'; form-action 'none'")
    head, *rest = sections
    sortable = next((i for i, section in enumerate(rest) if section.table and section.table.sortable), None)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(policy)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{e(head.title)}</title>",
        f"<style>{STYLE}</style>",
        "</head><body>",
        *_section(head),
        *[part for i, section in enumerate(rest) for part in _section(section, hint=i == sortable)],
        f'<script type="application/json" id="leaderboard-data">{script_json(data)}</script>',
        f"<script>{SCRIPT}</script>",
        "</body></html>",
        "",
    ]
    return "\n".join(parts)
