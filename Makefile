# Two commands do all the set-up: `make up` runs Attune, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: up test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps: reinstall only when pyproject.toml changes.
# An editable install leaves the sources uncompiled, and with PYTHONDONTWRITEBYTECODE set
# every process (and the workflow sandbox, for each workflow it loads) would compile them
# again: compile them once here. Stale bytecode is never used, Python checks each source.
SOURCES := attune api db workflows activities packs
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q $(SOURCES) > /dev/null
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m compileall -q $(SOURCES) > /dev/null
	touch $@ $(VENV)/.installed

up: $(VENV)/.installed
	exec $(BIN)/attune up

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .

# Measured numbers, not tests: bare Temporal against Attune end to end (N executions each).
N ?= 500
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.e2e $(N)

clean:
	rm -rf $(VENV) .attune .mypy_cache .pytest_cache .ruff_cache
