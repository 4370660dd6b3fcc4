# Two commands do everything on a fresh clone: `make quickstart` and `make test`.
#   make quickstart  run suites/quickstart.yaml
#   make test        every test, the slow end-to-end ones and the benchmarks too (each benchmark runs
#                    once, untimed, as a plain test with assertions: pyproject's --benchmark-disable)
#   make test-fast   the quick loop while editing: everything but the tests marked slow
#   make gpu-check   on a GPU: tokens/s, MFU and peak memory at the small and base presets, one job
#                    over 2 GPUs (DDP) where there are 2, whether --workers uses every GPU, and the
#                    GPU speed levers timed with and without
#   make bench       the benchmarks timed (pytest-benchmark), failing when a timing goal is missed,
#                    e.g. batch preparation at 5% or more of a training step
# Each creates .venv on first use, with the test tools, the Ray and Slurm extras and the trackers (so their tests
# run). TORCH picks the torch build to install when the venv has none:
#   make quickstart TORCH="torch --index-url https://download.pytorch.org/whl/cu128"
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0

.PHONY: install quickstart test test-fast bench gpu-check clean

$(BIN)/objbench: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install $(TORCH)
	$(BIN)/python -m pip install -e ".[test,ray,slurm,tracking,lm-eval]"
	touch $@

install: $(BIN)/objbench

quickstart: install
	$(BIN)/objbench run suites/quickstart.yaml

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

bench: install
	$(BIN)/python -m pytest tests/benchmarks --benchmark-only --benchmark-enable

gpu-check: install
	$(BIN)/python -m benchmark.gpu_check
	$(BIN)/python -m pytest tests/benchmarks/test_gpu_levers.py --benchmark-only --benchmark-enable

clean:
	rm -rf results/cache results/*/ reports/*/ .pytest_cache .benchmarks
