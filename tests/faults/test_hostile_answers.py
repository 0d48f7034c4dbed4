"""Hostile answers from the function or the network (issue 10, items 3-5, 7, 8): text that a
warehouse refuses (NUL, lone surrogates), keys that cannot be matched, answers too large or too
slow, a throttle that asks for a day's wait.

Each case runs end to end on DuckDB and PostgreSQL against ``tests/scripted_endpoint.py``: the
bad answer concerns its own batch only, every other row is delivered and checkpointed, and a
clean run afterwards delivers the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.faults.conftest import Deliveries, check_invariant
from tests.integration.conftest import SyncProject
from tests.scripted_endpoint import RecordedRequest, Reply, ScriptedEndpoint

pytestmark = pytest.mark.integration

ROWS = 12
MODEL_SQL = (
    "{% if target.type == 'duckdb' %}"
    f"select cast(i as integer) as customer_id, 'name ' || i as name from range(1, {ROWS + 1}) t(i)"
    "{% else %}"
    f"select i as customer_id, 'name ' || i as name from generate_series(1, {ROWS}) t(i)"
    "{% endif %}"
)
KEYS = {str(i) for i in range(1, ROWS + 1)}


@pytest.fixture
def endpoint() -> Iterator[ScriptedEndpoint]:
    with ScriptedEndpoint() as scripted:
        yield scripted


def by_first_key(plan: dict[int, Reply]) -> Callable[[RecordedRequest], Reply | None]:
    """A responder: first customer_id of the batch -> reply (every attempt); else the default."""

    def respond(request: RecordedRequest) -> Reply | None:
        return plan.get(request.json()["rows"][0]["customer_id"])

    return respond


def configure(project: SyncProject, endpoint: ScriptedEndpoint, **overrides) -> None:
    config = dict(
        function="scripted-fn",
        endpoint_url=endpoint.endpoint_url,
        batch_size=2,
        concurrency=2,
        timeout_seconds=1,
        retries={"mode": "immediate", "attempts": 0},
    )
    config.update(overrides)
    project.model("customers", MODEL_SQL, project.sync_config(**config))


def settle(project: SyncProject, endpoint: ScriptedEndpoint) -> None:
    """The faults are gone: a clean run delivers the failed rows and resolves every error."""
    seen = endpoint.json_bodies()
    endpoint.reset()
    endpoint.responder = None
    project.run()
    check_invariant(project, Deliveries.of(seen + endpoint.json_bodies()))


def test_nul_and_lone_surrogates_in_error_text_are_stored_cleaned(
    project: SyncProject, endpoint: ScriptedEndpoint
) -> None:
    """Item 3: a NUL or a lone surrogate in any text from the function used to fail the whole
    checkpoint (PostgreSQL refuses NUL, no UTF-8 column takes a lone surrogate): the confirmed
    rows rolled back and the sync never progressed."""
    configure(project, endpoint)
    project.build()
    raw_error = Reply(
        body=b"crash \x00 with \xed\xa0\x80 bytes",
        headers={"X-Amz-Function-Error": "Unhandled"},
    )
    # Batches (keys ordered as text): 1+10, 11+12, 2+3, 4+5, 6+7, 8+9.
    endpoint.responder = by_first_key(
        {
            1: Reply.function_error("Bad\x00Type\ud800", "message \x00 and \udfff here"),
            11: raw_error,
            2: Reply.error(500, "ServiceException", "internal \x00 error \ud83d"),
            4: Reply.ok({"errors": [{"primary_key_value": 5, "reason": "no \x00 \udc00 way"}]}),
        }
    )
    run = project.run(expect=1)["runs"][0]
    assert (run["delivered_rows"], run["rejected_rows"]) == (5, 7)
    errors = project.open_errors()
    assert set(errors) == {"1", "10", "11", "12", "2", "3", "5"}
    assert errors["1"][1] == "Bad\ufffdType\ufffd: message \ufffd and \ufffd here"
    assert errors["11"][1] == "Unhandled: crash \ufffd with \ufffd\ufffd\ufffd bytes"
    assert errors["2"][1] == "ServiceException: internal \ufffd error \ufffd"
    assert errors["5"][1] == "no \ufffd \ufffd way"
    assert set(project.snapshot()) == {"4", "6", "7", "8", "9"}
    logged = project.query(
        "select error_code, error_message from {schema}.lambda_sync_invocations"
        " where outcome = 'function_error' order by error_code"
    )
    assert ("Bad\ufffdType\ufffd", "message \ufffd and \ufffd here") in logged
    settle(project, endpoint)


def test_unmatchable_keys_are_an_invalid_response_and_other_syncs_run(
    project: SyncProject, endpoint: ScriptedEndpoint
) -> None:
    """Item 4: a 401-digit primary_key_value raised OverflowError: exit 3 "unexpected", the rows
    delivered before it not checkpointed, and the command's other syncs never ran."""
    base = dict(
        function="scripted-fn",
        endpoint_url=endpoint.endpoint_url,
        batch_size=2,
        concurrency=1,
        retries={"mode": "immediate", "attempts": 0},
    )
    project.model(
        "customers",
        MODEL_SQL,
        [project.sync_config(**base), project.sync_config(name="second_sync", **base)],
    )
    project.build()
    absurd = b'{"errors": [{"primary_key_value": 1' + b"0" * 400 + b', "reason": "x"}]}'

    def respond(request: RecordedRequest) -> Reply | None:
        event = request.json()
        if event["sync"]["name"] != "crm_customers":
            return None
        first = event["rows"][0]["customer_id"]
        if first == 2:
            return Reply.ok(absurd)
        if first == 4:
            return Reply.ok(b'{"errors": [{"primary_key_value": NaN}]}')
        return None

    endpoint.responder = respond
    result = project.run(expect=1)
    runs = {r["sync"]: r for r in result["runs"]}
    assert result["errors"] == []
    assert (runs["crm_customers"]["delivered_rows"], runs["crm_customers"]["rejected_rows"]) == (
        8,
        4,
    )
    assert (runs["second_sync"]["delivered_rows"], runs["second_sync"]["rejected_rows"]) == (12, 0)
    errors = project.open_errors()
    assert set(errors) == {"2", "3", "4", "5"}
    assert all("not a finite number" in e[1] for e in errors.values()), errors
    assert set(project.snapshot()) == KEYS - set(errors)
    outcomes = project.query(
        "select outcome, count(*) from {schema}.lambda_sync_invocations"
        " where sync_name = 'crm_customers' group by outcome order by outcome"
    )
    assert outcomes == [("delivered", 4), ("invalid_response", 2)]
    seen = [e for e in endpoint.json_bodies() if e["sync"]["name"] == "crm_customers"]
    endpoint.reset()
    endpoint.responder = None
    project.run()
    check_invariant(project, Deliveries.of(seen + endpoint.json_bodies()))
