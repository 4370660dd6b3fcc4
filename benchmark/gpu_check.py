"""The GPU check: what one GPU gives a pretraining run, in a few minutes (``make gpu-check``).

    python -m benchmark.gpu_check                      # small and base presets, the GPU at hand
    python -m benchmark.gpu_check --compile            # the same with torch.compile
    python -m benchmark.gpu_check --device cpu --presets tiny --steps 3   # the same code path on a CPU
    python -m benchmark.gpu_check --ddp 2 --device cpu --presets tiny     # the DDP case on 2 CPU processes

For each preset it pretrains CLM for ``--steps`` steps on the embedded corpus in a scratch results
folder, through the harness's own ``pretrain``, and prints tokens/s, model FLOP/s, MFU and the
peak memory (the CUDA allocator's on a GPU). MFU is the run record's own (``measure.mfu_peak``):
over the GPU's dense bf16 peak from the datasheet table in ``benchmark/measure.py``, found by the
device's name, or over a matmul measured now on an unlisted device or a CPU; the line says which.
With two GPUs or more (or ``--ddp N``) it pretrains the first preset again as one job over N
devices (DDP, ``pretrain.parallel``, started by torchrun's agent) and prints the job's tokens/s
against N times one device's. It then checks that ``--workers`` puts one worker on every visible
GPU. The speed levers (fused AdamW, torch.compile, SDPA attention) are measured with and without in
``tests/benchmarks/test_gpu_levers.py``, which ``make gpu-check`` runs next.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch

from benchmark.config import validate_suite
from benchmark.measure import resolve_device, resolve_precision

# Per preset: (batch size, sequence length) large enough to keep a GPU busy, small enough for any
# 24 GB card at the base preset.
SHAPES = {"tiny": (32, 128), "small": (64, 256), "base": (32, 512)}


def check_suite(root: Path, preset: str, steps: int, batch_size: int, seq_len: int, device: str,
                compile: bool) -> dict:
    """A one-objective suite for timing pretraining: CLM, a budget in steps, stored under ``root``."""
    return {
        "name": f"gpu-check-{preset}", "models": ["llama"], "size": preset, "objectives": ["clm"],
        "tasks": ["synthetic_topic"], "device": device, "precision": "auto",
        "corpus": {"documents": 3000}, "tokenizer": {"vocab_size": 2048},
        "pretrain": {"budget_unit": "steps", "budget": steps, "batch_size": batch_size, "seq_len": seq_len,
                     "seeds": [0], "resume_every_steps": 0, "compile": compile},
        "results_dir": str(root / "results"), "reports_dir": str(root / "reports"),
    }


def pretraining_speed(raw: dict) -> dict:
    """Pretrain the suite's one job through the harness's own recipe; its recorded statistics."""
    from benchmark.inputs import prepared_data, quiet_libraries
    from benchmark.plan import make_plan
    from benchmark.pretraining import pretrain

    quiet_libraries()
    suite = validate_suite(raw)
    device = resolve_device(suite.device)
    precision = resolve_precision(suite.precision, device)
    data = prepared_data(suite)
    [job] = [j for j in make_plan(suite, data).jobs if j.checkpoint is not None]
    return {**pretrain(job, suite, data, device, precision, progress=True), "precision": precision}


def parallel_speed(raw: dict, devices: int) -> dict:
    """The suite's one job pretrained over ``devices`` processes (DDP), launched as ``objbench run`` does."""
    from benchmark.harness import pretrain_here
    from benchmark.inputs import prepared_data, quiet_libraries
    from benchmark.launchers import launcher_for
    from benchmark.plan import make_plan

    quiet_libraries()
    suite = validate_suite({**raw, "pretrain": {**raw["pretrain"], "parallel": {"devices": devices}}})
    [job] = [j for j in make_plan(suite, prepared_data(suite)).jobs if j.checkpoint is not None]
    return launcher_for(suite).launch(pretrain_here, suite, job, True)


