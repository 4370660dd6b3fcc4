"""README.md: the leaderboard as Markdown that renders on a code host, figures linked beside it."""

from __future__ import annotations

import html

from benchmark.report.cells import Cell, comparison_rows, control_rows, control_summary, cost_rows, leaderboard_grid
from benchmark.report.provenance import as_lines
from benchmark.report.stats import NOISE_SDS

CONTROLS = ("Each pretrained objective against the untrained control of the same model on the same task "
            "(`none`, or a variant of it), paired by (pretraining seed, finetuning seed): the difference is "
            "objective minus control, with a 95% bootstrap interval; better or worse only when the interval "
            "excludes 0. An objective that is not better than no pretraining learnt nothing the task could use, at this budget.")
LEGEND = (f"Cells: mean ± std over runs [95% bootstrap CI of the mean], then the rank. Ranks respect ties: "
          f"rank = 1 + the number of entries whose interval lies wholly on the better side, so entries that "
          f"no interval separates share a rank. **Bold**: the best mean; "
          f"≈: within {NOISE_SDS:g} pooled standard deviations of the best (T5's rule). The aggregate score "
          f"is the mean over tasks of each primary metric scaled to 0-1 (1 is best), beside the per-task "
          f"columns, never instead of them.")


def text(value) -> str:
    """Text from records made inert in Markdown: HTML escaped, table pipes and emphasis characters quoted."""
    escaped = html.escape(str(value), quote=False)
    for char in "\\|*_`[]":
        escaped = escaped.replace(char, "\\" + char)
    return escaped.replace("\n", " ")


def _leaderboard_cell(cell: Cell) -> str:
    shown = text(cell.text)
    if cell.rank is None:
        return shown
    shown = f"**{shown}**" if cell.best else shown
    return f"{shown} · rank {cell.rank}" + (" ≈" if cell.near_best and not cell.best else "")


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(text(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render(suite: str, board, costs, provenance: dict, figures: list[tuple[str, str]],
           differences: list[str]) -> str:
    """The whole README; ``figures`` are (file name relative to the README, caption)."""
    specs = "; ".join(f"{text(t)}: {text(s.describe())}" for t, s in board.metrics.items())
    lines = [f"# objbench leaderboard: {text(suite)}", "",
             (f"{provenance['runs']} runs. Primary metric per task: {specs}. "
             f"Reference objective for paired comparisons: {text(board.reference or 'none chosen')}."), ""]
    if differences:
        lines += ["> **Incomparable runs combined on request** (--allow-incomparable): "
                  + text("; ".join(differences)), ""]
    lines += [f"> {text(note)}" for note in board.notes] + ([""] if board.notes else [])

    headers, grid = leaderboard_grid(board)
    lines += ["## Leaderboard", "", LEGEND, ""]
    lines += table(headers, [[_leaderboard_cell(c) for c in row] for row in grid]) + [""]

    if len(board.controls):
        headers, rows = control_rows(board)
        lines += ["## Against no pretraining", "", CONTROLS, ""]
        lines += [f"- {text(line)}" for line in control_summary(board)] + [""]
        lines += table(headers, [[text(c.text) for c in row] for row in rows]) + [""]

    if board.reference:
        headers, rows = comparison_rows(board)
        lines += [f"## Against the reference objective ({text(board.reference)})", "",
                  ("Paired by (pretraining seed, finetuning seed): the difference is candidate minus reference, "
                  "with a 95% bootstrap interval; significant when the interval excludes 0."), ""]
        lines += table(headers, [[text(c.text) for c in row] for row in rows]) if rows else ["No other objective."]
        lines.append("")

    headers, rows = cost_rows(costs, board)
    lines += ["## Cost of pretraining", "", "Mean over pretraining seeds (± std where seeds differ).", ""]
    lines += table(headers, [[text(c.text) for c in row] for row in rows]) + [""]

    if figures:
        lines += ["## Figures", ""]
        for name, caption in figures:
            lines += [f"![{text(caption)}]({name})", "", f"*{text(caption)}*", ""]

    lines += ["## Provenance", ""]
    lines += table(["field", "value"], [[text(k), text(v)] for k, v in as_lines(provenance)]) + [""]
    lines += [("Machine-readable: [leaderboard.csv](leaderboard.csv), [leaderboard.json](leaderboard.json). "
              "Self-contained page: [index.html](index.html)."), ""]
    return "\n".join(lines)
