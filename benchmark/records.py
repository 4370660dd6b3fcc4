"""A run's record, built in one place for every kind of run (a pretrained network, an untrained control,
a classical baseline), and the record of a run that failed.

A record says what ran, on what, with which config, and what it measured; the report reads nothing
else. ``run`` is a planned ``Run`` or ``BaselineRun``: both name their model, objective, task, format
and seeds the same way.
"""

from __future__ import annotations

import datetime as _dt
import traceback

from benchmark import registry
from benchmark.config import Suite
from benchmark.formats.items import ITEMS_KEY
from benchmark.results import SCHEMA_VERSION


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def run_record(suite: Suite, data, run, *, metrics: dict, pretrain: dict, finetune: dict, evaluate: dict, env: dict,
               checkpoint: str | None, objective_params: dict, finetune_mode: str | None,
               baseline: bool = False) -> dict:
    """The record of one finished run; a baseline's marks itself ``baseline`` and says whether a seed moves it."""
    fmt = registry.formats.get(run.task_format)
    evaluate = dict(evaluate)
    items = evaluate.pop(ITEMS_KEY, None)
    kind = {"baseline": True,  # a classical system: no network, no pretraining; a row of its own on the board
            "deterministic": not registry.baselines.get(run.objective).seeded} if baseline else {}
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run.run_id,
        "suite": suite.name,
        "created_at": _now(),
        "model": run.model,
        "size": run.size,  # None for a baseline: it builds no network
        "objective": run.objective,
        **kind,
        "objective_params": objective_params,
        "task": run.task,
        "task_entry": suite.task_variants.get(run.task, {}).get("task", run.task),  # a variant's registered task
        "task_params": suite.task_settings(run.task).model_dump(mode="json"),
        "task_format": run.task_format,
        "primary_metric": fmt.primary_metric.to_dict(),  # the report ranks by this, reading no training code
        "companion_metric": fmt.companion_metric.to_dict(),  # a likelihood-based score beside it; never ranks
        "finetune_mode": finetune_mode,
        "pretrain_seed": run.pretrain_seed,
        "finetune_seed": run.finetune_seed,
        "checkpoint": checkpoint,
        "rung": run.fraction,  # share of the budget behind the checkpoint (None: untrained controls, baselines)
        # a published checkpoint read another corpus, and reads with its own tokenizer
        "corpus_id": None if run.published else data.corpus_id,
        "tokenizer_id": f"published:{run.published['path']}" if run.published else data.tokenizer_id,
        **({"published": run.published} if run.published else {}),  # its path and the source of its compute
        "metrics": metrics,
        "pretrain": pretrain,
        "finetune": finetune,
        "evaluate": evaluate,
        ITEMS_KEY: items,  # what the primary metric is made of, item by item: the test-set bootstrap's input
        "environment": env,
        "config": suite.model_dump(mode="json"),
    }


def baseline_costs(name: str, cost: dict) -> tuple[dict, dict, dict]:
    """A baseline's fitting as the (pretrain, finetune, evaluate) costs of a run: no steps, no FLOPs."""
    fitted = {"objective": name, "cache_hit": None, "steps": 0, "tokens": 0, "loss_bearing_tokens": 0, "flops": 0.0,
              "parameters": cost.get("parameters"), "wall_s": cost.get("fit_s"),
              "peak_memory_bytes": cost.get("peak_memory_bytes"), "peak_memory_kind": cost.get("peak_memory_kind"),
              "loss_curve": []}
    return fitted, {"steps": 0, "examples": 0, "wall_s": cost.get("fit_s")}, {**cost, "wall_s": cost.get("eval_s")}


def failure_record(run, phase: str, error: BaseException) -> dict:
    """What went wrong, with its traceback, where the report finds it; the run stays to do."""
    return {
        "run_id": run.run_id, "model": run.model, "objective": run.objective, "task": run.task,
        "pretrain_seed": run.pretrain_seed, "finetune_seed": run.finetune_seed, "phase": phase,
        "error": f"{type(error).__name__}: {error}",
        "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
        "created_at": _now(),
    }
