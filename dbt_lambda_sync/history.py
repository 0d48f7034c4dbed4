"""A sync's history as users see it: recent runs, current failures, and the reset action.
(Skipping rows and pruning orphaned syncs are in ``lifecycle``.)

Reads lambda_sync_runs, lambda_sync_errors and lambda_sync_state. The queries are read-only;
``reset_sync`` is the one write, and it runs under the sync's lease so that it can never race a
runner. Nothing here prints: the CLI shows what these functions return.

Syncs are found from the manifest leniently (names only, no validation), so that ``status``,
``errors`` and ``reset`` still work on a project whose definitions are being fixed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from dbt_lambda_sync.definition_schema import schema_default
from dbt_lambda_sync.definitions import INITIAL_SYNC_MODES, check_selectors, named_entries
from dbt_lambda_sync.errors import SyncError, UsageError
from dbt_lambda_sync.leases import LeaseHolder
from dbt_lambda_sync.project import model_refs
from dbt_lambda_sync.state import RUN_COLUMNS, RUN_COUNTERS, SyncState
from dbt_lambda_sync.vocabulary import INTERRUPTED, RUNNING, UNKNOWN
from dbt_lambda_sync.warehouse import Warehouse

RESET_LEASE_SECONDS = 60


# --- which syncs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclaredSync:
    """A sync as the manifest names it, whether or not its definition is valid."""

    name: str
    model: str
    initial_sync: str = field(default_factory=lambda: schema_default("initial_sync"))
    renamed_from: str | None = None  # the old name whose state this sync adopts
    orphaned: bool = False  # state in the warehouse, no definition
    renamed_to: str | None = None  # an orphan that this declared sync's renamed_from adopts


def declared_syncs(manifest: Any) -> list[DeclaredSync]:
    """Every sync name declared in ``config.meta.lambda_sync``, sorted by name then model."""
    found = []
    for ref in model_refs(manifest):
        for entry in named_entries(ref.meta):
            initial = entry.get("initial_sync")
            renamed_from = entry.get("renamed_from")
            found.append(
                DeclaredSync(
                    name=entry["name"],
                    model=ref.name,
                    initial_sync=(
                        initial if initial in INITIAL_SYNC_MODES else schema_default("initial_sync")
                    ),
                    renamed_from=renamed_from if isinstance(renamed_from, str) else None,
                )
            )
    return sorted(found, key=lambda s: (s.name, s.model))


def select_syncs(declared: Sequence[DeclaredSync], selectors: Sequence[str]) -> list[DeclaredSync]:
    """The syncs whose sync or model name is selected (all without selectors).

    Raises ``UsageError`` naming every selector that matches nothing, with a suggestion.
    """
    if not selectors:
        return list(declared)
    # An orphaned sync is named by its own name only: a model name means the model's syncs.
    models = {s.model for s in declared if not s.orphaned}
    check_selectors(selectors, names={s.name for s in declared}, models=models)
    chosen = set(selectors)
    return [s for s in declared if s.name in chosen or (s.model in chosen and not s.orphaned)]


def one_sync(declared: Sequence[DeclaredSync], name: str) -> DeclaredSync:
    """The single sync ``name`` designates: a sync name, or a model that has exactly one sync."""
    matches = select_syncs(declared, [name])
    by_name = [s for s in matches if s.name == name]
    matches = by_name or matches
    if len(matches) > 1:
        if by_name:
            models = ", ".join(f"'{s.model}'" for s in matches)
            raise UsageError(
                f"sync '{name}' is declared on several models ({models}); sync names must be"
                " unique in the project (dbt-lambda-sync validate)"
            )
        syncs = ", ".join(s.name for s in matches)
        raise UsageError(f"model '{name}' has several syncs ({syncs}); name one of them")
    return matches[0]


# --- runs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """One row of lambda_sync_runs. ``status`` is ``interrupted`` for a ``running`` row whose
    runner no longer holds the sync's lease (it was killed); the table still says ``running``.

    Its fields are ``state.RUN_COLUMNS`` (a unit test keeps them equal).
    """

    run_id: str
    sync_name: str
    model_name: str | None
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    first_run: bool | None
    planned_added: int
    planned_changed: int
    planned_removed: int
    delivered_rows: int
    rejected_rows: int
    invalid_rows: int
    skipped_rows: int
    invocations: int
    retries: int
    error: str | None

    @property
    def planned_rows(self) -> int:
        """Rows the run planned to send."""
        return self.planned_added + self.planned_changed + self.planned_removed

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to finish; None while it runs."""
        if self.started_at is None or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    def to_json(self) -> dict[str, Any]:
        """The record for scripts: its columns in table order, timestamps in ISO 8601 UTC."""
        out: dict[str, Any] = {}
        for name in RUN_COLUMNS:
            if name in ("sync_name", "model_name"):
                continue  # the caller groups runs by sync
            value = getattr(self, name)
            out[name] = iso_utc(value) if name.endswith("_at") else value
            if name == "finished_at":
                out["duration_seconds"] = self.duration_seconds
        return out


