"""Realistic schema-v1 run records with known metric values, written into a temporary result store.

Records have every field ``benchmark.harness.record`` writes; the tests choose the metric values,
so every number in a report can be checked against a hand computation.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

from benchmark.results import SCHEMA_VERSION, write_record

CONFIG = {
    "name": "fixture", "models": ["llama"], "size": "tiny", "objectives": ["none", "clm", "mlm"],
    "tasks": ["synthetic_topic"], "exclude": [], "device": "cpu", "precision": "fp32",
    "corpus": {"source": "synthetic", "documents": 3000, "seed": 0},
    "tokenizer": {"algorithm": "bpe", "vocab_size": 2048},
    "pretrain": {"budget_unit": "tokens", "budget": 400000.0, "seq_len": 128, "batch_size": 32, "lr": 0.002,
                 "warmup_steps": 10, "weight_decay": 0.01, "grad_clip": 1.0, "seeds": [0]},
    "finetune": {"epochs": 4, "batch_size": 16, "lr": 0.001, "weight_decay": 0.01, "warmup_ratio": 0.1,
                 "max_length": 64, "seeds": [0, 1, 2]},
    "objective_params": {}, "task_params": {}, "results_dir": "results", "reports_dir": "reports",
}
FLOPS_PER_TOKEN = {"clm": 6.0e6, "mlm": 6.0e6, "span_corruption": 4.5e6}
LOSS_START = {"clm": 7.5, "mlm": 6.8}


def pretrain_stats(objective: str, seed: int) -> dict:
    if objective == "none":
        return {"objective": "none", "cache_hit": None, "steps": 0, "tokens": 0, "loss_bearing_tokens": 0,
                "flops": 0.0, "parameters": None, "loss_curve": []}
    steps, tokens_per_step = 98, 32 * 128
    per_token = FLOPS_PER_TOKEN.get(objective, 5e6)
    curve = [{"step": s, "tokens": s * tokens_per_step, "flops": s * tokens_per_step * per_token,
              "loss": LOSS_START.get(objective, 7.0) - 4.0 * s / steps + 0.05 * seed} for s in range(10, steps + 1, 10)]
    return {
        "objective": objective, "kind": "encoder" if objective == "mlm" else "causal_decoder",
        "cache_hit": False, "steps": steps, "tokens": steps * tokens_per_step, "samples": steps * 32,
        "loss_bearing_tokens": int(steps * tokens_per_step * (0.15 if objective == "mlm" else 1.0)),
        "flops": steps * tokens_per_step * per_token, "flops_per_token": per_token, "parameters": 1_234_567,
        "tokens_per_s": 21000.0 + 500 * seed + (3000 if objective == "clm" else 0), "samples_per_s": 160.0,
        "peak_memory_bytes": (900 + 10 * seed) * 2**20, "peak_memory_kind": "process_peak_rss",
        "wall_s": 20.0, "final_loss": curve[-1]["loss"], "loss_curve": curve, "epochs_over_data": 1.0,
    }


def make_record(objective: str, task: str, pretrain_seed: int, finetune_seed: int, value: float, *,
                suite: str = "fixture", model: str = "llama", task_format: str = "classification",
                corpus_id: str = "corpus-abc123", tokenizer_id: str = "tok-def456", config: dict | None = None,
                created_at: str = "2026-01-02T03:04:05+00:00") -> dict:
    """One record as the harness writes it, with ``value`` as the primary metric (f1_macro; accuracy zero-shot)."""
    metrics = {"accuracy": min(1.0, value + 0.02), "precision_macro": value, "recall_macro": value, "f1_macro": value}
    finetune = {"wall_s": 3.0, "steps": 40, "tokens": 40960, "samples": 640, "tokens_per_s": 9000.0,
                "samples_per_s": 200.0 + finetune_seed, "peak_memory_bytes": 700 * 2**20, "examples": 160,
                "epochs": 4, "parameters": 1_240_000}
    if task_format == "zero_shot":  # minimal pairs: nothing is finetuned, accuracy is the metric
        metrics, finetune = {"accuracy": value}, {"steps": 0, "examples": 0, "parameters": 1_240_000}
    elif task_format == "translation":  # chrF and BLEU on sacrebleu's 0..100 scale
        metrics = {"chrf": value, "bleu": value / 4}
    run_id = hashlib.sha256(repr((suite, model, objective, task, pretrain_seed, finetune_seed, corpus_id,
                                  tokenizer_id, repr(config))).encode()).hexdigest()[:16]
    return {
        "schema_version": SCHEMA_VERSION, "run_id": run_id, "suite": suite, "created_at": created_at,
        "model": model, "size": "tiny", "objective": objective, "task": task, "task_format": task_format,
        "pretrain_seed": pretrain_seed, "finetune_seed": finetune_seed,
        "checkpoint": None if objective == "none" else f"ckpt-{objective}-{pretrain_seed}",
        "corpus_id": corpus_id, "tokenizer_id": tokenizer_id,
        "metrics": metrics,
        "pretrain": pretrain_stats(objective, pretrain_seed),
        "finetune": finetune,
        "evaluate": {"wall_s": 0.5, "steps": 2, "tokens": 8192, "samples": 128, "tokens_per_s": 30000.0,
                     "samples_per_s": 400.0, "peak_memory_bytes": 650 * 2**20, "examples": 128},
        "environment": {"python": "3.11.9", "packages": {"torch": "2.13.0", "transformers": "5.1.0",
                                                         "pandas": "3.1.1", "numpy": "2.4.6"},
                        "platform": "Linux-6.1-x86_64", "cpu": "x86_64", "cpu_count": 2, "torch_threads": 2,
                        "device": "cpu", "device_name": None, "cuda": None, "precision": "fp32",
                        "git_commit": "0123456789abcdef0123456789abcdef01234567",
                        "date": created_at},
        "config": copy.deepcopy(config or CONFIG),
    }


def write_runs(results_dir: Path, values: dict[str, dict[str, dict[tuple[int, int], float]]],
               **record_options) -> list[Path]:
    """``values[objective][task][(pretrain_seed, finetune_seed)] = f1_macro``: one record each."""
    paths = []
    for objective, tasks in values.items():
        for task, by_seed in tasks.items():
            for (pretrain_seed, finetune_seed), value in by_seed.items():
                record = make_record(objective, task, pretrain_seed, finetune_seed, value, **record_options)
                paths.append(write_record(results_dir, record))
    return paths


def seeds(*values: float, pretrain_seed: int = 0) -> dict[tuple[int, int], float]:
    """Values for finetuning seeds 0, 1, 2, ... under one pretraining seed."""
    return {(pretrain_seed, i): v for i, v in enumerate(values)}


# Three objectives, two tasks, 1 pretraining seed x 3 finetuning seeds: mlm clearly beats none,
# clm ties mlm on topic (paired differences -0.01, +0.03, -0.02) and loses clearly on the other task.
STANDARD = {
    "none": {"synthetic_topic": seeds(0.40, 0.42, 0.44), "sentiment": seeds(0.50, 0.51, 0.52)},
    "clm": {"synthetic_topic": seeds(0.79, 0.84, 0.78), "sentiment": seeds(0.60, 0.61, 0.62)},
    "mlm": {"synthetic_topic": seeds(0.80, 0.81, 0.80), "sentiment": seeds(0.70, 0.71, 0.72)},
}
