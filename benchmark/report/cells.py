"""How each number reads, the same in Markdown and HTML: plain text here, escaped by each renderer."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from benchmark.report.ladder import Ladder
from benchmark.report.metrics import MetricSpec
from benchmark.report.runs import FINETUNED, ZERO_SHOT
from benchmark.report.stats import PROVISIONAL
from benchmark.report.tables import Leaderboard

NO_INTERVAL = "1 run: no interval"
ONE_PRETRAINING_RUN = "one pretraining run: no interval"
DETERMINISTIC = "deterministic: fitted once, no seed spread"
SATURATED = "saturated: every seed at the metric's bound"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def digits(spec: MetricSpec) -> int:
    """Three significant decimals on a 0..1 metric, one on a 0..100 metric."""
    return max(0, 3 - round(math.log10(spec.max_value))) if spec.max_value > 0 else 3


def number(value, places: int = 3) -> str:
    return "n/a" if _missing(value) else f"{value:.{places}f}"


def quantity(value) -> str:
    """Counts and rates of very different sizes (parameters, FLOPs, tokens/s): three significant digits."""
    if _missing(value):
        return "n/a"
    return f"{value:.3g}" if abs(value) >= 1e4 or (value and abs(value) < 1e-2) else f"{value:.4g}"


def scientific(value) -> str:
    """FLOPs and other large counts as a reader says them: '2.0e12'."""
    if _missing(value):
        return "n/a"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def with_spread(mean, std, low, high, places: int = 3, alone: str = NO_INTERVAL, finetune_std=None) -> str:
    """'0.812 ± 0.010 [0.801, 0.822]'; with one pretraining run '0.812 (finetuning sd 0.010; one pretraining
    run: no interval)', or '0.812 (1 run: no interval)'."""
    if _missing(mean):
        return "n/a"
    if _missing(low):
        if not _missing(finetune_std):
            return f"{number(mean, places)} (finetuning sd {number(finetune_std, places)}; {ONE_PRETRAINING_RUN})"
        return f"{number(mean, places)} ({alone})"
    return f"{number(mean, places)} ± {number(std, places)} [{number(low, places)}, {number(high, places)}]"


def signed_difference(diff, low, high, places: int = 3) -> str:
    if _missing(diff):
        return "n/a"
    diff, low, high = (None if _missing(v) else round(v, places) + 0.0 for v in (diff, low, high))  # no "-0.000"
    if _missing(low):
        return f"{diff:+.{places}f} ({ONE_PRETRAINING_RUN})"
    return f"{diff:+.{places}f} [{low:+.{places}f}, {high:+.{places}f}]"


@dataclass
class Cell:
    """One table cell: its text, what it sorts by, and the marks the leaderboard gives it."""

    text: str  # what a reader sees
    sort_value: float | str | None  # what a sortable column sorts by
    best: bool = False  # the best mean of its column
    near_best: bool = False  # within 2 pooled std of the best (T5)
    rank: int | None = None
    provisional: bool = False  # the rank and ≈ rest on a single pretraining run

    @property
    def rank_label(self) -> str | None:
        """'rank 2', with ≈ when within noise of the best without being it, and '(provisional)' where
        one pretraining run is all there is; None off the leaderboard."""
        if self.rank is None:
            return None
        label = f"rank {self.rank}" + (" ≈" if self.near_best and not self.best else "")
        return label + (" (provisional)" if self.provisional else "")


def _mean_rank(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}".rstrip("0")


def leaderboard_grid(board: Leaderboard) -> tuple[list[str], list[list[Cell]]]:
    """The main table: one row per (model, objective): each task, then each use's aggregate and mean rank."""
    uses = [u for u in (FINETUNED, ZERO_SHOT) if u in board.uses.values()]
    tasks = [t for u in uses for t in board.tasks if board.uses[t] == u]
    headers = ["model", "objective"]
    headers += [f"{t}: {board.metrics[t].name}" + (" (zero-shot)" if board.uses[t] == ZERO_SHOT else "") for t in tasks]
    for use in uses:
        suffix = f", {use}" if len(uses) > 1 else ""
        headers += [f"aggregate score{suffix} (0-1)", f"mean rank{suffix}"]
    by_key = board.rows.set_index(["model", "objective", "task"])
    aggregate = board.aggregate.set_index(["model", "objective", "use"])
    rows = []
    for model, objective in board.entries:
        shown = f"{objective} (baseline)" if objective in board.baselines else objective  # classical, no network
        row = [Cell(model, model), Cell(shown, objective)]
        for task in tasks:
            if (model, objective, task) not in by_key.index:
                row.append(Cell("no runs", None))
                continue
            r = by_key.loc[(model, objective, task)]
            places = digits(board.metrics[task])
            text = with_spread(r["mean"], r["std"], r["ci_low"], r["ci_high"], places, finetune_std=r["finetune_std"],
                               alone=DETERMINISTIC if r.get("deterministic") else NO_INTERVAL)
            text += f" ({SATURATED})" if r.get("saturated") else ""
            row.append(Cell(text, float(r["mean"]),
                            best=bool(r["best"]), near_best=bool(r["within_2sd_of_best"]), rank=int(r["rank"]),
                            provisional=bool(r["rank_provisional"])))
        for use in uses:
            if (model, objective, use) not in aggregate.index:
                row += [Cell("no runs", None), Cell("n/a", None)]
                continue
            agg = aggregate.loc[(model, objective, use)]
            if pd.isna(agg["score"]):
                row.append(Cell(f"n/a (missing {', '.join(agg['missing_tasks'])})", None))
            else:
                row.append(Cell(with_spread(agg["score"], agg["score_std"], agg["score_ci_low"], agg["score_ci_high"],
                                            alone="no interval"), float(agg["score"])))
            provisional = " (provisional)" if agg["rank_provisional"] else ""
            row.append(Cell(_mean_rank(agg["mean_rank"]) + provisional, float(agg["mean_rank"])))
        rows.append(row)
    return headers, rows


