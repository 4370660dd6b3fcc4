"""The regression gate: a change's results against a baseline's, cell by cell, quality and speed.

For every (model, objective, task) the primary metric's difference ``current - baseline`` gets
an interval over pretraining seeds: paired by (pretraining seed, finetuning seed) when both
sides ran the same seeds (the usual CI case: the same suite before and after a change), else
Welch's t over the two sides' per-pretraining-seed means. Two questions are answered apart,
as asv does:

* statistical: does the interval lie wholly on one side of 0?
* practical: is the change larger than the task's tolerance (``check.tolerance`` in the suite,
  default 2% of the metric's best value)?

*regressed* needs both on the worse side; *improved* both on the better side; anything else
is *unchanged*, marked ``~`` when the change is large but the interval still holds 0 (big but
noisy: more seeds would tell). Pretraining cost is compared per job: the training FLOPs must be
equal (the configs are, or the gate refuses to compare), and speed is compared as MFU (model
FLOP/s over the device's peak, ``measure.mfu_peak``: a datasheet figure or a matmul timed in the
same process; two sources are not compared), never as tokens/s, which differ between machines. A fall of MFU by more than ``check.mfu_drop`` whose interval lies below 0 regresses.
Only the final rung of a compute ladder is compared (``runs.final_rung``), as on the leaderboard.
Runs at another precision are not compared on speed: each MFU is against its own precision's
peak (bf16 on AMX has several times fp32's), so the ratio would measure the precision, not the code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from benchmark.errors import ObjbenchError
from benchmark.report.comparability import by_model_and_size, check_comparable, config_differences
from benchmark.report.compare import CELL
from benchmark.report.metrics import primary_metric
from benchmark.report.runs import by_seed, final_rung
from benchmark.report.stats import cluster_means, welch_difference
from benchmark.report.verdicts import paired_difference
from benchmark.results import flatten

TOLERANCE_SHARE = 0.02  # default tolerance: this share of a metric's best value
MFU_DROP = 0.35
FLOPS_RTOL = 1e-9  # FLOPs are counted, not measured: equal configs give equal counts


def usable_baseline(baseline: list[dict], where: str = "the baseline", finite: bool = True) -> None:
    """Refuse, in one line, a baseline the gate cannot judge against: a record without metrics or a primary
    metric, or (``finite``) with a metric that is not a finite number (a baseline that diverged is no yardstick).
    The current side is held to the first two only: its NaN is a diverged run, a finding of the gate."""
    for record in baseline:
        name = f"{where}: run {record.get('run_id')} ({record.get('objective')} on {record.get('task')})"
        metrics, spec = record.get("metrics"), record.get("primary_metric")
        if not isinstance(metrics, dict) or not metrics:
            raise ObjbenchError(f"{name} has no metrics: not a finished run")
        if not isinstance(spec, dict) or spec.get("name") not in metrics:
            raise ObjbenchError(f"{name} has no value of its primary metric {(spec or {}).get('name')!r}")
        for metric, value in metrics.items() if finite else ():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ObjbenchError(f"{name} has {metric} = {value!r}: a baseline holds finite numbers only "
                                    "(rerun it, or take another)")


def planned_differences(baseline: list[dict], config: dict, cells: set[tuple[str, str]]) -> list[str]:
    """Why ``baseline`` cannot judge a suite of ``config`` whose planned runs are (objective, task) ``cells``,
    before any of them runs: recipe settings that differ (as the comparability check would find after
    training), or no run of the plan in the baseline at all."""
    shared = {(r.get("objective"), r.get("task")) for r in baseline} & cells
    if not shared:
        held = sorted({str(r.get("suite")) for r in baseline})
        return [f"it holds no run of this suite's plan (its runs are of suite {', '.join(held)})"]
    planned = [{**r, "config": config} for r in baseline]  # each baseline run as this suite would run it
    return config_differences(baseline + planned)


def _diverged(values: pd.Series) -> str | None:
    """'NaN' or 'inf' where a side's metric is not a finite number: a run that diverged."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    if numbers.isna().any():
        return "NaN"
    return "inf" if numbers.abs().eq(math.inf).any() else None


