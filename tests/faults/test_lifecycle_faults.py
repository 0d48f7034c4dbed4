"""Hostile cases of the sync lifecycle: an adoption (renamed_from) that fails half-way leaves
both names exactly as they were, and succeeds once the cause is gone."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import SyncProject, execute

pytestmark = pytest.mark.integration

CUSTOMERS = [
    {"customer_id": 1, "email": "a@x"},
    {"customer_id": 2, "email": "b@x"},
    {"customer_id": 3, "email": "c@x"},
]


def count(project: SyncProject, table: str, sync: str) -> int:
    sql = f"select count(*) from {{schema}}.lambda_sync_{table} where sync_name = '{sync}'"
    return int(project.query(sql)[0][0])


def test_a_failed_adoption_changes_nothing(project: SyncProject) -> None:
    base = {"batch_size": 10, "retries": {"mode": "immediate", "attempts": 0}}
    project.build_customers(CUSTOMERS, **base)
    project.rules(reject=["2"])
    project.run(expect=1)
    # the post-hook plans crm_people against an empty snapshot
    project.rename_sync("crm_people", **base)

    # the last statements of the adoption fail: the invocations table lost its sync_name column
    execute(
        project,
        "alter table {schema}.lambda_sync_invocations rename column sync_name to sync_name_gone",
    )
    failed = project.cli("plan", "--output", "json", expect=None)
    assert failed.returncode == 3, failed.stderr
    assert "adopt_renamed_sync" in failed.stderr
    assert set(project.snapshot("crm_customers")) == {"1", "3"}
    assert set(project.open_errors("crm_customers")) == {"2"}
    assert count(project, "state", "crm_customers") == 1
    assert count(project, "runs", "crm_customers") == 1
    assert count(project, "snapshots", "crm_people") == 0
    assert count(project, "runs", "crm_people") == 0
    assert count(project, "plans", "crm_people") == 3  # the post-hook's plan, untouched

    execute(
        project,
        "alter table {schema}.lambda_sync_invocations rename column sync_name_gone to sync_name",
    )
    [plan] = json.loads(project.cli("plan", "--output", "json").stdout)["syncs"]
    assert (plan["name"], plan["first_run"], plan["added"]) == ("crm_people", False, 1)
    assert set(project.snapshot("crm_people")) == {"1", "3"}
    assert count(project, "state", "crm_customers") == 0
    assert count(project, "invocations", "crm_people") == 1
