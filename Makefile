# Bootstraps .venv on first use; every target works from a fresh clone, offline except for PyPI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# No telemetry, ever: dbt and Dagster both phone home by default.
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
export DAGSTER_DISABLE_TELEMETRY := 1

# DuckDB 1.x clients (Python module + CLI) in a folder of their own, beside (not in) the venv's duckdb 2.x: the
# analyst copy must open in them (tests/integration/test_analyst_copy_clients.py) and `make sql` uses the CLI.
DUCKDB1_VERSION := 1.5.6
DUCKDB1_DIR     := $(VENV)/duckdb1
DUCKDB1_STAMP   := $(DUCKDB1_DIR)/.installed-$(DUCKDB1_VERSION)

.PHONY: install test demo dev lint bench clean sql docs analyst-clients

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

$(DUCKDB1_STAMP): $(STAMP)
	rm -rf $(DUCKDB1_DIR)
	$(BIN)/python -m pip install -q --target $(DUCKDB1_DIR) 'duckdb==$(DUCKDB1_VERSION)' 'duckdb-cli==$(DUCKDB1_VERSION)'
	@touch $(DUCKDB1_STAMP)

analyst-clients: $(DUCKDB1_STAMP)

test: $(STAMP) $(DUCKDB1_STAMP)
	$(BIN)/python -m pytest

# A read-only SQL shell (the DuckDB 1.x CLI) on the analysts' copy: make demo first, or set CONVO_INTEL_ANALYST_WAREHOUSE.
sql: $(STAMP) $(DUCKDB1_STAMP)
	$(BIN)/convo-intel sql

demo: $(STAMP)
	$(BIN)/convo-intel demo

dev: $(STAMP)
	$(BIN)/convo-intel dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/sandbox_throughput.py

clean:
	rm -rf var .dagster_home dbt_project/target dbt_project/logs
