"""Runs one sync: fresh plan, lease, run log, delivery (``delivery.py``), summary.

The runner decides what a run does and records how it ended; sending and checkpointing are the
``Delivery``'s. Its state store and plan source are parameters (``stores.py``), so a unit test
drives it without a warehouse.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from dbt_lambda_sync.checkpoint import Failure
from dbt_lambda_sync.definitions import SyncDefinition
from dbt_lambda_sync.delivery import PLAN_PAGE_CHARS, PLAN_PAGE_ROWS, TRIGGERED_ORDER, Delivery
from dbt_lambda_sync.engine.clock import Clock, SystemClock
from dbt_lambda_sync.engine.invoker import InvocationResult, invoke
from dbt_lambda_sync.errors import (
    FunctionUnavailable,
    PlanReplaced,
    SyncError,
    UnexpectedError,
    UsageError,
)
from dbt_lambda_sync.events import render_event
from dbt_lambda_sync.interrupts import StopRequests, process_stops
from dbt_lambda_sync.lambda_client import lambda_client_for
from dbt_lambda_sync.leases import LeaseHolder
from dbt_lambda_sync.plan_store import PlanStore
from dbt_lambda_sync.reporting import NullReporter, PlanSummary, Reporter, RunSummary
from dbt_lambda_sync.state import DUPLICATE_KEY_REASON, RunCounters
from dbt_lambda_sync.stores import PlanSource, SyncStore
from dbt_lambda_sync.vocabulary import (
    DRY_RUN,
    DUPLICATE,
    FAILED,
    INTERRUPTED,
    PARTIAL,
    SKIPPED,
    SUCCESS,
)
from dbt_lambda_sync.warehouse import Warehouse


@dataclass(frozen=True)
class RunOptions:
    """How a run runs: dry, from scratch, how often it checkpoints, how long it waits."""

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
    """A run id: the start time, then random hex so two runs in a second differ."""
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def utcnow() -> datetime:
    """Now, in UTC, without a time zone."""
    # Naive UTC: both warehouses store it as given in a plain timestamp column.
    return datetime.now(timezone.utc).replace(tzinfo=None)


# --- one run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    """How one run ended: its summary (None when it stopped before it began) and its error."""

    summary: RunSummary | None
    error: SyncError | None = None


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
        self.now = now or utcnow
        self.stops = stops or process_stops
        if store is None or plans is None:
            if warehouse is None:
                raise TypeError("SyncRunner needs a warehouse, or both a store and plans")
            plan_store = PlanStore(warehouse, defn)
            store, plans = store or plan_store.state, plans or plan_store
        self.plans: PlanSource = plans
        self.state: SyncStore = store
        self.counters = RunCounters()
        self.run_id = new_run_id(self.now())
        self.holder = LeaseHolder.this_process(self.run_id)
        self.delivery = Delivery(
            defn,
            state=store,
            run_id=self.run_id,
            holder=self.holder,
            counters=self.counters,
            lease_seconds=options.lease_seconds,
            checkpoint_seconds=options.checkpoint_seconds,
            grace_seconds=options.grace_seconds,
            clock=self.clock,
            now=self.now,
            stops=self.stops,
            reporter=self.reporter,
            client_factory=client_factory or lambda_client_for,
            invoke_fn=invoke_fn,
        )
        self._dry_bytes = 0
        self._new_failures = 0

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
        self.delivery.ctx = dataclasses.replace(
            self.delivery.ctx, primary_key_column=self.plans.event_key_column()
        )
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
        self.delivery.plan_version = state.plan_version
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
        if counts.get(DUPLICATE):
            self._record_duplicates()
        self.stops.check()
        if self.delivery.plan.total:
            self.state.mark_plan_sent()
        self.delivery.send()
        self.delivery.checkpoint()
        if self.delivery.interrupt is not None:
            self.stops.check()
        if self.delivery.plan_replaced:
            raise PlanReplaced(
                f"sync '{self.defn.name}': model '{self.defn.model.name}' was planned again"
                " (dbt build, or dbt-lambda-sync plan) while this run was sending; rows"
                " confirmed since then stay pending. Run again to send the new plan."
            )
        if self.delivery.fatal:
            raise FunctionUnavailable(
                f"sync '{self.defn.name}': function {self.defn.function.name} cannot be"
                f" invoked: {self.delivery.fatal}"
            )
        if self.counters.rejected_rows:
            self._new_failures = self.state.count_new_failures(self.run_id)

    def _ending(self, failure: BaseException | None) -> tuple[str, str | None]:
        """The run's status and error, as logged, for what stopped it (None: nothing did)."""
        if failure is None:
            return (PARTIAL if self.counters.rejected_rows else SUCCESS), None
        if isinstance(failure, KeyboardInterrupt):
            return INTERRUPTED, self._interrupted_message(failure)
        if isinstance(failure, Exception) and not isinstance(failure, SyncError):
            self.delivery.keep_confirmed()  # a bug: still keep what results confirmed
            return FAILED, f"{type(failure).__name__}: {failure}"
        return FAILED, str(failure)

    def _skipped(self, why: str, start_clock: float) -> RunSummary:
        """A sync that sends nothing and changes nothing (no lease, no run logged)."""
        plan = dataclasses.replace(self.delivery.plan, blocked=why)
        self.reporter.sync_started(plan)
        summary = dataclasses.replace(self._summary(SKIPPED, None, start_clock, plan), note=why)
        self.reporter.sync_finished(summary)
        return summary

    def _interrupted_message(self, exc: KeyboardInterrupt) -> str:
        signal_name = getattr(exc, "signal_name", "SIGINT")
        if self.delivery.interrupt is None:
            return (
                f"interrupted by {signal_name} before sending; everything confirmed is"
                " checkpointed, the next run sends the rest"
            )
        grace = f"{self.options.grace_seconds:g} s"
        in_flight, abandoned = self.delivery.in_flight_at_stop, self.delivery.abandoned
        return (
            f"interrupted by {signal_name}: stopped sending at once; {in_flight - abandoned} of"
            f" {in_flight} call(s) in flight answered within the {grace} grace period and were"
            f" checkpointed, {abandoned} abandoned; rows not confirmed are sent again by the"
            " next run"
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
            operations=[DUPLICATE], rows_per_page=PLAN_PAGE_ROWS, chars_per_page=PLAN_PAGE_CHARS
        ):
            self.delivery.pending.failures.extend(
                Failure(key, DUPLICATE, DUPLICATE_KEY_REASON, row_json, attempts=0)
                for _, key, _, row_json, _ in page
            )
            self.delivery.checkpoint()

    def _dry_run(self, started: datetime, start_clock: float) -> RunSummary:
        if self.options.full_refresh:
            # A preview of the resend: nothing is reset, planned or stored.
            preview, rows_sql = self.plans.preview_full_refresh()
            plan = self._book_plan(preview)
            self.delivery.plan_pages = lambda _ops: self.plans.preview_pages(
                rows_sql, rows_per_page=PLAN_PAGE_ROWS
            )
        else:
            state = self.plans.refresh(now=started)
            self.plans.refuse_key_change(state)
            plan = self._book_plan(self.plans.summary(state))
        self.reporter.sync_started(plan)
        for batch in self.delivery.batches():
            payload = render_event(batch, self.delivery.ctx)
            self._dry_bytes += len(payload)
            self.counters.invocations += 1
        summary = self._summary(DRY_RUN, None, start_clock, plan)
        self.reporter.sync_finished(summary)
        return summary

    def _book_plan(self, plan: PlanSummary) -> PlanSummary:
        """Keeps the plan this run works from and puts its counts on the run's counters."""
        self.delivery.plan = plan
        self.counters.planned_added = plan.added
        self.counters.planned_changed = plan.changed
        self.counters.planned_removed = plan.removed
        self.counters.invalid_rows = plan.invalid
        return plan

    def _summary(
        self, status: str, error: str | None, start_clock: float, plan: PlanSummary
    ) -> RunSummary:
        return RunSummary(
            run_id=self.run_id,
            sync=self.defn.name,
            model=self.defn.model.name,
            status=status,
            first_run=plan.first_run,
            **dataclasses.asdict(self.counters),  # RunSummary carries every RunCounters field
            duration_seconds=round(self.clock.monotonic() - start_clock, 3),
            error=error,
            event_bytes=self._dry_bytes if self.options.dry_run else None,
            new_failures=None if self.options.dry_run else self._new_failures,
        )
