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
	$(BIN)/python -m pip install -q -e '.[dev,sandbox]'
	@touch $(STAMP)

install: $(STAMP)

$(DUCKDB1_STAMP): | $(STAMP)
	rm -rf $(DUCKDB1_DIR)
	$(BIN)/python -m pip install -q --target $(DUCKDB1_DIR) 'duckdb==$(DUCKDB1_VERSION)' 'duckdb-cli==$(DUCKDB1_VERSION)'
	@touch $(DUCKDB1_STAMP)

analyst-clients: $(DUCKDB1_STAMP)

# Two workers by default (TEST_WORKERS=0 runs serially); a file's tests stay on one worker, so its module-scoped
# fixtures (a dbt build, a sandbox run) are made once.
TEST_WORKERS ?= 2
test: $(STAMP) $(DUCKDB1_STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

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
	$(BIN)/sqlfluff lint dbt_project

bench: $(STAMP)
	$(BIN)/python bench/sandbox_throughput.py

# dbt's documentation site (every model, column, test and the lineage graph) on http://127.0.0.1:$(DOCS_PORT).
# The catalog is read from a scratch copy of the analysts' copy (make demo first), never from the live file.
DOCS_WAREHOUSE ?= var/demo/warehouse/convo_intel_analyst.duckdb
DOCS_PORT      ?= 8580
docs: $(STAMP)
	@test -f $(DOCS_WAREHOUSE) || { echo "no warehouse at $(DOCS_WAREHOUSE): run make demo first (or set DOCS_WAREHOUSE)"; exit 2; }
	@mkdir -p dbt_project/target/docs
	cp $(DOCS_WAREHOUSE) dbt_project/target/docs/catalog_source.duckdb
	cd dbt_project && CONVO_INTEL_WAREHOUSE=$(abspath dbt_project/target/docs/catalog_source.duckdb) \
		$(abspath $(BIN))/dbt docs generate --target-path target/docs
	cd dbt_project && $(abspath $(BIN))/dbt docs serve --target-path target/docs --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

clean:
	rm -rf var .dagster_home dbt_project/target dbt_project/logs