def _frame(records: list[dict]) -> pd.DataFrame:
    """The records' runs at the final rung: the gate compares what the leaderboard shows, not a ladder's curves."""
    return final_rung(pd.DataFrame([flatten(r) for r in records]))


def _difference(current: dict, baseline: dict) -> tuple[float, float | None, float | None, str]:
    """(difference, interval low, high, how): paired when the seeds match, else Welch; no interval with one seed."""
    if set(current) == set(baseline):
        paired = paired_difference(current, baseline).difference
        return paired.mean, paired.ci_low, paired.ci_high, "paired"
    welch = welch_difference(list(cluster_means(current).values()), list(cluster_means(baseline).values()))
    if welch is None:
        mean = (sum(current.values()) / len(current)) - (sum(baseline.values()) / len(baseline))
        return mean, None, None, "unpaired"
    return *welch, "unpaired"


def _verdict(worse_by: float, low: float | None, high: float | None, higher_is_better: bool,
             tolerance: float) -> tuple[str, str, str]:
    """(statistical, practical, verdict) for a change whose drop (positive: worse) is ``worse_by``."""
    if low is None:
        statistical = "no interval"
    elif (high < 0) if higher_is_better else (low > 0):
        statistical = "worse"
    elif (low > 0) if higher_is_better else (high < 0):
        statistical = "better"
    else:
        statistical = "within noise"
    practical = "worse" if worse_by > tolerance else "better" if -worse_by > tolerance else "within tolerance"
    if statistical == practical == "worse":
        return statistical, practical, "regressed"
    if statistical == practical == "better":
        return statistical, practical, "improved"
    return statistical, practical, "unchanged ~" if practical != "within tolerance" else "unchanged"


def quality(baseline: pd.DataFrame, current: pd.DataFrame, tolerances: dict[str, float]) -> pd.DataFrame:
    """One row per (model, objective, task) on either side: the primary metric's change and its verdict."""
    rows = []
    cells = sorted(set(map(tuple, baseline[CELL].to_numpy())) | set(map(tuple, current[CELL].to_numpy())))
    for cell in cells:
        sides = [df[(df["model"] == cell[0]) & (df["objective"] == cell[1]) & (df["task"] == cell[2])]
                 for df in (baseline, current)]
        base = {**dict(zip(CELL, cell)), "metric": None, "baseline": None, "current": None, "difference": None,
                "ci_low": None, "ci_high": None, "pairing": None, "tolerance": None, "statistical": None,
                "practical": None}
        if not len(sides[0]) or not len(sides[1]):
            rows.append({**base, "verdict": "only in baseline" if len(sides[0]) else "only in current"})
            continue
        spec = primary_metric(cell[2], pd.concat(sides))
        column = f"metrics.{spec.name}"
        broken = _diverged(sides[1][column]) if column in sides[1] else "NaN"
        if broken:
            rows.append({**base, "metric": spec.name, "verdict": f"diverged ({broken})"})
            continue
        before, after = (by_seed(side.dropna(subset=[column]), column) for side in sides)
        diff, low, high, how = _difference(after, before)
        tolerance = tolerances.get(cell[2], TOLERANCE_SHARE * spec.max_value)
        worse_by = -diff if spec.higher_is_better else diff
        statistical, practical, verdict = _verdict(worse_by, low, high, spec.higher_is_better, tolerance)
        rows.append({**base, "metric": spec.name, "baseline": sum(before.values()) / len(before),
                     "current": sum(after.values()) / len(after), "difference": diff, "ci_low": low, "ci_high": high,
                     "pairing": how, "tolerance": tolerance, "statistical": statistical, "practical": practical,
                     "verdict": verdict})
    return pd.DataFrame(rows)


def _jobs(df: pd.DataFrame) -> pd.DataFrame:
    """One row per pretraining job that trained: its FLOPs and MFU."""
    needed = ["pretrain.flops", "pretrain.mfu", "pretrain.peak_source", "environment.precision"]
    trained = df[pd.to_numeric(df.get("pretrain.steps", 0), errors="coerce").fillna(0) > 0]
    present = [c for c in needed if c in trained]
    return trained.groupby(["model", "objective", "pretrain_seed"])[present].first().reset_index()


