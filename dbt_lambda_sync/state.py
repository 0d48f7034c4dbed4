"""A sync's state and logs in the warehouse: lease, plan pages, checkpoints, runs, errors.

Every value that comes from outside (keys, reasons, error messages, rows) is a bound parameter.
A checkpoint is one transaction: the snapshot moves past the confirmed plan rows, and the
invocation log, the errors and the run's counters are written, together or not at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from dbt_lambda_sync.checkpoint import INVOCATION_COLUMNS, Checkpoint, seq_ranges
from dbt_lambda_sync.error_log import prepare_failure_stage, record_failures
from dbt_lambda_sync.errors import LeaseHeldError
from dbt_lambda_sync.leases import LeaseHolder
from dbt_lambda_sync.vocabulary import RUNNING
from dbt_lambda_sync.warehouse import Warehouse

DUPLICATE_KEY_REASON = "duplicate primary key"
ABANDONED_RUN_ERROR = (
    "the runner stopped without finishing (killed, or it lost the warehouse); the next run"
    " re-sent what it had not checkpointed"
)


@dataclass(frozen=True)
class StateRow:
    """A sync's row of lambda_sync_state: its snapshot, stored plan and lease."""

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


@dataclass
class RunCounters:
    """A run's counters: the one declaration of them. The runs table's columns (RUN_COLUMNS),
    ``RunSummary`` and ``history.RunRecord`` carry these fields; a unit test checks the table's
    DDL and the sources file against them.
    """

    planned_added: int = 0
    planned_changed: int = 0
    planned_removed: int = 0
    delivered_rows: int = 0
    rejected_rows: int = 0
    invalid_rows: int = 0
    skipped_rows: int = 0
    invocations: int = 0
    retries: int = 0


RUN_COUNTERS = tuple(f.name for f in fields(RunCounters))
# lambda_sync_runs, in its DDL order. Tables created before this version also have dry_run
# (always false, never read): inserts name their columns, so it is left null there.
RUN_COLUMNS = (
    "run_id",
    "sync_name",
    "model_name",
    "started_at",
    "finished_at",
    "status",
    "first_run",
    *RUN_COUNTERS,
    "error",
)