def comparison_rows(board: Leaderboard) -> tuple[list[str], list[list[Cell]]]:
    """Each non-reference entry against the reference objective of its model, per task."""
    headers = ["model", "objective", "task", f"difference vs {board.reference} [95% CI]", "pairs", "verdict"]
    rows = []
    compared = board.rows[board.rows["reference"].notna() & (board.rows["objective"] != board.reference)]
    for r in compared.itertuples():
        places = digits(board.metrics[r.task])
        rows.append([Cell(r.model, r.model), Cell(r.objective, r.objective), Cell(r.task, r.task),
                     Cell(signed_difference(r.difference, r.difference_ci_low, r.difference_ci_high, places),
                          None if _missing(r.difference) else float(r.difference)),
                     Cell(str(int(r.pairs)) if not _missing(r.pairs) else "0", r.pairs),
                     Cell(r.comparison, r.comparison)])
    return headers, rows


def control_rows(board: Leaderboard) -> tuple[list[str], list[list[Cell]]]:
    """Each pretrained entry against each untrained control of its model, per task."""
    headers = ["model", "objective", "task", "control", "difference vs control [95% CI]", "pairs", "verdict"]
    rows = []
    for r in board.controls.itertuples():
        places = digits(board.metrics[r.task])
        rows.append([Cell(r.model, r.model), Cell(r.objective, r.objective), Cell(r.task, r.task),
                     Cell(r.control, r.control),
                     Cell(signed_difference(r.difference, r.difference_ci_low, r.difference_ci_high, places),
                          None if _missing(r.difference) else float(r.difference)),
                     Cell(str(int(r.pairs)), int(r.pairs)), Cell(r.comparison, r.comparison)])
    return headers, rows


def control_summary(board: Leaderboard) -> list[str]:
    """One line per (task, control): how many pretrained objectives were better than it, worse, equivalent or
    undecided (classical baselines counted apart: they are not pretrained)."""
    lines = []
    for (task, control), group in board.controls.groupby(["task", "control"], sort=False):
        neural = group[~group["objective"].isin(board.baselines)]
        parts = []
        for verdict in ("better", "worse", "equivalent", "undecided"):
            named = neural.loc[neural["direction"] == verdict, "objective"].tolist()
            if named:
                parts.append(f"{len(named)} {verdict} ({', '.join(named)})")
        unjudged = int(neural["significant"].isna().sum())  # one pretraining run, or none: no interval to judge by
        if unjudged:
            parts.append(f"{unjudged} without a verdict ({ONE_PRETRAINING_RUN})")
        line = (f"{task} (vs {control}): of {len(neural)} pretrained objective{'s' if len(neural) != 1 else ''}, "
                + ("; ".join(parts) or "none"))
        baselines = group[group["objective"].isin(board.baselines)]
        if len(baselines):
            line += "; classical baselines: " + ", ".join(f"{r.objective} {r.direction}"
                                                          for r in baselines.itertuples())
        lines.append(line)
    return lines


def rung_label(rung: float, flops) -> str:
    """'0.5 (1.0e12 FLOPs)': a rung as the share of the budget and the compute that made its checkpoint."""
    return f"{rung:g}" + ("" if _missing(flops) else f" ({scientific(flops)} FLOPs)")


def _first_better(versus: list[dict]) -> str:
    def one(v: dict) -> str:
        if v["rung"] is not None:
            return rung_label(v["rung"], v["flops"])
        return "at no rung" if v["judged"] else PROVISIONAL
    if not versus:
        return "no untrained control"
    if len(versus) == 1:
        return one(versus[0])
    return "; ".join(f"vs {v['control']}: {one(v)}" for v in versus)


def _trend(r, places: int) -> str:
    if not r.trend_fits:
        return f"not shown: {r.trend_reason}"
    return (f"{r.trend_slope:+.{places}f} per 10× FLOPs [{r.trend_slope_ci_low:+.{places}f}, "
            f"{r.trend_slope_ci_high:+.{places}f}], R² {r.trend_r_squared:.2f}")


