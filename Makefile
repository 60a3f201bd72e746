# Two commands do all the set-up: `make up` runs Attune, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: up test lint bench bench-retention chaos fuzz histories clean

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

# Record again the pack workflow histories that `make test` replays (tests/histories/): after
# a deliberate change to what pack workflows record, never to make a failing replay pass.
histories: $(VENV)/.installed-dev
	ATTUNE_RECORD_HISTORIES=1 $(BIN)/python -m pytest -q \
		tests/workflows/test_pack_workflows.py tests/workflows/test_pack_workflow_waits.py

# Measured numbers, not tests: bare Temporal against Attune end to end (N executions each).
N ?= 500
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.e2e $(N)

# Measured numbers, not tests: GET /executions at a million rows, and while the retention
# purge deletes a million (RETENTION_ROWS old executions).
RETENTION_ROWS ?= 1000000
bench-retention: $(VENV)/.installed-dev
	$(BIN)/python -m bench.retention $(RETENTION_ROWS)

# Faults under load, not tests: each scenario kills or stops one part of a real `attune up`
# with CHAOS_N executions in flight and counts what was lost, stuck or run twice;
# CHAOS_SCENARIOS (space-separated names) runs only those.
CHAOS_N ?= 200
CHAOS_SCENARIOS ?=
chaos: $(VENV)/.installed-dev
	$(BIN)/python -m chaos --executions $(CHAOS_N) $(foreach s,$(CHAOS_SCENARIOS),--scenario $(s))

# Schemathesis over every API operation with a bigger budget than `make test` (25 requests
# an operation): FUZZ_EXAMPLES per operation, FUZZ_SEED for other requests,
# FUZZ_KEEP_GOING=1 to list every kind of wrong answer rather than stop at the first.
FUZZ_EXAMPLES ?= 500
FUZZ_SEED ?= 20240601
FUZZ_KEEP_GOING ?= 0
fuzz: $(VENV)/.installed-dev
	ATTUNE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) ATTUNE_FUZZ_SEED=$(FUZZ_SEED) \
		ATTUNE_FUZZ_KEEP_GOING=$(FUZZ_KEEP_GOING) \
		$(BIN)/python -m pytest tests/api/test_openapi_fuzz.py --timeout=0

clean:
	rm -rf $(VENV) .attune .mypy_cache .pytest_cache .ruff_cache .hypothesis
