"""Transport and API faults from a scripted Lambda endpoint (SPEC 5 and 6): 5xx, throttling with
Retry-After, a connection reset, an answer cut mid-body, a hung endpoint, 413, a non-JSON answer.

The endpoint answers by (first key of the batch, attempt), so the script holds whatever order
the runner's batches and retries come in. Retries must be the runner's: visible, with the same
invocation_id and a growing attempt, in lambda_sync_invocations.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.faults.conftest import (
    Deliveries,
    check_invariant,
    engine_only,
    numbered_customers_sql,
    scripted_model,
)
from tests.integration.conftest import SyncProject
from tests.support.scripted_endpoint import RecordedRequest, Reply, ScriptedEndpoint

pytestmark = [pytest.mark.integration, engine_only]

ROWS = 12
MODEL_SQL = numbered_customers_sql(ROWS)
KEYS = {str(i) for i in range(1, ROWS + 1)}


def by_batch(plan: dict[tuple[int, int], Reply]) -> Callable[[RecordedRequest], Reply | None]:
    """A responder: (first customer_id of the batch, attempt) -> reply; else the default."""

    def respond(request: RecordedRequest) -> Reply | None:
        event = request.json()
        return plan.get((event["rows"][0]["customer_id"], event["sync"]["attempt"]))

    return respond


def invocations(project: SyncProject) -> list[tuple]:
    return project.query(
        "select invocation_id, attempt, outcome, status_code, error_code, error_message"
        " from {schema}.lambda_sync_invocations where run_id = (select run_id from"
        " {schema}.lambda_sync_runs order by started_at desc limit 1)"
        " order by invocation_id, attempt"
    )


def configure(project: SyncProject, endpoint: ScriptedEndpoint, **overrides) -> None:
    scripted_model(
        project,
        endpoint,
        MODEL_SQL,
        batch_size=2,
        concurrency=3,
        timeout_seconds=1,
        retries={"mode": "immediate", "attempts": 3},
        **overrides,
    )


def test_transport_and_api_faults(project: SyncProject, endpoint: ScriptedEndpoint) -> None:
    configure(project, endpoint)
    project.build()
    # Keys are ordered as text: the batches are 1+10, 11+12, 2+3, 4+5, 6+7, 8+9.
    endpoint.responder = by_batch(
        {
            (2, 1): Reply.service_error(),  # 5xx: retried
            (4, 1): Reply.reset(),  # closed before any answer: retried
            (4, 2): Reply.drop(),  # answer cut mid-body: retried
            (6, 1): Reply.throttled(retry_after=1),  # 429: retried after at least 1 s
            (8, 1): Reply.hang(9),  # longer than the read timeout (timeout_seconds + 5 s)
            (1, 1): Reply.too_large(),  # 413: this payload can never pass; not retried
            **{(11, n): Reply.malformed() for n in range(1, 5)},  # not JSON: retried, recorded
        }
    )
    run = project.run(expect=1)["runs"][0]
    assert (run["delivered_rows"], run["rejected_rows"], run["retries"]) == (8, 4, 8)
    log = invocations(project)
    by_id: dict[str, list[tuple]] = {}
    for row in log:
        by_id.setdefault(row[0], []).append(row[1:])
    assert sorted(
        ([a for a, *_ in attempts], [o for _, o, *_ in attempts]) for attempts in by_id.values()
    ) == [
        ([1], ["client_error"]),
        ([1, 2], ["network_error", "delivered"]),
        ([1, 2], ["service_error", "delivered"]),
        ([1, 2], ["throttled", "delivered"]),
        ([1, 2, 3], ["network_error", "network_error", "delivered"]),
        ([1, 2, 3, 4], ["invalid_response"] * 4),
    ]
    first_key = {
        r.json()["sync"]["invocation_id"]: r.json()["rows"][0]["customer_id"]
        for r in endpoint.requests
    }
    statuses = {(first_key[i], a): (o, s, c, m) for i, a, o, s, c, m in log}
    assert statuses[(2, 1)][:3] == ("service_error", 500, "ServiceException")
    assert statuses[(6, 1)][:3] == ("throttled", 429, "TooManyRequestsException")
    assert statuses[(1, 1)][:3] == ("client_error", 413, "RequestEntityTooLargeException")
    assert "timeout" in statuses[(8, 1)][3].lower(), statuses[(8, 1)]
    throttled = [r for r in endpoint.requests if r.json()["rows"][0]["customer_id"] == 6]
    assert throttled[1].received_at - throttled[0].received_at >= 1.0  # Retry-After honoured

    errors = project.open_errors()
    assert set(errors) == {"1", "10", "11", "12"}
    assert errors["1"][1].startswith("RequestEntityTooLargeException: Request must be smaller")
    assert errors["11"][1].startswith("invalid response: not JSON"), errors["11"]
    assert errors["11"][2] == 4 and errors["1"][2] == 1  # attempts: invocations that carried it
    assert set(project.snapshot()) == KEYS - set(errors)

    # The faults are gone: a clean run delivers the rest and resolves every error.
    seen = endpoint.json_bodies()
    endpoint.reset()
    endpoint.responder = None
    project.run()
    assert len(endpoint.requests) == 2  # only the failed rows are sent again
    check_invariant(project, Deliveries.of(seen + endpoint.json_bodies()))
