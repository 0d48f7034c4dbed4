"""End to end: real dbt, the real CLI, a real handler in ministack; DuckDB and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.integration.conftest import SyncProject, execute

pytestmark = pytest.mark.integration

CUSTOMERS = [
    {
        "customer_id": 1,
        "email": "alice@example.com",
        "first_name": "Alice",
        "signed_up_at": "2024-01-02 03:04:05",
    },
    {
        "customer_id": 2,
        "email": "bob@example.com",
        "first_name": "Bob",
        "signed_up_at": "2024-02-03 04:05:06",
    },
    {
        "customer_id": 3,
        "email": "carol@example.com",
        "first_name": "Carol",
        "signed_up_at": "2024-03-04 05:06:07",
    },
]
MODEL_SQL = "select * from {{ ref('customers_seed') }}"


def setup(project: SyncProject, rows=CUSTOMERS, **sync) -> None:
    project.build_customers(rows, **sync)


def by_key(rows):
    return {row["customer_id"]: row for row in rows}


def test_backfill_then_added_changed_removed(project: SyncProject) -> None:
    setup(project, batch_size=2, include_previous=True)
    plan = project.plan()["crm_customers"]
    assert (plan["added"], plan["changed"], plan["removed"], plan["first_run"]) == (3, 0, 0, True)

    result = project.run()
    assert result["runs"][0]["delivered_rows"] == 3
    events = project.events()
    assert sorted(len(e["rows"]) for e in events) == [1, 2]  # batch_size 2
    assert {e["operation"] for e in events} == {"added"}
    alice = by_key(project.delivered())[1]
    # typed JSON: numbers as numbers, timestamps as ISO 8601 strings
    assert alice == {
        "customer_id": 1,
        "email": "alice@example.com",
        "first_name": "Alice",
        "signed_up_at": "2024-01-02T03:04:05",
    }
    assert events[0]["sync"]["name"] == "crm_customers"
    assert events[0]["sync"]["model"] == "customers"
    assert events[0]["sync"]["attempt"] == 1
    assert events[0]["sync"]["invocation_id"].startswith(events[0]["sync"]["run_id"] + ":")
    assert "previous_rows" not in events[0]

    # nothing pending: nothing sent, exit 0
    project.clear_events()
    assert project.plan()["crm_customers"]["added"] == 0
    project.run()
    assert project.events() == []

    # change one, remove one, add one
    rows = [
        dict(CUSTOMERS[0]),
        dict(CUSTOMERS[1], email="bob@new.example.com"),
        {
            "customer_id": 4,
            "email": "dan@example.com",
            "first_name": "Dan",
            "signed_up_at": "2024-04-05 06:07:08",
        },
    ]
    project.seed("customers_seed", rows)
    project.build()
    plan = project.plan()["crm_customers"]
    assert (plan["added"], plan["changed"], plan["removed"], plan["first_run"]) == (1, 1, 1, False)
    project.run()
    events = {e["operation"]: e for e in project.events()}
    assert set(events) == {"added", "changed", "removed"}
    assert [r["customer_id"] for r in events["added"]["rows"]] == [4]
    assert events["changed"]["rows"][0]["email"] == "bob@new.example.com"
    assert events["changed"]["previous_rows"][0]["email"] == "bob@example.com"
    # a removed event carries the row as it was last delivered
    assert events["removed"]["rows"] == [
        {
            "customer_id": 3,
            "email": "carol@example.com",
            "first_name": "Carol",
            "signed_up_at": "2024-03-04T05:06:07",
        }
    ]
    assert "previous_rows" not in events["added"] and "previous_rows" not in events["removed"]
    assert set(project.snapshot()) == {"1", "2", "4"}
    assert project.snapshot()["2"]["email"] == "bob@new.example.com"
    runs = project.query(
        "select status, delivered_rows, planned_added, planned_changed,"
        " planned_removed from {schema}.lambda_sync_runs order by started_at"
    )
    assert runs[-1] == ("success", 3, 1, 1, 1)


def test_initial_skip_and_trigger_switched_off(project: SyncProject) -> None:
    setup(project, initial_sync="skip", triggers=["added", "changed"], batch_size=10)
    plan = project.plan()["crm_customers"]
    assert (plan["added"], plan["first_run"]) == (0, True)
    project.run()
    assert project.events() == []
    assert set(project.snapshot()) == {"1", "2", "3"}  # recorded, not sent

    project.seed("customers_seed", [CUSTOMERS[0], dict(CUSTOMERS[1], first_name="Robert")])
    project.build()
    plan = project.plan()["crm_customers"]
    assert (plan["added"], plan["changed"], plan["removed"]) == (0, 1, 0)  # removed not a trigger
    project.run()
    assert [e["operation"] for e in project.events()] == ["changed"]
    # the snapshot moved past the removal all the same
    assert set(project.snapshot()) == {"1", "2"}
    project.clear_events()
    project.run()
    assert project.events() == []


def test_columns_subset_limits_what_is_sent_and_compared(project: SyncProject) -> None:
    setup(project, columns=["customer_id", "email"], batch_size=5)
    project.run()
    assert all(set(row) == {"customer_id", "email"} for row in project.delivered())
    project.clear_events()
    project.seed("customers_seed", [dict(CUSTOMERS[0], first_name="Alicia"), *CUSTOMERS[1:]])
    project.build()
    assert project.plan()["crm_customers"]["changed"] == 0  # first_name is not compared
    project.seed("customers_seed", [dict(CUSTOMERS[0], email="a@new.example.com"), *CUSTOMERS[1:]])
    project.build()
    project.run()
    assert project.delivered("changed") == [{"customer_id": 1, "email": "a@new.example.com"}]


def test_null_and_duplicate_keys_are_never_sent(project: SyncProject) -> None:
    rows = [
        *CUSTOMERS,
        dict(CUSTOMERS[1], email="bob2@example.com"),
        {
            "customer_id": "",
            "email": "nokey@example.com",
            "first_name": "N",
            "signed_up_at": "2024-01-01 00:00:00",
        },
    ]
    setup(project, rows=rows, batch_size=10)
    plan = project.plan()["crm_customers"]
    assert (plan["added"], plan["invalid"]) == (2, 3)  # 1 null key + 2 rows of key 2
    result = project.run()
    assert sorted(r["customer_id"] for r in project.delivered()) == [1, 3]
    assert result["runs"][0]["invalid_rows"] == 3
    errors = project.open_errors()
    assert set(errors) == {"2"} and errors["2"][1] == "duplicate primary key"
    # fixing the duplicate delivers the row and resolves its error
    project.seed("customers_seed", CUSTOMERS)
    project.build()
    project.run()
    assert project.open_errors() == {}
    assert set(project.snapshot()) == {"1", "2", "3"}


def test_rejected_rows_are_retried_then_resolved(project: SyncProject) -> None:
    setup(project, batch_size=3, retries={"mode": "immediate", "attempts": 2})
    project.rules(reject=["2"], reason="Email not found")
    result = project.run(expect=1)
    run = result["runs"][0]
    assert (run["delivered_rows"], run["rejected_rows"], run["retries"]) == (2, 1, 2)
    attempts = [
        (e["sync"]["attempt"], [r["customer_id"] for r in e["rows"]]) for e in project.events()
    ]
    assert attempts == [(1, [1, 2, 3]), (2, [2]), (3, [2])]
    # attempts counts the invocations that carried the row: the first and two retries
    assert project.open_errors() == {"2": ("added", "Email not found", 3, None)}
    outcomes = project.query(
        "select outcome, rejected_rows from {schema}.lambda_sync_invocations order by started_at"
    )
    assert outcomes == [("partially_rejected", 1)] * 3
    assert set(project.snapshot()) == {"1", "3"}

    # still rejected on the next run: retried again, attempts counted
    project.clear_events()
    project.run(expect=1)
    assert {r["customer_id"] for r in project.delivered()} == {2}
    assert project.open_errors()["2"][2] == 6

    # accepted now: delivered, resolved, nothing pending
    project.rules()
    project.run()
    assert project.open_errors() == {}
    resolved = project.query("select resolved_run_id from {schema}.lambda_sync_errors")
    assert resolved[0][0] is not None
    assert set(project.snapshot()) == {"1", "2", "3"}


def test_function_that_raises(project: SyncProject) -> None:
    setup(project, batch_size=2, retries={"mode": "next_run", "attempts": 3})
    project.rules(**{"raise": "database is down"})
    result = project.run(expect=1)
    assert result["runs"][0]["retries"] == 0  # next_run: no retries within the run
    assert result["runs"][0]["rejected_rows"] == 3
    errors = project.open_errors()
    assert set(errors) == {"1", "2", "3"}
    assert "database is down" in errors["1"][1]
    outcomes = {
        row[0]
        for row in project.query(
            "select outcome, function_error from {schema}.lambda_sync_invocations"
        )
    }
    assert outcomes == {"function_error"}
    assert project.snapshot() == {}
    project.rules()
    project.run()
    assert project.open_errors() == {} and set(project.snapshot()) == {"1", "2", "3"}


def test_function_that_does_not_exist(project: SyncProject) -> None:
    project.seed("customers_seed", CUSTOMERS)
    project.model("customers", MODEL_SQL, project.sync_config(batch_size=1, concurrency=1))
    project.build()
    result = project.run(expect=3)
    assert "cannot be invoked" in result["errors"][0]["error"]
    status = project.query("select status, error from {schema}.lambda_sync_runs")
    assert status[0][0] == "failed" and "ResourceNotFound" in status[0][1]
    assert project.snapshot() == {}
    # the sync stops at the first refusal instead of trying every row
    assert project.query("select count(*) from {schema}.lambda_sync_invocations")[0][0] == 1
    project.deploy()
    project.run()
    assert sorted(r["customer_id"] for r in project.delivered()) == [1, 2, 3]


def test_row_over_the_payload_limit_is_recorded_not_sent(project: SyncProject) -> None:
    project.deploy()
    project.seed("customers_seed", CUSTOMERS)
    big = (
        "select customer_id, email, case when customer_id = 2 then repeat('x', 6300000)"
        " else 'small' end as notes from {{ ref('customers_seed') }}"
    )
    project.model("customers", big, project.sync_config(batch_size=10))
    project.build()
    result = project.run(expect=1)
    assert result["runs"][0]["rejected_rows"] == 1
    assert sorted(r["customer_id"] for r in project.delivered()) == [1, 3]
    assert project.open_errors()["2"][1] == "row exceeds the 6 MB Lambda payload limit"


def test_batch_size_one_dry_run_and_full_refresh(project: SyncProject) -> None:
    setup(project)  # batch_size defaults to 1
    dry = project.run("--dry-run")
    assert dry["runs"][0]["status"] == "dry_run" and dry["runs"][0]["invocations"] == 3
    assert project.events() == [] and project.snapshot() == {}
    project.run()
    assert [len(e["rows"]) for e in project.events()] == [1, 1, 1]
    project.clear_events()
    project.run("--full-refresh")
    assert sorted(r["customer_id"] for r in project.delivered("added")) == [1, 2, 3]


def test_lease_held_by_another_runner(project: SyncProject) -> None:
    setup(project, batch_size=10)
    project.plan()  # creates the state row
    execute(
        project,
        "update {schema}.lambda_sync_state set lease_holder = 'run-x (pid 42 on elsewhere)',"
        " lease_expires_at = timestamp '2999-01-01 00:00:00' where sync_name = 'crm_customers'",
    )
    result = project.run(expect=3)
    assert "run-x (pid 42 on elsewhere)" in result["errors"][0]["error"]
    assert "crm_customers" in result["errors"][0]["error"]
    assert project.events() == []
    # a lease left by a crashed runner expires
    execute(
        project,
        "update {schema}.lambda_sync_state set lease_expires_at = timestamp '2000-01-01 00:00:00'",
    )
    project.run()
    assert len(project.delivered()) == 3
    held = project.query("select lease_holder from {schema}.lambda_sync_state")
    assert held == [(None,)]  # released at the end


def test_select_by_sync_or_model_name(project: SyncProject) -> None:
    project.deploy()
    project.seed("customers_seed", CUSTOMERS)
    project.model("customers", MODEL_SQL, project.sync_config(batch_size=10))
    project.model(
        "emails",
        "select customer_id, email from {{ ref('customers_seed') }}",
        project.sync_config(name="email_list", batch_size=10),
    )
    project.build()
    project.run("--select", "email_list")
    assert {e["sync"]["name"] for e in project.events()} == {"email_list"}
    project.clear_events()
    project.run("--select", "customers")
    assert {e["sync"]["name"] for e in project.events()} == {"crm_customers"}
    unknown = project.cli("run", "--select", "nope", expect=2)
    assert "nope" in unknown.stderr and "Traceback" not in unknown.stderr


def test_invalid_definitions_stop_everything_with_exit_2(project: SyncProject) -> None:
    project.deploy()
    project.seed("customers_seed", CUSTOMERS)
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    project.model(
        "customers",
        MODEL_SQL,
        [
            project.sync_config(batchsize=10),
            project.sync_config(name="second", function="arn:aws:lambda:us-east-1:12:function:x"),
            project.sync_config(name="third", aws_secret_access_key=secret),
        ],
    )
    for command in ("validate", "run"):
        result = project.cli(command, expect=2)
        err = result.stderr
        assert "model 'customers', sync 'crm_customers', field 'batchsize'" in err
        assert "did you mean 'batch_size'" in err
        assert "sync 'second', field 'function'" in err
        assert "sync 'third'" in err and secret not in err + result.stdout
        assert "Traceback" not in err
    assert project.events() == []

    # a primary key that is not a column is found once the model is built
    project.model("customers", MODEL_SQL, project.sync_config(primary_key="id"))
    project.build()
    for command in ("validate", "run"):
        err = project.cli(command, expect=2).stderr
        assert "model 'customers', sync 'crm_customers', field 'primary_key'" in err
    assert project.events() == []


def test_scattered_rejections_confirm_exactly_the_accepted_rows(project: SyncProject) -> None:
    # Every third key rejected: one checkpoint confirms ~200 separate seq ranges (the macro's
    # range-join path, past its 64-range OR list), and must move exactly the accepted rows.
    rows = [
        {"customer_id": i, "email": f"c{i}@example.com", "first_name": f"C{i}"}
        for i in range(1, 601)
    ]
    rejected = {str(i) for i in range(3, 601, 3)}
    setup(project, rows=rows, batch_size=100)
    project.rules(reject=sorted(rejected), reason="not yet")
    result = project.run(expect=1)
    assert (result["runs"][0]["delivered_rows"], result["runs"][0]["rejected_rows"]) == (400, 200)
    assert set(project.snapshot()) == {str(i) for i in range(1, 601)} - rejected
    assert set(project.open_errors()) == rejected

    project.rules()
    project.clear_events()
    project.run()
    assert {str(r["customer_id"]) for r in project.delivered()} == rejected
    assert len(project.snapshot()) == 600 and project.open_errors() == {}
