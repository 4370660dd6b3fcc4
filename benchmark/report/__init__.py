"""Reports: result records -> tables, figures and pages. Reads the result store only, never training code.

leaderboard.py writes a report top to bottom from: comparability.py (which runs may share a
table), runs.py (which runs a table reads), tables.py (the numbers, judged as judge.py says),
stats.py, moderation.py, verdicts.py and ranks.py (their spread, comparisons and ranks),
metrics.py (each task format's primary metric), the plots package (the figures), markdown.py,
page.py, cells.py (how numbers read) and provenance.py (where they came from).
"""

from benchmark.report.leaderboard import render_report, write_report

__all__ = ["render_report", "write_report"]
