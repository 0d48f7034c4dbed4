"""Function faults through a real handler in ministack (SPEC 5, 6 and 8), with the AWS keys given
through environment variables holding sentinel values:

- a timeout (the function sleeps past its 1 s timeout), an ``errors`` that is not a list, an entry
  without ``primary_key_value``, a ``primary_key_value`` of the wrong type, all in one run: every
  row of those batches goes to lambda_sync_errors with a reason that says why;
- throttling (reserved concurrency 0: real 429s);
- then a clean run: every row delivered, every error resolved;
- and the sentinel keys never appear in the output, dbt's log, target/ or any package table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.faults.conftest import (
    SYNC,
    Deliveries,
    check_invariant,
    deploy_faulty,
    engine_only,
    numbered_customers_sql,
)
from tests.integration.conftest import SyncProject

pytestmark = [pytest.mark.integration, engine_only]

ROWS = 10
MODEL_SQL = numbered_customers_sql(ROWS)
KEYS = {str(i) for i in range(1, ROWS + 1)}
# Not shaped like AWS keys, so no pattern-based scrubbing can hide a leak: only never writing them.
SENTINEL_ID = "SENTINELKEYID7F3A9C1B"
SENTINEL_SECRET = "sentinel/Secret+9d2e4bQ7uXw0LmZr5TgHvYk8NcJp3FsE"
TABLES = ("state", "snapshots", "plans", "runs", "invocations", "errors")


def outcomes_of_last_run(project: SyncProject) -> dict[str, set]:
    rows = project.query(
        "select outcome, status_code, error_message from {schema}.lambda_sync_invocations"
        " where run_id = (select run_id from {schema}.lambda_sync_runs"
        " order by started_at desc limit 1)"
    )
    found: dict[str, set] = {}
    for outcome, status, message in rows:
        found.setdefault(outcome, set()).add((status, message))
    return found


def run(project: SyncProject, outputs: list[str], *, expect: int) -> dict:
    result = project.cli("run", "--output", "json", expect=expect)
    outputs += [result.stdout, result.stderr]
    return json.loads(result.stdout)["runs"][0]


def test_function_faults_then_clean_run_and_no_secret_anywhere(project: SyncProject) -> None:
    project.env.update(SYNC_KEY_ID=SENTINEL_ID, SYNC_SECRET=SENTINEL_SECRET)
    deploy_faulty(project, timeout=1)
    project.model(
        "customers",
        MODEL_SQL,
        project.sync_config(
            batch_size=2,
            concurrency=5,
            retries={"mode": "immediate", "attempts": 1},
            credentials={
                "access_key_id_env": "SYNC_KEY_ID",
                "secret_access_key_env": "SYNC_SECRET",
            },
        ),
    )
    project.build()
    outputs: list[str] = []

    # One run, a different fault per batch (keyed by the batch's first key; keys are ordered as
    # text, so the batches are 1+10, 2+3, 4+5, 6+7, 8+9); 8 and 9 go through.
    project.rules(
        by_key={
            "1": {"sleep": 3},
            "2": {"answer": {"errors": "all bad"}},
            "4": {"answer": {"errors": [{"reason": "no key"}]}},
            "6": {"answer": {"errors": [{"primary_key_value": None, "reason": "x"}]}},
        }
    )
    summary = run(project, outputs, expect=1)
    assert (summary["delivered_rows"], summary["rejected_rows"]) == (2, 8)
    assert summary["retries"] == 4  # each failed batch retried once within the run
    errors = project.open_errors()
    assert set(errors) == KEYS - {"8", "9"}
    reasons = {key: reason for key, (_, reason, _, _) in errors.items()}
    assert "Sandbox.Timedout" in reasons["1"] and "timed out" in reasons["1"], reasons["1"]
    assert reasons["3"].startswith("invalid response: 'errors' must be a list") and reasons[
        "2"
    ].endswith("got a string")
    assert reasons["5"].endswith("errors[0] has no 'primary_key_value'"), reasons["5"]
    assert reasons["7"].endswith("primary_key_value is null, not a string or number")
    assert all(attempts == 2 for _, _, attempts, _ in errors.values())
    assert set(outcomes_of_last_run(project)) == {"function_error", "invalid_response", "delivered"}
    assert set(project.snapshot()) == {"8", "9"}

    # Throttled by Lambda itself (reserved concurrency 0): real 429s; the function never runs.
    client = project.ministack.client()
    client.put_function_concurrency(FunctionName=project.function, ReservedConcurrentExecutions=0)
    project.rules()
    sent_before = len(project.events())
    summary = run(project, outputs, expect=1)
    assert (summary["delivered_rows"], summary["rejected_rows"]) == (0, 8)
    assert len(project.events()) == sent_before
    outcomes = outcomes_of_last_run(project)
    assert set(outcomes) == {"throttled"} and {s for s, _ in outcomes["throttled"]} == {429}
    assert all("TooManyRequestsException" in r for _, r, _, _ in project.open_errors().values())
    assert all(a == 4 for _, _, a, _ in project.open_errors().values())  # 2 + 2 invocations

    # The fault is gone: everything delivered, every error resolved.
    client.delete_function_concurrency(FunctionName=project.function)
    summary = run(project, outputs, expect=0)
    assert summary["delivered_rows"] == 8
    deliveries = Deliveries.of(project.events())
    check_invariant(project, deliveries)
    resolved = project.query(
        "select count(*) from {schema}.lambda_sync_errors"
        f" where sync_name = '{SYNC}' and resolved_run_id is not null"
    )
    assert resolved[0][0] == 8

    # The sentinel keys: nowhere in what we print, log, write under target/ or store.
    places = {"stdout/stderr": "\n".join(outputs)}
    for path in [project.root / "logs" / "dbt.log", *Path(project.root, "target").rglob("*")]:
        if path.is_file():
            places[str(path.relative_to(project.root))] = path.read_bytes().decode("latin-1")
    for table in TABLES:
        rows = project.query(f"select * from {{schema}}.lambda_sync_{table}")
        places[f"lambda_sync_{table}"] = "\n".join(map(repr, rows))
    for secret in (SENTINEL_ID, SENTINEL_SECRET):
        leaks = [where for where, text in places.items() if secret in text]
        assert not leaks, f"{secret[:8]}... found in {leaks}"
    print(
        f"{project.warehouse}: {ROWS} rows through a timeout, 3 malformed answers and throttling,"
        f" resolved on a clean run; sentinel keys absent from {len(places)} places"
    )
