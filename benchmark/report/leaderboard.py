"""Write a suite's report, top to bottom: read records -> check -> tables -> figures -> files.

``reports/<suite>/`` gets README.md (Markdown with figures linked), index.html (one
self-contained page), leaderboard.csv and leaderboard.json (for machines), and figures/*.png.
The report reads only the result store; it never imports training code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from benchmark import files
from benchmark.errors import ObjbenchError
from benchmark.paths import inside
from benchmark.report import markdown, page, plots
from benchmark.report.comparability import check_comparable
from benchmark.report.provenance import collect
from benchmark.report.sections import report_sections
from benchmark.report.tables import Leaderboard, build_leaderboard, cost_table
from benchmark.results import flatten, iter_records, write_records_file

FIGURES = "figures"
RECORDS = "records.jsonl"  # the run records a report was made from: `objbench report --records` remakes it


def _plain(value):
    """NaN -> None and numpy scalars -> Python ones, so the JSON is strict and loads anywhere."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def machine_readable(board: Leaderboard, costs: pd.DataFrame, provenance: dict, differences: list[str]) -> dict:
    """The content of leaderboard.json (and of the copy embedded in index.html)."""
    return _plain({
        "report_version": 1,
        "reference": board.reference,
        "metrics": {t: {"name": s.name, "higher_is_better": s.higher_is_better, "max_value": s.max_value}
                    for t, s in board.metrics.items()},
        "uses": board.uses,
        "notes": board.notes,
        "incomparable_fields": differences,
        "rows": board.rows.to_dict(orient="records"),
        "aggregate": board.aggregate.to_dict(orient="records"),
        "controls": board.controls.to_dict(orient="records"),
        "costs": costs.to_dict(orient="records"),
        "provenance": provenance,
    })


def _figures(df: pd.DataFrame, board: Leaderboard, costs: pd.DataFrame, folder: Path) -> list[tuple[Path, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):  # a figure that no longer applies must not linger from an earlier report
        old.unlink()
    figures = [(plots.metric_by_task(board, folder / "metric_by_task.png"),
                "Primary metric per task by objective, mean with 95% bootstrap interval")]
    if plots.has_loss_curves(df):
        figures.append((plots.loss_curves(df, board, folder / "pretraining_loss.png"),
                        "Pretraining loss against tokens and against FLOPs"))
    if "flops" in costs and costs["flops"].notna().any():
        figures.append((plots.metric_vs_compute(board, costs, folder / "metric_vs_compute.png"),
                        "Downstream score against pretraining compute, Pareto front marked"))
    figures.append((plots.throughput_memory(costs, board, folder / "throughput_memory.png"),
                    "Throughput and peak memory per objective"))
    return figures


def write_report(results_dir: str | Path, suite: str, reports_dir: str | Path = "reports",
                 reference: str | None = None, allow_incomparable: bool = False,
                 run_ids: set[str] | None = None) -> Path:
    """Write every report file for ``suite`` from its stored records; returns the report folder.

    ``run_ids`` keeps only those runs (the CLI passes the runs of the suite as it is now, so
    records left by an earlier version of the suite do not mix in). ``reference`` is the
    objective every other one is compared with, paired by seeds (default ``mlm`` where it
    ran). Runs that differ in corpus, tokenizer, size, recipe, precision or schema are
    refused unless ``allow_incomparable``, and then flagged in every output.
    """
    records = [r for r in iter_records(results_dir, suite) if run_ids is None or r["run_id"] in run_ids]
    if not records:
        raise ObjbenchError(f"no results for suite {suite!r} under {results_dir} (run `objbench run` first)")
    return render_report(records, suite, reports_dir, reference, allow_incomparable)


def render_report(records: list[dict], suite: str, reports_dir: str | Path = "reports", reference: str | None = None,
                  allow_incomparable: bool = False) -> Path:
    """Write the report of ``records``; ``records.jsonl`` beside it keeps exactly what it was made from."""
    if not records:
        raise ObjbenchError(f"no records to report for suite {suite!r}")
    differences = check_comparable(records, allow_incomparable)
    df = pd.DataFrame([flatten(r) for r in records])
    board = build_leaderboard(df, reference)
    costs = cost_table(df)
    provenance = collect(records, suite, differences)

    out = inside(reports_dir, suite)
    figures = _figures(df, board, costs, out / FIGURES)
    data = machine_readable(board, costs, provenance, differences)
    sections = report_sections(suite, board, costs, provenance, figures, differences)
    files.write_text(out / "README.md", markdown.render(sections, out))
    files.write_text(out / "index.html", page.render(sections, data))
    csv = board.rows.assign(pretrain_seeds=board.rows["pretrain_seeds"].map(json.dumps),
                            finetune_seeds=board.rows["finetune_seeds"].map(json.dumps))
    files.write_text(out / "leaderboard.csv", csv.to_csv(index=False))
    files.write_text(out / "leaderboard.json", json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n")
    write_records_file(out / RECORDS, records)
    return out
