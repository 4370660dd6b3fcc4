"""The GPU check's CPU-safe parts: the datasheet peak table, the MFU arithmetic, and the whole
script's code path on a CPU (the tiny preset, a few steps)."""

from __future__ import annotations

import pytest
import torch

from benchmark import gpu_check, measure
from benchmark.measure import GPU_BF16_PEAKS, datasheet_bf16_peak, mfu, mfu_peak


@pytest.mark.parametrize("name, peak", [
    ("NVIDIA H100 80GB HBM3", 989e12),  # the SXM part
    ("NVIDIA H100 PCIe", 756e12),  # found before the SXM row
    ("NVIDIA H100 NVL", 835e12),
    ("NVIDIA H200", 989e12),
    ("NVIDIA A100-SXM4-80GB", 312e12),
    ("NVIDIA A100-PCIE-40GB", 312e12),
    ("NVIDIA A10", 125e12),  # not the A100's row, nor the A100's the A10's
    ("NVIDIA L4", 121e12),
    ("NVIDIA L40S", 362e12),
    ("AMD Instinct MI300X", 1307e12),
    ("NVIDIA A10G", None),  # not listed: the check measures a matmul instead
    ("Tesla T4", None),
])
def test_the_peak_table_finds_each_gpu_by_name(name, peak):
    assert datasheet_bf16_peak(name) == peak


def test_every_peak_is_a_dense_tensor_core_figure():
    for pattern, peak in GPU_BF16_PEAKS:
        assert 100e12 <= peak <= 2.5e15, pattern  # TFLOP/s-scale, not a sparse (2x) or fp32 figure


def test_mfu_is_model_flops_over_the_peak():
    assert mfu(156e12, 312e12) == pytest.approx(0.5)  # half an A100
    assert mfu(None, 312e12) is None and mfu(1e12, 0) is None


def test_one_mfu_peak_named_by_its_source(monkeypatch):
    """A listed GPU in bf16 divides by its datasheet; a CPU, an unlisted GPU or fp32 by a matmul timed now."""
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H100 80GB HBM3")
    assert mfu_peak(torch.device("cuda"), "bf16") == (989e12, "datasheet")
    monkeypatch.setattr(measure, "matmul_peak", lambda device, precision, **_: 5e13)
    assert mfu_peak(torch.device("cuda"), "fp32") == (5e13, "measured")
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    assert mfu_peak(torch.device("cuda"), "bf16") == (5e13, "measured")
    assert mfu_peak(torch.device("cpu"), "bf16") == (5e13, "measured")


def test_the_check_runs_its_whole_path_on_a_cpu(capsys):
    assert gpu_check.main(["--device", "cpu", "--presets", "tiny", "--steps", "3", "--batch-size", "4",
                           "--seq-len", "32"]) == 0
    out = capsys.readouterr().out
    [line] = [row for row in out.splitlines() if row.strip().startswith("tiny:")]
    assert "tokens/s" in line and "MFU" in line and "process_peak_rss" in line
    assert "(measured peak)" in line  # a CPU has no datasheet row
    assert "workers: no GPU visible" in out
    assert "ddp: fewer than 2 GPUs visible" in out


@pytest.mark.slow
def test_the_ddp_case_runs_on_two_cpu_processes(capsys):
    """The DDP case's code path on gloo: one job over 2 processes, compared with one."""
    assert gpu_check.main(["--device", "cpu", "--presets", "tiny", "--steps", "6", "--batch-size", "4",
                           "--seq-len", "32", "--ddp", "2"]) == 0
    [line] = [row for row in capsys.readouterr().out.splitlines() if "DDP x2" in row]
    assert "tokens/s for the job" in line and "per device" in line and "of 2 x one device's" in line
