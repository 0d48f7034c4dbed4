"""Hostile answers from the function or the network (issue 10, items 3-5, 7, 8): text that a
warehouse refuses (NUL, lone surrogates), keys that cannot be matched, answers too large or too
slow, a throttle that asks for a day's wait.

Each case runs end to end against ``tests/support/scripted_endpoint.py``, on every warehouse for
text a warehouse refuses, on DuckDB and PostgreSQL for the others (``engine_only``):
the bad answer concerns its own batch only, every other row is delivered and checkpointed, and a
clean run afterwards delivers the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.faults.conftest import (
    Deliveries,
    check_invariant,
    engine_only,
    numbered_customers_sql,
    scripted_model,
    scripted_sync,
)
from tests.integration.conftest import SyncProject
from tests.support.scripted_endpoint import RecordedRequest, Reply, ScriptedEndpoint

pytestmark = pytest.mark.integration

ROWS = 12
MODEL_SQL = numbered_customers_sql(ROWS)
KEYS = {str(i) for i in range(1, ROWS + 1)}


def by_first_key(plan: dict[int, Reply]) -> Callable[[RecordedRequest], Reply | None]:
    """A responder: first customer_id of the batch -> reply (every attempt); else the default."""

    def respond(request: RecordedRequest) -> Reply | None:
        return plan.get(request.json()["rows"][0]["customer_id"])

    return respond


def configure(project: SyncProject, endpoint: ScriptedEndpoint, **overrides) -> None:
    config = dict(
        batch_size=2,
        concurrency=2,
        timeout_seconds=1,
        retries={"mode": "immediate", "attempts": 0},
    )
    config.update(overrides)
    scripted_model(project, endpoint, MODEL_SQL, **config)


def settle(project: SyncProject, endpoint: ScriptedEndpoint, sync: str | None = None) -> None:
    """The faults are gone: a clean run delivers the failed rows and resolves every error.

    ``sync`` checks that sync's deliveries only (the others' rows are not in the model).
    """
    seen = [e for e in endpoint.json_bodies() if sync in (None, e["sync"]["name"])]
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


@engine_only
def test_unmatchable_keys_are_an_invalid_response_and_other_syncs_run(
    project: SyncProject, endpoint: ScriptedEndpoint
) -> None:
    """Item 4: a 401-digit primary_key_value raised OverflowError: exit 3 "unexpected", the rows
    delivered before it not checkpointed, and the command's other syncs never ran."""
    base = dict(
        batch_size=2,
        concurrency=1,
        retries={"mode": "immediate", "attempts": 0},
    )
    project.model(
        "customers",
        MODEL_SQL,
        [
            scripted_sync(project, endpoint, **base),
            scripted_sync(project, endpoint, name="second_sync", **base),
        ],
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
    settle(project, endpoint, "crm_customers")


@engine_only
def test_huge_error_types_and_answers_are_capped(
    project: SyncProject, endpoint: ScriptedEndpoint
) -> None:
    """Item 5: a 3 MB errorType was stored whole on every row of its batch (600 MB written to
    lambda_sync_errors); an answer of any size was read whole."""
    configure(project, endpoint)
    project.build()
    endpoint.responder = by_first_key(
        {
            1: Reply.function_error("T" * 3_000_000, "m" * 3_000_000),
            11: Reply.ok(b'{"errors": [], "pad": "' + b"x" * (8 * 1024 * 1024) + b'"}'),
            2: Reply.ok({"errors": [{"primary_key_value": 2, "reason": "r" * 3_000_000}]}),
        }
    )
    run = project.run(expect=1)["runs"][0]
    assert (run["delivered_rows"], run["rejected_rows"]) == (7, 5)
    errors = project.open_errors()
    assert set(errors) == {"1", "10", "11", "12", "2"}
    lengths = {key: len(e[1]) for key, e in errors.items()}
    assert lengths["1"] == 256 + 2 + 4000  # "<type>: <message>", each cut
    assert errors["11"][1].startswith("ResponseTooLarge: answer of 8,388,6")
    assert lengths["2"] == 1000
    logged = project.query(
        "select max(length(error_code)), max(length(error_message))"
        " from {schema}.lambda_sync_invocations"
    )
    assert logged == [(256, 4000)]
    settle(project, endpoint)


@engine_only
def test_a_slow_drip_answer_is_bounded_by_timeout_seconds(
    project: SyncProject, endpoint: ScriptedEndpoint
) -> None:
    """Item 8: one byte every 3 s kept a call with timeout_seconds 1 open for 87 s, and it
    counted as delivered. The whole call is now bounded by timeout_seconds + 5 s."""
    configure(project, endpoint, batch_size=12, concurrency=1)
    project.build()
    endpoint.responder = lambda request: Reply.drip({"errors": []}, every=3.0)
    started = time.monotonic()
    run = project.run(expect=1)["runs"][0]
    elapsed = time.monotonic() - started
    assert (run["delivered_rows"], run["rejected_rows"]) == (0, 12)
    [(outcome, code, duration_ms)] = project.query(
        "select outcome, error_code, duration_ms from {schema}.lambda_sync_invocations"
    )
    assert (outcome, code) == ("network_error", "AnswerDeadlineExceeded")
    assert 6000 <= duration_ms < 7000, duration_ms
    assert elapsed < 30, elapsed
    assert project.snapshot() == {}
    settle(project, endpoint)


@engine_only
def test_a_throttle_asking_for_a_day_fails_the_rows_for_this_run(
    project: SyncProject, endpoint: ScriptedEndpoint
) -> None:
    """Item 7: a 429 with Retry-After 1e5 (or inf) made the runner wait a day (or forever). Past
    min(60 s, the lease) the rows fail for this run and the next run tries them again."""
    configure(project, endpoint, retries={"mode": "immediate", "attempts": 3})
    project.build()
    endpoint.responder = by_first_key(
        {
            1: Reply.throttled(retry_after=1e5),
            11: Reply.throttled(retry_after=float("inf")),
            2: Reply.throttled(retry_after=86400, reason="CallerRateLimitExceeded"),
        }
    )
    started = time.monotonic()
    run = project.run(expect=1)["runs"][0]
    assert time.monotonic() - started < 30
    assert (run["delivered_rows"], run["rejected_rows"], run["retries"]) == (6, 6, 0)
    errors = project.open_errors()
    assert set(errors) == {"1", "10", "11", "12", "2", "3"}
    assert "asked to wait 100000 s, more than the 60 s a run waits" in errors["1"][1]
    assert "asked to wait inf s" in errors["11"][1]
    assert "asked to wait 86400 s" in errors["2"][1]
    assert errors["1"][1].startswith("TooManyRequestsException: Rate Exceeded.")
    settle(project, endpoint)
