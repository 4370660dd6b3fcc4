"""index.html: one self-contained static page (figures inlined, no network), tables sortable by header.

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
from pathlib import Path

from benchmark.report.cells import (
    Cell,
    comparison_rows,
    control_rows,
    control_summary,
    cost_rows,
    detail_rows,
    leaderboard_grid,
)
from benchmark.report.markdown import CONTROLS, LEGEND
from benchmark.report.provenance import as_lines

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 78rem; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
table.sortable th { cursor: pointer; background: #f2f2f2; user-select: none; }
table.sortable th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.sortable th[aria-sort="descending"]::after { content: " \\25BC"; }
td.best { font-weight: bold; }
td.near-best { background: #eef6ee; }
.rank { color: #555; font-size: 0.8rem; }
.note { background: #fff8e0; border-left: 4px solid #e0b000; padding: 0.4rem 0.8rem; margin: 0.3rem 0; }
.warning { background: #fde8e8; border-left-color: #c00000; }
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


def _cell(cell: Cell) -> str:
    classes = [c for c, on in (("best", cell.best), ("near-best", cell.near_best and not cell.best)) if on]
    attrs = f' data-value="{e(cell.sort_value)}"' if cell.sort_value is not None else ""
    attrs += f' class="{" ".join(classes)}"' if classes else ""
    extra = ""
    if cell.rank is not None:
        extra = f' <span class="rank">rank {cell.rank}{" ≈" if cell.near_best and not cell.best else ""}</span>'
    return f"<td{attrs}>{e(cell.text)}{extra}</td>"


def table(headers: list[str], rows: list[list[Cell]], table_id: str) -> str:
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in headers)
    body = "\n".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return (f'<table class="sortable" id="{e(table_id)}">\n<thead><tr>{head}</tr></thead>\n'
            f"<tbody>\n{body}\n</tbody>\n</table>")


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{e(caption)}">'
            f"<figcaption>{e(caption)}</figcaption></figure>")


def render(suite: str, board, costs, provenance: dict, figures: list[tuple[Path, str]], differences: list[str],
           data: dict) -> str:
    """The whole page; ``figures`` are (PNG file, caption) and ``data`` is the leaderboard.json content."""
    policy = (f"default-src 'none'; img-src data:; style-src {_csp_hash(STYLE)}; script-src {_csp_hash(SCRIPT)}; "
              "base-uri 'none'; form-action 'none'")
    specs = "; ".join(f"{t}: {s.describe()}" for t, s in board.metrics.items())
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(policy)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>objbench leaderboard: {e(suite)}</title>",
        f"<style>{STYLE}</style>",
        "</head><body>",
        f"<h1>objbench leaderboard: {e(suite)}</h1>",
        (f"<p>{provenance['runs']} runs. Primary metric per task: {e(specs)}. Reference objective for paired "
        f"comparisons: {e(board.reference or 'none chosen')}. Click any column header to sort.</p>"),
    ]
    if differences:
        parts.append('<p class="note warning"><strong>Incomparable runs combined on request</strong> '
                     f"(--allow-incomparable): {e('; '.join(differences))}</p>")
    parts += [f'<p class="note">{e(note)}</p>' for note in board.notes]

    headers, rows = leaderboard_grid(board)
    parts += ["<h2>Leaderboard</h2>", f"<p>{e(LEGEND.replace('**Bold**', 'Bold'))}</p>",
              table(headers, rows, "leaderboard")]
    if len(board.controls):
        headers, rows = control_rows(board)
        parts += ["<h2>Against no pretraining</h2>", f"<p>{e(CONTROLS.replace('`', ''))}</p>",
                  "<ul>" + "".join(f"<li>{e(line)}</li>" for line in control_summary(board)) + "</ul>",
                  table(headers, rows, "controls")]
    if board.reference:
        headers, rows = comparison_rows(board)
        parts += [f"<h2>Against the reference objective ({e(board.reference)})</h2>",
                  ("<p>Paired by (pretraining seed, finetuning seed): candidate minus reference, with a 95% "
                  "bootstrap interval; significant when the interval excludes 0.</p>"),
                  table(headers, rows, "comparisons") if rows else "<p>No other objective.</p>"]
    headers, rows = detail_rows(board)
    parts += ["<h2>Per-task details</h2>", table(headers, rows, "details")]
    headers, rows = cost_rows(costs, board)
    parts += ["<h2>Cost of pretraining</h2>", "<p>Mean over pretraining seeds (± std where seeds differ).</p>",
              table(headers, rows, "costs")]
    if figures:
        parts += ["<h2>Figures</h2>"] + [_figure(path, caption) for path, caption in figures]
    provenance_rows = "\n".join(f'<tr><th scope="row">{e(k)}</th><td>{e(v)}</td></tr>' for k, v in as_lines(provenance))
    parts += ['<h2 id="provenance">Provenance</h2>', f'<table id="provenance-table">\n{provenance_rows}\n</table>',
              f'<script type="application/json" id="leaderboard-data">{script_json(data)}</script>',
              f"<script>{SCRIPT}</script>", "</body></html>", ""]
    return "\n".join(parts)