@dataclass(frozen=True)
class ErrorRecord:
    """One current failure: a row of lambda_sync_errors with resolved_at null."""

    primary_key_value: str
    operation: str | None
    reason: str | None
    attempts: int
    first_failed_at: datetime | None
    last_failed_at: datetime | None
    last_failed_run_id: str | None

    def to_json(self) -> dict[str, Any]:
        """The failure for scripts, timestamps in ISO 8601 UTC."""
        return {
            "primary_key_value": self.primary_key_value,
            "operation": self.operation,
            "reason": self.reason,
            "attempts": self.attempts,
            "first_failed_at": iso_utc(self.first_failed_at),
            "last_failed_at": iso_utc(self.last_failed_at),
            "last_failed_run_id": self.last_failed_run_id,
        }


def iso_utc(moment: datetime | None) -> str | None:
    """The package stores naive UTC timestamps; scripts get ISO 8601 with a Z."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.replace(tzinfo=None) - (moment.utcoffset() or timedelta(0))
    return moment.isoformat() + "Z"


class History:
    """Read-only queries over the package's tables. Missing tables read as empty."""

    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse
        self._tables: dict[str, Any] = {}

    def _table(self, name: str) -> Any | None:
        """The relation of lambda_sync_<name>, or None when it does not exist yet."""
        if name not in self._tables:
            relation = self.warehouse.relation(f"lambda_sync_{name}")
            self._tables[name] = relation if self.warehouse.columns_of(relation) else None
        return self._tables[name]

    def recent_runs(
        self, sync_names: Iterable[str], *, limit: int, now: datetime
    ) -> dict[str, list[RunRecord]]:
        """The last ``limit`` runs of each sync (0: all), newest first, keyed by sync name."""
        names = sorted(set(sync_names))
        runs: dict[str, list[RunRecord]] = {name: [] for name in names}
        table = self._table("runs")
        if not names or table is None:
            return runs
        marks = ", ".join("?" for _ in names)
        columns = ", ".join(RUN_COLUMNS)
        keep = f" where newest <= {int(limit)}" if limit > 0 else ""
        rows = self.warehouse.fetch_all(
            f"select {columns} from (select {columns}, row_number() over"
            " (partition by sync_name order by started_at desc, run_id desc) as newest"
            f" from {table} where sync_name in ({marks})) ranked{keep}"
            " order by sync_name, started_at desc, run_id desc",
            names,
        )
        leases = self._leases(names)
        for row in rows:
            record = _run_record(row)
            if record.status == RUNNING and not _holds_lease(record, leases, now):
                record = replace(record, status=INTERRUPTED)
            runs[record.sync_name].append(record)
        return runs

    def _leases(
        self, names: Sequence[str]
    ) -> dict[str, tuple[LeaseHolder | None, datetime | None]]:
        """Each sync's lease holder and expiry; no holder when it ran on this host and its
        process is gone (killed: the lease is free for the next run, see SyncState).
        """
        table = self._table("state")
        if table is None:
            return {}
        marks = ", ".join("?" for _ in names)
        # lease_host and lease_pid: absent from a state table no command has upgraded yet
        process = (
            "lease_host, lease_pid"
            if {"lease_host", "lease_pid"} <= {c.lower() for c in self.warehouse.columns_of(table)}
            else "null, null"
        )
        rows = self.warehouse.fetch_all(
            f"select sync_name, lease_holder, lease_expires_at, {process} from {table}"
            f" where sync_name in ({marks})",
            list(names),
        )
        holders = {
            name: (LeaseHolder.stored(label, host, pid), expires)
            for name, label, expires, host, pid in rows
        }
        return {
            name: (None if holder is None or holder.gone() else holder, expires)
            for name, (holder, expires) in holders.items()
        }

    def open_error_counts(self, sync_names: Iterable[str]) -> dict[str, int]:
        """Current failures per sync (0 for a sync without any)."""
        return self._counts_by_sync("errors", sync_names, "resolved_at is null and ")

    def invalid_row_counts(self, sync_names: Iterable[str]) -> dict[str, int]:
        """Rows of each sync's model that the last capture could not plan (null or duplicated
        key), from lambda_sync_invalid_rows.
        """
        return self._counts_by_sync("invalid_rows", sync_names)

    def _counts_by_sync(
        self, table_name: str, sync_names: Iterable[str], condition: str = ""
    ) -> dict[str, int]:
        """Rows per sync of one of the package's tables (0 for a sync without any, or when the
        table does not exist yet); ``condition`` is a fixed SQL prefix to the sync filter.
        """
        names = sorted(set(sync_names))
        counts = {name: 0 for name in names}
        table = self._table(table_name)
        if not names or table is None:
            return counts
        marks = ", ".join("?" for _ in names)
        rows = self.warehouse.fetch_all(
            f"select sync_name, count(*) from {table}"
            f" where {condition}sync_name in ({marks}) group by sync_name",
            names,
        )
        counts.update({name: int(count) for name, count in rows})
        return counts

    def open_errors(self, sync_name: str, *, limit: int) -> list[ErrorRecord]:
        """Current failures of a sync, most recent first (0: all of them)."""
        table = self._table("errors")
        if table is None:
            return []
        cap = f" limit {int(limit)}" if limit > 0 else ""
        rows = self.warehouse.fetch_all(
            "select primary_key_value, operation, reason, attempts, first_failed_at,"
            f" last_failed_at, last_failed_run_id from {table}"
            " where sync_name = ? and resolved_at is null"
            f" order by last_failed_at desc, primary_key_value{cap}",
            [sync_name],
        )
        return [
            ErrorRecord(key, op, reason, int(attempts or 0), first, last, run)
            for key, op, reason, attempts, first, last, run in rows
        ]

    def syncs_with_state(self) -> list[tuple[str, str | None]]:
        """(sync name, model name) of every sync with a state row or an open error, by name.

        Every sync that has a snapshot, a plan or unsettled rows has a state row too (the plan
        computation creates it), so the small state table and the open errors cover them all.
        """
        found: dict[str, str | None] = {}
        state, errors = self._table("state"), self._table("errors")
        if errors is not None:
            for name, model in self.warehouse.fetch_all(
                f"select sync_name, max(model_name) from {errors}"
                " where resolved_at is null group by sync_name"
            ):
                found[name] = model
        if state is not None:
            for name, model in self.warehouse.fetch_all(
                f"select sync_name, model_name from {state}"
            ):
                found[name] = model or found.get(name)
        return sorted(found.items())

    def snapshot_rows(self, sync_name: str) -> int:
        """Rows of the sync's snapshot: the keys last delivered."""
        table = self._table("snapshots")
        if table is None:
            return 0
        rows = self.warehouse.fetch_all(
            f"select count(*) from {table} where sync_name = ?", [sync_name]
        )
        return int(rows[0][0])


