"""Hostile data end to end (one combined project per warehouse): NaN and +-infinity, a 38-digit
decimal, binary, nested values, keys and values full of quotes, semicolons, backslashes, ``%s``,
``?``, control characters and non-ASCII, reasons from the function made of the same, and a model
whose name and columns need quoting (spaces, capitals, a double quote).

Each value must have a defined outcome: delivered in a documented JSON form, or recorded in
lambda_sync_errors with a clear reason. The forms asserted here are the ones docs/guarantees.md
documents (How hostile data comes out).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.faults.conftest import Deliveries, check_invariant, scripted_model
from tests.integration.conftest import SyncProject
from tests.support.scripted_endpoint import RecordedRequest, Reply, ScriptedEndpoint

pytestmark = pytest.mark.integration

MODEL = "Hostile_Model"  # dbt refuses spaces in model names; capitals need quoting
KEY = 'Key "Id"'
QUOTED_KEY = '"Key ""Id"""'
SYNC = "hostile"
HOSTILE = [
    "plain",
    "it's",
    'say "hi"',
    "semi;colon'); drop table x; --",
    "back\\slash\\",
    "%s",
    "?",
    "%(name)s ?? $1",
    "ünï©ødé ✓ 🚀",
    "tab\there\nnewline",
]
DECIMAL = "1234567890123456789012345678.0123456789"
REASON = '\'); drop table x; -- %s ? \\ "q" ünï ✓\n'
REJECTED = {"semi;colon'); drop table x; --", "%s", "?"}


def literal(text: str, warehouse: str) -> str:
    """A SQL string literal for ``warehouse`` (tab and newline via chr). Standard strings, except
    on Snowflake, where a backslash in a literal escapes the next character: doubled there."""
    escaped = {"'": "''", "\\": "\\\\" if warehouse == "snowflake" else "\\"}
    parts, chunk = [], ""
    for char in text:
        if char in "\t\n":
            parts += [f"'{chunk}'", f"chr({ord(char)})"]
            chunk = ""
        else:
            chunk += escaped.get(char, char)
    return " || ".join([*parts, f"'{chunk}'"])


def model_sql(warehouse: str) -> str:
    doubles = ["'nan'", "'inf'", "'-inf'", "1.5", "null"]
    selects = []
    for i, key in enumerate(HOSTILE):
        double = f"cast({doubles[i % len(doubles)]} as double precision)"
        if warehouse == "duckdb":
            binary = "cast('\\x00\\xFF\\x41' as blob)"
            nested = f"{{'k': {literal(key, warehouse)}, 'vals': [1, 2], 'd': 0.5}}"
            listed = "[1.5, 2.5]"
        elif warehouse == "snowflake":
            binary = "to_binary('00FF41', 'HEX')"
            nested = (
                f"object_construct('k', {literal(key, warehouse)},"
                " 'vals', array_construct(1, 2), 'd', 0.5)"
            )
            listed = "array_construct(1.5, 2.5)"
        else:
            binary = "cast('\\x00ff41' as bytea)"
            nested = (
                f"json_build_object('k', {literal(key, warehouse)}, 'vals', json_build_array(1, 2))"
            )
            listed = "array[1.5, 2.5]"
        selects.append(
            f"select cast({literal(key, warehouse)} as varchar) as {QUOTED_KEY},"
            f' {double} as "Mixed Case",'
            f" cast({DECIMAL if i % 2 == 0 else '-0.0000000001'} as decimal(38, 10)) as big,"
            f" {binary} as raw, {nested} as nested, {listed} as listed,"
            f' {literal(key, warehouse)} as "the text"'
        )
    return "\nunion all\n".join(selects)


@pytest.fixture
def endpoint() -> Iterator[ScriptedEndpoint]:
    with ScriptedEndpoint() as scripted:
        yield scripted


def reject_hostile(request: RecordedRequest) -> Reply:
    event = request.json()
    keys = [row[KEY] for row in event["rows"]]
    return Reply.ok(
        {"errors": [{"primary_key_value": k, "reason": REASON} for k in keys if k in REJECTED]}
    )


def test_hostile_values_keys_reasons_and_names(
    project: SyncProject, endpoint: ScriptedEndpoint
) -> None:
    scripted_model(
        project,
        endpoint,
        model_sql(project.warehouse),
        model=MODEL,
        name=SYNC,
        primary_key=KEY,
        batch_size=4,
        concurrency=2,
        retries={"mode": "next_run", "attempts": 0},
    )
    project.build()
    endpoint.responder = reject_hostile
    result = project.run(expect=1)["runs"][0]
    assert (result["delivered_rows"], result["rejected_rows"]) == (7, 3), result

    events = [json.loads(body) for body in endpoint.bodies]  # every event is valid JSON
    rows = {row[KEY]: row for event in events for row in event["rows"]}
    assert set(rows) == set(HOSTILE)  # keys round-trip exactly
    assert {e["sync"]["model"] for e in events} == {MODEL}
    assert {e["primary_key_column"] for e in events} == {KEY}
    forms = {
        "NaN": rows[HOSTILE[0]]["Mixed Case"],
        "Infinity": rows[HOSTILE[1]]["Mixed Case"],
        "-Infinity": rows[HOSTILE[2]]["Mixed Case"],
    }
    assert forms == {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity"}
    assert rows[HOSTILE[3]]["Mixed Case"] == 1.5 and rows[HOSTILE[4]]["Mixed Case"] is None
    # fakesnow, not Snowflake, puts a NUMBER(38,10) into an object as a double and a BINARY as
    # DuckDB's escaped bytes: on the emulator neither form tells what Snowflake sends
    emulated = project.warehouse == "snowflake"
    # a 38-digit decimal goes out as a JSON number with every digit
    if not emulated:
        assert all(DECIMAL.encode() in body for body in endpoint.bodies if b'"plain"' in body)
    assert all(row["the text"] == key for key, row in rows.items())
    assert all(
        row["nested"]["k"] == key and row["nested"]["vals"] == [1, 2] for key, row in rows.items()
    )
    assert all(row["listed"] == [1.5, 2.5] for row in rows.values())
    raw = {row["raw"] for row in rows.values()}
    expected_raw = "\\x00\\xFFA" if project.warehouse == "duckdb" else "\\x00ff41"
    if not emulated:
        assert raw == {expected_raw}, raw

    errors = project.open_errors(SYNC)
    assert set(errors) == REJECTED
    assert {reason for _, reason, _, _ in errors.values()} == {REASON}  # stored verbatim
    assert set(project.snapshot(SYNC)) == set(HOSTILE) - REJECTED

    seen = endpoint.json_bodies()
    endpoint.reset()
    endpoint.responder = None
    project.run()
    again = {row[KEY] for body in endpoint.json_bodies() for row in body["rows"]}
    assert again == REJECTED
    check_invariant(
        project,
        Deliveries.of(seen + endpoint.json_bodies(), key=KEY),
        model=MODEL,
        key=KEY,
        sync=SYNC,
        expected={key: {KEY: key} for key in HOSTILE},
    )
    print(f"{project.warehouse}: binary as {raw}; " + json.dumps(rows["plain"]))
