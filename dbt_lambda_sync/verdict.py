"""What one finished invocation means for its batch: a pure decision, no warehouse, no I/O.

``classify`` takes a batch, what Lambda did with it (``InvocationResult``) and what the function
answered (``Answer``, when it answered), and says which rows were confirmed, which failed for
this run, whether the sync must stop, and what to send again and after how long. The runner
books the verdict; a unit test can feed it batches and results directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from dbt_lambda_sync.engine.invoker import InvocationResult
from dbt_lambda_sync.engine.retry import RetryPolicy
from dbt_lambda_sync.events import Answer, Batch, PlannedRow, invalid_answer, parse_answer

# The invocations log keeps this much of the note on keys an answer named that were not sent.
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class Verdict:
    """The decision on one finished invocation of a batch."""

    outcome: str  # as logged: the invoker's outcome, or what the answer made of a delivery
    error_message: str | None  # the answer's invalid_reason, else what Lambda or the network said
    note: str | None  # keys the answer named that were not in the batch
    rejected: dict[str, str]  # primary key -> reason, for every row not confirmed
    confirmed: tuple[PlannedRow, ...]
    failures: tuple[tuple[PlannedRow, str], ...]  # rows that fail for this run, with the reason
    fatal: str | None = None  # no invocation of this function can succeed in this run: why
    retry: Batch | None = None  # what to send again
    retry_delay: float = 0.0  # seconds to wait before sending ``retry``


def classify(
    batch: Batch,
    result: InvocationResult,
    answer: Answer | None,
    *,
    policy: RetryPolicy,
    stopped: bool,
    new_invocation_id: Callable[[], str],
) -> Verdict:
    """Decides what a finished invocation means (see the module docstring).

    ``answer`` is None when no function answered (the call failed); ``stopped`` is True when the
    sync is already stopping for a fatal error, so nothing is retried; ``new_invocation_id``
    names a retry of only some of the batch's rows.
    """
    if answer is not None:
        rejected = answer.rejected
        fatal = None
        retryable = True
    else:
        rejected = {row.primary_key: result.failure_reason for row in batch.rows}
        fatal = result.failure_reason if result.fatal else None
        retryable = result.retryable
    verdict = Verdict(
        outcome=_outcome(result, answer),
        error_message=(answer.invalid_reason if answer else None) or result.error_message,
        note=_unknown_keys_note(answer),
        rejected=rejected,
        confirmed=tuple(row for row in batch.rows if row.primary_key not in rejected),
        failures=(),
        fatal=fatal,
    )
    if not rejected:
        return verdict
    failed = [row for row in batch.rows if row.primary_key in rejected]
    if not retryable or stopped or fatal or not policy.should_retry(batch.attempt - 1):
        return _failing(verdict, failed, "")
    if policy.waits_too_long(result.retry_after):
        assert result.retry_after is not None
        return _failing(
            verdict,
            failed,
            f" (asked to wait {result.retry_after:g} s, more than the"
            f" {policy.max_retry_after:g} s a run waits: tried again next run)",
        )
    retry = _retry_batch(batch, failed, answer, new_invocation_id)
    delay = policy.delay(batch.attempt - 1, retry_after=result.retry_after)
    return replace(verdict, retry=retry, retry_delay=delay)


def _retry_batch(
    batch: Batch,
    failed: list[PlannedRow],
    answer: Answer | None,
    new_invocation_id: Callable[[], str],
) -> Batch:
    """What to send again: the same batch when no valid answer came, else the rejected rows."""
    if answer is None or answer.invalid_reason:
        # The same batch again: invocation_id stays, so the function can deduplicate.
        return Batch(
            invocation_id=batch.invocation_id,
            operation=batch.operation,
            rows=batch.rows,
            attempt=batch.attempt + 1,
            payload_size=batch.payload_size,
        )
    # only the rows the function rejected, as a batch of their own
    return Batch(
        invocation_id=new_invocation_id(),
        operation=batch.operation,
        rows=failed,
        attempt=batch.attempt + 1,
    )


def read_answer(result: InvocationResult, batch: Batch) -> Answer | None:
    """What the function answered about the batch's rows; None when no function answered."""
    if result.outcome != "delivered":
        return None
    keys = [r.primary_key for r in batch.rows]
    try:
        return parse_answer(result.payload or b"", keys)
    except Exception as exc:  # a reader bug must cost this batch only, never the run
        return invalid_answer(
            f"invalid response: could not be read: {type(exc).__name__}: {exc}", keys
        )


def _outcome(result: InvocationResult, answer: Answer | None) -> str:
    if answer is None:
        return result.outcome
    if answer.invalid_reason:
        return "invalid_response"
    return "partially_rejected" if answer.rejected else "delivered"


def _unknown_keys_note(answer: Answer | None) -> str | None:
    if answer is None or not answer.unknown_keys:
        return None
    return (
        f"{answer.unknown_key_count} primary_key_value(s) not in the batch were"
        f" ignored: {', '.join(answer.unknown_keys)}"
    )[:MAX_NOTE_CHARS]


def _failing(verdict: Verdict, failed: list[PlannedRow], suffix: str) -> Verdict:
    failures = tuple((row, verdict.rejected[row.primary_key] + suffix) for row in failed)
    return replace(verdict, failures=failures)
