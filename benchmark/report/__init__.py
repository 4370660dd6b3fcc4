"""Reports: result records -> tables, figures and pages. Reads the result store only, never training code.

leaderboard.py writes a report top to bottom from: comparability.py (which runs may share a
table), tables.py (the numbers), stats.py (their spread, ranks and comparisons), metrics.py
(each task format's primary metric), plots.py, markdown.py, page.py, cells.py (how numbers
read) and provenance.py (where they came from).
"""

from benchmark.report.leaderboard import render_report, write_report

__all__ = ["render_report", "write_report"]
