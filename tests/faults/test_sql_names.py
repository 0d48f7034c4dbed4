"""Names that reach SQL (issue 10, items 1 and 2): a sync name, a primary_key and columns entries
made of quotes, semicolons, comments, '?', '%', backslashes and non-ASCII letters; a
lambda_sync_schema with '?' and '%'; model columns named like every alias the capture SQL uses.

Every name is either refused before any SQL is built from it (the post-hook skips the definition
with a log line, the build succeeds) or quoted, so that it is only ever a name.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.conftest import SyncProject
from tests.support.scripted_endpoint import RecordedRequest, Reply, ScriptedEndpoint

pytestmark = pytest.mark.integration

# the table the injection would create: a name of its own per test session (a run against code
# without the fix leaves one behind)
PWNED = f"pwned_{uuid.uuid4().hex[:8]}"
INJECTION = f"x', 'm', false, 0; create table {PWNED} as select 42 as answer; commit; --"


@pytest.fixture
def endpoint() -> Iterator[ScriptedEndpoint]:
    with ScriptedEndpoint() as scripted:
        yield scripted


def sql_string(text: str, warehouse: str) -> str:
    """A string literal; on Snowflake a backslash escapes the next character: doubled there."""
    if warehouse == "snowflake":
        text = text.replace("\\", "\\\\")
    return "'" + text.replace("'", "''") + "'"


def sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def model_sql(columns: list[str], rows: list[list[str]], warehouse: str) -> str:
    """A model of text columns with these (hostile) names and values, on both warehouses."""
    return "\nunion all\n".join(
        "select "
        + ", ".join(
            f"cast({sql_string(value, warehouse)} as varchar(200)) as {sql_name(column)}"
            for column, value in zip(columns, row, strict=True)
        )
        for row in rows
    )


def received(endpoint: ScriptedEndpoint, sync: str) -> list[tuple[str, dict]]:
    return [
        (body["operation"], row)
        for body in endpoint.json_bodies()
        if body["sync"]["name"] == sync
        for row in body["rows"]
    ]


def tables_named(project: SyncProject, name: str) -> list[tuple]:
    return project.query(
        "select table_schema, table_name from information_schema.tables"
        f" where lower(table_name) = '{name}'"
    )


def test_injection_in_a_sync_name_is_skipped_and_the_build_succeeds(
    project: SyncProject, endpoint: ScriptedEndpoint
) -> None:
    project.model(
        "customers",
        "select 1 as customer_id, 'a' as email union all select 2, 'b'",
        [
            project.sync_config(name=INJECTION, endpoint_url=endpoint.endpoint_url),
            project.sync_config(name="crm_ok", endpoint_url=endpoint.endpoint_url),
            # a valid name with a primary_key that holds a NUL: skipped too (PostgreSQL text
            # cannot hold one)
            project.sync_config(
                name="nul_key", primary_key="customer\x00id", endpoint_url=endpoint.endpoint_url
            ),
        ],
    )
    build = project.dbt("build")
    log = build.stdout + build.stderr
    assert "skipped a lambda_sync definition" in log, log[-3000:]
    assert "field 'name' must be" in log and "field 'primary_key' must be" in log
    assert tables_named(project, PWNED) == []
    # the valid sync beside them was captured; nothing of the skipped ones was written
    states = project.query("select sync_name from {schema}.lambda_sync_state")
    assert states == [("crm_ok",)]
    plans = project.query("select sync_name, count(*) from {schema}.lambda_sync_plans group by 1")
    assert plans == [("crm_ok", 2)]
    # the runner refuses the invalid definitions before anything is sent (exit 2)
    refused = project.cli("run", expect=2)
    assert "name" in refused.stderr
    assert tables_named(project, PWNED) == []
    assert endpoint.request_count == 0


KEY = "it's id"
COLUMNS = [KEY, 'say "hi"', "semi;colon -- x", "what? 100%", "back\\slash", "ünïcødé ✓"]
SENT = ['say "hi"', "what? 100%", "back\\slash", "ünïcødé ✓"]  # the first sync's `columns`
KEYS = ["k'1", 'k"2', "k;3 -- c", "k?4 %s", "k\\5", "kü6"]
REJECT = "k?4 %s"


def hostile_rows(version: int) -> list[list[str]]:
    """In version 2, row 2 changes in every column but the two keys."""
    return [
        [key]
        + [f"{column}|{key}|v{version if i == 2 else 1}" for column in COLUMNS[1:-1]]
        + [f"{COLUMNS[-1]}|{key}"]
        for i, key in enumerate(KEYS)
    ]


def test_hostile_column_names_keys_and_schema_end_to_end(
    project: SyncProject, endpoint: ScriptedEndpoint, request: pytest.FixtureRequest
) -> None:
    # a schema name with '?', '%' and a non-ASCII letter: bound-parameter statements on
    # PostgreSQL must not take its '?' for a placeholder
    schema = f"{project.schema}_ls?%ü"
    project.env["DBT_LAMBDA_SYNC_SCHEMA"] = schema
    if project.warehouse in ("postgres", "snowflake"):
        request.addfinalizer(
            lambda: project.sql(f"drop schema if exists {sql_name(schema)} cascade")
        )

    def reject(request: RecordedRequest) -> Reply:
        event = request.json()
        column = event["primary_key_column"]
        return Reply.ok(
            {
                "errors": [
                    {"primary_key_value": row[column], "reason": "no ' \" ; -- ? % \\ ü"}
                    for row in event["rows"]
                    if row[column] == REJECT
                ]
            }
        )

    config = {"endpoint_url": endpoint.endpoint_url, "function": "scripted-fn", "batch_size": 2}

    def declare(version: int) -> None:
        project.model(
            "hostile_names",
            model_sql(COLUMNS, hostile_rows(version), project.warehouse),
            [
                project.sync_config(name="chosen", primary_key=KEY, columns=SENT, **config),
                project.sync_config(name="every_column", primary_key="ünïcødé ✓", **config),
            ],
        )

    declare(1)
    project.build()
    endpoint.responder = reject
    project.cli("validate")
    plan = project.plan()
    assert (plan["chosen"]["added"], plan["every_column"]["added"]) == (6, 6), plan
    runs = {r["sync"]: r for r in project.run(expect=1)["runs"]}
    assert (runs["chosen"]["delivered_rows"], runs["chosen"]["rejected_rows"]) == (5, 1), runs
    assert runs["every_column"]["delivered_rows"] == 6, runs

    chosen = received(endpoint, "chosen")
    assert {row[KEY] for _, row in chosen} == set(KEYS)
    # key first, then `columns`; Snowflake orders an object's keys by name (docs/contract.md),
    # fakesnow keeps them as built: on Snowflake the order is left out
    order = sorted if project.warehouse == "snowflake" else list
    assert all(order(row) == order([KEY, *SENT]) for _, row in chosen)
    every = received(endpoint, "every_column")
    assert all(order(row) == order(["ünïcødé ✓", *COLUMNS[:5]]) for _, row in every)
    expected = {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in hostile_rows(1)}
    assert all(row == {c: expected[row[KEY]][c] for c in row} for _, row in chosen + every)

    errors = project.cli("errors", "chosen", "--output", "json")
    assert [e["primary_key_value"] for e in json.loads(errors.stdout)["errors"]] == [REJECT]

    # a change to one row, and the rejected row accepted now
    endpoint.reset()
    endpoint.responder = None
    declare(2)
    project.build()
    project.run()
    changed = {(op, row[KEY]) for op, row in received(endpoint, "chosen")}
    assert changed == {("changed", "k;3 -- c"), ("added", REJECT)}, changed
    assert {(op, row[KEY]) for op, row in received(endpoint, "every_column")} == {
        ("changed", "k;3 -- c")
    }
    status = json.loads(project.cli("status", "--output", "json").stdout)
    assert status, status
    assert json.loads(project.cli("errors", "chosen", "--output", "json").stdout)["errors"] == []
    project.cli("reset", "chosen")
    assert tables_named(project, PWNED) == []


# Every alias the capture SQL (compute_plan, row_json_select, full_refresh_preview,
# apply_confirmed, carry_unsettled) gives a subquery or a column, as a model column.
ALIASES = [
    "dls_row",
    "dls_row_1",
    "sync_row",
    "primary_key",
    "row_json",
    "row_hash",
    "key_rows",
    "new_hash",
    "old_hash",
    "old_json",
    "new_json",
    "seq",
    "operation",
    "previous_json",
    "op_order",
    "model_keys",
    "delivered",
    "candidate",
    "current_rows",
    "rendered",
    "changes",
    "numbered",
    "dls_candidate_rows",
    "dls_unique_rows",
    "dls_duplicate_rows",
    "dls_null_key_rows",
    "history",
    "opposed",
    "removed",
    "target",
    "duplicate_keys",
    "duplicate_rows",
    "sent",
    "sent_rows",
    "applied",
    "refreshed",
    "confirmed",
    "plans",
    "null_keys",
    "added",
    "sync_name",
]
ALIAS_KEYS = ["id", "sync_row", "primary_key", "key_rows", "row_hash", "dls_row"]


def alias_rows(version: int) -> list[list[str]]:
    """Three rows; in version 2, row 1 changes in every column that is no sync's key."""
    return [
        [str(i)]
        + [
            f"{alias}-{i}" + ("" if alias in ALIAS_KEYS else f"-v{version if i == 1 else 1}")
            for alias in ALIASES
        ]
        for i in range(3)
    ]


