"""verdict.classify: what one finished invocation means, decided from a batch and a result alone."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from dbt_lambda_sync.engine.invoker import InvocationResult
from dbt_lambda_sync.engine.retry import RetryPolicy
from dbt_lambda_sync.events import Batch, PlannedRow
from dbt_lambda_sync.verdict import Verdict, classify, read_answer
from tests.unit.test_runner import result as delivered_result

OK = delivered_result()  # a 200 answering null


def batch(*keys: str, attempt: int = 1) -> Batch:
    rows = [PlannedRow(k, "added", f'{{"id": "{k}"}}', seq=i) for i, k in enumerate(keys, 1)]
    return Batch(invocation_id="run:000001", operation="added", rows=rows, attempt=attempt)


def decide(b: Batch, result: InvocationResult, *, attempts: int = 2, **kwargs: Any) -> Verdict:
    policy = RetryPolicy(attempts=attempts, rng=random.Random(7))
    options: dict[str, Any] = {"stopped": False, "new_invocation_id": lambda: "run:000099"}
    options.update(kwargs)
    return classify(b, result, read_answer(result, b), policy=policy, **options)


def test_a_delivered_batch_confirms_every_row() -> None:
    verdict = decide(batch("1", "2"), OK)
    assert verdict.outcome == "delivered" and verdict.rejected == {}
    assert [r.primary_key for r in verdict.confirmed] == ["1", "2"]
    assert verdict.failures == () and verdict.retry is None and verdict.fatal is None


def test_rejected_rows_are_retried_alone_as_a_new_invocation() -> None:
    answer = b'{"errors": [{"primary_key_value": "2", "reason": "no"}]}'
    verdict = decide(batch("1", "2"), replace(OK, payload=answer))
    assert verdict.outcome == "partially_rejected" and verdict.rejected == {"2": "no"}
    assert [r.primary_key for r in verdict.confirmed] == ["1"]
    assert verdict.retry is not None
    assert verdict.retry.invocation_id == "run:000099" and verdict.retry.attempt == 2
    assert [r.primary_key for r in verdict.retry.rows] == ["2"]


def test_a_throttled_batch_is_sent_again_whole_with_its_invocation_id() -> None:
    throttled = replace(OK, outcome="throttled", payload=None, retryable=True, retry_after=2.0)
    verdict = decide(batch("1", "2"), throttled)
    assert verdict.confirmed == () and verdict.failures == ()
    assert verdict.retry is not None and verdict.retry.invocation_id == "run:000001"
    assert verdict.retry_delay >= 2.0  # Lambda's hint is a floor


def test_past_the_attempts_the_rows_fail_for_this_run() -> None:
    throttled = replace(OK, outcome="throttled", payload=None, error_code="Slow", retryable=True)
    verdict = decide(batch("1", attempt=3), throttled)
    assert verdict.retry is None
    assert [(r.primary_key, reason) for r, reason in verdict.failures] == [("1", "Slow")]


def test_a_fatal_result_stops_the_sync_and_retries_nothing() -> None:
    gone = replace(
        OK,
        outcome="client_error",
        payload=None,
        error_code="ResourceNotFoundException",
        error_message="Function not found",
        fatal=True,
    )
    verdict = decide(batch("1"), gone)
    assert verdict.fatal == "ResourceNotFoundException: Function not found"
    assert verdict.retry is None and len(verdict.failures) == 1


def test_nothing_is_retried_once_the_sync_is_stopping() -> None:
    throttled = replace(OK, outcome="throttled", payload=None, retryable=True)
    verdict = decide(batch("1"), throttled, stopped=True)
    assert verdict.retry is None and len(verdict.failures) == 1


def test_an_unreadable_answer_is_an_invalid_response_retried_whole() -> None:
    verdict = decide(batch("1", "2"), replace(OK, payload=b'{"errors": 5}'))
    assert verdict.outcome == "invalid_response"
    assert verdict.error_message and verdict.error_message.startswith("invalid response")
    assert verdict.retry is not None and verdict.retry.invocation_id == "run:000001"


def test_keys_the_answer_named_but_were_not_sent_are_noted() -> None:
    answer = b'{"errors": [{"primary_key_value": "9", "reason": "?"}]}'
    verdict = decide(batch("1"), replace(OK, payload=answer))
    assert verdict.outcome == "delivered"
    assert verdict.note and "not in the batch were ignored: 9" in verdict.note
