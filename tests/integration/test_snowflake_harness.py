"""The Snowflake test harness: real dbt-snowflake against fakesnow (tests/support/fakesnow.py).

Two halves. First, each fakesnow gap the launcher works around is shown on stock fakesnow and
shown gone with the workaround, through the Snowflake connector (fast: no dbt start-up), so a
workaround that stops being needed, or stops working, is noticed. Then one small dbt project
(seed, view, table, incremental merge, a failing statement) goes through the real adapter in two
dbt invocations, without the package: this proves the emulator and the adapter, the package's
Snowflake leg is every ``project`` scenario (tests/integration/conftest.py WAREHOUSES).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.dbt_project import PROFILES_YML, DbtProject
from tests.support.fakesnow import DATABASE, FakesnowServer

if os.environ.get("CI") != "true":
    # dbt-snowflake (and with it the connector) comes with the dev extra; an older venv lacks it
    pytest.importorskip("dbt.adapters.snowflake", reason="dbt-snowflake is not installed")
import snowflake.connector  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.snowflake]


def connect(server: FakesnowServer, *, schema: str, timeout: int = 30) -> Any:
    """A plain Snowflake connection to ``server`` (fakesnow creates the database at login)."""
    connection = server.connect(schema=schema, timeout=timeout)
    connection.cursor().execute(f"create schema if not exists {DATABASE}.{schema}")
    return connection


def query(connection: Any, sql: str) -> list[tuple]:
    return list(connection.cursor().execute(sql).fetchall())


# --- each workaround, with and without -----------------------------------------------------------


def merge_insert_values(connection: Any) -> Any:
    query(connection, "create or replace table T (ID int, V varchar)")
    query(connection, "insert into T values (1, 'a')")
    query(
        connection,
        "merge into T as DBT_INTERNAL_DEST using (select 1 as ID, 'b' as V union all"
        " select 2, 'c') as DBT_INTERNAL_SOURCE on (DBT_INTERNAL_SOURCE.ID = DBT_INTERNAL_DEST.ID)"
        " when matched then update set V = DBT_INTERNAL_SOURCE.V"
        " when not matched then insert (ID, V) values (ID, V)",
    )
    return query(connection, "select ID, V from T order by ID")


def qualified_temporary_table(connection: Any) -> Any:
    query(connection, f"create or replace temporary table {DATABASE}.GAPS.TMP as select 1 as A")
    # dbt reads, describes and merges from it by its qualified name too
    return query(connection, f"select A from {DATABASE}.GAPS.TMP")


def create_in_transaction(connection: Any) -> Any:
    query(connection, "begin")
    query(connection, f"create or replace transient table {DATABASE}.GAPS.TX as select 1 as A")
    query(connection, "commit")
    return query(connection, f"select A from {DATABASE}.GAPS.TX")


def varchar_table_in_transaction(connection: Any) -> Any:
    query(connection, "begin")
    query(connection, f"create or replace table {DATABASE}.GAPS.TV (ID int, NAME varchar)")
    query(connection, f"insert into {DATABASE}.GAPS.TV values (1, 'a')")
    query(connection, "commit")
    return query(connection, f"select ID, NAME from {DATABASE}.GAPS.TV")


def null_timestamp(connection: Any) -> Any:
    return query(connection, "select null::timestamp_ntz as T, '2024-01-02'::timestamp_ntz as U")


def array_column_type(connection: Any) -> Any:
    query(connection, "create or replace table TA as select array_construct(1.5, 2.5) as L")
    return [(name, kind) for name, kind, *_ in query(connection, "describe table TA")]


def quoted_varchar_name(connection: Any) -> Any:
    query(connection, """create or replace table TQ ("it's id" varchar(10))""")
    query(connection, "insert into TQ values ('a')")
    return query(connection, """select "it's id" from TQ""")


def dollar_word_in_literal(connection: Any) -> Any:
    # a Lambda version in a string, not a session variable
    return query(connection, "select 'fn:$LATEST' as Q")


def unrunnable_select(connection: Any) -> Any:
    # fakesnow's hash() is DuckDB's unsigned one; above 2^63 its result cannot be sent back
    return query(connection, "select hash(9) as H")


GAPS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "merge insert values are ambiguous": (merge_insert_values, [(1, "b"), (2, "c")]),
    "qualified temporary table": (qualified_temporary_table, [(1,)]),
    "table comment written in a transaction": (create_in_transaction, [(1,)]),
    "varchar column length written in a transaction": (
        varchar_table_in_transaction,
        [(1, "a")],
    ),
    "null timestamp read as 1970-01-01": (null_timestamp, [(None, datetime(2024, 1, 2))]),
    "$word in a string literal read as a variable": (dollar_word_in_literal, [("fn:$LATEST",)]),
    "array column described without a type": (array_column_type, [("L", "ARRAY")]),
    "quote in a varchar column's name": (quoted_varchar_name, [("a",)]),
}


@pytest.fixture(scope="module")
def stock_server() -> Iterator[FakesnowServer]:
    with FakesnowServer(workarounds=False) as server:
        yield server


@pytest.fixture(scope="module")
def server() -> Iterator[FakesnowServer]:
    with FakesnowServer() as server:
        yield server


@pytest.mark.parametrize("gap", list(GAPS))
def test_stock_fakesnow_has_the_gap(stock_server: FakesnowServer, gap: str) -> None:
    statements, right = GAPS[gap]
    connection = connect(stock_server, schema="GAPS", timeout=3)
    try:
        try:
            answer = statements(connection)
        except snowflake.connector.errors.Error:
            return  # the gap: fakesnow refuses what Snowflake runs
        assert answer != right, "stock fakesnow has no such gap any more: drop the workaround"
    finally:
        connection.close()


@pytest.mark.parametrize("gap", list(GAPS))
def test_the_workaround_closes_the_gap(server: FakesnowServer, gap: str) -> None:
    statements, right = GAPS[gap]
    connection = connect(server, schema="GAPS")
    try:
        assert statements(connection) == right
    finally:
        connection.close()


def test_stock_fakesnow_answers_unrunnable_sql_with_http_500(stock_server: FakesnowServer) -> None:
    connection = connect(stock_server, schema="GAPS", timeout=3)
    try:
        # the connector retries HTTP 500 until its network timeout: minutes by default
        with pytest.raises(snowflake.connector.errors.InternalServerError, match="500"):
            unrunnable_select(connection)
    finally:
        connection.close()


def test_unrunnable_sql_is_a_query_error_at_once(server: FakesnowServer) -> None:
    connection = connect(server, schema="GAPS", timeout=60)
    try:
        started = time.monotonic()
        with pytest.raises(snowflake.connector.errors.ProgrammingError, match="cannot run"):
            unrunnable_select(connection)
        assert time.monotonic() - started < 10
    finally:
        connection.close()


# --- one dbt project through the real adapter ----------------------------------------------------

DBT_PROJECT_YML = """\
name: snowflake_harness
version: "0.1.0"
config-version: 2
profile: dbt_lambda_sync_integration_tests
seeds:
  snowflake_harness:
    people:
      +column_types: {id: integer, name: varchar, updated_at: timestamp_ntz}
