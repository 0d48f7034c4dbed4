"""Runs one sync: fresh plan, lease, delivery under limits, checkpoints, logs.

Three kinds of threads: the main thread pages the plan and dispatches batches; worker threads
render events and call Lambda; one writer thread, with a warehouse connection of its own, writes
checkpoints, so dispatching never waits on the warehouse. The snapshot moves only at checkpoints
and only past rows a result confirmed, so a runner killed at any moment re-sends at most the rows
in flight and those confirmed since the last committed checkpoint.
"""

from __future__ import annotations

import contextvars
import dataclasses
import heapq
import itertools
import os
import queue
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from dbt_lambda_sync.definitions import SyncDefinition, check_columns
from dbt_lambda_sync.engine.clock import Clock, SystemClock
from dbt_lambda_sync.engine.executor import DaemonPool
from dbt_lambda_sync.engine.invoker import (
    ANSWER_MARGIN_SECONDS,
    InvocationResult,
    build_lambda_client,
    invoke,
)
from dbt_lambda_sync.engine.limiter import RateLimiter
from dbt_lambda_sync.engine.retry import MAX_RETRY_AFTER_SECONDS, RetryPolicy
from dbt_lambda_sync.errors import (
    DefinitionError,
    FunctionUnavailable,
    Interrupted,
    KeyChanged,
    PlanReplaced,
    SyncError,
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
from dbt_lambda_sync.reporting import NullReporter, PlanSummary, Progress, Reporter, RunSummary
from dbt_lambda_sync.state import (
    DUPLICATE_KEY_REASON,
    Checkpoint,
    Failure,
    RunCounters,
    StateRow,
    SyncState,
    sql_time,
)
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


def definition_key(defn: SyncDefinition) -> str:
    """Must equal the macro dbt_lambda_sync.definition_key for the same definition."""
    return f"{defn.primary_key}|{','.join(defn.columns) if defn.columns else '*'}"


# --- the plan -------------------------------------------------------------------------------------


class PlanStore:
    """Keeps a sync's stored plan fresh and summarises it."""

    def __init__(self, warehouse: Warehouse, defn: SyncDefinition):
        self.warehouse = warehouse
        self.defn = defn
        self.state = SyncState(warehouse, sync_name=defn.name, model_name=defn.model.name)
        self.relation = warehouse.model_relation(
            defn.model.database, defn.model.schema, defn.model.identifier
        )

    def check_relation(self) -> None:
        columns = self.warehouse.columns_of(self.relation)
        if not columns:
            raise UsageError(
                f"model '{self.defn.model.name}', sync '{self.defn.name}': {self.relation} does not"
                " exist in the warehouse; build the model first (dbt build)"
            )
        problems = check_columns(self.defn, columns)
        if problems:
            raise DefinitionError(problems)

    def is_fresh(self, state: StateRow | None) -> bool:
        """A stored plan is reused only when the post-hook of the latest dbt invocation computed
        it, for this definition, against the current snapshot. Anything else (a plan the runner
        computed earlier, another dbt command since, a changed definition) is recomputed: the
        model may have changed in ways no cheap check can see.
        """
        if state is None or state.plan_definition is None or state.plan_invocation_id is None:
            return False
        if state.plan_definition != definition_key(self.defn):
            return False
        if state.plan_snapshot_version != state.snapshot_version:
            return False
        return self.warehouse.latest_build_of(self.defn.model.unique_id) == state.plan_invocation_id

    def _capture_args(self) -> dict[str, Any]:
        """What the capture macros take to find the sync's rows (compute_plan, the preview)."""
        return {
            "sync_name": self.defn.name,
            "model_name": self.defn.model.name,
            "relation": self.relation,
            "primary_key": self.defn.primary_key,
            "columns": list(self.defn.columns) if self.defn.columns else None,
        }

    def empty_build(self, state: StateRow | None) -> str | None:
        """Why nothing can be planned when the model was last built with --empty, else None."""
        if state is None or not state.empty_build_invocation_id:
            return None
        return (
            f"model '{self.defn.model.name}' was last built with --empty (dbt invocation"
            f" {state.empty_build_invocation_id}): nothing captured, nothing sent; build it"
            " without --empty to sync it again"
        )

    def key_change(self, state: StateRow | None) -> str | None:
        """Why the sync refuses to run when its primary key, or how the key renders, changed since
        its snapshot was written (the plan then holds nothing), else None.
        """
        if state is None or not state.plan_key_signature or not state.snapshot_key_signature:
            return None
        if state.plan_key_signature == state.snapshot_key_signature:
            return None
        name = self.defn.name
        return (
            f"model '{self.defn.model.name}', sync '{name}': the primary key changed from"
            f" {state.snapshot_key_signature} to {state.plan_key_signature} since rows were"
            " delivered; the delivered rows are keyed by the old key and cannot be compared with"
            " the model, so nothing is sent. To accept the change (the next run sends every"
            f" current row as added), run `dbt-lambda-sync reset {name}` or"
            f" `dbt-lambda-sync run --select {name} --full-refresh`"
        )

    def refuse_key_change(self, state: StateRow | None) -> None:
        blocked = self.key_change(state)
        if blocked:
            raise KeyChanged(blocked)

    def reason(self, state: StateRow) -> str | None:
        """Why the stored plan sends every row, when it does: first_run, primary_key_changed
        (after the change is accepted it is a first run), columns_changed.
        """
        if self.key_change(state):
            return "primary_key_changed"
        if not state.initialized:
            return "first_run"
        if (
            state.plan_columns
            and state.snapshot_columns
            and state.plan_columns != state.snapshot_columns
        ):
            return "columns_changed"
        return None

    def next_run_warning(self) -> str | None:
        """What the stored state says the sync's next run does, when that is more than sending
        the model's changes: every row (a first run, changed columns), nothing (a changed primary
        key, a model built with --empty). Reads only; computes no plan (for `validate`).
        """
        name, model = self.defn.name, self.defn.model.name
        where = f"sync '{name}' (model '{model}')"
        state_columns = {c.lower() for c in self.warehouse.columns_of(self.state.table("state"))}
        if state_columns and not {"snapshot_key_signature", "empty_build_invocation_id"} <= (
            state_columns
        ):
            return (
                f"{where}: stored state not checked (its tables predate this version; any"
                " `plan` or `run` upgrades them)"
            )
        state = self.state.read() if state_columns else None
        old = self.defn.renamed_from
        old_state = (
            SyncState(self.warehouse, sync_name=old, model_name=model).read()
            if old and state_columns
            else None
        )
        if old_state is None:
            return self._state_warning(state, name, where)
        if state is not None and state.initialized:
            return (
                f"{where}: has run already, so its renamed_from '{old}' cannot adopt the"
                f" state '{old}' still has: plan and run refuse it (exit 2) until"
                " renamed_from is removed or the sync is reset"
            )
        # the next plan or run adopts the previous name's state first: judge by that one
        adopts = f"its next plan or run adopts the state of '{old}' (renamed_from)"
        warning = self._state_warning(old_state, old, where)
        if warning:
            return f"{warning}; {adopts}"
        return f"{where}: {adopts}: it sends only what changed since that sync's last delivery"

    def _state_warning(self, state: StateRow | None, state_name: str, where: str) -> str | None:
        """next_run_warning for the state a sync's next run starts from (its own, or the state
        its renamed_from adopts).
        """
        name = self.defn.name
        if self.empty_build(state):
            return f"{where}: {self.empty_build(state)}"
        if state is None or not state.initialized:
            if self.defn.initial_sync == "skip":
                return None
            return (
                f"{where}: its next run is a first run and sends every row of the model as added"
                " (reason first_run): nothing was delivered under this sync name yet, or it was"
                " reset (a renamed sync starts again from nothing unless it declares"
                " renamed_from: <old name>)"
            )
        delivered = self.warehouse.fetch_all(
            f"select count(*) from {self.state.table('snapshots')} where sync_name = ?",
            [state_name],
        )
        if not int(delivered[0][0]):
            return None
        args = self._capture_args()
        selected = self.warehouse.call_macro(
            "resolve_sync_columns",
            relation=args["relation"],
            primary_key=args["primary_key"],
            columns=args["columns"],
        )["selected"]
        signature = self.warehouse.call_macro("sync_signature", columns=selected)
        old_key = state.snapshot_key_signature
        if old_key and old_key != signature["key"]:
            return (
                f"{where}: the primary key changed from {old_key} to {signature['key']} since"
                " rows were delivered (reason primary_key_changed): the sync refuses to run"
                f" until you run `dbt-lambda-sync reset {name}` or `dbt-lambda-sync run"
                f" --select {name} --full-refresh`, which then send every current row as added"
            )
        old_columns = state.snapshot_columns
        if old_columns and old_columns != signature["columns"]:
            return (
                f"{where}: the columns sent changed from [{old_columns}] to"
                f" [{signature['columns']}] since rows were delivered (reason columns_changed):"
                " its next run sends every delivered row again as changed"
            )
        return None

    def adopt_renamed(self, *, now: datetime) -> None:
        """Adopts the state of the sync's previous name (``renamed_from``) if it still has any."""
        if self.defn.renamed_from:
            self.state.adopt(self.defn.renamed_from, now=now)

    def refresh(self, *, now: datetime, force: bool = False) -> StateRow:
        self.adopt_renamed(now=now)
        state = self.state.read()
        if self.empty_build(state):
            # the relation holds no rows: a plan of it would remove every delivered row
            assert state is not None
            return state
        if force or not self.is_fresh(state):
            with self.warehouse.transaction():
                self.warehouse.call_macro(
                    "compute_plan",
                    **self._capture_args(),
                    now=sql_time(now),
                )
            state = self.state.read()
        assert state is not None
        return state

    def summary(self, state: StateRow, counts: dict[str, int] | None = None) -> PlanSummary:
        """What a run would send now: operations in `triggers` only, nothing on a skip first run.

        ``counts`` is ``SyncState.plan_counts()`` when the caller has already read it.
        """
        empty_build = self.empty_build(state)
        if empty_build:
            return dataclasses.replace(
                self._plan_summary(first_run=not state.initialized, invalid=0, counts={}),
                blocked=empty_build,
            )
        if counts is None:
            counts = self.state.plan_counts()
        summary = self._plan_summary(
            first_run=not state.initialized,
            invalid=int(state.plan_invalid_rows or 0),
            counts=counts,
        )
        return dataclasses.replace(
            summary, reason=self.reason(state), blocked=self.key_change(state)
        )

    def preview_full_refresh(self) -> tuple[PlanSummary, str]:
        """What a full refresh would plan now, and the SELECT of the rows it would send (the
        stored plan's columns), read from the model alone: the snapshot, the stored plan and the
        state row are left as they are.
        """
        queries = self.warehouse.call_macro("full_refresh_preview", **self._capture_args())
        added, duplicate_keys, duplicate_rows, null_keys = self.warehouse.fetch_all(
            queries["counts"]
        )[0]
        summary = self._plan_summary(
            first_run=True,
            invalid=int(null_keys) + int(duplicate_rows),
            counts={"added": int(added), "duplicate": int(duplicate_keys)},
        )
        return dataclasses.replace(summary, reason="full_refresh"), str(queries["rows"])

    def _plan_summary(
        self, *, first_run: bool, invalid: int, counts: dict[str, int]
    ) -> PlanSummary:
        sends = not (first_run and self.defn.initial_sync == "skip")

        def pending(op: str) -> int:
            return counts.get(op, 0) if sends and op in self.defn.triggers else 0

        return PlanSummary(
            name=self.defn.name,
            model=self.defn.model.name,
            added=pending("added"),
            changed=pending("changed"),
            removed=pending("removed"),
            invalid=invalid,
            first_run=first_run,
            duplicate_keys=counts.get("duplicate", 0),
        )


# --- one run --------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    batch: Batch
    result: InvocationResult | None  # None on a dry run
    answer: Answer | None
    started_at: datetime
    payload_bytes: int


@dataclass(order=True)
class _Scheduled:
    ready_at: float
    order: int
    batch: Batch = field(compare=False)


class SyncRunner:
    """Delivers one sync's pending changes. Build one per run; call ``run()`` once."""

    def __init__(
        self,
        warehouse: Warehouse,
        defn: SyncDefinition,
        *,
        options: RunOptions = RunOptions(),
        reporter: Reporter | None = None,
        clock: Clock | None = None,
        client_factory: Callable[[SyncDefinition], Any] | None = None,
        now: Callable[[], datetime] | None = None,
        stops: StopRequests | None = None,
    ):
        self.warehouse = warehouse
        self.defn = defn
        self.options = options
        self.reporter = reporter or NullReporter()
        self.clock = clock or SystemClock()
        self.client_factory = client_factory or lambda_client_for
        self.now = now or utcnow
        self.stops = stops or process_stops
        self.plans = PlanStore(warehouse, defn)
        self.state = self.plans.state
        self.counters = RunCounters()
        self.run_id = new_run_id(self.now())
        self.holder = f"{self.run_id} (pid {os.getpid()} on {socket.gethostname()})"
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

    def run(self) -> RunSummary:
        started = self.now()
        start_clock = self.clock.monotonic()
        self.plans.check_relation()
        self.warehouse.call_macro("create_sync_tables")
        empty_build = self.plans.empty_build(self.state.read())
        if empty_build:
            return self._skipped(empty_build, start_clock)
        if self.options.dry_run:
            return self._dry_run(started, start_clock)
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

    def _run_holding_lease(self, started: datetime, start_clock: float) -> RunSummary:
        # Adopting first: a full refresh then forgets the adopted snapshot, not the old state.
        self.plans.adopt_renamed(now=started)
        if self.options.full_refresh:
            self.state.reset(now=started)
        state = self.plans.refresh(now=started)
        self.plans.refuse_key_change(state)
        self._plan_version = state.plan_version
        counts = self.state.plan_counts()
        plan = self._book_plan(self.plans.summary(state, counts))
        first_run = plan.first_run
        # Holding the lease, so a run of this sync still 'running' is one whose runner died.
        self.state.fail_abandoned_runs(now=started)
        self.state.start_run(
            self.run_id, started_at=started, first_run=first_run, counters=self.counters
        )
        self.reporter.sync_started(plan)
        error: str | None = None
        status = "failed"
        try:
            self.stops.check()
            # One transaction: a crash between the two would make the next run "first" again.
            with self.warehouse.transaction():
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
            status = "partial" if self.counters.rejected_rows else "success"
            if self.counters.rejected_rows:
                self._new_failures = self.state.count_new_failures(self.run_id)
        except KeyboardInterrupt as exc:
            status, error = "interrupted", self._interrupted_message(exc)
            raise
        except BaseException as exc:
            error = str(exc) if isinstance(exc, SyncError) else f"{type(exc).__name__}: {exc}"
            if isinstance(exc, Exception) and not isinstance(exc, SyncError):
                self._keep_confirmed()
            raise
        finally:
            try:
                self.state.finish_run(
                    self.run_id,
                    finished_at=self.now(),
                    status=status,
                    counters=self.counters,
                    error=error,
                )
            except SyncError:
                if error is None:
                    raise
            summary = self._summary(status, error, start_clock, plan)
            self.reporter.sync_finished(summary)
        return summary

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
            self._plan_pages = lambda _ops: self.warehouse.fetch_pages(
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
        writer = CheckpointWriter(self.warehouse, name=f"lambda-sync-{self.defn.name}-writer")
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
                return _Outcome(batch, None, None, self.now(), 0)
        payload = render_event(batch, self._ctx)
        started_at = self.now()
        result = invoke(
            client,
            function_name=self.defn.function.name,
            qualifier=None,
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
        return _Outcome(batch, result, answer, started_at, len(payload))

    def _handle(self, outcome: _Outcome) -> list[tuple[float, Batch]]:
        """Books one finished invocation; returns the batches to retry and when."""
        batch, result, answer = outcome.batch, outcome.result, outcome.answer
        assert result is not None
        self.counters.invocations += 1
        rejected: dict[str, str] = {}
        note = None
        if answer is not None:
            rejected = answer.rejected
            outcome_name = (
                "invalid_response"
                if answer.invalid_reason
                else "partially_rejected"
                if rejected
                else "delivered"
            )
            if answer.unknown_keys:
                note = (
                    f"{answer.unknown_key_count} primary_key_value(s) not in the batch were"
                    f" ignored: {', '.join(answer.unknown_keys)}"
                )[:2000]
        else:
            outcome_name = result.outcome
            rejected = {row.primary_key: result.failure_reason for row in batch.rows}
            if result.fatal and self._fatal is None:
                self._fatal = result.failure_reason
        self._pending.invocations.append(
            (
                self.run_id,
                self.defn.name,
                batch.invocation_id,
                batch.attempt,
                batch.operation,
                len(batch.rows),
                outcome.started_at,
                result.duration_ms,
                outcome_name,
                result.status_code,
                result.function_error,
                result.error_code,
                answer.invalid_reason if answer and answer.invalid_reason else result.error_message,
                result.executed_version,
                result.request_id,
                len(rejected),
                note,
            )
        )
        for row in batch.rows:
            if row.primary_key not in rejected:
                self._pending.confirmed.append(row.seq)
                self.counters.delivered_rows += 1
        if not rejected:
            return []
        failed_rows = [row for row in batch.rows if row.primary_key in rejected]
        retryable = (answer is not None or result.retryable) and self._fatal is None
        if not retryable or not self._retry.should_retry(batch.attempt - 1):
            for row in failed_rows:
                self._fail(row, rejected[row.primary_key], attempts=batch.attempt)
            return []
        if self._retry.waits_too_long(result.retry_after):
            note = (
                f" (asked to wait {result.retry_after:g} s, more than the"
                f" {self._retry.max_retry_after:g} s a run waits: tried again next run)"
            )
            for row in failed_rows:
                self._fail(row, rejected[row.primary_key] + note, attempts=batch.attempt)
            return []
        delay = self._retry.delay(batch.attempt - 1, retry_after=result.retry_after)
        ready_at = self.clock.monotonic() + delay
        if answer is None or answer.invalid_reason:
            # The same batch again: invocation_id stays, so the function can deduplicate.
            retry = Batch(
                invocation_id=batch.invocation_id,
                operation=batch.operation,
                rows=batch.rows,
                attempt=batch.attempt + 1,
                payload_size=batch.payload_size,
            )
        else:
            retry = Batch(
                invocation_id=self._new_invocation_id(),
                operation=batch.operation,
                rows=failed_rows,
                attempt=batch.attempt + 1,
            )
        return [(ready_at, retry)]

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


class CheckpointWriter:
    """One thread with a warehouse connection of its own that writes checkpoints, one at a time.

    The dispatching thread hands over a checkpoint only when the previous one is written
    (``ready``), and meanwhile keeps what it learns for the next. A failed write (a lost lease, a
    lost warehouse) is raised on the dispatching thread by the next ``ready`` or by leaving the
    ``with`` block; nothing after it is written.
    """

    def __init__(self, warehouse: Warehouse, *, name: str):
        self._warehouse = warehouse
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._idle = threading.Event()
        self._idle.set()
        self._error: BaseException | None = None
        # dbt's macros read context variables (the invocation's env): run in a copy of ours.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=lambda: context.run(self._work), name=name, daemon=True
        )

    def __enter__(self) -> CheckpointWriter:
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._tasks.put(None)
        self._thread.join()
        if exc_type is None:
            self._raise_error()

    def ready(self) -> bool:
        self._raise_error()
        return self._idle.is_set()

    def submit(self, write: Callable[[], None]) -> None:
        self._idle.clear()
        self._tasks.put(write)

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _work(self) -> None:
        failed = False
        try:
            with self._warehouse.thread_connection(self._thread.name):
                while (write := self._tasks.get()) is not None:
                    try:
                        if not failed:
                            write()
                    except BaseException as exc:
                        failed, self._error = True, exc
                    finally:
                        self._idle.set()
        except BaseException as exc:  # could not open its connection
            self._error = self._error or exc
            self._idle.set()
            while self._tasks.get() is not None:  # let __exit__ finish
                pass


def lambda_client_for(defn: SyncDefinition) -> Any:
    creds = defn.credentials
    return build_lambda_client(
        region=defn.region,
        endpoint_url=defn.endpoint_url,
        timeout_seconds=defn.timeout_seconds,
        max_pool_connections=defn.concurrency,
        role_arn=creds.role_arn if creds else None,
        external_id=creds.external_id if creds else None,
        profile=creds.profile if creds else None,
        access_key_id_env=creds.access_key_id_env if creds else None,
        secret_access_key_env=creds.secret_access_key_env if creds else None,
    )
