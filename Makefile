# The two set-up commands of the README: `make test` (the whole suite, what CI runs) and,
# later, `make demo`. Everything installs into virtual environments inside the checkout.
PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?=

.PHONY: install test test-fast lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# Unit and integration tests on DuckDB and PostgreSQL; ministack gets a venv of its own
# (.venv-ministack) on first use.
test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Unit tests only: no dbt start-up, no ministack, a few seconds.
test-fast: install
	$(VENV)/bin/pytest -m "not integration" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check dbt_lambda_sync tests

clean:
	rm -rf $(VENV) .venv-ministack .pytest_cache
