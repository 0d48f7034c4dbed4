"""The sending half of one run: batches dispatched under the sync's limits, results booked,
checkpoints written.

Three kinds of threads: the main thread pages the plan and dispatches batches; worker threads
render events and call Lambda; one writer thread, with a warehouse connection of its own, writes
checkpoints, so dispatching never waits on the warehouse. The snapshot moves only at checkpoints
and only past rows a result confirmed, so a runner killed at any moment re-sends at most the rows
in flight and those confirmed since the last committed checkpoint.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dbt_lambda_sync.checkpoint import Checkpoint, CheckpointWriter, Failure, InvocationRecord
from dbt_lambda_sync.definitions import SyncDefinition
from dbt_lambda_sync.engine.clock import Clock
from dbt_lambda_sync.engine.executor import DaemonPool
from dbt_lambda_sync.engine.invoker import ANSWER_MARGIN_SECONDS, InvocationResult
from dbt_lambda_sync.engine.limiter import RateLimiter
from dbt_lambda_sync.engine.retry import MAX_RETRY_AFTER_SECONDS, RetryPolicy
from dbt_lambda_sync.errors import Interrupted
from dbt_lambda_sync.events import (
    OVERSIZED_REASON,
    Answer,
    Batch,
    Batcher,
    EventContext,
    PlannedRow,
    render_event,
)
from dbt_lambda_sync.interrupts import StopRequests
from dbt_lambda_sync.leases import LeaseHolder
from dbt_lambda_sync.reporting import PlanSummary, Progress, Reporter
from dbt_lambda_sync.state import RunCounters
from dbt_lambda_sync.stores import PlanPage, SyncStore
from dbt_lambda_sync.verdict import Verdict, classify, read_answer
from dbt_lambda_sync.vocabulary import ADDED, CHANGED, REMOVED

PLAN_PAGE_ROWS = 5000
# A page of the plan also stops at this many characters of row JSON: with rows up to the 6 MB
# payload limit, a page by rows alone would hold gigabytes. A page still holds at least one row.
PLAN_PAGE_CHARS = 16 * 1024 * 1024
# While the writer is still busy with the previous checkpoint, look again this much later.
CHECKPOINT_RETRY_SECONDS = 0.05
# The order a run sends in, one operation after the other (compute_plan numbers the plan so):
# a destination that upserts and deletes by key ends in the model's state whatever the timing.
TRIGGERED_ORDER = (REMOVED, CHANGED, ADDED)


@dataclass
class _Outcome:
    batch: Batch
    result: InvocationResult | None  # None: not sent, the run was stopping
    answer: Answer | None
    started_at: datetime


@dataclass(order=True)
class _Scheduled:
    ready_at: float
    order: int
    batch: Batch = field(compare=False)


class SendQueue:
    """What to send next: retries that are due first, then the plan's batches, one operation
    after the other (the first batch of the next operation is held until every call of the
    current one is answered and its retries are done).
    """

    def __init__(self, batches: Iterator[Batch]) -> None:
        self._batches = batches
        self._retries: list[_Scheduled] = []
        self._order = itertools.count()
        self._exhausted = False
        self._phase: str | None = None
        self._held: Batch | None = None

    def retry_at(self, ready_at: float, batch: Batch) -> None:
        """Sends ``batch`` again once the clock reaches ``ready_at``."""
        heapq.heappush(self._retries, _Scheduled(ready_at, next(self._order), batch))

    def next(self, now: float, *, answering: bool) -> tuple[Batch, bool] | None:
        """The next batch to send and whether it is a retry; None when nothing can go now.

        ``answering``: calls are still in flight (the next operation waits for them).
        """
        while True:
            if self._retries and self._retries[0].ready_at <= now:
                return heapq.heappop(self._retries).batch, True
            if self._held is not None:
                if answering or self._retries:
                    return None  # the current operation is not finished yet
                held, self._held = self._held, None
                self._phase = held.operation
                return held, False
            if self._exhausted:
                return None
            batch = next(self._batches, None)
            if batch is None:
                self._exhausted = True
            elif self._phase is not None and batch.operation != self._phase:
                self._held = batch
            else:
                self._phase = batch.operation
                return batch, False

    @property
    def done(self) -> bool:
        """Every batch of the plan went out and no retry is waiting."""
        return self._exhausted and self._held is None and not self._retries

    def next_retry_at(self) -> float | None:
        """When the earliest waiting retry is due."""
        return self._retries[0].ready_at if self._retries else None

    def drain_retries(self) -> list[Batch]:
        """Takes every waiting retry out (the sync stopped)."""
        batches = [scheduled.batch for scheduled in self._retries]
        self._retries.clear()
        return batches


class Delivery:
    """Sends one run's plan and books what comes back, checkpoint by checkpoint."""

    def __init__(
        self,
        defn: SyncDefinition,
        *,
        state: SyncStore,
        run_id: str,
        holder: LeaseHolder,
        counters: RunCounters,
        lease_seconds: float,
        checkpoint_seconds: float,
        grace_seconds: float,
        clock: Clock,
        now: Callable[[], datetime],
        stops: StopRequests,
        reporter: Reporter,
        client_factory: Callable[[SyncDefinition], Any],
        invoke_fn: Callable[..., InvocationResult],
    ) -> None:
        """Prepares the sending; does no I/O."""
        self.defn, self.state, self.run_id, self.holder = defn, state, run_id, holder
        self.counters = counters
        self.lease_seconds = lease_seconds
        self.checkpoint_seconds, self.grace_seconds = checkpoint_seconds, grace_seconds
        self.clock, self.now, self.stops, self.reporter = clock, now, stops, reporter
        self.client_factory, self.invoke_fn = client_factory, invoke_fn
        self.pending = Checkpoint()
        self._invocation_numbers = itertools.count(1)
        self._retry = RetryPolicy(
            attempts=defn.retries.attempts if defn.retries.mode == "immediate" else 0,
            max_retry_after=min(MAX_RETRY_AFTER_SECONDS, lease_seconds),
        )
        self.ctx = EventContext(
            sync_name=defn.name,
            model_name=defn.model.name,
            run_id=run_id,
            primary_key_column=defn.primary_key,
            include_previous=defn.include_previous,
        )
        self.fatal: str | None = None  # no invocation can succeed in this run: why
        self.plan_version: int | None = None  # of the plan this run reads its rows from
        self.plan_replaced = False  # a checkpoint found the plan recomputed: stop sending
        self.interrupt: Interrupted | None = None  # a signal asked to stop: stop sending
        self.in_flight_at_stop = self.abandoned = 0
        self.plan = PlanSummary(defn.name, defn.model.name, 0, 0, 0, 0, False)
        # Where the rows to send come from: the stored plan's rows of these operations, in pages.
        self.plan_pages: Callable[[list[str]], Iterator[PlanPage]] = lambda ops: state.plan_pages(
            operations=ops, rows_per_page=PLAN_PAGE_ROWS, chars_per_page=PLAN_PAGE_CHARS
        )
        self._in_flight: dict[Future[_Outcome], Batch] = {}
        self._grace_ends = self._next_checkpoint = self._started_clock = 0.0

    # --- the plan's batches -------------------------------------------------------------------

    def rows(self) -> Iterator[PlannedRow]:
        """The plan's rows to send, paged by seq so memory stays flat whatever the plan size."""
        ops = [op for op in TRIGGERED_ORDER if getattr(self.plan, op)]
        if not ops:
            return
        for page in self.plan_pages(ops):
            for seq, key, op, row_json, previous_json in page:
                yield PlannedRow(key, op, row_json, previous_json, seq=seq)

    def batches(self) -> Iterator[Batch]:
        """The plan's rows cut into batches; a row too large to send fails on the way."""
        batcher = Batcher(
            ctx=self.ctx,
            batch_size=self.defn.batch_size,
            new_invocation_id=self._new_invocation_id,
        )
        for row in self.rows():
            batches, oversized = batcher.add(row)
            for big in oversized:
                self.fail(big, OVERSIZED_REASON, attempts=0, keep_row=False)
            yield from batches
        yield from batcher.flush()

    def _new_invocation_id(self) -> str:
        return f"{self.run_id}:{next(self._invocation_numbers):06d}"

    # --- sending ------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        """The run sends nothing more: a fatal error, a replaced plan or a signal."""
        return self.fatal is not None or self.plan_replaced or self.interrupt is not None

    def send(self) -> None:
        """Sends the plan's rows; returns once all are answered, or the run stopped."""
        if not self.plan.total:
            return  # nothing to send: no client, so an idle sync needs no AWS credentials
        client = self.client_factory(self.defn)
        limiter = None
        if self.defn.rate_limit is not None:
            limiter = RateLimiter(
                self.defn.rate_limit.requests, self.defn.rate_limit.period_seconds, clock=self.clock
            )
        queue = SendQueue(self.batches())
        self._started_clock = self.clock.monotonic()
        self._next_checkpoint = self._started_clock + self.checkpoint_seconds
        writer = CheckpointWriter(self.state, name=f"lambda-sync-{self.defn.name}-writer")
        # Daemon workers: a stopped run does not wait for the calls it abandons.
        with (
            writer,
            DaemonPool(self.defn.concurrency, name=f"lambda-sync-{self.defn.name}") as pool,
        ):
            while True:
                now = self.clock.monotonic()
                if self._grace_over(now):
                    break
                while not self.stopping and len(self._in_flight) < self.defn.concurrency:
                    ready = queue.next(now, answering=bool(self._in_flight))
                    if ready is None:
                        break
                    batch, is_retry = ready
                    self.counters.retries += 1 if is_retry else 0
                    # The limiter reserves the slot here; the worker waits for it, so the main
                    # thread keeps collecting results and checkpointing meanwhile.
                    delay = limiter.reserve() if limiter else 0.0
                    self._in_flight[pool.submit(self._invoke, client, batch, delay)] = batch
                if not self._in_flight and (self.stopping or queue.done):
                    break
                for future in self._wait(now, queue.next_retry_at()):
                    self._collect(future, queue)
                self._maybe_checkpoint(writer)
        if self.fatal:  # the retries left when the sync stopped
            for batch in queue.drain_retries():
                for row in batch.rows:
                    reason = f"not retried: the sync stopped ({self.fatal})"
                    self.fail(row, reason, attempts=batch.attempt - 1)

    def _grace_over(self, now: float) -> bool:
        """Notices a stop asked for by a signal (the calls in flight get a grace period);
        True once that period is over with calls still in flight (their rows stay pending).
        """
        if self.interrupt is None and self.stops.requested is not None:
            self.interrupt = self.stops.requested
            self.in_flight_at_stop = len(self._in_flight)
            self._grace_ends = now + self.grace_seconds
        if self.interrupt is not None and self._in_flight and now >= self._grace_ends:
            self.abandoned = len(self._in_flight)
            return True
        return False

    def _wait(self, now: float, retry_at: float | None) -> set[Future[_Outcome]]:
        """Waits for a call to finish, the next checkpoint, a retry or the grace period's end."""
        timeout = self._next_checkpoint - now
        if retry_at is not None:
            timeout = min(timeout, retry_at - now)
        if self.interrupt is not None:
            timeout = min(timeout, self._grace_ends - now)
        if self._in_flight:
            done, _ = wait(self._in_flight, timeout=max(0.0, timeout), return_when=FIRST_COMPLETED)
            return done
        self.clock.sleep(max(0.0, timeout))
        return set()

    def _collect(self, future: Future[_Outcome], queue: SendQueue) -> None:
        self._in_flight.pop(future)
        outcome = future.result()
        if outcome.result is None:
            return  # not sent: the run was stopping by the time its slot came
        retry = self._handle(outcome, outcome.result)
        if retry is not None:
            queue.retry_at(*retry)

    def _maybe_checkpoint(self, writer: CheckpointWriter) -> None:
        if self.clock.monotonic() < self._next_checkpoint:
            return
        if writer.ready():
            writer.submit(self.checkpoint_writer())
            self._report_progress()
            wait_seconds = self.checkpoint_seconds
        else:  # the previous checkpoint is still being written: keep dispatching
            wait_seconds = CHECKPOINT_RETRY_SECONDS
        self._next_checkpoint = self.clock.monotonic() + wait_seconds

    def _invoke(self, client: Any, batch: Batch, delay: float) -> _Outcome:
        """Runs on a worker thread: waits for the limiter's slot, sends, reads the answer."""
        if delay > 0:
            self.clock.sleep(delay)
            if self.stopping:
                return _Outcome(batch, None, None, self.now())
        payload = render_event(batch, self.ctx)
        started_at = self.now()
        result = self.invoke_fn(
            client,
            function_name=self.defn.function.name,
            payload=payload,
            clock=self.clock,
            deadline_seconds=self.defn.timeout_seconds + ANSWER_MARGIN_SECONDS,
        )
        return _Outcome(batch, result, read_answer(result, batch), started_at)

    # --- booking results ----------------------------------------------------------------------

    def _handle(self, outcome: _Outcome, result: InvocationResult) -> tuple[float, Batch] | None:
        """Books one finished invocation; returns the batch to retry and when, if any."""
        batch = outcome.batch
        verdict = classify(
            batch,
            result,
            outcome.answer,
            policy=self._retry,
            stopped=self.fatal is not None,
            new_invocation_id=self._new_invocation_id,
        )
        self.counters.invocations += 1
        if verdict.fatal and self.fatal is None:
            self.fatal = verdict.fatal
        self.pending.invocations.append(self._record(outcome, result, verdict))
        for row in verdict.confirmed:
            self.pending.confirmed.append(row.seq)
            self.counters.delivered_rows += 1
        for row, reason in verdict.failures:
            self.fail(row, reason, attempts=batch.attempt)
        if verdict.retry is None:
            return None
        return self.clock.monotonic() + verdict.retry_delay, verdict.retry

    def _record(
        self, outcome: _Outcome, result: InvocationResult, verdict: Verdict
    ) -> InvocationRecord:
        """The invocations log's row for one finished invocation."""
        batch = outcome.batch
        return InvocationRecord(
            run_id=self.run_id,
            sync_name=self.defn.name,
            invocation_id=batch.invocation_id,
            attempt=batch.attempt,
            operation=batch.operation,
            row_count=len(batch.rows),
            started_at=outcome.started_at,
            duration_ms=result.duration_ms,
            outcome=verdict.outcome,
            status_code=result.status_code,
            function_error=result.function_error,
            error_code=result.error_code,
            error_message=verdict.error_message,
            executed_version=result.executed_version,
            request_id=result.request_id,
            rejected_rows=len(verdict.rejected),
            note=verdict.note,
        )

    def fail(self, row: PlannedRow, reason: str, *, attempts: int, keep_row: bool = True) -> None:
        """Books a row for lambda_sync_errors; attempts: the invocations that carried it."""
        self.pending.failures.append(
            Failure(
                row.primary_key,
                row.operation,
                reason,
                row.row_json if keep_row else None,
                attempts,
            )
        )
        self.counters.rejected_rows += 1

    # --- checkpoints --------------------------------------------------------------------------

    def keep_confirmed(self) -> None:
        """After an unexpected error (a bug, not the warehouse or the lease): still checkpoint
        what results confirmed, so those rows are not sent again. Best effort: the error being
        raised is the one reported.
        """
        try:
            self.checkpoint()
        except Exception:
            pass

    def checkpoint(self) -> None:
        """Writes what was learnt since the last checkpoint, on this thread."""
        self.checkpoint_writer()()

    def checkpoint_writer(self) -> Callable[[], None]:
        """Takes what was learnt since the last checkpoint (and a copy of the counters as they are
        now); returns the write, to run on any thread that has a warehouse connection.
        """
        pending, self.pending = self.pending, Checkpoint()
        counters = dataclasses.replace(self.counters)
        now = self.now()

        def write() -> None:
            applied = self.state.write_checkpoint(
                pending,
                run_id=self.run_id,
                now=now,
                counters=counters,
                lease_holder=self.holder,
                lease_seconds=self.lease_seconds,
                plan_version=self.plan_version,
            )
            if not applied:
                self.plan_replaced = True

        return write

    def _report_progress(self) -> None:
        c = self.counters
        self.reporter.progress(
            Progress(
                sync=self.defn.name,
                planned_rows=c.planned_added + c.planned_changed + c.planned_removed,
                delivered_rows=c.delivered_rows,
                rejected_rows=c.rejected_rows,
                invocations=c.invocations,
                elapsed_seconds=self.clock.monotonic() - self._started_clock,
            )
        )
