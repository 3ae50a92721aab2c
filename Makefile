# The README's two commands. Each creates .venv when absent and (re)installs the project only when
# pyproject.toml changed since the last install (the stamp file), then runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp
DEMO := results/demo-data
PROFILE ?= quick

.PHONY: bench test test-scale install lint perf clean-runs

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

bench: $(STAMP)
	$(BIN)/clsdet demo-data $(DEMO) --force
	$(BIN)/clsdet bench $(DEMO)/clsdet.yaml --profile $(PROFILE) --device cpu

test: $(STAMP)
	$(BIN)/python -m pytest

# the Ray executor and a shared MLflow server for real (README "Team and cluster"): a local Ray instance, an
# `mlflow server` subprocess and two tiny benchmarks, minutes on 2 cores, so outside `make test`; adds the ray extra
test-scale: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,ray]"
	$(BIN)/python -m pytest -m scale tests/benchmarks/test_scale.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# pytest-benchmark suite of the forward passes (see benchmarks/perf); JSON lands in results/perf/
perf: $(STAMP)
	$(BIN)/python -m pytest benchmarks/perf --benchmark-enable --benchmark-json results/perf/perf.json -p no:randomly

clean-runs:
	rm -rf results/runs results/demo-data
