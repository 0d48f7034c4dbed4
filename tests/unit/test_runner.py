"""SyncRunner's logic without a warehouse, dbt or Lambda: an in-memory state store and plan, and
a scripted invoke function. Retries, the fatal stop, a replaced plan, retries of rejected rows,
rows too large to send, a stop asked for by a signal, a bug mid-run, a failing finish_run, dry
runs, the empty-build skip, initial_sync: skip and duplicate keys. The end-to-end tests stay real.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from dbt_lambda_sync.checkpoint import Checkpoint, Failure, InvocationRecord
from dbt_lambda_sync.engine.invoker import InvocationResult
from dbt_lambda_sync.errors import (
    FunctionUnavailable,
    Interrupted,
    PlanReplaced,
    UnexpectedError,
    WarehouseError,
)
from dbt_lambda_sync.events import OVERSIZED_REASON
from dbt_lambda_sync.leases import LeaseHolder
from dbt_lambda_sync.reporting import PlanSummary, RunSummary
from dbt_lambda_sync.runner import RunOptions, SyncRunner
from dbt_lambda_sync.state import DUPLICATE_KEY_REASON, RunCounters, StateRow
from dbt_lambda_sync.vocabulary import OPERATIONS
from tests.support.clock import FakeClock


@dataclass
class MemoryStore:
    """A sync's state, plan, lease and logs in memory, shaped like SyncState."""

    plan: list[tuple[int, str, str, str, str | None]]
    initialized: bool = True
    plan_version: int = 1
    confirmed: set[int] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)
    invocations: list[InvocationRecord] = field(default_factory=list)
    runs: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    lease: LeaseHolder | None = None
    checkpoints: int = 0
    # Another process recomputes the plan after this many checkpoints (None: never).
    replaced_after: int | None = None
    leases_taken: int = 0
    applied: list[str] = field(default_factory=list)  # operations moved past without sending
    finish_error: Exception | None = None  # finish_run raises this
    confirm_error: Exception | None = None  # the first checkpoint confirming rows raises this

    def create_tables(self) -> None:
        pass

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def thread_connection(self, name: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def read(self) -> StateRow:
        return StateRow(
            initialized=self.initialized,
            snapshot_version=1,
            plan_snapshot_version=1,
            plan_version=self.plan_version,
            plan_invocation_id="dbt-1",
            plan_definition="id|*",
            plan_invalid_rows=0,
            lease_holder=self.lease.label if self.lease else None,
            lease_expires_at=None,
        )

    def acquire_lease(self, holder: LeaseHolder, *, lease_seconds: float) -> None:
        assert self.lease is None
        self.lease = holder
        self.leases_taken += 1

    def release_lease(self, holder: LeaseHolder) -> None:
        assert self.lease == holder
        self.lease = None

    def reset(self, *, now: datetime) -> None:
        self.initialized = False

    def plan_counts(self) -> dict[str, int]:
        return dict(Counter(op for _, _, op, _, _ in self.plan))

    def plan_pages(
        self, *, operations: Sequence[str], rows_per_page: int, chars_per_page: int | None = None
    ) -> Iterator[list[tuple[int, str, str, str, str | None]]]:
        rows = [row for row in self.plan if row[2] in operations]
        for start in range(0, len(rows), rows_per_page):
            yield rows[start : start + rows_per_page]

    def fail_abandoned_runs(self, *, now: datetime) -> None:
        pass

    def start_run(
        self, run_id: str, *, started_at: datetime, first_run: bool, counters: RunCounters
    ) -> None:
        self.runs[run_id] = ("running", None)

    def apply_operations(self, operations: Sequence[str], *, run_id: str, now: datetime) -> None:
        self.applied.extend(operations)

    def mark_initialized(self) -> None:
        self.initialized = True

    def resolve_unneeded_errors(self, *, run_id: str, now: datetime) -> None:
        pass

    def mark_plan_sent(self) -> None:
        pass

    def write_checkpoint(
        self,
        checkpoint: Checkpoint,
        *,
        run_id: str,
        now: datetime,
        counters: RunCounters,
        lease_holder: LeaseHolder,
        lease_seconds: float,
        plan_version: int | None,
    ) -> bool:
        assert lease_holder == self.lease
        if self.confirm_error is not None and checkpoint.confirmed:
            error, self.confirm_error = self.confirm_error, None
            raise error
        self.checkpoints += 1
        if self.replaced_after is not None and self.checkpoints > self.replaced_after:
            self.plan_version += 1
        applied = plan_version == self.plan_version
        if applied:
            self.confirmed.update(checkpoint.confirmed)
        self.invocations.extend(checkpoint.invocations)
        self.failures.extend(checkpoint.failures)
        return applied or not checkpoint.confirmed

    def finish_run(
        self,
        run_id: str,
        *,
        finished_at: datetime,
        status: str,
        counters: RunCounters,
        error: str | None,
    ) -> None:
        if self.finish_error is not None:
            raise self.finish_error
        self.runs[run_id] = (status, error)

    def count_new_failures(self, run_id: str) -> int:
        return len({f.primary_key for f in self.failures})


class MemoryPlans:
    """The stored plan is always fresh: summarises MemoryStore's plan like PlanStore does."""

    def __init__(self, store: MemoryStore, defn: Any) -> None:
        self.store, self.defn = store, defn
        self.empty_build_note: str | None = None  # the last build was `dbt build --empty`
        self.previewed_pages = 0

    def check_relation(self) -> None:
        pass

    def event_key_column(self) -> str:
        return str(self.defn.primary_key)

    def empty_build(self, state: StateRow | None) -> str | None:
        return self.empty_build_note

    def adopt_renamed(self, *, now: datetime) -> None:
        pass

    def refresh(self, *, now: datetime, force: bool = False) -> StateRow:
        return self.store.read()

    def refuse_key_change(self, state: StateRow | None) -> None:
        pass

    def summary(self, state: StateRow, counts: dict[str, int] | None = None) -> PlanSummary:
        counts = self.store.plan_counts() if counts is None else counts
        first_run = not state.initialized
        # As PlanStore: a first run with initial_sync 'skip', or an untriggered op, sends nothing.
        sends = not (first_run and self.defn.initial_sync == "skip")
        pending = {
            op: counts.get(op, 0) if sends and op in self.defn.triggers else 0 for op in OPERATIONS
        }
        return PlanSummary(
            self.defn.name,
            self.defn.model.name,
            added=pending["added"],
            changed=pending["changed"],
            removed=pending["removed"],
            invalid=0,
            first_run=first_run,
            duplicate_keys=counts.get("duplicate", 0),
        )

    def preview_full_refresh(self) -> tuple[PlanSummary, str]:
        """Every row of the plan as 'added', as a full refresh would resend the model."""
        summary = PlanSummary(
            self.defn.name, self.defn.model.name, len(self.store.plan), 0, 0, 0, first_run=True
        )
        return replace(summary, reason="full_refresh"), "select * from customers"

    def preview_pages(self, rows_sql: str, *, rows_per_page: int) -> Iterator[list[tuple]]:
        assert rows_sql == "select * from customers"
        rows = [(seq, key, "added", row_json, None) for seq, key, _, row_json, _ in self.store.plan]
        for start in range(0, len(rows), rows_per_page):
            self.previewed_pages += 1
            yield rows[start : start + rows_per_page]


# --- what the function does ----------------------------------------------------------------------

Reply = Callable[[list[str], int], InvocationResult]  # (keys of the batch, attempt) -> result


def result(outcome: str = "delivered", **changes: Any) -> InvocationResult:
    base = InvocationResult(
        outcome=outcome,
        status_code=200,
        payload=b"null",
        function_error=None,
        error_code=None,
        error_message=None,
        executed_version="$LATEST",
        request_id="req",
        retry_after=None,
        duration_ms=3,
        retryable=False,
        fatal=False,
    )
    return replace(base, **changes)


def delivered(keys: list[str], attempt: int) -> InvocationResult:
    return result()


def throttled(**changes: Any) -> InvocationResult:
    return result(
        "throttled",
        status_code=429,
        payload=None,
        error_code="TooManyRequestsException",
        error_message="Rate exceeded",
        retryable=True,
        **changes,
    )


def not_found() -> InvocationResult:
    return result(
        "client_error",
        status_code=404,
        payload=None,
        error_code="ResourceNotFoundException",
        error_message="Function not found",
        fatal=True,
    )


def rejecting(*rejected: str) -> InvocationResult:
    errors = [{"primary_key_value": key, "reason": f"bad {key}"} for key in rejected]
    return result(payload=json.dumps({"errors": errors}).encode())


class ScriptedFunction:
    """The invoke function the runner calls: records each call and answers with ``reply``."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.calls: list[tuple[str, int, list[str]]] = []  # invocation_id, attempt, keys
        self._lock = threading.Lock()

    def __call__(self, client: Any, *, function_name: str, payload: bytes, **_: Any):
        event = json.loads(payload)
        keys = [str(row["id"]) for row in event["rows"]]
        sync = event["sync"]
        with self._lock:
            self.calls.append((sync["invocation_id"], sync["attempt"], keys))
        return self.reply(keys, sync["attempt"])


def sync_definition(**changes: Any) -> Any:
    values: dict[str, Any] = dict(
        name="crm_customers",
        model=SimpleNamespace(name="customers", unique_id="model.p.customers"),
        function=SimpleNamespace(name="crm-upsert"),
        primary_key="id",
        columns=None,
        include_previous=False,
        batch_size=2,
        concurrency=1,
        rate_limit=None,
        retries=SimpleNamespace(mode="immediate", attempts=3),
        timeout_seconds=30,
        triggers=("added", "changed", "removed"),
        initial_sync="send",
        renamed_from=None,
    )
    values.update(changes)
    return SimpleNamespace(**values)


def added_rows(count: int) -> list[tuple[int, str, str, str, str | None]]:
    return [(seq, str(seq), "added", json.dumps({"id": seq}), None) for seq in range(1, count + 1)]


class Recorder:
    """A reporter that keeps what it was told."""

    def __init__(self) -> None:
        self.started: list[PlanSummary] = []
        self.finished: list[RunSummary] = []

    def sync_started(self, plan: PlanSummary) -> None:
        self.started.append(plan)

    def progress(self, progress: Any) -> None:
        pass

    def sync_finished(self, summary: RunSummary) -> None:
        self.finished.append(summary)


class NoStops:
    """No signal ever asks to stop (unless ``ask`` is called)."""

    def __init__(self) -> None:
        self.requested: Interrupted | None = None

    def check(self) -> None:
        if self.requested is not None:
            raise self.requested

    @contextlib.contextmanager
    def deferring(self) -> Iterator[None]:
        yield

    def ask(self) -> None:
        self.requested = Interrupted()


@dataclass
class Harness:
    store: MemoryStore
    function: ScriptedFunction
    reporter: Recorder
    runner: SyncRunner
    plans: MemoryPlans


def harness(
    reply: Reply,
    *,
    rows: int = 4,
    stops: NoStops | None = None,
    store: MemoryStore | None = None,
    options: RunOptions | None = None,
    **defn_changes: Any,
) -> Harness:
    defn = sync_definition(**defn_changes)
    store = store or MemoryStore(plan=added_rows(rows))
    function = ScriptedFunction(reply)
    reporter = Recorder()
    plans = MemoryPlans(store, defn)
    runner = SyncRunner(
        None,
        defn,
        options=options or RunOptions(lease_seconds=120),
        reporter=reporter,
        clock=FakeClock(),
        client_factory=lambda d: object(),
        invoke_fn=function,
        now=lambda: datetime(2026, 1, 1),
        stops=stops or NoStops(),  # type: ignore[arg-type]
        store=store,
        plans=plans,
    )
    return Harness(store, function, reporter, runner, plans)


def ran(h: Harness) -> tuple[RunSummary, Any]:
    """Runs the sync; its summary (there always is one here) and its error."""
    result = h.runner.run()
    assert result.summary is not None
    assert h.reporter.finished == [result.summary]
    return result.summary, result.error


# --- the tests ------------------------------------------------------------------------------------


def test_every_row_delivered_and_checkpointed() -> None:
    h = harness(delivered)
    summary, error = ran(h)
    assert summary.status == "success" and summary.error is None
    assert (summary.delivered_rows, summary.rejected_rows, summary.invocations) == (4, 0, 2)
    assert h.store.confirmed == {1, 2, 3, 4}
    assert [r.outcome for r in h.store.invocations] == ["delivered", "delivered"]
    assert h.store.lease is None  # released
    assert h.store.runs[h.runner.run_id] == ("success", None)


def test_throttled_batches_are_retried_then_delivered() -> None:
    def reply(keys: list[str], attempt: int) -> InvocationResult:
        return throttled() if attempt < 3 else result()

    h = harness(reply)
    summary, error = ran(h)
    assert summary.status == "success"
    assert (summary.delivered_rows, summary.retries, summary.invocations) == (4, 4, 6)
    # a retry of a failed call is the same batch: same invocation_id, attempt + 1
    first = [c for c in h.function.calls if c[0] == h.function.calls[0][0]]
    assert [attempt for _, attempt, _ in first] == [1, 2, 3]
    assert [r.outcome for r in h.store.invocations].count("throttled") == 4
    assert h.store.failures == []


def test_throttling_past_the_attempts_fails_the_rows_for_this_run() -> None:
    h = harness(
        lambda keys, attempt: throttled(),
        rows=2,
        retries=SimpleNamespace(mode="immediate", attempts=1),
    )
    summary, error = ran(h)
    assert summary.status == "partial" and summary.rejected_rows == 2
    assert [(f.primary_key, f.attempts) for f in h.store.failures] == [("1", 2), ("2", 2)]
    assert h.store.failures[0].reason.startswith("TooManyRequestsException: Rate exceeded")


def test_a_wait_longer_than_a_run_gives_is_not_retried() -> None:
    h = harness(lambda keys, attempt: throttled(retry_after=3600.0), rows=2)
    summary, error = ran(h)
    assert summary.rejected_rows == 2 and summary.retries == 0
    assert "asked to wait 3600 s" in h.store.failures[0].reason


def test_function_not_found_stops_the_sync() -> None:
    h = harness(lambda keys, attempt: not_found(), rows=6)
    summary, error = ran(h)
    assert summary.status == "failed"
    assert isinstance(error, FunctionUnavailable)
    assert "cannot be invoked: ResourceNotFoundException" in (summary.error or "")
    assert len(h.function.calls) == 1  # nothing more is sent once the function is known gone
    assert h.store.confirmed == set()
    assert [f.primary_key for f in h.store.failures] == ["1", "2"]
    assert h.store.runs[h.runner.run_id][0] == "failed"
    assert h.reporter.finished == [summary]
    assert h.store.lease is None


def test_rejected_rows_are_retried_alone_then_recorded_as_failures() -> None:
    def reply(keys: list[str], attempt: int) -> InvocationResult:
        return rejecting(*[k for k in keys if k == "2"])

    h = harness(reply, rows=4, retries=SimpleNamespace(mode="immediate", attempts=2))
    summary, error = ran(h)
    assert summary.status == "partial"
    assert (summary.delivered_rows, summary.rejected_rows) == (3, 1)
    assert h.store.confirmed == {1, 3, 4}
    # the batch [1, 2] is split: its retries carry only the rejected row, as new invocations
    retries = [c for c in h.function.calls if c[1] > 1]
    assert [(attempt, keys) for _, attempt, keys in retries] == [(2, ["2"]), (3, ["2"])]
    assert len({invocation_id for invocation_id, _, _ in h.function.calls}) == 4
    [failure] = h.store.failures
    assert (failure.primary_key, failure.reason, failure.attempts) == ("2", "bad 2", 3)
    assert [r.outcome for r in h.store.invocations].count("partially_rejected") == 3


def test_a_row_too_large_is_never_sent_and_fails() -> None:
    big = json.dumps({"id": 2, "blob": "x" * 6_300_000})
    store = MemoryStore(plan=[(1, "1", "added", '{"id": 1}', None), (2, "2", "added", big, None)])
    h = harness(delivered, store=store)
    summary, error = ran(h)
    assert (summary.delivered_rows, summary.rejected_rows) == (1, 1)
    [failure] = h.store.failures
    assert (failure.primary_key, failure.reason, failure.attempts) == ("2", OVERSIZED_REASON, 0)
    assert failure.row_json is None
    assert [keys for _, _, keys in h.function.calls] == [["1"]]


def test_a_plan_replaced_while_sending_stops_the_run() -> None:
    store = MemoryStore(plan=added_rows(6), replaced_after=0)
    h = harness(delivered, store=store, rows=6)
    summary, error = ran(h)
    assert summary.status == "failed"
    assert isinstance(error, PlanReplaced)
    assert "was planned again" in (summary.error or "")
    assert store.confirmed == set()  # the rows confirmed name the old plan's seqs: not applied


def test_a_first_run_marks_the_sync_initialized() -> None:
    store = MemoryStore(plan=added_rows(2), initialized=False)
    h = harness(delivered, store=store)
    summary, error = ran(h)
    assert summary.first_run and summary.status == "success"
    assert store.initialized


def test_a_stop_asked_for_while_sending_ends_interrupted() -> None:
    stops = NoStops()

    def reply(keys: list[str], attempt: int) -> InvocationResult:
        stops.ask()  # a signal arrives while the first call is in flight
        return result()

    h = harness(reply, rows=6, stops=stops)
    with pytest.raises(Interrupted):
        h.runner.run()
    [summary] = h.reporter.finished
    assert summary.status == "interrupted"
    assert (summary.error or "").startswith("interrupted by SIGINT: stopped sending at once")
    assert h.store.confirmed == {1, 2}  # the answered call is checkpointed, nothing more sent
    assert len(h.function.calls) == 1
    assert h.store.lease is None


def test_a_bug_mid_delivery_fails_the_run_and_keeps_what_was_confirmed() -> None:
    def reply(keys: list[str], attempt: int) -> InvocationResult:
        if keys == ["3", "4"]:
            raise RuntimeError("boom")
        return result()

    h = harness(reply, rows=4)
    summary, error = ran(h)
    assert isinstance(error, UnexpectedError) and isinstance(error.original, RuntimeError)
    assert error.exit_code == 3
    assert summary.status == "failed" and summary.error == "RuntimeError: boom"
    assert h.store.runs[h.runner.run_id] == ("failed", "RuntimeError: boom")
    assert summary.delivered_rows == 2
    assert h.store.confirmed == {1, 2}  # keep_confirmed: checkpointed though the run failed
    assert h.store.failures == []  # the rows of the call that raised stay pending
    assert h.store.lease is None


def test_a_finish_run_that_fails_after_a_clean_run_is_the_error() -> None:
    h = harness(delivered, rows=2, store=MemoryStore(plan=added_rows(2)))
    h.store.finish_error = WarehouseError("connection lost")
    result_ = h.runner.run()
    # Nothing else went wrong, so the warehouse error is what the run returns, without a summary
    # (the reporter is never told the sync finished) and with the run row left 'running'.
    assert result_.summary is None and result_.error is h.store.finish_error
    assert h.reporter.finished == []
    assert h.store.runs[h.runner.run_id] == ("running", None)
    assert h.store.confirmed == {1, 2}
    assert h.store.lease is None


def test_a_finish_run_that_fails_after_a_failure_keeps_the_first_error() -> None:
    store = MemoryStore(plan=added_rows(2), finish_error=WarehouseError("connection lost"))
    h = harness(lambda keys, attempt: not_found(), store=store)
    summary, error = ran(h)
    assert isinstance(error, FunctionUnavailable)  # the warehouse error is swallowed
    assert summary.status == "failed"
    assert h.store.runs[h.runner.run_id] == ("running", None)
    assert h.store.lease is None


def test_a_finish_run_that_raises_a_bug_is_an_unexpected_error() -> None:
    store = MemoryStore(plan=added_rows(2), finish_error=KeyError("status"))
    h = harness(delivered, store=store)
    result_ = h.runner.run()
    assert result_.summary is None and isinstance(result_.error, UnexpectedError)
    assert result_.error.original is store.finish_error
    assert h.store.lease is None


def test_a_dry_run_renders_the_events_but_sends_and_records_nothing() -> None:
    h = harness(delivered, rows=5, options=RunOptions(dry_run=True, lease_seconds=120))
    summary, error = ran(h)
    assert error is None
    assert summary.status == "dry_run" and summary.error is None
    assert summary.invocations == 3  # the events that would be sent: batches of 2, 2 and 1
    assert summary.event_bytes is not None and summary.event_bytes > 0
    assert summary.new_failures is None and summary.delivered_rows == 0
    assert h.function.calls == []
    assert h.store.leases_taken == 0 and h.store.runs == {}
    assert (h.store.checkpoints, h.store.confirmed, h.store.failures) == (0, set(), [])
    assert h.reporter.started[0].added == 5


def test_a_full_refresh_dry_run_previews_the_resend_without_resetting() -> None:
    store = MemoryStore(plan=[(1, "1", "changed", '{"id": 1}', None), *added_rows(3)[1:]])
    options = RunOptions(dry_run=True, full_refresh=True, lease_seconds=120)
    h = harness(delivered, store=store, options=options)
    summary, error = ran(h)
    assert error is None and summary.status == "dry_run"
    assert summary.planned_added == 3 and summary.planned_changed == 0
    assert summary.invocations == 2
    assert h.plans.previewed_pages == 1  # the rows come from the preview, not the stored plan
    [plan] = h.reporter.started
    assert plan.reason == "full_refresh"
    assert store.initialized  # nothing reset
    assert h.function.calls == [] and store.leases_taken == 0 and store.runs == {}


def test_an_empty_build_skips_the_sync_with_a_note() -> None:
    h = harness(delivered, rows=3)
    h.plans.empty_build_note = "model 'customers' was last built with --empty"
    summary, error = ran(h)
    assert error is None
    assert summary.status == "skipped" and summary.error is None
    assert summary.note == h.plans.empty_build_note
    assert h.reporter.started[0].blocked == h.plans.empty_build_note
    assert summary.invocations == 0 and h.function.calls == []
    assert h.store.leases_taken == 0 and h.store.runs == {} and h.store.checkpoints == 0


def test_a_first_run_with_initial_sync_skip_settles_the_rows_without_sending() -> None:
    plan = [(1, "1", "removed", '{"id": 1}', None), *added_rows(4)[1:]]
    store = MemoryStore(plan=plan, initialized=False)
    h = harness(delivered, store=store, initial_sync="skip")
    summary, error = ran(h)
    assert error is None and summary.status == "success"
    assert summary.first_run and summary.skipped_rows == 4
    assert summary.delivered_rows == 0 and summary.invocations == 0
    assert h.function.calls == []
    assert store.applied == ["removed", "added"]  # moved past, in the sending order
    assert store.initialized
    assert store.runs[h.runner.run_id] == ("success", None)


def test_duplicate_keys_are_recorded_as_failures_and_not_sent() -> None:
    dup = [
        (10, "7", "duplicate", '{"id": 7}', None),
        (11, "7", "duplicate", '{"id": 7, "b": 1}', None),
    ]
    store = MemoryStore(plan=[*added_rows(2), *dup])
    h = harness(delivered, store=store)
    summary, error = ran(h)
    assert [keys for _, _, keys in h.function.calls] == [["1", "2"]]
    assert [(f.primary_key, f.operation, f.reason, f.attempts) for f in store.failures] == [
        ("7", "duplicate", DUPLICATE_KEY_REASON, 0),
        ("7", "duplicate", DUPLICATE_KEY_REASON, 0),
    ]
    assert store.failures[1].row_json == '{"id": 7, "b": 1}'
    # Duplicates are not rejected rows: the run is a success and counts no new failures.
    assert error is None and summary.status == "success"
    assert (summary.delivered_rows, summary.rejected_rows, summary.new_failures) == (2, 0, 0)
    assert store.confirmed == {1, 2}


def test_a_bug_in_the_store_while_checkpointing_fails_the_run() -> None:
    store = MemoryStore(plan=added_rows(2), confirm_error=TypeError("bad column"))
    # Checkpointing at every turn: the write runs on the writer thread, mid-delivery.
    options = RunOptions(checkpoint_seconds=0.0, lease_seconds=120)
    h = harness(delivered, store=store, options=options)
    summary, error = ran(h)
    assert isinstance(error, UnexpectedError) and isinstance(error.original, TypeError)
    assert summary.status == "failed" and summary.error == "TypeError: bad column"
    assert store.runs[h.runner.run_id] == ("failed", "TypeError: bad column")
    assert len(h.function.calls) == 1 and summary.delivered_rows == 2
    # The failed write took the confirmed rows with it: they stay pending, sent again next run.
    assert store.confirmed == set() and store.invocations == []
    assert store.lease is None
