"""What the runner needs from the warehouse side, as Protocols: a sync's state and its plan.

``state.SyncState`` and ``plan_store.PlanStore`` are the real ones; a unit test drives the
runner with in-memory ones of the same shape.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from dbt_lambda_sync.checkpoint import Checkpoint
from dbt_lambda_sync.leases import LeaseHolder
from dbt_lambda_sync.reporting import PlanSummary
from dbt_lambda_sync.state import RunCounters, StateRow

PlanPage = list[tuple[int, str, str, str, str | None]]  # seq, key, operation, row, previous


class SyncStore(Protocol):
    """A sync's state, lease, run log and checkpoints (shaped like ``state.SyncState``)."""

    def create_tables(self) -> None:
        """Creates the package's state tables if they do not exist yet."""

    def transaction(self) -> AbstractContextManager[None]:
        """Statements inside commit together or not at all."""

    def thread_connection(self, name: str) -> AbstractContextManager[None]:
        """Gives the calling thread a connection of its own while inside."""

    def read(self) -> StateRow | None:
        """The sync's state row."""

    def acquire_lease(self, holder: LeaseHolder, *, lease_seconds: float) -> None:
        """Takes the sync's lease or raises LeaseHeldError."""

    def release_lease(self, holder: LeaseHolder) -> None:
        """Gives the lease back."""

    def reset(self, *, now: datetime) -> None:
        """Forgets the snapshot, the stored plan and the first-run flag."""

    def plan_counts(self) -> dict[str, int]:
        """The stored plan's rows by operation."""

    def plan_pages(
        self, *, operations: Sequence[str], rows_per_page: int, chars_per_page: int | None = None
    ) -> Iterator[PlanPage]:
        """The stored plan's rows of these operations in seq order, a page at a time."""

    def fail_abandoned_runs(self, *, now: datetime) -> None:
        """Closes the runs a dead runner left 'running'."""

    def start_run(
        self, run_id: str, *, started_at: datetime, first_run: bool, counters: RunCounters
    ) -> None:
        """Logs a run as started."""

    def apply_operations(self, operations: Sequence[str], *, run_id: str, now: datetime) -> None:
        """Moves the snapshot past these operations without sending them."""

    def mark_initialized(self) -> None:
        """Records that the sync's first run happened."""

    def resolve_unneeded_errors(self, *, run_id: str, now: datetime) -> None:
        """Resolves open errors whose key no longer needs sending."""

    def mark_plan_sent(self) -> None:
        """Records that a run starts sending the stored plan."""

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
        """Writes one checkpoint; False when the plan was replaced since ``plan_version``."""

    def finish_run(
        self,
        run_id: str,
        *,
        finished_at: datetime,
        status: str,
        counters: RunCounters,
        error: str | None,
    ) -> None:
        """Logs how a run ended."""

    def count_new_failures(self, run_id: str) -> int:
        """Rows that failed in this run and were not failing before it."""


class PlanSource(Protocol):
    """Keeps a sync's stored plan fresh and summarises it (shaped like ``plan_store.PlanStore``)."""

    def check_relation(self) -> None:
        """Raises when the model's relation is missing or lacks the sync's columns."""

    def event_key_column(self) -> str:
        """The key column as events spell it (``primary_key_column``)."""

    def empty_build(self, state: StateRow | None) -> str | None:
        """Why nothing can be planned (a model built with --empty), else None."""

    def adopt_renamed(self, *, now: datetime) -> None:
        """Adopts the state of the sync's previous name, if any."""

    def refresh(self, *, now: datetime, force: bool = False) -> StateRow:
        """Recomputes the stored plan unless it is fresh; the state row after."""

    def refuse_key_change(self, state: StateRow | None) -> None:
        """Raises KeyChanged when the primary key changed since the snapshot."""

    def summary(self, state: StateRow, counts: dict[str, int] | None = None) -> PlanSummary:
        """What a run would send now."""

    def preview_full_refresh(self) -> tuple[PlanSummary, str]:
        """What a full refresh would plan now, and the SELECT of its rows."""

    def preview_pages(self, rows_sql: str, *, rows_per_page: int) -> Iterator[PlanPage]:
        """The rows of ``preview_full_refresh``'s SELECT, a page at a time."""