def crossover_rows(ladder: Ladder, board: Leaderboard) -> tuple[list[str], list[list[Cell]]]:
    """Per (model, objective, task) on a compute ladder: its rungs, the first at which it beats no pretraining,
    the rungs at which it overtakes another objective, and its fitted trend where one fits."""
    headers = ["model", "objective", "task", "rungs", "first better than no pretraining", "overtakes",
               "trend: change per 10× FLOPs [95% CI]"]
    rows = []
    for r in ladder.crossovers.itertuples():
        places = digits(board.metrics[r.task]) + 1  # a slope is smaller than the scores it joins
        first = [v["rung"] for v in r.versus_control if v["rung"] is not None]
        overtakes = "; ".join(f"{e['objective']} at {rung_label(e['rung'], e['flops'])}" for e in r.overtakes)
        rows.append([Cell(r.model, r.model), Cell(r.objective, r.objective), Cell(r.task, r.task),
                     Cell(", ".join(f"{x:g}" for x in r.rungs), len(r.rungs)),
                     Cell(_first_better(r.versus_control), min(first) if first else None),
                     Cell(overtakes or "none", len(r.overtakes)),
                     Cell(_trend(r, places), float(r.trend_slope) if r.trend_fits else None)])
    return headers, rows


def detail_rows(board: Leaderboard) -> tuple[list[str], list[list[Cell]]]:
    """Every per-task number in its own column, for sorting and checking."""
    headers = ["model", "objective", "task", "metric", "mean", "std between pretraining seeds", "95% CI",
               "finetuning sd", "runs", "seeds", "tier", "rank", "within 2 sd of best"]
    rows = []
    for r in board.rows.itertuples():
        places = digits(board.metrics[r.task])
        ci = (ONE_PRETRAINING_RUN if _missing(r.ci_low) else
              f"[{number(r.ci_low, places)}, {number(r.ci_high, places)}]")
        rows.append([Cell(r.model, r.model), Cell(r.objective, r.objective), Cell(r.task, r.task),
                     Cell(r.metric, r.metric), Cell(number(r.mean, places), float(r.mean)),
                     Cell("n/a" if _missing(r.std) else number(r.std, places), None if _missing(r.std) else r.std),
                     Cell(ci, None if _missing(r.ci_low) else float(r.ci_low)),
                     Cell("n/a" if _missing(r.finetune_std) else number(r.finetune_std, places),
                          None if _missing(r.finetune_std) else r.finetune_std),
                     Cell(str(r.runs), r.runs), Cell(r.seeds, r.seeds), Cell(str(r.tier), r.tier),
                     Cell(f"{r.rank} (provisional)" if r.rank_provisional else str(r.rank), r.rank),
                     Cell("yes" if r.within_2sd_of_best else "no", int(r.within_2sd_of_best))])
    return headers, rows


def cost_rows(costs: pd.DataFrame, board: Leaderboard) -> tuple[list[str], list[list[Cell]]]:
    """What pretraining cost per (model, objective): mean over pretraining seeds."""
    columns = [("parameters", "parameters"), ("steps", "steps"), ("tokens", "tokens"),
               ("loss_bearing_tokens", "loss-bearing tokens"), ("flops", "FLOPs"),
               ("ladder_flops", "ladder FLOPs (decay branches)"), ("flops_per_token", "FLOPs/token"),
               ("tokens_per_s", "tokens/s"), ("peak_memory_bytes", "peak memory (MiB)"), ("wall_s", "wall time (s)")]
    present = [(c, h) for c, h in columns if c in costs]
    headers = ["model", "objective", "pretraining seeds"] + [h for _, h in present]
    indexed = costs.set_index(["model", "objective"])
    rows = []
    for model, objective in board.entries:
        if (model, objective) not in indexed.index:
            continue
        c = indexed.loc[(model, objective)]
        row = [Cell(model, model), Cell(objective, objective), Cell(str(int(c["pretrain_seeds"])), c["pretrain_seeds"])]
        untrained = "tokens" in c and c["tokens"] == 0  # the `none` control: nothing was pretrained
        for column, _ in present:
            value, std = c[column], c.get(f"{column}_std")
            if column == "peak_memory_bytes":
                value, std = value / 2**20, (None if _missing(std) else std / 2**20)
            text = quantity(value) if _missing(std) or std == 0 else f"{quantity(value)} ± {quantity(std)}"
            if untrained and (_missing(value) or value == 0):
                text = "no pretraining"
            source = c.get("compute_source")
            if isinstance(source, str) and column in ("flops", "tokens"):  # a published checkpoint's stated compute
                text = "unknown" if _missing(value) or source == "unknown" else f"{text} ({source})"
            row.append(Cell(text, None if _missing(value) else float(value)))
        rows.append(row)
    return headers, rows
