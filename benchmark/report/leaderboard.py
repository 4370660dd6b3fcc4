"""Write a suite's report, top to bottom: read records -> check -> tables -> figures -> files.

``reports/<suite>/`` gets README.md (Markdown with figures linked), index.html (one
self-contained page), leaderboard.csv and leaderboard.json (for machines), and figures/*.png.
The report reads only the result store; it never imports training code. Every table, verdict
and figure reads the final rung of a compute ladder (``runs.final_rung``); the other rungs
feed only the score-against-compute section (ladder.py).
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
from benchmark.report.attention_view import attention_by_entry, attention_section
from benchmark.report.claims import check_claims
from benchmark.report.claims_section import claims_section
from benchmark.report.comparability import by_model_and_size, check_comparable
from benchmark.report.compare import Replication, compare_boards
from benchmark.report.decisions import decisions_of
from benchmark.report.ladder import Ladder, build_ladder
from benchmark.report.model_axis import model_axis_sections
from benchmark.report.provenance import collect
from benchmark.report.runs import final_rung
from benchmark.report.sections import report_sections
from benchmark.report.stats import CONFIDENCE
from benchmark.report.tables import Leaderboard, build_leaderboard, cost_table
from benchmark.results import flatten, iter_failures, iter_records, write_records_file

FIGURES = "figures"
RECORDS = "records.jsonl"  # the run records a report was made from: `objbench report --records` remakes it
REPLICA = "replica-records.jsonl"  # the records of its replication, where one ran: `--replica` adds them back


def plain(value):
    """NaN -> None and numpy scalars -> Python ones, so the JSON is strict and loads anywhere."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def machine_readable(board: Leaderboard, costs: pd.DataFrame, provenance: dict, differences: list[str],
                     replication: Replication | None = None, ladder: Ladder | None = None) -> dict:
    """The content of leaderboard.json (and of the copy embedded in index.html)."""
    return plain({
        **({"replication": {"varied": replication.varied, **replication.comparison.to_dict()}} if replication else {}),
        **({"ladder": ladder.to_dict()} if ladder else {}),
        "report_version": 1,
        "reference": board.reference,
        "metrics": {t: {"name": s.name, "higher_is_better": s.higher_is_better, "max_value": s.max_value}
                    for t, s in board.metrics.items()},
        "uses": board.uses,
        "notes": [{"kind": n.kind, "summary": n.summary, "detail": n.detail} for n in board.notes],
        "incomparable_fields": differences,
        "rows": board.rows.to_dict(orient="records"),
        "aggregate": board.aggregate.to_dict(orient="records"),
        "controls": board.controls.to_dict(orient="records"),
        "costs": costs.to_dict(orient="records"),
        "provenance": provenance,
    })


HEATMAP, CURVES, ATTENTION = "control_heatmap.png", "compute_curves.png", "attention_by_layer.png"


def _figures(df: pd.DataFrame, board: Leaderboard, costs: pd.DataFrame, folder: Path,
             ladder: Ladder | None) -> tuple[list[tuple[Path, str]], Path | None, Path | None]:
    """(the figures section's (PNG, caption) pairs, the heat map that opens the report, the ladder's curves);
    ``df`` holds the final rung only."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):  # a figure that no longer applies must not linger from an earlier report
        old.unlink()
    figures = [(plots.metric_by_task(board, folder / "metric_by_task.png"),
                "Primary metric per task by objective, mean with its 95% interval over pretraining seeds")]
    if plots.has_loss_curves(df):
        figures.append((plots.loss_curves(df, board, folder / "pretraining_loss.png"),
                        "Pretraining loss against tokens and against FLOPs"))
    if "flops" in costs and costs["flops"].notna().any():
        figures.append((plots.metric_vs_compute(board, costs, folder / "metric_vs_compute.png"),
                        "Downstream score against pretraining compute, Pareto front marked"))
    figures.append((plots.throughput_memory(costs, board, folder / "throughput_memory.png"),
                    "Throughput and peak memory per objective"))
    heatmap = plots.control_heatmap(board, folder / HEATMAP) if len(board.controls) else None
    curves = plots.compute_curves(ladder, board, folder / CURVES) if ladder is not None else None
    return figures, heatmap, curves


def write_report(results_dir: str | Path, suite: str, reports_dir: str | Path = "reports",
                 reference: str | None = None, allow_incomparable: bool = False,
                 run_ids: set[str] | None = None, replica: list[dict] | None = None,
                 confidence: float = CONFIDENCE) -> Path:
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
    recorded = {r["run_id"] for r in records}
    failures = [f for f in iter_failures(results_dir, suite, run_ids) if f["run_id"] not in recorded]
    return render_report(records, suite, reports_dir, reference, allow_incomparable, replica, failures, confidence)


def board_of(records: list[dict], reference: str | None = None, allow_incomparable: bool = False,
             confidence: float = CONFIDENCE) -> Leaderboard:
    """The leaderboard of ``records`` alone (no files written): what comparisons of two reports read. Like every
    board, it holds the final rung of a compute ladder only."""
    records = by_model_and_size(records)
    check_comparable(records, allow_incomparable)
    return build_leaderboard(pd.DataFrame([flatten(r) for r in records]), reference, confidence)


def suite_sizes(records: list[dict]) -> list[str]:
    """The sizes the records' suite lists, in its order (one, for a suite of one size)."""
    for r in records:
        size = (r.get("config") or {}).get("size")
        if isinstance(size, list):
            return size
    return []


