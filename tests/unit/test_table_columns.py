"""One shape for each table: the DDL macro, the sources file and the Python that reads and writes
the tables declare the same columns (state.RunCounters is the source of the run counters).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from dbt_lambda_sync.definition_schema import schema
from dbt_lambda_sync.history import RunRecord
from dbt_lambda_sync.reporting import RunSummary
from dbt_lambda_sync.state import INVOCATION_COLUMNS, RUN_COLUMNS, RUN_COUNTERS
from dbt_lambda_sync.vocabulary import OPERATIONS

ROOT = Path(__file__).resolve().parents[2]
_CREATE = re.compile(
    r"create table if not exists \" ~ rel\('(?P<table>\w+)'\) ~ \" \((?P<body>.*?)\)\"\)", re.S
)
_COLUMN = re.compile(r"^\s*(\w+) \" ~ ", re.M)


def ddl_columns() -> dict[str, list[str]]:
    """Every table the package's macros create, with its columns in DDL order."""
    tables: dict[str, list[str]] = {}
    for path in sorted((ROOT / "macros").rglob("*.sql")):
        for match in _CREATE.finditer(path.read_text("utf-8")):
            assert match["table"] not in tables, f"{match['table']} is created twice"
            tables[match["table"]] = _COLUMN.findall(match["body"])
    return tables


def source_columns() -> dict[str, list[str]]:
    """The tables and columns models/lambda_sync_sources.yml documents."""
    doc = yaml.safe_load((ROOT / "models" / "lambda_sync_sources.yml").read_text("utf-8"))
    (source,) = doc["sources"]
    return {t["name"]: [c["name"] for c in t.get("columns", [])] for t in source["tables"]}


def test_the_ddl_is_found() -> None:
    tables = ddl_columns()
    assert {"lambda_sync_runs", "lambda_sync_invocations", "lambda_sync_errors"} <= set(tables)
    assert all(columns for columns in tables.values())


def test_runs_table_has_the_run_columns_in_order() -> None:
    assert ddl_columns()["lambda_sync_runs"] == list(RUN_COLUMNS)


def test_dry_run_column_is_gone() -> None:
    # Always false and never read: new tables lack it, older tables keep it (inserts name columns).
    assert "dry_run" not in ddl_columns()["lambda_sync_runs"]
    assert "dry_run" not in RUN_COLUMNS


def test_run_record_fields_are_the_run_columns() -> None:
    assert tuple(f.name for f in dataclasses.fields(RunRecord)) == RUN_COLUMNS


def test_run_summary_carries_every_counter() -> None:
    names = [f.name for f in dataclasses.fields(RunSummary)]
    assert [n for n in names if n in RUN_COUNTERS] == list(RUN_COUNTERS)


def test_invocations_table_has_the_invocation_columns_in_order() -> None:
    assert ddl_columns()["lambda_sync_invocations"] == list(INVOCATION_COLUMNS)


@pytest.mark.parametrize("table", sorted(source_columns()))
def test_sources_file_documents_every_column_of_its_tables(table: str) -> None:
    ddl = ddl_columns()
    assert table in ddl, f"{table} is documented but no macro creates it"
    assert source_columns()[table] == ddl[table]


def test_sources_file_documents_the_history_tables() -> None:
    assert {"lambda_sync_runs", "lambda_sync_invocations", "lambda_sync_errors"} <= set(
        source_columns()
    )


def test_schema_triggers_are_the_operations() -> None:
    assert tuple(schema()["properties"]["triggers"]["items"]["enum"]) == OPERATIONS
