"""How events spell column names, on every warehouse: Snowflake folds unquoted names to upper case
and the package sends those in lower case (var lambda_sync_column_case), so one handler serves all.
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import SyncProject

pytestmark = pytest.mark.integration

ROWS = [{"customer_id": 1, "email": "a@example.com"}, {"customer_id": 2, "email": "b@example.com"}]
# an unquoted name (folded on Snowflake) and a quoted one with a space (kept everywhere)
MODEL_SQL = "select customer_id, email as \"Email Address\" from {{ ref('customers_seed') }}"


def test_event_names_and_primary_key_column(project: SyncProject) -> None:
    project.deploy()
    project.seed("customers_seed", ROWS)
    # the key typed in another case than any warehouse stores it
    project.model("customers", MODEL_SQL, project.sync_config(primary_key="Customer_Id"))
    project.build()
    project.run()
    assert {event["primary_key_column"] for event in project.events()} == {"customer_id"}
    assert sorted(project.delivered(), key=lambda row: row["customer_id"]) == [
        {"customer_id": 1, "Email Address": "a@example.com"},
        {"customer_id": 2, "Email Address": "b@example.com"},
    ]

    # names as Snowflake stores them: every delivered row again, as changed (ignored elsewhere)
    project.clear_events()
    stored = ["--vars", "{lambda_sync_column_case: stored}"]
    project.dbt("build", *stored)
    summary = project.run(*stored)["runs"][0]
    if project.warehouse != "snowflake":
        assert summary["delivered_rows"] == 0 and project.events() == []
        return
    assert summary["delivered_rows"] == 2
    events = project.events()
    assert {(event["operation"], event["primary_key_column"]) for event in events} == {
        ("changed", "CUSTOMER_ID")
    }
    assert {tuple(sorted(row)) for row in project.delivered()} == {("CUSTOMER_ID", "Email Address")}

    # a value the var does not know is refused with its name
    result = project.dbt("build", "--vars", "{lambda_sync_column_case: upper}", expect=1)
    assert "lambda_sync_column_case" in result.stdout
