"""Capture never diffs what it cannot compare: a model built with --empty, a primary key whose
name or rendered form changed. Plans say why a sync sends everything, and rows that cannot be
sent (null or duplicated keys) can be found in lambda_sync_invalid_rows."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import SyncProject

pytestmark = pytest.mark.integration

CUSTOMERS = [
    {"customer_id": 1, "email": "alice@example.com", "ref": "a-1"},
    {"customer_id": 2, "email": "bob@example.com", "ref": "b-2"},
    {"customer_id": 3, "email": "carol@example.com", "ref": "c-3"},
]
MODEL_SQL = "select * from {{ ref('customers_seed') }}"


def setup(project: SyncProject, rows=CUSTOMERS, **sync) -> None:
    project.deploy()
    project.seed("customers_seed", rows)
    project.model("customers", MODEL_SQL, project.sync_config(**sync))
    project.build()


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
