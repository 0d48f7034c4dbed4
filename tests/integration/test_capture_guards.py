"""Capture never diffs what it cannot compare: a model built with --empty, a primary key whose
name or rendered form changed. Plans say why a sync sends everything, and rows that cannot be
sent (null or duplicated keys) can be found in lambda_sync_invalid_rows."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import SyncProject, execute

pytestmark = pytest.mark.integration

CUSTOMERS = [
    {"customer_id": 1, "email": "alice@example.com", "ref": "a-1"},
    {"customer_id": 2, "email": "bob@example.com", "ref": "b-2"},
    {"customer_id": 3, "email": "carol@example.com", "ref": "c-3"},
]
MODEL_SQL = "select * from {{ ref('customers_seed') }}"


def setup(project: SyncProject, rows=CUSTOMERS, **sync) -> None:
    project.build_customers(rows, **sync)


def test_build_empty_captures_nothing_and_run_sends_nothing(project: SyncProject) -> None:
    setup(project)
    assert project.run()["runs"][0]["delivered_rows"] == 3
    project.clear_events()

    project.dbt("build", "--empty")
    plan = project.plan()["crm_customers"]
    assert (plan["added"], plan["changed"], plan["removed"]) == (0, 0, 0)
    assert "--empty" in plan["blocked"]
    run = project.run()["runs"][0]
    assert (run["status"], run["delivered_rows"], run["invocations"]) == ("skipped", 0, 0)
    assert "--empty" in run["note"]
    # not even a full refresh sends from an empty build: it would forget the snapshot
    assert project.run("--full-refresh")["runs"][0]["status"] == "skipped"
    assert project.events() == []
    assert set(project.snapshot()) == {"1", "2", "3"}

    # the one-step form too: dbt build --empty, then the syncs of what it built
    out = json.loads(project.cli("build", "--empty", "--output", "json").stdout)
    assert [r["status"] for r in out["runs"]] == ["skipped"]
    assert project.events() == []
    assert set(project.snapshot()) == {"1", "2", "3"}

    # a build with the model's rows captures again: only the real change is sent
    project.seed("customers_seed", [*CUSTOMERS[:2], {**CUSTOMERS[2], "email": "c@example.com"}])
    project.build()
    plan = project.plan()["crm_customers"]
    assert (plan["added"], plan["changed"], plan["removed"], plan["blocked"]) == (0, 1, 0, None)
    assert project.run()["runs"][0]["delivered_rows"] == 1
    assert [e["operation"] for e in project.events()] == ["changed"]


def validate_warnings(project: SyncProject) -> list[str]:
    return json.loads(project.cli("validate", "--output", "json").stdout)["warnings"]


def test_changed_primary_key_refuses_to_run_until_accepted(project: SyncProject) -> None:
    setup(project)
    assert project.run()["runs"][0]["delivered_rows"] == 3
    project.clear_events()

    # the key column changes: the snapshot's keys are customer_ids, the model's are refs
    project.model("customers", MODEL_SQL, project.sync_config(primary_key="ref"))
    project.build()
    plan = project.plan()["crm_customers"]
    assert (plan["added"], plan["changed"], plan["removed"]) == (0, 0, 0)
    assert plan["reason"] == "primary_key_changed"
    # names as the warehouse stores them: Snowflake says CUSTOMER_ID
    blocked = plan["blocked"].lower()
    assert "customer_id (integer)" in blocked and "ref (text)" in blocked
    [warning] = validate_warnings(project)
    assert "primary_key_changed" in warning and "customer_id (integer)" in warning.lower()
    result = project.cli("run", expect=2)
    for part in (
        "model 'customers'",
        "sync 'crm_customers'",
        "customer_id (integer)",
        "ref (text)",
        "dbt-lambda-sync reset crm_customers",
        "--full-refresh",
    ):
        assert part in (result.stderr + result.stdout).lower()
    project.cli("run", "--dry-run", expect=2)
    assert project.events() == []
    assert set(project.snapshot()) == {"1", "2", "3"}

    # accepting the change: every current row is sent as added, under the new key
    assert project.run("--full-refresh")["runs"][0]["delivered_rows"] == 3
    assert {e["operation"] for e in project.events()} == {"added"}
    assert set(project.snapshot()) == {"a-1", "b-2", "c-3"}
    assert project.plan()["crm_customers"]["reason"] is None
    assert validate_warnings(project) == []
    project.clear_events()

    # the key's rendered form changes (integer -> decimal: "1" becomes "1.00"): refused as well
    project.model("customers", MODEL_SQL, project.sync_config())
    project.build()
    project.cli("reset", "crm_customers")
    assert project.run()["runs"][0]["delivered_rows"] == 3
    project.clear_events()
    project.model(
        "customers",
        "select cast(customer_id as decimal(10, 2)) as customer_id, email, ref"
        " from {{ ref('customers_seed') }}",
        project.sync_config(),
    )
    project.build()
    plan = project.plan()["crm_customers"]
    assert plan["reason"] == "primary_key_changed"
    assert "customer_id (integer)" in plan["blocked"].lower()
    project.cli("run", expect=2)
    assert project.events() == []
    project.cli("reset", "crm_customers")
    assert project.run()["runs"][0]["delivered_rows"] == 3
    assert {e["operation"] for e in project.events()} == {"added"}
    assert set(project.snapshot()) == {"1.00", "2.00", "3.00"}


def test_plan_and_validate_say_why_every_row_is_sent(project: SyncProject) -> None:
    setup(project)
    assert project.plan()["crm_customers"]["reason"] == "first_run"
    [warning] = validate_warnings(project)
    assert "first_run" in warning and "crm_customers" in warning
    project.run()
    assert project.plan()["crm_customers"]["reason"] is None
    assert validate_warnings(project) == []

    # other columns: every delivered row is sent again, as changed
    project.model("customers", MODEL_SQL, project.sync_config(columns=["email"]))
    project.build()
    plan = project.plan()["crm_customers"]
    assert (plan["changed"], plan["reason"]) == (3, "columns_changed")
    [warning] = validate_warnings(project)
    assert "columns_changed" in warning and "[customer_id, email]" in warning.lower()
    text = project.cli("plan").stdout
    assert "columns_changed" in text
    project.run()
    assert project.plan()["crm_customers"]["reason"] is None

    # a renamed sync starts from nothing: a first run
    project.model(
        "customers", MODEL_SQL, project.sync_config(name="crm_renamed", columns=["email"])
    )
    project.build()
    assert project.plan()["crm_renamed"]["reason"] == "first_run"
    assert "crm_renamed" in validate_warnings(project)[0]
    full = json.loads(project.cli("plan", "--full-refresh", "--output", "json").stdout)
    assert full["syncs"][0]["reason"] == "full_refresh"

    # a rename that declares renamed_from keeps the old name's snapshot: no first run
    project.model(
        "customers",
        MODEL_SQL,
        project.sync_config(name="crm_third", renamed_from="crm_customers", columns=["email"]),
    )
    project.build()
    [adoption] = validate_warnings(project)
    assert "adopts the state of 'crm_customers'" in adoption and "first run" not in adoption
    assert project.plan()["crm_third"]["reason"] is None


def invalid_rows(project: SyncProject) -> list[tuple]:
    rows = project.query(
        "select primary_key, reason, row_json from {schema}.lambda_sync_invalid_rows"
        " where sync_name = 'crm_customers' order by reason, row_json"
    )
    return [(key, reason, json.loads(row)) for key, reason, row in rows]


def test_null_and_duplicate_keys_are_recorded_where_they_can_be_found(
    project: SyncProject,
) -> None:
    rows = [
        *CUSTOMERS,
        {"customer_id": 2, "email": "bob.twin@example.com", "ref": "b-2x"},
        {"customer_id": None, "email": "nobody@example.com", "ref": "n-0"},
    ]
    setup(project, rows=rows)
    assert invalid_rows(project) == [
        ("2", "duplicate_key", {"customer_id": 2, "email": "bob.twin@example.com", "ref": "b-2x"}),
        ("2", "duplicate_key", {"customer_id": 2, "email": "bob@example.com", "ref": "b-2"}),
        (None, "null_key", {"customer_id": None, "email": "nobody@example.com", "ref": "n-0"}),
    ]
    assert project.plan()["crm_customers"]["invalid"] == 3
    assert project.run()["runs"][0]["delivered_rows"] == 2
    status = json.loads(project.cli("status", "--output", "json").stdout)["syncs"][0]
    assert status["invalid"] == 3
    header = project.cli("status").stdout.splitlines()[0]
    assert "invalid" in header.split()

    # each capture replaces them: the duplicate is gone, the null key stays
    project.seed("customers_seed", [*CUSTOMERS, rows[-1]])
    project.build()
    assert [(key, reason) for key, reason, _ in invalid_rows(project)] == [(None, "null_key")]
    status = json.loads(project.cli("status", "--output", "json").stdout)["syncs"][0]
    assert status["invalid"] == 1


def test_state_of_an_earlier_version_is_upgraded_and_adopts_the_signature(
    project: SyncProject,
) -> None:
    setup(project)
    project.run()
    # tables as the previous version left them: no signature columns, no invalid rows table
    for column in (
        "empty_build_invocation_id",
        "plan_key_signature",
        "snapshot_key_signature",
        "plan_columns",
        "snapshot_columns",
    ):
        execute(project, f"alter table {{schema}}.lambda_sync_state drop column {column}")
    execute(project, "drop table {schema}.lambda_sync_invalid_rows")
    project.clear_events()

    project.seed("customers_seed", [*CUSTOMERS[:2], {**CUSTOMERS[2], "email": "c@example.com"}])
    project.build()
    plan = project.plan()["crm_customers"]
    assert (plan["changed"], plan["reason"], plan["blocked"]) == (1, None, None)
    assert project.run()["runs"][0]["delivered_rows"] == 1
    # the signature adopted from the model now guards the snapshot
    project.model("customers", MODEL_SQL, project.sync_config(primary_key="ref"))
    project.build()
    assert project.plan()["crm_customers"]["reason"] == "primary_key_changed"


@pytest.mark.postgres
def test_a_timestamptz_key_under_another_time_zone_refuses_to_run(project: SyncProject) -> None:
    if project.warehouse != "postgres":
        pytest.skip("the session TimeZone is a PostgreSQL setting (PGTZ)")
    project.env["PGTZ"] = "UTC"
    setup(project)
    project.model(
        "customers",
        "select cast('2026-01-0' || customer_id || ' 12:00:00+00' as timestamptz) as placed_at,"
        " email from {{ ref('customers_seed') }}",
        project.sync_config(primary_key="placed_at"),
    )
    project.build()
    assert project.run("--full-refresh")["runs"][0]["delivered_rows"] == 3
    project.clear_events()

    # the same instants render as other key texts under another zone: never diffed
    project.env["PGTZ"] = "Asia/Tokyo"
    project.build()
    plan = project.plan()["crm_customers"]
    assert plan["reason"] == "primary_key_changed"
    assert "TimeZone UTC" in plan["blocked"] and "TimeZone Asia/Tokyo" in plan["blocked"]
    project.cli("run", expect=2)
    assert project.events() == []
    assert len(project.snapshot()) == 3
