"""Devices, precision, clocks, peak memory and the environment a run happened in."""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.metadata
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import torch

from benchmark.errors import ObjbenchError

PACKAGES = ("torch", "transformers", "datasets", "tokenizers", "pandas", "scikit-learn", "sacrebleu", "numpy")


def resolve_device(requested: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for CUDA without it is an error, not a fallback."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ObjbenchError("device=cuda was asked for but torch sees no CUDA device (use device=auto or cpu)")
    return torch.device(requested)


def bf16_supported(device: torch.device) -> bool:
    """bf16 where the hardware computes it natively: CUDA with bf16, or a CPU with AVX512-BF16/AMX."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    cpu = getattr(torch, "cpu", None)
    return bool(cpu and (cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported()))


def resolve_precision(requested: str, device: torch.device) -> str:
    if requested == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    if requested == "bf16" and not bf16_supported(device):
        raise ObjbenchError(f"precision=bf16 was asked for but {device.type} here has no native bf16")
    return requested


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast (weights and optimizer stay fp32), or nothing."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PeakMemory:
    """Peak memory over a block: the CUDA allocator's peak on GPU, the process's peak RSS on CPU.

    On CPU the resident set is sampled every 20 ms by a thread, so that each phase gets its own
    peak (the kernel's ``ru_maxrss`` only ever grows over the whole process).
    """

    def __init__(self, device: torch.device, interval: float = 0.02):
        self.device, self.interval = device, interval
        self.peak_bytes: int | None = None
        self.start_bytes: int | None = None  # CPU: the resident set when the block began
        self._stop = threading.Event()

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            self._process = psutil.Process()
            self.peak_bytes = self.start_bytes = self._process.memory_info().rss
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_bytes = max(self.peak_bytes or 0, self._process.memory_info().rss)

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.peak_bytes = int(torch.cuda.max_memory_allocated(self.device))
        else:
            self._stop.set()
            self._thread.join()
            self.peak_bytes = max(self.peak_bytes or 0, self._process.memory_info().rss)

    @property
    def kind(self) -> str:
        return "cuda_allocator_peak" if self.device.type == "cuda" else "process_peak_rss"


@dataclass
class Throughput:
    """Counts work and time, excluding the first ``warmup`` steps from the rates (as timm's benchmark does)."""

    device: torch.device
    warmup: int = 2
    steps: int = 0
    tokens: int = 0
    samples: int = 0
    _start: float = field(default_factory=time.perf_counter)
    _steady_start: float | None = None
    _steady_tokens: int = 0
    _steady_samples: int = 0

    def step(self, tokens: int, samples: int) -> None:
        self.steps += 1
        self.tokens += tokens
        self.samples += samples
        if self.steps == self.warmup:
            synchronize(self.device)
            self._steady_start = time.perf_counter()
        elif self.steps > self.warmup:
            self._steady_tokens += tokens
            self._steady_samples += samples

    def exclude(self, seconds: float) -> None:
        """Leave ``seconds`` of other work (a ladder's decay branch) out of the rates."""
        if self._steady_start is not None:
            self._steady_start += seconds

    def summary(self) -> dict:
        synchronize(self.device)
        now = time.perf_counter()
        wall = now - self._start
        if self._steady_start is not None and self._steady_tokens:
            span, tokens, samples = now - self._steady_start, self._steady_tokens, self._steady_samples
        else:  # too few steps to exclude a warm-up
            span, tokens, samples = wall, self.tokens, self.samples
        return {
            "wall_s": wall,
            "steps": self.steps,
            "tokens": self.tokens,
            "samples": self.samples,
            "tokens_per_s": tokens / span if span > 0 else None,
            "samples_per_s": samples / span if span > 0 else None,
        }


def matmul_peak(device: torch.device, precision: str, size: int = 512, seconds: float = 0.25) -> float:
    """FLOP/s of square matmuls on ``device`` at ``precision``, measured now, in this process.

    A pretraining run divides its own FLOP/s by this to give its model FLOPs utilisation (MFU),
    a speed that can be compared across machines, where tokens/s cannot: a faster machine raises
    both, a slower objective lowers only the first. ``size`` 512 fits in a CPU's cache hierarchy
    as the tiny presets' own matmuls do.
    """
    own = torch.Generator(device).manual_seed(0)  # the global generator, which seeds a run, stays untouched
    a = torch.randn(size, size, device=device, generator=own)
    b = torch.randn(size, size, device=device, generator=own)
    with torch.no_grad(), autocast(device, precision):
        for _ in range(3):  # warm-up: kernel selection, thread pool start
            a @ b
        synchronize(device)
        start, count = time.perf_counter(), 0
        while True:
            a @ b
            count += 1
            if count % 4 == 0:
                synchronize(device)
                elapsed = time.perf_counter() - start
                if elapsed >= seconds:
                    return 2 * size**3 * count / elapsed


# Dense (no structured sparsity) bf16 tensor-core peaks, FLOP/s, from the vendors' datasheets,
# matched in order against torch.cuda.get_device_name (so "H100 PCIe" is found before "H100").
# MFU against a peak of another chip says nothing; an unlisted device falls back to a measured
# matmul peak, which reads higher than the datasheet's MFU would.
GPU_BF16_PEAKS: tuple[tuple[str, float], ...] = (
    (r"\bB200\b", 2250e12),  # NVIDIA B200 (HGX), per GPU
    (r"\bH100\b.*\bPCIe\b", 756e12),  # NVIDIA H100 PCIe
    (r"\bH100\b.*\bNVL\b", 835e12),  # NVIDIA H100 NVL, per GPU
    (r"\b(GH200|H200|H100|H800)\b", 989e12),  # H100 SXM, H200, GH200's Hopper, H800
    (r"\bA100\b", 312e12),  # SXM and PCIe alike
    (r"\bA800\b", 312e12),
    (r"\bL40S\b", 362e12),
    (r"\bL4\b", 121e12),
    (r"\bA10\b", 125e12),
    (r"\bMI300X\b", 1307e12),  # AMD Instinct MI300X
)


def datasheet_bf16_peak(device_name: str) -> float | None:
    """The dense bf16 peak FLOP/s of a GPU named ``device_name``, or None when it is not listed."""
    import re

    for pattern, peak in GPU_BF16_PEAKS:
        if re.search(pattern, device_name):
            return peak
    return None


def mfu_peak(device: torch.device, precision: str) -> tuple[float, str]:
    """The denominator of MFU and where it comes from: "datasheet" (a listed GPU computing in bf16: its
    dense bf16 peak) or "measured" (square matmuls at the run's precision timed now, in this process: a
    CPU, an unlisted device, or a GPU in fp32). Every MFU the project prints or records uses it."""
    if device.type == "cuda" and precision == "bf16":
        listed = datasheet_bf16_peak(torch.cuda.get_device_name(device))
        if listed is not None:
            return listed, "datasheet"
    if device.type == "cuda":
        return matmul_peak(device, precision, size=8192, seconds=1.0), "measured"
    return matmul_peak(device, precision), "measured"


def mfu(flops_per_s: float | None, peak_flops_per_s: float) -> float | None:
    """Model FLOPs utilisation: the model's FLOP/s (FLOPs counted as 6N-style model FLOPs) over the peak."""
    if not flops_per_s or peak_flops_per_s <= 0:
        return None
    return flops_per_s / peak_flops_per_s


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def cpu_features() -> dict:
    """What decides a CPU's arithmetic: the model, the instruction set torch's kernels dispatch to
    (e.g. AVX512, AVX2) and native bf16 (AVX512-BF16, AMX). Two machines that differ here can give
    different weights from the same seed, as another pretraining seed would."""
    cpu = getattr(torch, "cpu", None)
    return {"model": _cpu_model(), "kernels": torch.backends.cpu.get_cpu_capability(),
            "avx512_bf16": bool(cpu and cpu._is_avx512_bf16_supported()),
            "amx": bool(cpu and cpu._is_amx_tile_supported())}


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment(device: torch.device, precision: str) -> dict:
    """Package versions, hardware and code version: enough to tell whether two runs are comparable."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "packages": versions,
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_features": cpu_features(),
        "cpu_count": psutil.cpu_count(logical=True),
        "torch_threads": torch.get_num_threads(),
        "device": device.type,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "cuda": torch.version.cuda if device.type == "cuda" else None,
        "precision": precision,
        "git_commit": git_commit(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
