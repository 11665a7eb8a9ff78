# Thin wrappers; everything installs into a local virtualenv (.venv) on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint check bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make run: harvest the bundled demo source into the embedded store, then serve SPARQL
run: install
	$(BIN)/meahub demo

## make test: lint, type-check and the whole test suite
test: install check
	$(BIN)/python -m pytest

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## make bench: harvest throughput over a local mock, against pyoxigraph bulk_load of the same quads
bench: install
	$(BIN)/python -m bench.harvest_bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
