# Two commands for a fresh machine: `make demo` and `make test`.
# Setup is idempotent: .venv/.installed is rebuilt only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PUMA_DEMO_SPEC ?= specs/runs/demo_publication.yaml
PUMA_DEMO_OUT ?= runs
PUMA_DEMO_PACKAGE ?= $(PUMA_DEMO_OUT)/package

.PHONY: setup demo test test-all lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "PUMA needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing PUMA with every extra (the first time compiles llama.cpp: about ten minutes)..."
	@CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/python -m pip install --quiet -e '.[embedded,energy,report,server,registry,sweep,dev]'
	@touch $(STAMP)

demo: setup
	@PUMA_DEMO_SPEC=$(PUMA_DEMO_SPEC) PUMA_DEMO_OUT=$(PUMA_DEMO_OUT) PUMA_DEMO_PACKAGE=$(PUMA_DEMO_PACKAGE) \
		PATH=$(abspath $(BIN)):$$PATH bash scripts/demo.sh

test: setup
	@bash scripts/ensure-test-services.sh
	@$(BIN)/python -m pytest

test-all: setup
	@bash scripts/ensure-test-services.sh
	@$(BIN)/python -m pytest -m ''

lint: setup
	@$(BIN)/ruff check src tests benchmarks scripts
	@$(BIN)/ruff format --check src tests benchmarks scripts
	@$(BIN)/mypy

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
