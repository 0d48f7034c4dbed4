"""Runs one sync: fresh plan, lease, delivery under limits, checkpoints, logs.

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
import os
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from dbt_lambda_sync.checkpoint import CheckpointWriter
from dbt_lambda_sync.definitions import SyncDefinition
from dbt_lambda_sync.engine.clock import Clock, SystemClock
from dbt_lambda_sync.engine.executor import DaemonPool
from dbt_lambda_sync.engine.invoker import (
    ANSWER_MARGIN_SECONDS,
    InvocationResult,
    invoke,
)
from dbt_lambda_sync.engine.limiter import RateLimiter
from dbt_lambda_sync.engine.retry import MAX_RETRY_AFTER_SECONDS, RetryPolicy
from dbt_lambda_sync.errors import (
    FunctionUnavailable,
    Interrupted,
    PlanReplaced,
    SyncError,
    UnexpectedError,
    UsageError,
)
from dbt_lambda_sync.events import (
    OVERSIZED_REASON,
    Answer,
    Batch,
    Batcher,
    EventContext,
    PlannedRow,
    invalid_answer,
    parse_answer,
    render_event,
)
from dbt_lambda_sync.interrupts import StopRequests, process_stops
from dbt_lambda_sync.lambda_client import lambda_client_for
from dbt_lambda_sync.plan_store import PlanStore
from dbt_lambda_sync.reporting import NullReporter, PlanSummary, Progress, Reporter, RunSummary
from dbt_lambda_sync.state import (
    DUPLICATE_KEY_REASON,
    Checkpoint,
    Failure,
    InvocationRecord,
    LeaseHolder,
    RunCounters,
)
from dbt_lambda_sync.stores import PlanSource, SyncStore
from dbt_lambda_sync.verdict import Verdict, classify
from dbt_lambda_sync.warehouse import Warehouse

PLAN_PAGE_ROWS = 5000
# A page of the plan also stops at this many characters of row JSON: with rows up to the 6 MB
# payload limit, a page by rows alone would hold gigabytes. A page still holds at least one row.
PLAN_PAGE_CHARS = 16 * 1024 * 1024
# While the writer is still busy with the previous checkpoint, look again this much later.
CHECKPOINT_RETRY_SECONDS = 0.05
# The order a run sends in, one operation after the other (compute_plan numbers the plan so):
# a destination that upserts and deletes by key ends in the model's state whatever the timing.
TRIGGERED_ORDER = ("removed", "changed", "added")


@dataclass(frozen=True)
class RunOptions:
    dry_run: bool = False
    full_refresh: bool = False
    checkpoint_seconds: float = 1.0
    # Asked to stop (SIGINT, SIGTERM): how long the calls in flight get to answer.
    grace_seconds: float = 10.0
    lease_seconds: float = field(default_factory=lambda: _lease_seconds_from_env())


def _lease_seconds_from_env() -> float:
    raw = os.environ.get("DBT_LAMBDA_SYNC_LEASE_SECONDS", "120")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if seconds < 1:
        raise UsageError(
            f"DBT_LAMBDA_SYNC_LEASE_SECONDS must be a number of seconds >= 1, not {raw!r}"
        )
    return seconds


def new_run_id(now: datetime) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def utcnow() -> datetime:
    # Naive UTC: both warehouses store it as given in a plain timestamp column.
    return datetime.now(timezone.utc).replace(tzinfo=None)


# --- one run --------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    batch: Batch
    result: InvocationResult | None  # None on a dry run
    answer: Answer | None
    started_at: datetime


@dataclass(frozen=True)
class RunResult:
    """How one run ended: its summary (None when it stopped before it began) and its error."""

    summary: RunSummary | None
    error: SyncError | None = None


@dataclass(order=True)
class _Scheduled:
    ready_at: float
    order: int
    batch: Batch = field(compare=False)


class SyncRunner:
    """Delivers one sync's pending changes. Build one per run; call ``run()`` once."""

    def __init__(
        self,
        warehouse: Warehouse | None,
        defn: SyncDefinition,
        *,
        options: RunOptions = RunOptions(),
        reporter: Reporter | None = None,
        clock: Clock | None = None,
        client_factory: Callable[[SyncDefinition], Any] | None = None,
        invoke_fn: Callable[..., InvocationResult] = invoke,
        now: Callable[[], datetime] | None = None,
        stops: StopRequests | None = None,
        store: SyncStore | None = None,
        plans: PlanSource | None = None,
    ):
        """Builds the run; does no I/O. ``store`` and ``plans`` default to the warehouse's own
        (``SyncState``, ``PlanStore``); ``warehouse`` may be None when both are given.
        """
        self.defn = defn
        self.options = options
        self.reporter = reporter or NullReporter()
        self.clock = clock or SystemClock()
        self.client_factory = client_factory or lambda_client_for
        self.now = now or utcnow
        self.stops = stops or process_stops
        if store is None or plans is None:
            assert warehouse is not None, "a warehouse, or both a store and plans"
            plan_store = PlanStore(warehouse, defn)
            store, plans = store or plan_store.state, plans or plan_store
        self.plans: PlanSource = plans
        self.state: SyncStore = store
        self.invoke_fn = invoke_fn
        self.counters = RunCounters()
        self.run_id = new_run_id(self.now())
        self.holder = LeaseHolder.this_process(self.run_id)
        self._pending = Checkpoint()
        self._invocation_numbers = itertools.count(1)
        self._retry = RetryPolicy(
            attempts=defn.retries.attempts if defn.retries.mode == "immediate" else 0,
            max_retry_after=min(MAX_RETRY_AFTER_SECONDS, options.lease_seconds),
        )
        self._ctx = EventContext(
            sync_name=defn.name,
            model_name=defn.model.name,
            run_id=self.run_id,
            primary_key_column=defn.primary_key,
            include_previous=defn.include_previous,
        )
        self._fatal: str | None = None
        self._plan_version: int | None = None  # of the plan this run reads its rows from
        self._plan_replaced = False  # a checkpoint found the plan recomputed: stop sending
        self._interrupt: Interrupted | None = None  # a signal asked to stop: stop sending
        self._in_flight_at_stop = self._abandoned = 0
        self._dry_bytes = 0
        self._new_failures = 0
        self._plan = PlanSummary(defn.name, defn.model.name, 0, 0, 0, 0, False)
        # Where the rows to send come from: the stored plan's rows of these operations, in pages.
        self._plan_pages: Callable[[list[str]], Iterator[list[tuple]]] = lambda ops: (
            self.state.plan_pages(
                operations=ops, rows_per_page=PLAN_PAGE_ROWS, chars_per_page=PLAN_PAGE_CHARS
            )
        )

    # --- the run as a whole -------------------------------------------------------------------

    def run(self) -> RunResult:
        """Runs the sync once and says how it ended; reports to the reporter as it goes.

        What stops the sync (a ``SyncError``, or a bug as ``UnexpectedError``) comes back in the
        result with the run's summary, if the run got as far as one. A stop asked for by a
        signal (``KeyboardInterrupt``) is raised once the run is recorded as interrupted.
        """
        try:
            return self._run()
        except SyncError as exc:
            return RunResult(None, exc)
        except Exception as exc:  # a bug: this sync fails alone
            return RunResult(None, UnexpectedError(exc))

    def _run(self) -> RunResult:
        started = self.now()
        start_clock = self.clock.monotonic()
        self.plans.check_relation()
        self.state.create_tables()
        empty_build = self.plans.empty_build(self.state.read())
        if empty_build:
            return RunResult(self._skipped(empty_build, start_clock))
        if self.options.dry_run:
            return RunResult(self._dry_run(started, start_clock))
        # Holding the lease, a signal only asks the run to stop at its next safe point: it then
        # checkpoints, records itself as interrupted and releases the lease (interrupts.py).
        with self.stops.deferring():
            self.state.acquire_lease(self.holder, lease_seconds=self.options.lease_seconds)
            try:
                return self._run_holding_lease(started, start_clock)
            finally:
                try:
                    self.state.release_lease(self.holder)
                except SyncError:
                    pass  # the lease expires on its own

    def _run_holding_lease(self, started: datetime, start_clock: float) -> RunResult:
        # Adopting first: a full refresh then forgets the adopted snapshot, not the old state.
        self.plans.adopt_renamed(now=started)
        if self.options.full_refresh:
            self.state.reset(now=started)
        state = self.plans.refresh(now=started)
        self.plans.refuse_key_change(state)
        self._plan_version = state.plan_version
        counts = self.state.plan_counts()
        plan = self._book_plan(self.plans.summary(state, counts))
        # Holding the lease, so a run of this sync still 'running' is one whose runner died.
        self.state.fail_abandoned_runs(now=started)
        self.state.start_run(
            self.run_id, started_at=started, first_run=plan.first_run, counters=self.counters
        )
        self.reporter.sync_started(plan)
        failure: BaseException | None = None
        try:
            self._send(plan.first_run, counts)
        except BaseException as exc:  # recorded on the run, then returned or raised
            failure = exc
        status, error = self._ending(failure)
        try:
            self.state.finish_run(
                self.run_id,
                finished_at=self.now(),
                status=status,
                counters=self.counters,
                error=error,
            )
        except SyncError:
            if failure is None:
                raise
        summary = self._summary(status, error, start_clock, plan)
        self.reporter.sync_finished(summary)
        if isinstance(failure, SyncError) or failure is None:
            return RunResult(summary, failure)
        if isinstance(failure, Exception):
            return RunResult(summary, UnexpectedError(failure))
        raise failure  # a stop asked for by a signal

    def _send(self, first_run: bool, counts: dict[str, int]) -> None:
        """Everything a run does between starting and finishing; raises what stops it."""
        self.stops.check()
        # One transaction: a crash between the two would make the next run "first" again.
        with self.state.transaction():
            self.counters.skipped_rows = self._skip_unsent(first_run, counts)
            if first_run:
                self.state.mark_initialized()
        self.state.resolve_unneeded_errors(run_id=self.run_id, now=self.now())
        if counts.get("duplicate"):
            self._record_duplicates()
        self.stops.check()
        if self._plan.total:
            self.state.mark_plan_sent()
        self._deliver()
        self._checkpoint()
        if self._interrupt is not None:
            self.stops.check()
        if self._plan_replaced:
            raise PlanReplaced(
                f"sync '{self.defn.name}': model '{self.defn.model.name}' was planned again"
                " (dbt build, or dbt-lambda-sync plan) while this run was sending; rows"
                " confirmed since then stay pending. Run again to send the new plan."
            )
        if self._fatal:
            raise FunctionUnavailable(
                f"sync '{self.defn.name}': function {self.defn.function.name} cannot be"
                f" invoked: {self._fatal}"
            )
        if self.counters.rejected_rows:
            self._new_failures = self.state.count_new_failures(self.run_id)

    def _ending(self, failure: BaseException | None) -> tuple[str, str | None]:
        """The run's status and error, as logged, for what stopped it (None: nothing did)."""
        if failure is None:
            return ("partial" if self.counters.rejected_rows else "success"), None
        if isinstance(failure, KeyboardInterrupt):
            return "interrupted", self._interrupted_message(failure)
        if isinstance(failure, Exception) and not isinstance(failure, SyncError):
            self._keep_confirmed()  # a bug: still keep what results confirmed
            return "failed", f"{type(failure).__name__}: {failure}"
        return "failed", str(failure)

    def _skipped(self, why: str, start_clock: float) -> RunSummary:
        """A sync that sends nothing and changes nothing (no lease, no run logged)."""
        plan = dataclasses.replace(self._plan, blocked=why)
        self.reporter.sync_started(plan)
        summary = dataclasses.replace(self._summary("skipped", None, start_clock, plan), note=why)
        self.reporter.sync_finished(summary)
        return summary

    def _interrupted_message(self, exc: KeyboardInterrupt) -> str:
        signal_name = getattr(exc, "signal_name", "SIGINT")
        if self._interrupt is None:
            return (
                f"interrupted by {signal_name} before sending; everything confirmed is"
                " checkpointed, the next run sends the rest"
            )
        grace = f"{self.options.grace_seconds:g} s"
        answered = self._in_flight_at_stop - self._abandoned
        return (
            f"interrupted by {signal_name}: stopped sending at once; {answered} of"
            f" {self._in_flight_at_stop} call(s) in flight answered within the {grace} grace"
            f" period and were checkpointed, {self._abandoned} abandoned; rows not confirmed are"
            " sent again by the next run"
        )

    def _skip_unsent(self, first_run: bool, counts: dict[str, int]) -> int:
        """Moves the snapshot past what this sync never sends: first-run skip, untriggered ops."""
        if first_run and self.defn.initial_sync == "skip":
            ops = list(TRIGGERED_ORDER)
        else:
            ops = [op for op in TRIGGERED_ORDER if op not in self.defn.triggers]
        ops = [op for op in ops if counts.get(op)]
        if ops:
            self.state.apply_operations(ops, run_id=self.run_id, now=self.now())
        return sum(counts.get(op, 0) for op in ops)

    def _record_duplicates(self) -> None:
        for page in self.state.plan_pages(
            operations=["duplicate"], rows_per_page=PLAN_PAGE_ROWS, chars_per_page=PLAN_PAGE_CHARS
        ):
            self._pending.failures.extend(
                Failure(key, "duplicate", DUPLICATE_KEY_REASON, row_json, attempts=0)
                for _, key, _, row_json, _ in page
            )
            self._checkpoint()

    def _dry_run(self, started: datetime, start_clock: float) -> RunSummary:
        if self.options.full_refresh:
            # A preview of the resend: nothing is reset, planned or stored.
            preview, rows_sql = self.plans.preview_full_refresh()
            plan = self._book_plan(preview)
            self._plan_pages = lambda _ops: self.plans.preview_pages(
                rows_sql, rows_per_page=PLAN_PAGE_ROWS
            )
        else:
            state = self.plans.refresh(now=started)
            self.plans.refuse_key_change(state)
            plan = self._book_plan(self.plans.summary(state))
        self.reporter.sync_started(plan)
        for batch in self._batches():
            payload = render_event(batch, self._ctx)
            self._dry_bytes += len(payload)
            self.counters.invocations += 1
        summary = self._summary("dry_run", None, start_clock, plan)
        self.reporter.sync_finished(summary)
        return summary

    def _book_plan(self, plan: PlanSummary) -> PlanSummary:
        """Keeps the plan this run works from and puts its counts on the run's counters."""
        self._plan = plan
        self.counters.planned_added = plan.added
        self.counters.planned_changed = plan.changed
        self.counters.planned_removed = plan.removed
        self.counters.invalid_rows = plan.invalid
        return plan

    # --- delivery -----------------------------------------------------------------------------

    def _rows(self) -> Iterator[PlannedRow]:
        """The plan's rows to send, paged by seq so memory stays flat whatever the plan size."""
        ops = [op for op in TRIGGERED_ORDER if getattr(self._plan, op)]
        if not ops:
            return
        for page in self._plan_pages(ops):
            for seq, key, op, row_json, previous_json in page:
                yield PlannedRow(key, op, row_json, previous_json, seq=seq)

    def _batches(self) -> Iterator[Batch]:
        batcher = Batcher(
            ctx=self._ctx,
            batch_size=self.defn.batch_size,
            new_invocation_id=self._new_invocation_id,
        )
        for row in self._rows():
            batches, oversized = batcher.add(row)
            for big in oversized:
                self._fail(big, OVERSIZED_REASON, attempts=0, keep_row=False)
            yield from batches
        yield from batcher.flush()

    def _new_invocation_id(self) -> str:
        return f"{self.run_id}:{next(self._invocation_numbers):06d}"

    def _deliver(self) -> None:
        if not self._plan.total:
            return  # nothing to send: no client, so an idle sync needs no AWS credentials
        client = self.client_factory(self.defn)
        limiter = None
        if self.defn.rate_limit is not None:
            limiter = RateLimiter(
                self.defn.rate_limit.requests, self.defn.rate_limit.period_seconds, clock=self.clock
            )
        concurrency = self.defn.concurrency
        batches = self._batches()
        retries: list[_Scheduled] = []
        order = itertools.count()
        in_flight: dict[Future[_Outcome], Batch] = {}
        exhausted = False
        # Operations go out one after the other: the first batch of the next one waits (held)
        # until every call of the current one is answered and its retries are done.
        phase: str | None = None
        held: Batch | None = None
        next_checkpoint = self.clock.monotonic() + self.options.checkpoint_seconds
        started_clock = self.clock.monotonic()
        grace_ends = 0.0
        writer = CheckpointWriter(self.state, name=f"lambda-sync-{self.defn.name}-writer")
        # Daemon workers: a stopped run does not wait for the calls it abandons.
        with writer, DaemonPool(concurrency, name=f"lambda-sync-{self.defn.name}") as pool:
            while True:
                now = self.clock.monotonic()
                if self._interrupt is None and self.stops.requested is not None:
                    # Asked to stop: send nothing more, give the calls in flight a grace period.
                    self._interrupt = self.stops.requested
                    self._in_flight_at_stop = len(in_flight)
                    grace_ends = now + self.options.grace_seconds
                if self._interrupt is not None and in_flight and now >= grace_ends:
                    self._abandoned = len(in_flight)  # their rows stay pending
                    break
                while not self._stopping and len(in_flight) < concurrency:
                    if retries and retries[0].ready_at <= now:
                        batch = heapq.heappop(retries).batch
                        self.counters.retries += 1
                    elif held is not None:
                        if in_flight or retries:
                            break  # the current operation is not finished yet
                        batch, held, phase = held, None, held.operation
                    elif not exhausted:
                        batch = next(batches, None)
                        if batch is None:
                            exhausted = True
                            continue
                        if phase is not None and batch.operation != phase:
                            held = batch
                            continue
                        phase = batch.operation
                    else:
                        break
                    # The limiter reserves the slot here; the worker waits for it, so the main
                    # thread keeps collecting results and checkpointing meanwhile.
                    delay = limiter.reserve() if limiter else 0.0
                    in_flight[pool.submit(self._invoke, client, batch, delay)] = batch
                if not in_flight and (
                    self._stopping or (exhausted and held is None and not retries)
                ):
                    break
                timeout = next_checkpoint - now
                if retries:
                    timeout = min(timeout, retries[0].ready_at - now)
                if self._interrupt is not None:
                    timeout = min(timeout, grace_ends - now)
                if in_flight:
                    done, _ = wait(
                        in_flight, timeout=max(0.0, timeout), return_when=FIRST_COMPLETED
                    )
                else:
                    self.clock.sleep(max(0.0, timeout))
                    done = set()
                for future in done:
                    in_flight.pop(future)
                    outcome = future.result()
                    if outcome.result is None:
                        continue  # not sent: the run was stopping by the time its slot came
                    for retry in self._handle(outcome):
                        heapq.heappush(retries, _Scheduled(retry[0], next(order), retry[1]))
                if self.clock.monotonic() >= next_checkpoint:
                    if writer.ready():
                        writer.submit(self._checkpoint_writer())
                        self._report_progress(started_clock)
                        wait_seconds = self.options.checkpoint_seconds
                    else:  # the previous checkpoint is still being written: keep dispatching
                        wait_seconds = CHECKPOINT_RETRY_SECONDS
                    next_checkpoint = self.clock.monotonic() + wait_seconds
        for scheduled in retries if self._fatal else []:  # left when the sync stopped
            for row in scheduled.batch.rows:
                attempts = scheduled.batch.attempt - 1
                self._fail(row, f"not retried: the sync stopped ({self._fatal})", attempts=attempts)

    @property
    def _stopping(self) -> bool:
        return self._fatal is not None or self._plan_replaced or self._interrupt is not None

    def _invoke(self, client: Any, batch: Batch, delay: float) -> _Outcome:
        if delay > 0:
            self.clock.sleep(delay)
            if self._stopping:
                return _Outcome(batch, None, None, self.now())
        payload = render_event(batch, self._ctx)
        started_at = self.now()
        result = self.invoke_fn(
            client,
            function_name=self.defn.function.name,
            payload=payload,
            clock=self.clock,
            deadline_seconds=self.defn.timeout_seconds + ANSWER_MARGIN_SECONDS,
        )
        answer = None
        if result.outcome == "delivered":
            keys = [r.primary_key for r in batch.rows]
            try:
                answer = parse_answer(result.payload or b"", keys)
            except Exception as exc:  # a reader bug must cost this batch only, never the run
                answer = invalid_answer(
                    f"invalid response: could not be read: {type(exc).__name__}: {exc}", keys
                )
        return _Outcome(batch, result, answer, started_at)

    def _handle(self, outcome: _Outcome) -> list[tuple[float, Batch]]:
        """Books one finished invocation; returns the batches to retry and when."""
        batch, result = outcome.batch, outcome.result
        assert result is not None
        verdict = classify(
            batch,
            result,
            outcome.answer,
            policy=self._retry,
            stopped=self._fatal is not None,
            new_invocation_id=self._new_invocation_id,
        )
        self.counters.invocations += 1
        if verdict.fatal and self._fatal is None:
            self._fatal = verdict.fatal
        self._pending.invocations.append(self._record(outcome, result, verdict))
        for row in verdict.confirmed:
            self._pending.confirmed.append(row.seq)
            self.counters.delivered_rows += 1
        for row, reason in verdict.failures:
            self._fail(row, reason, attempts=batch.attempt)
        if verdict.retry is None:
            return []
        return [(self.clock.monotonic() + verdict.retry_delay, verdict.retry)]

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

    def _fail(self, row: PlannedRow, reason: str, *, attempts: int, keep_row: bool = True) -> None:
        """Books a row for lambda_sync_errors; attempts: the invocations that carried it."""
        self._pending.failures.append(
            Failure(
                row.primary_key,
                row.operation,
                reason,
                row.row_json if keep_row else None,
                attempts,
            )
        )
        self.counters.rejected_rows += 1

    # --- checkpoints and reporting ------------------------------------------------------------

    def _keep_confirmed(self) -> None:
        """After an unexpected error (a bug, not the warehouse or the lease): still checkpoint
        what results confirmed, so those rows are not sent again. Best effort: the error being
        raised is the one reported.
        """
        try:
            self._checkpoint()
        except Exception:
            pass

    def _checkpoint(self) -> None:
        """Writes what was learnt since the last checkpoint, on this thread."""
        self._checkpoint_writer()()

    def _checkpoint_writer(self) -> Callable[[], None]:
        """Takes what was learnt since the last checkpoint (and a copy of the counters as they are
        now); returns the write, to run on any thread that has a warehouse connection.
        """
        pending, self._pending = self._pending, Checkpoint()
        counters = dataclasses.replace(self.counters)
        now = self.now()

        def write() -> None:
            applied = self.state.write_checkpoint(
                pending,
                run_id=self.run_id,
                now=now,
                counters=counters,
                lease_holder=self.holder,
                lease_seconds=self.options.lease_seconds,
                plan_version=self._plan_version,
            )
            if not applied:
                self._plan_replaced = True

        return write

    def _report_progress(self, started_clock: float) -> None:
        planned = (
            self.counters.planned_added
            + self.counters.planned_changed
            + self.counters.planned_removed
        )
        self.reporter.progress(
            Progress(
                sync=self.defn.name,
                planned_rows=planned,
                delivered_rows=self.counters.delivered_rows,
                rejected_rows=self.counters.rejected_rows,
                invocations=self.counters.invocations,
                elapsed_seconds=self.clock.monotonic() - started_clock,
            )
        )

    def _summary(
        self, status: str, error: str | None, start_clock: float, plan: PlanSummary
    ) -> RunSummary:
        return RunSummary(
            run_id=self.run_id,
            sync=self.defn.name,
            model=self.defn.model.name,
            status=status,
            first_run=plan.first_run,
            planned_added=self.counters.planned_added,
            planned_changed=self.counters.planned_changed,
            planned_removed=self.counters.planned_removed,
            delivered_rows=self.counters.delivered_rows,
            rejected_rows=self.counters.rejected_rows,
            invalid_rows=self.counters.invalid_rows,
            skipped_rows=self.counters.skipped_rows,
            invocations=self.counters.invocations,
            retries=self.counters.retries,
            duration_seconds=round(self.clock.monotonic() - start_clock, 3),
            error=error,
            event_bytes=self._dry_bytes if self.options.dry_run else None,
            new_failures=None if self.options.dry_run else self._new_failures,
        )