def ddp_line(preset: str, devices: int, one: dict, spread: dict) -> str:
    """The job over ``devices`` against one device: its tokens/s as a share of ``devices`` x one device's."""
    scaling = spread["tokens_per_s"] / (devices * one["tokens_per_s"])
    return (f"{preset:>5} DDP x{devices}: {spread['tokens_per_s']:,.0f} tokens/s for the job "
            f"({spread['tokens_per_s_per_device']:,.0f} per device), {scaling:.0%} of {devices} x one device's; "
            f"MFU {spread['mfu']:.1%}, peak memory {spread['peak_memory_bytes'] / 2**30:.2f} GiB per device")


def speed_line(preset: str, stats: dict) -> str:
    """One preset's figures, as printed."""
    memory = stats["peak_memory_bytes"]
    return (f"{preset:>5}: {stats['parameters'] / 1e6:6.1f}M params, {stats['precision']}, "
            f"{stats['tokens_per_s']:,.0f} tokens/s, {stats['flops_per_s'] / 1e12:.2f} model TFLOP/s, "
            f"MFU {stats['mfu']:.1%} of {stats['peak_flops_per_s'] / 1e12:.1f} TFLOP/s ({stats['peak_source']} peak), "
            f"peak memory {memory / 2**30:.2f} GiB ({stats['peak_memory_kind']})")


def _device_of_worker(suite, job, on_run=None) -> str | None:
    """Which GPU a worker was given (its CUDA_VISIBLE_DEVICES), after making sure it can use it."""
    if torch.cuda.is_available():
        torch.ones(1, device="cuda").sum().item()
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def workers_line() -> str:
    """Whether ``--workers`` with one worker per visible GPU gives every GPU a worker."""
    from benchmark.executors import LocalExecutor, _visible_gpus

    gpus = _visible_gpus()
    if not gpus:
        return "workers: no GPU visible, nothing to check"
    executor = LocalExecutor(len(gpus), gpus=gpus)
    used = set(executor.map(_device_of_worker, None, list(range(2 * len(gpus)))))
    verdict = "every visible GPU has a worker" if used == set(gpus) else "NOT every visible GPU has a worker"
    return f"workers: --workers {len(gpus)} used GPUs {sorted(used)} of visible {gpus}: {verdict}"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmark.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["small", "base"], choices=sorted(SHAPES))
    parser.add_argument("--steps", type=int, default=60, help="pretraining steps per preset (default 60)")
    parser.add_argument("--batch-size", type=int, help="blocks per step (default: per preset, see SHAPES)")
    parser.add_argument("--seq-len", type=int, help="block length (default: per preset)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--compile", action="store_true", help="torch.compile the network (pretrain.compile)")
    parser.add_argument("--ddp", type=int, metavar="N",
                        help="then one job over N devices, DDP (default: 2 where 2 GPUs are visible, else none)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {name}; torch {torch.__version__}, CUDA {torch.version.cuda}")
    ddp = args.ddp if args.ddp is not None else (2 if torch.cuda.device_count() >= 2 else 0)
    with tempfile.TemporaryDirectory(prefix="objbench-gpu-check-") as scratch:
        first = None
        for preset in args.presets:
            batch_size, seq_len = SHAPES[preset]
            raw = check_suite(Path(scratch), preset, args.steps, args.batch_size or batch_size,
                              args.seq_len or seq_len, args.device, args.compile)
            if device.type == "cuda":
                torch.cuda.empty_cache()
            stats = pretraining_speed(raw)
            first = first or (preset, raw, stats)
            print(speed_line(preset, stats), flush=True)
        if ddp > 1:
            preset, raw, one = first
            elsewhere = {**raw, "results_dir": str(Path(scratch) / "ddp" / "results")}  # not the one-device cache
            print(ddp_line(preset, ddp, one, parallel_speed(elsewhere, ddp)), flush=True)
        else:
            print("ddp: fewer than 2 GPUs visible; --ddp N checks one job over N devices")
    print(workers_line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