def cost(baseline: pd.DataFrame, current: pd.DataFrame, mfu_drop: float) -> pd.DataFrame:
    """One row per pretrained (model, objective): FLOPs equal per job, and MFU's change with its verdict."""
    jobs = [_jobs(baseline), _jobs(current)]
    rows = []
    entries = sorted(set(map(tuple, jobs[0][["model", "objective"]].to_numpy()))
                     & set(map(tuple, jobs[1][["model", "objective"]].to_numpy())))
    for model, objective in entries:
        own = [j[(j["model"] == model) & (j["objective"] == objective)].set_index("pretrain_seed") for j in jobs]
        shared = own[0].index.intersection(own[1].index)
        flops_changed = [int(s) for s in shared
                         if not math.isclose(own[0].loc[s, "pretrain.flops"], own[1].loc[s, "pretrain.flops"],
                                             rel_tol=FLOPS_RTOL)]
        row = {"model": model, "objective": objective, "flops_changed_seeds": flops_changed,
               "baseline_mfu": None, "current_mfu": None, "mfu_ratio": None, "mfu_ci_low": None, "mfu_ci_high": None}
        mfu = [o["pretrain.mfu"].dropna().astype(float).tolist() if "pretrain.mfu" in o else [] for o in own]
        verdict = "FLOPs changed" if flops_changed else "unchanged"
        precisions = [sorted(set(o["environment.precision"].dropna())) if "environment.precision" in o else []
                      for o in own]
        if precisions[0] != precisions[1]:  # MFU is against that precision's own peak: not one yardstick
            rows.append({**row, "verdict": verdict if flops_changed else
                         f"speed not compared: precision {'/'.join(precisions[0])} against {'/'.join(precisions[1])}"})
            continue
        sources = [sorted(set(o["pretrain.peak_source"].dropna())) if "pretrain.peak_source" in o else [] for o in own]
        if sources[0] != sources[1]:  # a datasheet peak against a measured one: two yardsticks
            rows.append({**row, "verdict": verdict if flops_changed else
                         f"speed not compared: MFU over a {'/'.join(sources[0]) or 'unknown'} peak against a "
                         f"{'/'.join(sources[1]) or 'unknown'} one"})
            continue
        if all(mfu):
            b, c = (sum(m) / len(m) for m in mfu)
            row.update(baseline_mfu=b, current_mfu=c, mfu_ratio=c / b if b else None)
            welch = welch_difference(mfu[1], mfu[0])
            if welch is not None:
                row.update(mfu_ci_low=welch[1], mfu_ci_high=welch[2])
                if not flops_changed and c < (1 - mfu_drop) * b and welch[2] < 0:
                    verdict = "slower"
        elif not flops_changed:
            verdict = "no MFU recorded"
        rows.append({**row, "verdict": verdict})
    return pd.DataFrame(rows)


