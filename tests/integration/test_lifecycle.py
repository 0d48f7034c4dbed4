"""A sync's life after the happy path: rows the function never accepts (errors --skip,
run --fail-on new, how each error was resolved), and syncs that are renamed or removed
(orphaned in status, prune, renamed_from). Real dbt, the real CLI, real handlers in ministack."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.conftest import SyncProject, execute

MODEL_SQL = "select * from {{ ref('customers_seed') }}"


def rows(*pairs: tuple[int, str]) -> list[dict[str, Any]]:
    return [{"customer_id": key, "email": email} for key, email in pairs]


def sent_keys(project: SyncProject) -> list[str]:
    return sorted(str(row["customer_id"]) for row in project.delivered())


def resolutions(project: SyncProject, sync: str = "crm_customers") -> dict[str, str | None]:
    found = project.query(
        "select primary_key_value, resolution from {schema}.lambda_sync_errors"
        f" where sync_name = '{sync}' and resolved_at is not null"
    )
    return dict(found)


def cli_json(project: SyncProject, *args: str, expect: int = 0) -> Any:
    return json.loads(project.cli(*args, "--output", "json", expect=expect).stdout)


def test_skip_fail_on_new_and_every_resolution(project: SyncProject) -> None:
    config = project.sync_config(batch_size=10, retries={"mode": "immediate", "attempts": 0})
    project.build_customers(rows((1, "a@x"), (2, "b@x"), (3, "c@x")), syncs=config)

    # 2 and 3 are rejected: both failed for the first time, so even --fail-on new exits 1
    project.rules(reject=["2", "3"])
    [first] = project.run("--fail-on", "new", expect=1)["runs"]
    assert (first["rejected_rows"], first["new_failures"]) == (2, 2)

    # tables made before the resolution column get it (create_sync_tables' ALTER loop)
    execute(project, "alter table {schema}.lambda_sync_errors drop column resolution")
    project.cli("plan")
    assert project.query("select resolution from {schema}.lambda_sync_errors") == [(None,)] * 2

    # the same rows fail again: not new, so --fail-on new exits 0 and the default still 1
    [again] = project.run("--fail-on", "new", expect=0)["runs"]
    assert (again["rejected_rows"], again["new_failures"]) == (2, 0)
    project.run(expect=1)

    # skipping: usage errors write nothing
    assert (
        "not current failures"
        in project.cli("errors", "crm_customers", "--skip", "9", expect=2).stderr
    )
    project.cli("errors", "crm_customers", "--skip", "3", "--skip-all", expect=2)
    project.cli("errors", "crm_customers", "3", expect=2)
    assert set(project.open_errors()) == {"2", "3"}
    skipped = cli_json(project, "errors", "crm_customers", "--skip", "2")
    assert skipped == {"sync": "crm_customers", "model": "customers", "skipped": ["2"]}
    assert set(project.open_errors()) == {"3"}
    assert resolutions(project) == {"2": "skipped"}
    assert project.snapshot()["2"] == {"customer_id": 2, "email": "b@x"}  # its current version

    # 2 is not sent again while unchanged; 1 changes and 4 appears, both rejected: new failures
    project.seed("customers_seed", rows((1, "a2@x"), (2, "b@x"), (3, "c@x"), (4, "d@x")))
    project.build()
    project.rules(reject=["1", "3", "4"])
    project.clear_events()
    [run] = project.run("--fail-on", "new", expect=1)["runs"]
    assert (run["rejected_rows"], run["new_failures"]) == (3, 2)
    assert sent_keys(project) == ["1", "3", "4"]

    # 1, 3 and 4 are accepted (delivered); 2, the skipped row, leaves the model and its removal
    # is rejected (its error row reopens without a resolution); 5 appears and is rejected
    project.seed("customers_seed", rows((1, "a2@x"), (3, "c@x"), (4, "d@x"), (5, "e@x")))
    project.build()
    project.rules(reject=["2", "5"])
    project.clear_events()
    project.run(expect=1)
    assert sent_keys(project) == ["1", "2", "3", "4", "5"]
    assert project.open_errors() == {
        "2": ("removed", "rejected by test", 1, None),
        "5": ("added", "rejected by test", 1, None),
    }
    assert resolutions(project) == {"1": "delivered", "3": "delivered", "4": "delivered"}
    assert project.query(
        "select resolution from {schema}.lambda_sync_errors where primary_key_value = '2'"
    ) == [(None,)]

    # the sync stops sending added and removed: the snapshot moves past both rows unsent, so 5's
    # error is superseded (the snapshot holds the model's row) and 2's is removed_from_model
    project.model("customers", MODEL_SQL, {**config, "triggers": ["changed"]})
    project.clear_events()
    project.run(expect=0)
    assert project.events() == [] and project.open_errors() == {}
    assert resolutions(project) == {
        "1": "delivered",
        "2": "removed_from_model",
        "3": "delivered",
        "4": "delivered",
        "5": "superseded",
    }

    # --skip-all skips every current failure
    project.model("customers", MODEL_SQL, config)
    project.seed(
        "customers_seed", rows((1, "a2@x"), (3, "c3@x"), (4, "d@x"), (5, "e@x"), (6, "f@x"))
    )
    project.build()
    project.rules(reject=["3", "6"])
    project.run(expect=1)
    assert cli_json(project, "errors", "crm_customers", "--skip-all")["skipped"] == ["3", "6"]
    assert project.open_errors() == {}
    assert {k: v for k, v in resolutions(project).items() if k in "36"} == {
        "3": "skipped",
        "6": "skipped",
    }
    project.clear_events()
    [idle] = project.run(expect=0)["runs"]
    assert idle["planned_added"] + idle["planned_changed"] == 0 and project.events() == []


def test_orphaned_syncs_prune_and_renamed_from(project: SyncProject) -> None:
    base = {"batch_size": 10, "retries": {"mode": "immediate", "attempts": 0}}
    syncs = [project.sync_config(**base), project.sync_config(name="old_list", **base)]
    project.build_customers(rows((1, "a@x"), (2, "b@x"), (3, "c@x")), syncs=syncs)
    project.rules(reject=["2"])
    project.run(expect=1)

    # old_list is removed, crm_customers is renamed crm_people (adopting its state)
    project.rename_sync("crm_people", **base)
    syncs = {s["name"]: s for s in cli_json(project, "status")["syncs"]}
    assert set(syncs) == {"crm_customers", "crm_people", "old_list"}
    assert (syncs["old_list"]["orphaned"], syncs["old_list"]["renamed_to"]) == (True, None)
    assert syncs["crm_customers"]["renamed_to"] == "crm_people"
    assert syncs["old_list"]["open_errors"] == 1 and len(syncs["old_list"]["runs"]) == 1
    assert syncs["crm_people"]["orphaned"] is False
    status_text = project.cli("status").stdout
    assert "orphaned" in status_text and "dbt-lambda-sync prune" in status_text
    # errors and reset accept an orphan's name
    assert cli_json(project, "errors", "old_list")["open_errors"] == 1
    assert "no definition any more" in project.cli("reset", "old_list").stdout
    assert project.snapshot("old_list") == {}

    # prune --dry-run lists old_list only (crm_customers is about to be adopted)
    dry = cli_json(project, "prune", "--dry-run")
    assert [(s["name"], s["pruned"]) for s in dry["syncs"]] == [("old_list", False)]
    assert project.query(
        "select count(*) from {schema}.lambda_sync_state where sync_name = 'old_list'"
    ) == [(1,)]
    pruned = cli_json(project, "prune")
    assert [(s["name"], s["open_errors"], s["pruned"]) for s in pruned["syncs"]] == [
        ("old_list", 1, True)
    ]
    for table in ("state", "snapshots", "plans", "unsettled"):
        left = project.query(
            f"select count(*) from {{schema}}.lambda_sync_{table} where sync_name = 'old_list'"
        )
        assert left == [(0,)], table
    assert resolutions(project, "old_list") == {"2": "pruned"}
    assert project.open_errors("old_list") == {}
    assert "old_list" not in {s["name"] for s in cli_json(project, "status")["syncs"]}
    assert cli_json(project, "prune")["syncs"] == []  # nothing left to prune

    # crm_people adopts crm_customers' snapshot, errors and runs: only the failing row is pending
    # (validate says so, and adopts nothing itself)
    assert "adopts the state of 'crm_customers'" in project.cli("validate").stderr
    plan = project.plan()
    assert set(plan) == {"crm_people"}
    assert (plan["crm_people"]["first_run"], plan["crm_people"]["added"]) == (False, 1)
    assert set(project.snapshot("crm_people")) == {"1", "3"}
    assert set(project.open_errors("crm_people")) == {"2"}
    assert project.query(
        "select count(*) from {schema}.lambda_sync_state where sync_name = 'crm_customers'"
    ) == [(0,)]
    syncs = {s["name"]: s for s in cli_json(project, "status")["syncs"]}
    assert set(syncs) == {"crm_people"} and len(syncs["crm_people"]["runs"]) == 1
    project.rules()
    project.clear_events()
    [run] = project.run(expect=0)["runs"]
    assert run["first_run"] is False and sent_keys(project) == ["2"]
    assert {e["sync"]["name"] for e in project.events()} == {"crm_people"}
    assert resolutions(project, "crm_people") == {"2": "delivered"}
    # adopted once: a later run finds nothing to adopt and nothing to send
    project.clear_events()
    project.run(expect=0)
    assert project.events() == []

    # renamed_from naming a sync that is still defined is a definition error
    project.model(
        "customers",
        MODEL_SQL,
        [
            project.sync_config(name="crm_people", **base),
            project.sync_config(name="crm_more", renamed_from="crm_people", **base),
        ],
    )
    bad = project.cli("validate", expect=2).stderr
    assert "model 'customers', sync 'crm_more', field 'renamed_from'" in bad
    assert "which is still defined" in bad


def test_renamed_from_into_a_sync_that_has_run(project: SyncProject) -> None:
    base = {"batch_size": 10, "retries": {"mode": "immediate", "attempts": 0}}
    syncs = [project.sync_config(**base), project.sync_config(name="crm_extra", **base)]
    project.build_customers(rows((1, "a@x"), (2, "b@x"), (3, "c@x")), syncs=syncs)
    project.run()

    # crm_extra has run already: it cannot adopt crm_customers' state on top of its own
    project.model(
        "customers",
        MODEL_SQL,
        project.sync_config(name="crm_extra", renamed_from="crm_customers", **base),
    )
    assert "has run already" in project.cli("validate").stderr
    refused = project.cli("run", expect=2).stderr
    assert "sync 'crm_extra' (model 'customers') has run already" in refused
    assert "dbt-lambda-sync reset crm_extra" in refused
    assert set(project.snapshot("crm_customers")) == {"1", "2", "3"}
    assert cli_json(project, "prune", "--dry-run")["syncs"] == []  # claimed, never pruned

    # after a reset of crm_extra, its next run adopts the old state: nothing to send
    project.cli("reset", "crm_extra")
    project.clear_events()
    [run] = project.run()["runs"]
    assert run["first_run"] is False and project.events() == []
    assert set(project.snapshot("crm_extra")) == {"1", "2", "3"}
    assert project.snapshot("crm_customers") == {}