def _seed_sets(records: list[dict]) -> str:
    pretrain = sorted({r["pretrain_seed"] for r in records})
    finetune = sorted({r["finetune_seed"] for r in records})
    precision = sorted({str((r.get("environment") or {}).get("precision")) for r in records})
    return f"pretraining seeds {pretrain}, finetuning seeds {finetune}, precision {', '.join(precision)}"


def replication_of(records: list[dict], board: Leaderboard, replica: list[dict], reference: str | None,
                   allow_incomparable: bool) -> Replication:
    """This report's board against the board of the same suite rerun on other seeds or precision."""
    comparison = compare_boards(board, board_of(replica, reference or board.reference, allow_incomparable,
                                                board.confidence))
    return Replication(f"{_seed_sets(records)} (this report) against {_seed_sets(replica)} (the replica)",
                       comparison)


def render_report(records: list[dict], suite: str, reports_dir: str | Path = "reports", reference: str | None = None,
                  allow_incomparable: bool = False, replica: list[dict] | None = None,
                  failures: list[dict] | None = None, confidence: float = CONFIDENCE) -> Path:
    """Write the report of ``records``; ``records.jsonl`` beside it keeps exactly what it was made from.

    With ``replica`` (the records of the same suite rerun on disjoint seeds or another
    precision) the report also says which of its cells and verdicts held there, and keeps
    those records beside its own.
    """
    if not records:
        raise ObjbenchError(f"no records to report for suite {suite!r}")
    written, records = records, by_model_and_size(records)
    differences = check_comparable(records, allow_incomparable)
    every_rung = pd.DataFrame([flatten(r) for r in records])
    df = final_rung(every_rung)
    board = build_leaderboard(every_rung, reference, confidence)  # every rung informs the noise priors
    costs = cost_table(df)
    ladder = build_ladder(every_rung, board)
    provenance = collect(written, suite, differences)
    replication = replication_of(records, board, replica, reference, allow_incomparable) if replica else None

    checks = check_claims(records, priors=board.priors, confidence=board.confidence)
    decisions = decisions_of(every_rung, board, ladder is not None)
    attention = attention_by_entry(records)

    out = inside(reports_dir, suite)
    figures, heatmap, curves = _figures(df, board, costs, out / FIGURES, ladder)
    attention_figure = plots.attention_by_layer(attention, out / FIGURES / ATTENTION) if attention else None
    data = machine_readable(board, costs, provenance, differences, replication, ladder)
    data["claims"] = [c.to_dict() for c in checks]
    data["decisions"] = plain(decisions.to_dict())
    data["attention"] = [{"model": m, "objective": o, **v} for (m, o), v in attention.items()]
    if failures:
        data["failed_runs"] = [{k: v for k, v in f.items() if k != "traceback"} for f in failures]
    sections = report_sections(suite, board, costs, provenance, figures, differences, replication, failures or [],
                               ladder=ladder, heatmap=heatmap, curves=curves, claims=claims_section(checks),
                               attention=attention_section(attention, attention_figure), decisions=decisions,
                               model_axis=model_axis_sections(board, df, suite_sizes(written)))
    files.write_text(out / "README.md", markdown.render(sections, out))
    files.write_text(out / "index.html", page.render(sections, data))
    csv = board.rows.assign(pretrain_seeds=board.rows["pretrain_seeds"].map(json.dumps),
                            finetune_seeds=board.rows["finetune_seeds"].map(json.dumps))
    files.write_text(out / "leaderboard.csv", csv.to_csv(index=False))
    files.write_text(out / "leaderboard.json", json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n")
    write_records_file(out / RECORDS, written)
    if replica:
        write_records_file(out / REPLICA, replica)
    elif (out / REPLICA).exists():  # a replication from an earlier report does not describe these records
        (out / REPLICA).unlink()
    return out
