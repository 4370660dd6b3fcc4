"""Run ``objbench`` and kill it with SIGKILL at a chosen point: ``python fault_runner.py PHASE N ARGS...``.

The process kills itself the N-th time it reaches PHASE, so a test can stop a run exactly where
a crash does the most harm (tests/test_faults.py). Nothing here is part of objbench: the points
are reached by wrapping its functions from outside, the way a debugger would.

PHASE is one of:
  corpus           while the corpus is packed into blocks (after the tokenizer is trained)
  data_save        while the tokenizer is saved to the cache (half its folder written)
  pretrain_step    inside a pretraining step, after the backward pass
  resume_save      while a resume state is written (the temporary file is whole, not yet renamed)
  checkpoint_save  while a checkpoint is saved (weights written, statistics and manifest not yet)
  finetune_step    inside a finetuning step
  record_write     while a run record is written (half of it in the temporary file)
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def main(phase: str, nth: int, argv: list[str]) -> int:
    import torch

    import benchmark.cli
    import benchmark.data.corpus
    import benchmark.files
    import benchmark.formats.training
    import benchmark.harness

    calls = {"n": 0}

    def reached() -> None:
        calls["n"] += 1
        if calls["n"] == nth:
            os.kill(os.getpid(), signal.SIGKILL)

    def wrap(owner, name, when=lambda *a, **k: True, before=True):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            if before and when(*args, **kwargs):
                reached()
            out = original(*args, **kwargs)
            if not before and when(*args, **kwargs):
                reached()
            return out
        setattr(owner, name, wrapper)

    if phase == "corpus":
        wrap(benchmark.data.corpus, "pack")
    elif phase == "data_save":
        original_publish = benchmark.files.publish_folder

        def die_inside(path, write):
            def write_then_die(folder):
                write(folder)
                if Path(path).parent.name == "tokenizers":
                    reached()
            return original_publish(path, write_then_die)
        benchmark.files.publish_folder = die_inside
    elif phase == "pretrain_step":
        wrap(torch.nn.utils, "clip_grad_norm_")
    elif phase == "resume_save":
        wrap(benchmark.files.os, "replace", lambda src, dst: str(dst).endswith(".resume.pt"))
    elif phase == "checkpoint_save":
        wrap(benchmark.files, "write_json", lambda path, data: Path(path).name == "pretrain.json")
    elif phase == "finetune_step":
        wrap(benchmark.formats.training, "autocast")
    elif phase == "record_write":
        original = benchmark.files.write_text

        def half_then_die(path, text):
            if Path(path).parent.name == "runs":
                calls["n"] += 1
                if calls["n"] == nth:
                    def write_half(tmp: Path) -> None:
                        with open(tmp, "w") as fh:
                            fh.write(text[:len(text) // 2])
                            fh.flush()
                        os.kill(os.getpid(), signal.SIGKILL)
                    return benchmark.files.publish(path, write_half)
            return original(path, text)
        benchmark.files.write_text = half_then_die
    else:
        raise SystemExit(f"unknown phase {phase!r}")
    return benchmark.cli.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3:]))
