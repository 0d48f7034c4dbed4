"""Rows that fail again and again (issue 10, item 11): recording 20k rejected rows a second time
used to be one UPDATE per row (55 s on DuckDB, 23 s on PostgreSQL). Checkpoints record failures
set-based, so the second run costs about what the first does."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.faults.conftest import numbered_customers_sql, scripted_model
from tests.integration.conftest import SyncProject
from tests.support.scripted_endpoint import RecordedRequest, Reply, ScriptedEndpoint

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROWS = 20_000
MODEL_SQL = numbered_customers_sql(ROWS)


@pytest.fixture
def endpoint() -> Iterator[ScriptedEndpoint]:
    with ScriptedEndpoint(record=False) as scripted:
        yield scripted


def reject_all(request: RecordedRequest) -> Reply:
    rows = request.json()["rows"]
    errors = [{"primary_key_value": r["customer_id"], "reason": "no"} for r in rows]
    return Reply.ok(json.dumps({"errors": errors}).encode())


def test_rows_rejected_again_are_recorded_set_based(
    project: SyncProject, endpoint: ScriptedEndpoint
) -> None:
    scripted_model(
        project,
        endpoint,
        MODEL_SQL,
        batch_size=500,
        concurrency=4,
        retries={"mode": "next_run"},
    )
    project.build()
    endpoint.responder = reject_all
    durations = []
    for run_number in (1, 2):
        run = project.run(expect=1)["runs"][0]
        assert (run["delivered_rows"], run["rejected_rows"]) == (0, ROWS)
        durations.append(run["duration_seconds"])
        print(f"{project.warehouse} run {run_number}: {run['duration_seconds']} s")
    [(count, attempts, episodes)] = project.query(
        "select count(*), min(attempts), count(distinct first_failed_run_id)"
        " from {schema}.lambda_sync_errors where resolved_at is null"
    )
    assert (count, attempts, episodes) == (ROWS, 2, 1)
    # The second run re-records every row; it must not cost much more than the first.
    assert durations[1] < max(3 * durations[0], 10.0), durations