def test_columns_named_like_internal_aliases(
    project: SyncProject, endpoint: ScriptedEndpoint
) -> None:
    columns = ["id", *ALIASES]
    config = {"endpoint_url": endpoint.endpoint_url, "function": "scripted-fn", "batch_size": 10}
    syncs = [
        project.sync_config(name=f"by_{key}", primary_key=key, include_previous=True, **config)
        for key in ALIAS_KEYS
    ]
    project.model("aliases", model_sql(columns, alias_rows(1), project.warehouse), syncs)
    project.build()
    preview = {
        s["name"]: s
        for s in json.loads(project.cli("plan", "--full-refresh", "--output", "json").stdout)[
            "syncs"
        ]
    }
    assert {name: s["added"] for name, s in preview.items()} == {
        f"by_{key}": 3 for key in ALIAS_KEYS
    }
    project.run()
    expected = {row[0]: dict(zip(columns, row, strict=True)) for row in alias_rows(1)}
    for key in ALIAS_KEYS:
        rows = received(endpoint, f"by_{key}")
        assert len(rows) == 3, (key, rows)
        for operation, row in rows:
            assert operation == "added"
            assert row == expected[row["id"]], (key, row)

    endpoint.reset()
    project.model("aliases", model_sql(columns, alias_rows(2), project.warehouse), syncs)
    project.build()
    project.run()
    after = {row[0]: dict(zip(columns, row, strict=True)) for row in alias_rows(2)}
    for key in ALIAS_KEYS:
        events = [b for b in endpoint.json_bodies() if b["sync"]["name"] == f"by_{key}"]
        sent = [(e["operation"], row) for e in events for row in e["rows"]]
        assert [(op, row) for op, row in sent] == [("changed", after["1"])], (key, sent)
        previous = [row for e in events for row in e.get("previous_rows") or []]
        assert previous == [expected["1"]], (key, previous)
    # the snapshot holds the rows as sent, and the key as its text
    snapshot = project.snapshot("by_sync_row")
    assert snapshot == {after[i]["sync_row"]: after[i] for i in after}
