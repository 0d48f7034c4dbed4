"""A sync's state and logs in the warehouse: lease, plan pages, checkpoints, runs, errors.

Every value that comes from outside (keys, reasons, error messages, rows) is a bound parameter.
A checkpoint is one transaction: the snapshot moves past the confirmed plan rows, and the
invocation log, the errors and the run's counters are written, together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dbt_lambda_sync.errors import LeaseHeldError, UsageError
from dbt_lambda_sync.warehouse import Warehouse

DUPLICATE_KEY_REASON = "duplicate primary key"
ABANDONED_RUN_ERROR = (
    "the runner stopped without finishing (killed, or it lost the warehouse); the next run"
    " re-sent what it had not checkpointed"
)
# Keys per IN (...) list when looking up many keys at once.
KEY_CHUNK = 1000

INVOCATION_COLUMNS = (
    "run_id",
    "sync_name",
    "invocation_id",
    "attempt",
    "operation",
    "row_count",
    "started_at",
    "duration_ms",
    "outcome",
    "status_code",
    "function_error",
    "error_code",
    "error_message",
    "executed_version",
    "request_id",
    "rejected_rows",
    "note",
)


@dataclass(frozen=True)
class StateRow:
    initialized: bool
    snapshot_version: int
    plan_snapshot_version: int | None
    plan_version: int | None
    plan_invocation_id: str | None
    plan_definition: str | None
    plan_invalid_rows: int | None
    lease_holder: str | None
    lease_expires_at: datetime | None
    # the dbt invocation that last built the model with --empty (none: built with its rows)
    empty_build_invocation_id: str | None = None
    # what the stored plan and the snapshot were computed with (macro sync_signature): the key
    # column with how it renders, and the columns sent
    plan_key_signature: str | None = None
    snapshot_key_signature: str | None = None
    plan_columns: str | None = None
    snapshot_columns: str | None = None


@dataclass(frozen=True)
class Failure:
    """A row that failed in this run and goes to lambda_sync_errors."""

    primary_key: str
    operation: str
    reason: str
    row_json: str | None
    attempts: int  # invocations that carried the row in this run (0: never sent)


@dataclass
class RunCounters:
    planned_added: int = 0
    planned_changed: int = 0
    planned_removed: int = 0
    delivered_rows: int = 0
    rejected_rows: int = 0
    invalid_rows: int = 0
    skipped_rows: int = 0
    invocations: int = 0
    retries: int = 0


@dataclass
class Checkpoint:
    """What a run learnt since its last checkpoint, written in one transaction."""

    confirmed: list[int] = field(default_factory=list)  # seqs of the plan rows results confirmed
    invocations: list[tuple] = field(default_factory=list)  # INVOCATION_COLUMNS order
    failures: list[Failure] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.confirmed or self.invocations or self.failures)


class SyncState:
    """The warehouse side of one sync."""

    def __init__(self, warehouse: Warehouse, *, sync_name: str, model_name: str):
        self.warehouse = warehouse
        self.sync_name = sync_name
        self.model_name = model_name
        self._tables: dict[str, Any] = {}

    def table(self, name: str) -> Any:
        if name not in self._tables:
            self._tables[name] = self.warehouse.relation(f"lambda_sync_{name}")
        return self._tables[name]

    # --- the state row and the lease ----------------------------------------------------------

    def read(self) -> StateRow | None:
        rows = self.warehouse.fetch_all(
            "select initialized, snapshot_version, plan_snapshot_version, plan_version,"
            " plan_invocation_id,"
            " plan_definition, plan_invalid_rows, lease_holder, lease_expires_at,"
            " empty_build_invocation_id, plan_key_signature, snapshot_key_signature,"
            " plan_columns, snapshot_columns"
            f" from {self.table('state')} where sync_name = ?",
            [self.sync_name],
        )
        return StateRow(*rows[0]) if rows else None

    def ensure_row(self) -> None:
        self.warehouse.call_macro(
            "ensure_state_row", sync_name=self.sync_name, model_name=self.model_name
        )

    def acquire_lease(self, holder: str, *, now: datetime, expires_at: datetime) -> None:
        """Takes the sync's lease, or raises LeaseHeldError naming who holds it."""
        with self.warehouse.transaction():
            self.ensure_row()
            # One conditional UPDATE: the row lock makes it atomic between concurrent runners.
            self.warehouse.execute(
                f"update {self.table('state')} set lease_holder = ?, lease_expires_at = ?"
                " where sync_name = ? and (lease_holder is null or lease_expires_at is null"
                " or lease_expires_at < ? or lease_holder = ?)",
                [holder, expires_at, self.sync_name, now, holder],
            )
        state = self.read()
        if state is None or state.lease_holder != holder:
            raise LeaseHeldError(
                self.sync_name,
                state.lease_holder if state else "another runner",
                state.lease_expires_at if state else "?",
            )

    def release_lease(self, holder: str) -> None:
        self.warehouse.execute(
            f"update {self.table('state')} set lease_holder = null, lease_expires_at = null"
            " where sync_name = ? and lease_holder = ?",
            [self.sync_name, holder],
        )

    def adopt(self, renamed_from: str, *, now: datetime) -> bool:
        """Takes over the state of ``renamed_from``, this sync's previous name (macro
        adopt_renamed_sync), in one transaction. Returns False when there is nothing to adopt:
        the old name has no state (never had, pruned, or adopted already). Raises UsageError when
        this sync has run already (its snapshot would be mixed with the old one), and
        LeaseHeldError when a runner of the old name holds its lease."""
        old = SyncState(self.warehouse, sync_name=renamed_from, model_name=self.model_name)
        with self.warehouse.transaction():
            old_state = old.read()
            if old_state is None:
                return False
            own = self.read()
            if own is not None and own.initialized:
                raise UsageError(
                    f"sync '{self.sync_name}' (model '{self.model_name}') has run already, so"
                    f" its renamed_from '{renamed_from}' cannot adopt the state that"
                    f" '{renamed_from}' still has: remove renamed_from and run dbt-lambda-sync"
                    f" prune to drop it, or run dbt-lambda-sync reset {self.sync_name} to adopt"
                    " it instead of this sync's own snapshot"
                )
            expires = old_state.lease_expires_at
            if old_state.lease_holder and (expires is None or _naive(expires) >= now):
                raise LeaseHeldError(renamed_from, old_state.lease_holder, expires or "?")
            self.warehouse.call_macro(
                "adopt_renamed_sync",
                sync_name=self.sync_name,
                model_name=self.model_name,
                renamed_from=renamed_from,
            )
        return True

    def mark_plan_sent(self) -> None:
        """Records that a run starts sending the stored plan: whatever of it is not confirmed when
        the plan is next replaced may be at the destination (macro carry_unsettled)."""
        self.warehouse.execute(
            f"update {self.table('state')} set plan_sent_version = plan_version"
            " where sync_name = ?",
            [self.sync_name],
        )

    def mark_initialized(self) -> None:
        self.warehouse.execute(
            f"update {self.table('state')} set initialized = true where sync_name = ?",
            [self.sync_name],
        )

    # --- the plan -----------------------------------------------------------------------------

    def plan_counts(self) -> dict[str, int]:
        rows = self.warehouse.fetch_all(
            f"select operation, count(*), sum(key_rows) from {self.table('plans')}"
            " where sync_name = ? group by operation",
            [self.sync_name],
        )
        counts = {op: int(count) for op, count, _ in rows}
        counts["duplicate_rows"] = int(next((s for op, _, s in rows if op == "duplicate"), 0) or 0)
        return counts

    def plan_seq_range(self) -> tuple[int, int]:
        """The lowest and highest seq in the stored plan ((0, 0) when it is empty)."""
        rows = self.warehouse.fetch_all(
            f"select min(seq), max(seq) from {self.table('plans')} where sync_name = ?",
            [self.sync_name],
        )
        low, high = rows[0] if rows else (None, None)
        return int(low or 0), int(high or 0)

    def plan_page(
        self, *, operations: Sequence[str], after_seq: int, through_seq: int
    ) -> list[tuple[int, str, str, str, str | None]]:
        """Plan rows with after_seq < seq <= through_seq: (seq, key, operation, row_json,
        previous_json). A seq range, not ``order by seq limit n``: that sorts the whole
        remaining plan on DuckDB, which has no index; the range is pruned by its zone maps."""
        marks = ", ".join("?" for _ in operations)
        return self.warehouse.fetch_all(
            "select seq, primary_key, operation, row_json, previous_json"
            f" from {self.table('plans')} where sync_name = ? and seq > ? and seq <= ?"
            f" and operation in ({marks}) order by seq",
            [self.sync_name, after_seq, through_seq, *operations],
        )

    def plan_pages(
        self, *, operations: Sequence[str], rows_per_page: int
    ) -> Iterator[list[tuple[int, str, str, str, str | None]]]:
        """The plan's rows of these operations in seq order, one page (seq range) at a time."""
        low, high = self.plan_seq_range()
        after = low - 1
        while after < high:
            through = after + rows_per_page
            page = self.plan_page(operations=operations, after_seq=after, through_seq=through)
            if page:
                yield page
            after = through

    def apply_operations(self, operations: Sequence[str], *, run_id: str, now: datetime) -> None:
        """Moves the snapshot past these operations without sending them."""
        with self.warehouse.transaction():
            self.warehouse.call_macro(
                "apply_operations",
                sync_name=self.sync_name,
                operations=list(operations),
                run_id=run_id,
                now=sql_time(now),
            )

    def reset(self, *, now: datetime) -> None:
        """Forgets the snapshot, stored plan and first-run flag; the caller holds the lease."""
        self.warehouse.call_macro(
            "reset_sync", sync_name=self.sync_name, model_name=self.model_name, now=sql_time(now)
        )

    # --- runs ---------------------------------------------------------------------------------

    def start_run(
        self, run_id: str, *, started_at: datetime, first_run: bool, counters: RunCounters
    ) -> None:
        self.warehouse.insert_rows(
            self.table("runs"),
            [
                "run_id",
                "sync_name",
                "model_name",
                "started_at",
                "status",
                "first_run",
                "dry_run",
                *_counter_columns(),
            ],
            [
                (
                    run_id,
                    self.sync_name,
                    self.model_name,
                    started_at,
                    "running",
                    first_run,
                    False,
                    *_counter_values(counters),
                )
            ],
        )

    def fail_abandoned_runs(self, *, now: datetime) -> None:
        """Closes the runs of this sync that a dead runner left 'running'. Call it holding the
        lease: no other run of this sync can be going on."""
        self.warehouse.execute(
            f"update {self.table('runs')} set status = 'failed', finished_at = ?, error = ?"
            " where sync_name = ? and status = 'running'",
            [now, ABANDONED_RUN_ERROR, self.sync_name],
        )

    def finish_run(
        self,
        run_id: str,
        *,
        finished_at: datetime,
        status: str,
        counters: RunCounters,
        error: str | None,
    ) -> None:
        assignments = ", ".join(f"{c} = ?" for c in _counter_columns())
        self.warehouse.execute(
            f"update {self.table('runs')} set finished_at = ?, status = ?, error = ?, {assignments}"
            " where run_id = ? and sync_name = ?",
            [finished_at, status, error, *_counter_values(counters), run_id, self.sync_name],
        )

    # --- checkpoints --------------------------------------------------------------------------

    def write_checkpoint(
        self,
        checkpoint: Checkpoint,
        *,
        run_id: str,
        now: datetime,
        counters: RunCounters,
        lease_holder: str,
        lease_expires_at: datetime,
        plan_version: int | None,
    ) -> bool:
        """Writes one checkpoint. Returns False when the confirmed rows could not be applied
        because the plan was recomputed since ``plan_version`` (their seqs name rows of the old
        plan): they stay pending and the next run sends them again. Everything else is written."""
        wh = self.warehouse
        with wh.transaction():
            # Renewing first: on PostgreSQL it locks the state row, which a plan computation
            # updates before it touches the plan, so the plan cannot change under this checkpoint.
            # Renewing inside the checkpoint: a runner that lost its lease writes nothing.
            wh.execute(
                f"update {self.table('state')} set lease_expires_at = ?"
                " where sync_name = ? and lease_holder = ?",
                [lease_expires_at, self.sync_name, lease_holder],
            )
            held = wh.fetch_all(
                f"select lease_holder, lease_expires_at, plan_version from {self.table('state')}"
                " where sync_name = ?",
                [self.sync_name],
            )
            if not held or held[0][0] != lease_holder:
                holder, expires = held[0][:2] if held else ("another runner", "?")
                raise LeaseHeldError(self.sync_name, holder or "nobody", expires)
            applied = held[0][2] == plan_version
            if checkpoint.confirmed and applied:
                wh.call_macro(
                    "apply_confirmed",
                    sync_name=self.sync_name,
                    run_id=run_id,
                    now=sql_time(now),
                    seq_ranges=seq_ranges(checkpoint.confirmed),
                )
            wh.insert_rows(self.table("invocations"), INVOCATION_COLUMNS, checkpoint.invocations)
            self._record_failures(checkpoint.failures, run_id=run_id, now=now)
            assignments = ", ".join(f"{c} = ?" for c in _counter_columns())
            wh.execute(
                f"update {self.table('runs')} set {assignments} where run_id = ? and sync_name = ?",
                [*_counter_values(counters), run_id, self.sync_name],
            )
        return applied or not checkpoint.confirmed

    def _record_failures(self, failures: Sequence[Failure], *, run_id: str, now: datetime) -> None:
        if not failures:
            return
        latest = {f.primary_key: f for f in failures}  # one row per key; the last failure wins
        existing: set[str] = set()
        keys = list(latest)
        for start in range(0, len(keys), KEY_CHUNK):
            chunk = keys[start : start + KEY_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            existing.update(
                row[0]
                for row in self.warehouse.fetch_all(
                    f"select primary_key_value from {self.table('errors')}"
                    f" where sync_name = ? and primary_key_value in ({marks})",
                    [self.sync_name, *chunk],
                )
            )
        for key in existing:
            failure = latest[key]
            # A failure after a resolution starts a new episode: first_failed_* move too.
            self.warehouse.execute(
                f"update {self.table('errors')} set operation = ?, reason = ?,"
                " attempts = case when resolved_at is null then attempts + ? else ? end,"
                " first_failed_run_id = case when resolved_at is null then first_failed_run_id"
                " else ? end,"
                " first_failed_at = case when resolved_at is null then first_failed_at else ? end,"
                " last_failed_run_id = ?, last_failed_at = ?, row_json = ?,"
                " resolved_at = null, resolved_run_id = null, resolution = null"
                # md5: the index on PostgreSQL (keys of any length; create_sync_indexes)
                " where sync_name = ? and md5(primary_key_value) = md5(?)"
                " and primary_key_value = ?",
                [
                    failure.operation,
                    failure.reason,
                    failure.attempts,
                    failure.attempts,
                    run_id,
                    now,
                    run_id,
                    now,
                    failure.row_json,
                    self.sync_name,
                    key,
                    key,
                ],
            )
        self.warehouse.insert_rows(
            self.table("errors"),
            [
                "sync_name",
                "model_name",
                "primary_key_value",
                "operation",
                "reason",
                "attempts",
                "first_failed_run_id",
                "last_failed_run_id",
                "first_failed_at",
                "last_failed_at",
                "row_json",
            ],
            [
                (
                    self.sync_name,
                    self.model_name,
                    f.primary_key,
                    f.operation,
                    f.reason,
                    f.attempts,
                    run_id,
                    run_id,
                    now,
                    now,
                    f.row_json,
                )
                for key, f in latest.items()
                if key not in existing
            ],
        )

    def resolve_unneeded_errors(self, *, run_id: str, now: datetime) -> None:
        """Resolves open errors whose key no longer needs sending (absent from the fresh plan).

        A key still in the snapshot is in the model as last delivered: a later version of the
        row, or its return to the delivered one, made the failed event moot (``superseded``).
        A key in neither left the model (``removed_from_model``).
        """
        self.warehouse.execute(
            f"update {self.table('errors')} set resolved_at = ?, resolved_run_id = ?,"
            " resolution = case when primary_key_value in"
            f" (select primary_key from {self.table('snapshots')} where sync_name = ?)"
            " then 'superseded' else 'removed_from_model' end"
            " where sync_name = ? and resolved_at is null and primary_key_value not in"
            f" (select primary_key from {self.table('plans')} where sync_name = ?)",
            [now, run_id, self.sync_name, self.sync_name, self.sync_name],
        )

    def count_new_failures(self, run_id: str) -> int:
        """Rows that failed in this run and were not already failing before it: a failure
        that opens or reopens an error row starts its episode in this run (first_failed_run_id).
        Duplicate keys are invalid rows, not failures."""
        rows = self.warehouse.fetch_all(
            f"select count(*) from {self.table('errors')} where sync_name = ?"
            " and resolved_at is null and first_failed_run_id = ? and operation <> 'duplicate'",
            [self.sync_name, run_id],
        )
        return int(rows[0][0])


def seq_ranges(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Inclusive (low, high) runs of consecutive seqs: results mostly confirm whole batches, cut
    from the plan in seq order, so a checkpoint's thousands of rows become a few ranges."""
    ranges: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


def _counter_columns() -> list[str]:
    return list(RunCounters.__dataclass_fields__)


def _counter_values(counters: RunCounters) -> list[int]:
    return [getattr(counters, name) for name in _counter_columns()]


def _naive(moment: datetime) -> datetime:
    """Naive UTC, as the package stores timestamps (a driver may hand back an aware one)."""
    if moment.tzinfo is None:
        return moment
    return moment.replace(tzinfo=None) - (moment.utcoffset() or timedelta(0))


def sql_time(moment: datetime) -> str:
    """A timestamp as the package's macros take it (they cast the text)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
