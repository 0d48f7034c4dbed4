"""delivery.SendQueue: due retries first, then the plan's batches one operation after the other."""

from __future__ import annotations

from dbt_lambda_sync.delivery import SendQueue
from dbt_lambda_sync.events import Batch, PlannedRow


def batch(name: str, operation: str) -> Batch:
    row = PlannedRow(name, operation, "{}")
    return Batch(invocation_id=name, operation=operation, rows=[row])


def test_batches_of_one_operation_go_out_in_order() -> None:
    queue = SendQueue(iter([batch("a", "removed"), batch("b", "removed")]))
    assert queue.next(0.0, answering=False) == (batch("a", "removed"), False)
    assert queue.next(0.0, answering=True) == (batch("b", "removed"), False)
    assert queue.next(0.0, answering=True) is None and queue.done


def test_the_next_operation_waits_for_the_current_one_to_be_answered() -> None:
    queue = SendQueue(iter([batch("a", "removed"), batch("b", "added")]))
    assert queue.next(0.0, answering=False) == (batch("a", "removed"), False)
    assert queue.next(0.0, answering=True) is None  # "b" is held while "a" is in flight
    assert not queue.done
    assert queue.next(0.0, answering=False) == (batch("b", "added"), False)


def test_the_next_operation_also_waits_for_the_current_ones_retries() -> None:
    queue = SendQueue(iter([batch("a", "removed"), batch("b", "added")]))
    queue.next(0.0, answering=False)
    queue.retry_at(5.0, batch("a2", "removed"))
    assert queue.next(1.0, answering=False) is None  # the retry is not due, "b" is held
    assert queue.next_retry_at() == 5.0
    assert queue.next(5.0, answering=False) == (batch("a2", "removed"), True)
    assert queue.next(5.0, answering=False) == (batch("b", "added"), False)


def test_due_retries_go_first_earliest_first() -> None:
    queue = SendQueue(iter([batch("a", "added")]))
    queue.retry_at(2.0, batch("late", "added"))
    queue.retry_at(1.0, batch("early", "added"))
    assert queue.next(3.0, answering=False) == (batch("early", "added"), True)
    assert queue.next(3.0, answering=False) == (batch("late", "added"), True)
    assert queue.next(3.0, answering=False) == (batch("a", "added"), False)


def test_draining_takes_the_waiting_retries_out() -> None:
    queue = SendQueue(iter([]))
    queue.retry_at(9.0, batch("r", "added"))
    assert [b.invocation_id for b in queue.drain_retries()] == ["r"]
    assert queue.next(0.0, answering=False) is None and queue.done
