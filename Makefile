# The two set-up commands of the README: `make test` (the whole suite, what CI runs) and,
# later, `make demo`. Everything installs into virtual environments inside the checkout.
PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?=

.PHONY: install test test-fast lint clean demo bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# Unit and integration tests on DuckDB, PostgreSQL and Snowflake (fakesnow); ministack and
# fakesnow get venvs of their own (.venv-ministack, .venv-fakesnow) on first use.
test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Unit tests only: no dbt start-up, no ministack, a few seconds.
test-fast: install
	$(VENV)/bin/pytest -m "not integration" $(PYTEST_ARGS)

# The whole story on this machine in a minute or two (examples/demo/run_demo.py): ministack as the
# Lambda endpoint, the example function examples/handlers/crm_upsert.py, a DuckDB dbt project,
# two runs of its sync. Leaves its DuckDB file in $TMPDIR/dbt-lambda-sync-demo to explore.
demo: install
	$(VENV)/bin/python examples/demo/run_demo.py

# Performance benchmarks (bench/README.md): change capture, delivery, memory, limits, profiles.
# Writes bench/results.json and prints the table. Sizes: BENCH_* variables (bench/__main__.py).
bench: install
	$(VENV)/bin/pip install --quiet -e ".[dev,bench]"
	$(VENV)/bin/python -m bench

# Style, docstrings (ruff D), the import layers (lint-imports, contracts in pyproject.toml) and
# type hints (mypy on the package). .ci/run runs it too.
lint: install
	$(VENV)/bin/ruff check dbt_lambda_sync tests bench examples
	$(VENV)/bin/ruff format --check dbt_lambda_sync tests bench examples
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .venv-ministack .venv-fakesnow .pytest_cache
