# The README's two commands. Each creates .venv when absent and (re)installs the project only when
# pyproject.toml changed since the last install (the stamp file), then runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := results/demo-data
PROFILE ?= quick
# curve points (not the headline trainings) train this many at a time, sharing the cores (clsdet bench --parallel);
# 1 here: on 2 cores two at a time was slower than one after the other (measured: the classifier points took 2-4x
# longer each); it is meant for machines with more cores than one job uses (not measured on such a machine yet)
PARALLEL ?= 1
# the demo (400 images: make bench within 10 minutes on 2 cores) with small objects, clutter and 10% mis-sorted
# folders (CVAT truth exact): a real trade-off between folder sorting and boxes instead of two models at the
# ceiling; DEMO_FLAGS= gives the easy standard demo (600 images)
DEMO_FLAGS ?= --images 400 --object-scale 0.4 --distractors 3 --folder-noise 0.1
PERF_JSON ?= results/perf/perf.json
PERF_ARGS ?=

# TORCH=cpu installs CPU-only torch/torchvision wheels from PyTorch's own index before the project (a .venv several
# GB smaller than with the default wheels, which carry CUDA). The project's `torch>=` ranges admit these builds, so
# pip keeps them. Default (unset): torch from PyPI, as before.
TORCH ?=
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
ifeq ($(TORCH),cpu)
STAMP := $(VENV)/.install-stamp-cpu
else ifeq ($(TORCH),)
STAMP := $(VENV)/.install-stamp
else
$(error TORCH=$(TORCH) is not an option: use TORCH=cpu for CPU-only wheels, or leave TORCH unset for the default)
endif

.PHONY: bench test test-e2e test-all test-scale install lint perf clean-runs

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# TORCH=cpu refuses a venv that already holds a CUDA torch: pip would keep it (same version), and its CUDA libraries
$(STAMP): pyproject.toml | $(BIN)/python
ifeq ($(TORCH),cpu)
	@if $(BIN)/python -c "import sys, torch; sys.exit(torch.version.cuda is None)" 2>/dev/null; then \
		echo "TORCH=cpu: $(VENV) already holds a CUDA build of torch; remove it (rm -rf $(VENV)) and run again"; \
		exit 1; fi
endif
	$(BIN)/python -m pip install --quiet --upgrade pip
ifeq ($(TORCH),cpu)
	$(BIN)/python -m pip install --quiet --index-url $(TORCH_CPU_INDEX) $(TORCH_PINS)
endif
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/clsdet demo-data $(DEMO) --force $(DEMO_FLAGS)
	$(BIN)/clsdet bench $(DEMO)/clsdet.yaml --profile $(PROFILE) --device cpu --parallel $(PARALLEL)

# two tiers: `make test` the fast one (units and small integrations, a few minutes on 2 cores), `make test-e2e` the
# tests marked e2e (real trainings end to end, the browser, server subprocesses); `make test-all` both in one run.
# .ci/run runs make test, then make test-e2e: every test, each once
FAST = not slow and not gpu and not scale and not e2e
test: $(STAMP)
	$(BIN)/python -m pytest -m "$(FAST)" --durations=15

test-e2e: $(STAMP)
	$(BIN)/python -m pytest -m "e2e and not slow and not gpu and not scale" --durations=15

test-all: $(STAMP)
	$(BIN)/python -m pytest --durations=30

# the Ray executor and a shared MLflow server for real (README "Team and cluster"): a local Ray instance, an
# `mlflow server` subprocess and two tiny benchmarks, minutes on 2 cores, so outside `make test`; adds the ray extra
test-scale: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,ray]"
	$(BIN)/python -m pytest -m scale tests/harness/test_scale.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# pytest-benchmark suite of the forward passes (see benchmarks/perf); JSON lands in results/perf/ (ignored by git,
# so absent in a fresh clone: pytest-benchmark does not create it). PERF_ARGS passes more pytest options.
perf: $(STAMP)
	mkdir -p $(dir $(PERF_JSON))
	$(BIN)/python -m pytest benchmarks/perf --benchmark-enable --benchmark-json $(PERF_JSON) -p no:randomly $(PERF_ARGS)

clean-runs:
	rm -rf results/runs results/demo-data