"""
PEOPLE_CSV = "id,name,updated_at\n1,Ada,2024-01-02 03:04:05\n2,Grace,\n"
MODELS = {
    "people_view": "{{ config(materialized='view') }}\nselect * from {{ ref('people') }}\n",
    # the hooks write inside begin ... commit, as the package's checkpoints will
    "people_table": """\
{{ config(materialized='table', post_hook=[
    "begin",
    "create or replace transient table {{ this.database }}.{{ this.schema }}.people_copy
     as select * from {{ this }}",
    "commit",
]) }}
select id, name, updated_at from {{ ref('people_view') }}
""",
    # tmp_relation_type='table': dbt creates `temporary table DB.SCHEMA.x__dbt_tmp`, then merges
    "people_incremental": """\
{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge',
          tmp_relation_type='table') }}
select id, name || '{{ var("suffix", "") }}' as name, updated_at from {{ ref('people') }}
{% if var('round', 1) == 2 %}
union all select 3, 'Linus', null::timestamp_ntz
{% endif %}
""",
    # a statement fakesnow cannot answer (see unrunnable_select): must fail, not hang
    "unrunnable": "{{ config(materialized='table', pre_hook='select hash(9) as h') }}\n"
    "select 1 as id\n",
}


@pytest.fixture(scope="module")
def dbt_project(
    server: FakesnowServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DbtProject]:
    root: Path = tmp_path_factory.mktemp("snowflake") / "project"
    project = DbtProject(
        root,
        "snowflake",
        files={"dbt_project.yml": DBT_PROJECT_YML, "profiles.yml": PROFILES_YML.read_text()},
        fakesnow=server,
    )
    # Without the package: the harness alone, so that a failure here is the emulator's or dbt's.
    (root / "packages.yml").unlink()
    (root / "dbt_packages" / "dbt_lambda_sync").unlink()
    (root / "seeds").mkdir()
    (root / "seeds" / "people.csv").write_text(PEOPLE_CSV)
    for name, sql in MODELS.items():
        (root / "models" / f"{name}.sql").write_text(sql)
    yield project


@pytest.fixture(scope="module")
def built(dbt_project: DbtProject) -> dict[str, Any]:
    """Build everything, then merge a second round and run the unrunnable model (2 dbt calls)."""
    dbt_project.run_command("dbt", ["build", "--exclude", "unrunnable"], timeout=300)
    started = time.monotonic()
    second = dbt_project.run_command(
        "dbt",
        [
            "run",
            "--select",
            "people_incremental",
            "unrunnable",
            "--vars",
            "{round: 2, suffix: '!'}",
        ],
        expect=1,
        timeout=300,
    )
    return {"second": second, "seconds": time.monotonic() - started}


@pytest.fixture(scope="module")
def warehouse(server: FakesnowServer, dbt_project: DbtProject) -> Iterator[Any]:
    connection = connect(server, schema=dbt_project.schema.upper())
    yield connection
    connection.close()


def test_seed_view_and_table_hold_the_rows(built: dict[str, Any], warehouse: Any) -> None:
    seeded = [(1, "Ada", datetime(2024, 1, 2, 3, 4, 5)), (2, "Grace", None)]
    for relation in ("people", "people_view", "people_table", "people_copy"):
        assert query(warehouse, f"select id, name, updated_at from {relation} order by id") == (
            seeded
        ), relation
    # fakesnow lists views in information_schema.views only (Snowflake: in .tables too)
    views = query(
        warehouse,
        "select table_name from information_schema.views where table_schema = current_schema()",
    )
    assert views == [("PEOPLE_VIEW",)]


def test_incremental_merge_updates_and_inserts(built: dict[str, Any], warehouse: Any) -> None:
    assert query(warehouse, "select id, name, updated_at from people_incremental order by id") == [
        (1, "Ada!", datetime(2024, 1, 2, 3, 4, 5)),
        (2, "Grace!", None),
        (3, "Linus", None),
    ]


def test_a_statement_fakesnow_cannot_run_fails_the_model_fast(built: dict[str, Any]) -> None:
    output = built["second"].stdout
    assert "cannot run this statement" in output
    assert "PASS=1" in output and "ERROR=1" in output
    assert built["seconds"] < 120, "dbt waited on retries: is the HTTP 500 workaround gone?"