class SyncState:
    """The warehouse side of one sync."""

    def __init__(self, warehouse: Warehouse, *, sync_name: str, model_name: str):
        self.warehouse = warehouse
        self.sync_name = sync_name
        self.model_name = model_name
        self._tables: dict[str, Any] = {}
        self._clock_sql: dict[float | None, str] = {}

    def create_tables(self) -> None:
        """Creates the package's tables if they do not exist yet (macro create_sync_tables)."""
        self.warehouse.call_macro("create_sync_tables")

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Statements inside commit together or not at all."""
        return self.warehouse.transaction()

    def thread_connection(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Gives the calling thread a warehouse connection of its own while inside."""
        return self.warehouse.thread_connection(name)

    def table(self, name: str) -> Any:
        """The relation of the package's table ``lambda_sync_<name>``."""
        if name not in self._tables:
            self._tables[name] = self.warehouse.relation(f"lambda_sync_{name}")
        return self._tables[name]

    # --- the state row and the lease ----------------------------------------------------------

    def read(self) -> StateRow | None:
        """The sync's state row; None before its first plan or run."""
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
        """Creates the sync's state row if it has none yet."""
        self.warehouse.call_macro(
            "ensure_state_row", sync_name=self.sync_name, model_name=self.model_name
        )

    def utc_now_sql(self, plus_seconds: float | None = None) -> str:
        """The warehouse's clock (plus some seconds) as SQL: leases are judged by it alone."""
        if plus_seconds not in self._clock_sql:
            self._clock_sql[plus_seconds] = str(
                self.warehouse.call_macro("utc_now", plus_seconds=plus_seconds)
            ).strip()
        return self._clock_sql[plus_seconds]

    def acquire_lease(self, holder: LeaseHolder, *, lease_seconds: float) -> None:
        """Takes the sync's lease for ``lease_seconds``, or raises LeaseHeldError naming who
        holds it. A lease is free when it has expired by the warehouse's clock, or at once when
        its holder ran on this host and its process is gone (killed, crashed).
        """
        expires_at, now = self.utc_now_sql(lease_seconds), self.utc_now_sql()
        take = (
            f"update {self.table('state')} set lease_holder = ?, lease_expires_at = {expires_at},"
            " lease_host = ?, lease_pid = ? where sync_name = ?"
        )
        mine = [holder.label, holder.host, holder.pid, self.sync_name]
        with self.warehouse.transaction():
            self.ensure_row()
            # One conditional UPDATE: the row lock makes it atomic between concurrent runners.
            self.warehouse.execute(
                f"{take} and (lease_holder is null or lease_expires_at is null"
                f" or lease_expires_at < {now} or lease_holder = ?)",
                [*mine, holder.label],
            )
        current, expires = self._lease()
        if current is not None and current.label != holder.label and current.gone():
            # Conditional on the dead holder still holding it: of two runners taking it over at
            # once, one wins.
            self.warehouse.execute(
                f"{take} and lease_holder = ? and lease_host = ? and lease_pid = ?",
                [*mine, current.label, current.host, current.pid],
            )
            current, expires = self._lease()
        if current is None or current.label != holder.label:
            raise LeaseHeldError(
                self.sync_name,
                current.label if current else "another runner",
                expires if current else "?",
            )

    def _lease(self) -> tuple[LeaseHolder | None, Any]:
        """Who holds the sync's lease, and until when (lease_expires_at)."""
        rows = self.warehouse.fetch_all(
            "select lease_holder, lease_expires_at, lease_host, lease_pid"
            f" from {self.table('state')} where sync_name = ?",
            [self.sync_name],
        )
        if not rows:
            return None, None
        label, expires, host, pid = rows[0]
        return LeaseHolder.stored(label, host, pid), expires

    def release_lease(self, holder: LeaseHolder) -> None:
        """Gives the lease back, if this holder still has it."""
        self.warehouse.execute(
            f"update {self.table('state')} set lease_holder = null, lease_expires_at = null,"
            " lease_host = null, lease_pid = null where sync_name = ? and lease_holder = ?",
            [self.sync_name, holder.label],
        )

    def mark_plan_sent(self) -> None:
        """Records that a run starts sending the stored plan: whatever of it is not confirmed when
        the plan is next replaced may be at the destination (macro carry_unsettled).
        """
        self.warehouse.execute(
            f"update {self.table('state')} set plan_sent_version = plan_version"
            " where sync_name = ?",
            [self.sync_name],
        )

    def mark_initialized(self) -> None:
        """Records that the sync's first run happened."""
        self.warehouse.execute(
            f"update {self.table('state')} set initialized = true where sync_name = ?",
            [self.sync_name],
        )

    # --- the plan -----------------------------------------------------------------------------

    def plan_counts(self) -> dict[str, int]:
        """Rows of the stored plan by operation."""
        rows = self.warehouse.fetch_all(
            f"select operation, count(*) from {self.table('plans')}"
            " where sync_name = ? group by operation",
            [self.sync_name],
        )
        return {op: int(count) for op, count in rows}

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
        remaining plan on DuckDB, which has no index; the range is pruned by its zone maps.
        """
        marks = ", ".join("?" for _ in operations)
        return self.warehouse.fetch_all(
            "select seq, primary_key, operation, row_json, previous_json"
            f" from {self.table('plans')} where sync_name = ? and seq > ? and seq <= ?"
            f" and operation in ({marks}) order by seq",
            [self.sync_name, after_seq, through_seq, *operations],
        )

    def plan_pages(
        self, *, operations: Sequence[str], rows_per_page: int, chars_per_page: int | None = None
    ) -> Iterator[list[tuple[int, str, str, str, str | None]]]:
        """The plan's rows of these operations in seq order, one page (seq range) at a time: at
        most ``rows_per_page`` rows and, when given, ``chars_per_page`` characters of row JSON
        (a page always holds at least one row), so memory follows bytes, not rows.
        """
        low, high = self.plan_seq_range()
        after = low - 1
        while after < high:
            through = after + rows_per_page
            if chars_per_page is not None:
                through = self._page_end(operations, after, through, chars_per_page)
            page = self.plan_page(operations=operations, after_seq=after, through_seq=through)
            if page:
                yield page
            after = through

    def _page_end(
        self, operations: Sequence[str], after_seq: int, through_seq: int, chars: int
    ) -> int:
        """The last seq of a page starting after ``after_seq`` whose rows' JSON holds at most
        ``chars`` characters: reads only the rows' lengths.
        """
        marks = ", ".join("?" for _ in operations)
        sizes = self.warehouse.fetch_all(
            "select seq, coalesce(length(row_json), 0) + coalesce(length(previous_json), 0)"
            f" from {self.table('plans')} where sync_name = ? and seq > ? and seq <= ?"
            f" and operation in ({marks}) order by seq",
            [self.sync_name, after_seq, through_seq, *operations],
        )
        total = 0
        for index, (_seq, size) in enumerate(sizes):
            total += int(size)
            if total > chars and index:
                return int(sizes[index - 1][0])
        return through_seq

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
        """Logs the run as running, with its counters so far."""
        self.warehouse.insert_rows(
            self.table("runs"),
            [
                "run_id",
                "sync_name",
                "model_name",
                "started_at",
                "status",
                "first_run",
                *RUN_COUNTERS,
            ],
            [
                (
                    run_id,
                    self.sync_name,
                    self.model_name,
                    started_at,
                    RUNNING,
                    first_run,
                    *_counter_values(counters),
                )
            ],
        )

    def fail_abandoned_runs(self, *, now: datetime) -> None:
        """Closes the runs of this sync that a dead runner left 'running'. Call it holding the
        lease: no other run of this sync can be going on.
        """
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
        """Logs how the run ended: status, error and final counters."""
        assignments = ", ".join(f"{c} = ?" for c in RUN_COUNTERS)
        self.warehouse.execute(
            f"update {self.table('runs')} set finished_at = ?, status = ?, error = ?, {assignments}"
            " where run_id = ? and sync_name = ?",
            [finished_at, status, error, *_counter_values(counters), run_id, self.sync_name],
        )

    # --- checkpoints --------------------------------------------------------------------------

    def _renew_lease(self, holder: LeaseHolder, lease_seconds: float) -> int | None:
        """Renews the lease inside a checkpoint's transaction; returns the stored plan_version.

        Renewing first: on PostgreSQL it locks the state row, which a plan computation updates
        before it touches the plan, so the plan cannot change under this checkpoint. Renewing
        inside the checkpoint: a runner that lost its lease writes nothing (LeaseHeldError).
        """
        state = self.table("state")
        self.warehouse.execute(
            f"update {state} set lease_expires_at = {self.utc_now_sql(lease_seconds)}"
            " where sync_name = ? and lease_holder = ?",
            [self.sync_name, holder.label],
        )
        held = self.warehouse.fetch_all(
            f"select lease_holder, lease_expires_at, plan_version from {state} where sync_name = ?",
            [self.sync_name],
        )
        if not held or held[0][0] != holder.label:
            label, expires = held[0][:2] if held else ("another runner", "?")
            raise LeaseHeldError(self.sync_name, label or "nobody", expires)
        return held[0][2]

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
        """Writes one checkpoint. Returns False when the confirmed rows could not be applied
        because the plan was recomputed since ``plan_version`` (their seqs name rows of the old
        plan): they stay pending and the next run sends them again. Everything else is written.
        """
        wh = self.warehouse
        if checkpoint.failures:
            prepare_failure_stage(wh)  # DDL: before the transaction (Snowflake commits on DDL)
        with wh.transaction():
            applied = self._renew_lease(lease_holder, lease_seconds) == plan_version
            if checkpoint.confirmed and applied:
                wh.call_macro(
                    "apply_confirmed",
                    sync_name=self.sync_name,
                    run_id=run_id,
                    now=sql_time(now),
                    seq_ranges=seq_ranges(checkpoint.confirmed),
                )
            wh.insert_rows(
                self.table("invocations"),
                INVOCATION_COLUMNS,
                [record.values() for record in checkpoint.invocations],
            )
            record_failures(
                wh,
                self.table("errors"),
                checkpoint.failures,
                sync_name=self.sync_name,
                model_name=self.model_name,
                run_id=run_id,
                now=now,
            )
            assignments = ", ".join(f"{c} = ?" for c in RUN_COUNTERS)
            wh.execute(
                f"update {self.table('runs')} set {assignments} where run_id = ? and sync_name = ?",
                [*_counter_values(counters), run_id, self.sync_name],
            )
        return applied or not checkpoint.confirmed

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
        Duplicate keys are invalid rows, not failures.
        """
        rows = self.warehouse.fetch_all(
            f"select count(*) from {self.table('errors')} where sync_name = ?"
            " and resolved_at is null and first_failed_run_id = ? and operation <> 'duplicate'",
            [self.sync_name, run_id],
        )
        return int(rows[0][0])


def _counter_values(counters: RunCounters) -> list[int]:
    return [getattr(counters, name) for name in RUN_COUNTERS]


def sql_time(moment: datetime) -> str:
    """A timestamp as the package's macros take it (they cast the text)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
