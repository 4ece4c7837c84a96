# Two commands on a fresh machine: `make demo` (set up + main job) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export MLFLOW_DISABLE_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup system demo test lint typecheck pytest nbtest pysmoke bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,all]"
	touch $(STAMP)

## System packages: Debian's chromium for the end-to-end browser test (never `playwright install`).
system:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium (browser tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "warning: /usr/bin/chromium missing and cannot apt-get; the browser test will skip"; fi; \
	fi

setup: $(STAMP) system

## The main job: set up, then run the evaluation report over the default region set, offline.
demo: $(STAMP)
	UNDERFOOT_MODE=offline $(BIN)/underfoot-lab report

lint: $(STAMP)
	$(BIN)/ruff check underfoot_lab tests benchmarks
	$(BIN)/ruff format --check underfoot_lab tests benchmarks
	@# bandit warns about the "-- why" words after each nosec; only its findings matter here.
	set -o pipefail; $(BIN)/bandit -q -c pyproject.toml -r underfoot_lab 2>&1 | { grep -v WARNING || true; }

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system
	$(BIN)/python -m pytest -q -p no:cacheprovider

## The notebooks, executed by nbval on the current environment's kernel, in a throwaway home
## (seeded with a 20-trial sweep on `smoke`: sweeps.ipynb reads the latest logged sweep).
nbtest: $(STAMP)
	@tmp=$$(mktemp -d); env -u MLFLOW_TRACKING_URI UNDERFOOT_HOME=$$tmp UNDERFOOT_MODE=offline \
	  $(BIN)/underfoot-lab sweep --region-set smoke --trials 20 --no-write >/dev/null && \
	env -u MLFLOW_TRACKING_URI UNDERFOOT_HOME=$$tmp UNDERFOOT_MODE=offline \
	  $(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env notebooks/; \
	rc=$$?; rm -rf $$tmp; exit $$rc

## The other Pythons present (3.12, 3.13): core install in its own venv, CLI search, evaluate on
## smoke and the fast unit tests (.ci/python-smoke; an absent interpreter is skipped, noted).
pysmoke:
	.ci/python-smoke

## Everything CI checks: lint, types, the whole test suite and the notebooks on 3.11, the
## smoke test on every other Python present.
test: lint typecheck pytest nbtest pysmoke

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf .underfoot .pytest_cache .mypy_cache .ruff_cache .venv-py3.*