def _run_record(row: Sequence[Any]) -> RunRecord:
    values = dict(zip(RUN_COLUMNS, row, strict=True))
    for counter in RUN_COUNTERS:
        values[counter] = int(values[counter] or 0)
    values["first_run"] = None if values["first_run"] is None else bool(values["first_run"])
    values["status"] = values["status"] or UNKNOWN
    return RunRecord(**values)


def _holds_lease(
    record: RunRecord, leases: dict[str, tuple[LeaseHolder | None, datetime | None]], now: datetime
) -> bool:
    holder, expires = leases.get(record.sync_name, (None, None))
    held_by_run = holder is not None and holder.run_id == record.run_id
    return held_by_run and (expires is None or _naive(expires) >= now)


def _naive(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.replace(tzinfo=None) - (moment.utcoffset() or timedelta(0))


# --- reset ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResetResult:
    """What ``reset_sync`` did."""

    sync: DeclaredSync
    snapshot_rows: int  # rows the snapshot held, now forgotten
    open_errors: int  # current failures, kept


def reset_sync(warehouse: Warehouse, sync: DeclaredSync, *, now: datetime) -> ResetResult:
    """Forgets the sync's snapshot, stored plan and first-run flag, under the sync's lease.

    Raises ``LeaseHeldError`` (exit 3) when a runner holds the lease. Open errors are kept: the
    next run retries or resolves them.
    """
    warehouse.call_macro("create_sync_tables")
    state = SyncState(warehouse, sync_name=sync.name, model_name=sync.model)
    holder = LeaseHolder.this_process(f"reset-{now.strftime('%Y%m%dT%H%M%SZ')}")
    state.acquire_lease(holder, lease_seconds=RESET_LEASE_SECONDS)
    try:
        history = History(warehouse)
        snapshot_rows = history.snapshot_rows(sync.name)
        open_errors = history.open_error_counts([sync.name])[sync.name]
        state.reset(now=now)
    finally:
        with contextlib.suppress(SyncError):
            state.release_lease(holder)  # else it expires on its own
    return ResetResult(sync=sync, snapshot_rows=snapshot_rows, open_errors=open_errors)