@dataclass
class Gate:
    """The gate's findings: ``regressed`` is what a CI job acts on."""

    quality: pd.DataFrame
    cost: pd.DataFrame
    differences: list[str]  # incomparable fields combined on request

    @property
    def regressions(self) -> pd.DataFrame:
        """Cells that regressed, and cells whose current runs diverged (a metric that is NaN or infinite)."""
        verdicts = self.quality["verdict"].astype(str)
        return self.quality[(verdicts == "regressed") | verdicts.str.startswith("diverged")]

    @property
    def cost_regressions(self) -> pd.DataFrame:
        if not len(self.cost):
            return self.cost
        return self.cost[self.cost["verdict"].isin(["slower", "FLOPs changed"])]

    @property
    def regressed(self) -> bool:
        return bool(len(self.regressions) or len(self.cost_regressions))

    def status(self) -> str:
        if not self.regressed:
            return "PASS: nothing regressed"
        named = [f"{r.objective} on {r.task} {r.verdict}" if r.verdict.startswith("diverged") else
                 f"{r.objective} on {r.task} ({r.metric})" for r in self.regressions.itertuples()]
        named += [f"{r.objective} pretraining ({r.verdict})" for r in self.cost_regressions.itertuples()]
        return "FAIL: regressed: " + "; ".join(named)

    def lines(self) -> list[str]:
        """The terminal table: every quality row, then every cost row, then the status."""
        out = [f"{'model/objective/task':<48} {'metric':<9} {'baseline':>9} {'current':>9} "
               f"{'difference [95% CI]':>28} {'tol':>6}  verdict"]
        for r in self.quality.itertuples():
            name = f"{r.model}/{r.objective}/{r.task}"
            if pd.isna(r.metric) or pd.isna(r.difference):
                out.append(f"{name:<48} {'':<9} {'':>9} {'':>9} {'':>28} {'':>6}  {r.verdict}")
                continue
            ci = "no interval" if pd.isna(r.ci_low) else f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
            out.append(f"{name:<48} {r.metric:<9} {r.baseline:>9.3f} {r.current:>9.3f} "
                       f"{f'{r.difference:+.3f} {ci}':>28} {r.tolerance:>6.3g}  {r.verdict}")
        for r in self.cost.itertuples():
            ratio = "n/a" if pd.isna(r.mfu_ratio) else f"{r.mfu_ratio:.2f}x"
            out.append(f"{r.model}/{r.objective} pretraining: MFU {ratio} of the baseline's; {r.verdict}")
        return out + [self.status()]

    def markdown(self) -> str:
        """The same, as Markdown for a pull-request comment or $GITHUB_STEP_SUMMARY."""
        def esc(value) -> str:
            return str(value).replace("|", "\\|")
        lines = [f"### objbench check: {esc(self.status())}", "",
                 "| model | objective | task | metric | baseline | current | difference [95% CI] | tolerance | "
                 "statistical | practical | verdict |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in self.quality.itertuples():
            if pd.isna(r.metric) or pd.isna(r.difference):
                lines.append(f"| {esc(r.model)} | {esc(r.objective)} | {esc(r.task)} | | | | | | | | {r.verdict} |")
                continue
            ci = "no interval" if pd.isna(r.ci_low) else f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
            verdict = f"**{r.verdict}**" if r.verdict == "regressed" else r.verdict
            lines.append(f"| {esc(r.model)} | {esc(r.objective)} | {esc(r.task)} | {r.metric} | {r.baseline:.3f} | "
                         f"{r.current:.3f} | {r.difference:+.3f} {ci} | {r.tolerance:.3g} | {r.statistical} | "
                         f"{r.practical} | {verdict} |")
        if len(self.cost):
            lines += ["", "| model | objective | MFU baseline | MFU current | ratio | verdict |",
                      "|---|---|---|---|---|---|"]
            for r in self.cost.itertuples():
                mfu = [("n/a" if pd.isna(v) else f"{v:.3f}") for v in (r.baseline_mfu, r.current_mfu)]
                ratio = "n/a" if pd.isna(r.mfu_ratio) else f"{r.mfu_ratio:.2f}x"
                lines.append(f"| {esc(r.model)} | {esc(r.objective)} | {mfu[0]} | {mfu[1]} | {ratio} | {r.verdict} |")
        if self.differences:
            lines += ["", "Compared although incomparable (--allow-incomparable): " + esc("; ".join(self.differences))]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        return {"regressed": self.regressed, "status": self.status(), "incomparable_fields": self.differences,
                "quality": self.quality.to_dict(orient="records"), "cost": self.cost.to_dict(orient="records")}


def check_records(baseline: list[dict], current: list[dict], tolerances: dict[str, float] | None = None,
                  mfu_drop: float | None = None, allow_incomparable: bool = False) -> Gate:
    """The gate on two record sets of one suite. Tolerances default to the current records' ``check`` config."""
    usable_baseline(baseline)
    usable_baseline(current, "the current side", finite=False)
    baseline, current = by_model_and_size(baseline), by_model_and_size(current)
    differences = check_comparable(baseline + current, allow_incomparable)
    check = (current[0].get("config") or {}).get("check") or {} if current else {}
    tolerances = dict(check.get("tolerance") or {}) if tolerances is None else tolerances
    mfu_drop = float(check.get("mfu_drop", MFU_DROP)) if mfu_drop is None else mfu_drop
    before, after = _frame(baseline), _frame(current)
    return Gate(quality(before, after, tolerances), cost(before, after, mfu_drop), differences)
