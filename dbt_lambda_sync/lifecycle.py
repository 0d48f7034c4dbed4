"""What users do to a sync's state besides running it: skip rows that will never be accepted,
find syncs whose definition is gone (orphaned), and prune their state.

Every write runs under the sync's lease, in one transaction, so it never races a runner and a
crash leaves all of it or none. Nothing here prints: the CLI shows what these functions return.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbt_lambda_sync.definitions import named_entries
from dbt_lambda_sync.errors import SyncError, UsageError
from dbt_lambda_sync.history import DeclaredSync, History
from dbt_lambda_sync.leases import LeaseHolder
from dbt_lambda_sync.state import SyncState, sql_time
from dbt_lambda_sync.vocabulary import DUPLICATE
from dbt_lambda_sync.warehouse import Warehouse

LEASE_SECONDS = 60


@contextlib.contextmanager
def holding_lease(
    warehouse: Warehouse, sync: DeclaredSync, *, action: str, now: datetime
) -> Iterator[SyncState]:
    """The sync's lease for a short maintenance action; raises LeaseHeldError (exit 3) while a
    runner holds it.
    """
    state = SyncState(warehouse, sync_name=sync.name, model_name=sync.model)
    holder = LeaseHolder.this_process(f"{action}-{now.strftime('%Y%m%dT%H%M%SZ')}")
    state.acquire_lease(holder, lease_seconds=LEASE_SECONDS)
    try:
        yield state
    finally:
        with contextlib.suppress(SyncError):
            state.release_lease(holder)  # else it expires on its own (a pruned row: no-op)


# --- skip -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkipResult:
    """The keys `errors --skip` moved the snapshot past."""

    sync: DeclaredSync
    skipped: tuple[str, ...]  # keys whose current version the snapshot moved past


def skip_failures(
    warehouse: Warehouse, sync: DeclaredSync, keys: Sequence[str] | None, *, now: datetime
) -> SkipResult:
    """Moves the snapshot past the failing rows ``keys`` (None: every current failure) without
    sending them, and resolves their errors as ``skipped``. A key changes again only when its row
    changes in the model. Raises ``UsageError`` (nothing written) when a key is not a current
    failure of the sync, or is a duplicate key (there is no single row to move past).
    """
    warehouse.call_macro("create_sync_tables")
    with holding_lease(warehouse, sync, action="skip", now=now):
        errors = warehouse.relation("lambda_sync_errors")
        rows = warehouse.fetch_all(
            f"select primary_key_value, operation from {errors}"
            " where sync_name = ? and resolved_at is null",
            [sync.name],
        )
        failing = dict(rows)
        if keys is None:
            chosen = sorted(k for k, op in failing.items() if op != DUPLICATE)
        else:
            chosen = list(dict.fromkeys(keys))
            _check_skippable(sync, chosen, failing)
        if chosen:
            with warehouse.transaction():
                warehouse.call_macro(
                    "skip_failed_rows",
                    sync_name=sync.name,
                    keys=None if keys is None else chosen,
                    run_id=f"skipped-{now.strftime('%Y%m%dT%H%M%SZ')}",
                    now=sql_time(now),
                )
    return SkipResult(sync=sync, skipped=tuple(chosen))


def _check_skippable(sync: DeclaredSync, keys: Sequence[str], failing: dict[str, str]) -> None:
    unknown = [k for k in keys if k not in failing]
    duplicates = [k for k in keys if failing.get(k) == DUPLICATE]
    problems = []
    if unknown:
        shown = ", ".join(repr(k) for k in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        problems.append(
            f"{len(unknown)} key(s) are not current failures of {sync.name}: {shown}"
            f" (dbt-lambda-sync errors {sync.name} lists them)"
        )
    if duplicates:
        shown = ", ".join(repr(k) for k in duplicates[:10])
        problems.append(f"duplicate key(s) cannot be skipped, fix them in the model: {shown}")
    if problems:
        raise UsageError("; ".join(problems) + "; nothing was skipped")


# --- orphaned syncs -------------------------------------------------------------------------------


def all_syncs(warehouse: Warehouse, declared: Sequence[DeclaredSync]) -> list[DeclaredSync]:
    """The declared syncs, plus every sync that has state in the warehouse but no definition
    (``orphaned``; ``renamed_to`` when a declared sync's ``renamed_from`` will adopt it).
    """
    return sorted(
        [*declared, *orphaned_syncs(warehouse, declared)], key=lambda s: (s.name, s.model)
    )


def orphaned_syncs(warehouse: Warehouse, declared: Sequence[DeclaredSync]) -> list[DeclaredSync]:
    """Syncs with state in the warehouse that no model declares any more."""
    names = {s.name for s in declared}
    adopters = {s.renamed_from: s.name for s in declared if s.renamed_from}
    return [
        DeclaredSync(name=name, model=model or "", orphaned=True, renamed_to=adopters.get(name))
        for name, model in History(warehouse).syncs_with_state()
        if name not in names
    ]


@dataclass(frozen=True)
class PruneResult:
    """What pruning one orphaned sync removed, or why it could not."""

    sync: DeclaredSync
    snapshot_rows: int
    open_errors: int
    error: SyncError | None = None  # why this one could not be pruned (its lease was held)


def prune(
    warehouse: Warehouse,
    declared: Sequence[DeclaredSync],
    *,
    dry_run: bool,
    now: datetime,
) -> list[PruneResult]:
    """Removes the state of every orphaned sync (not one a ``renamed_from`` will adopt): its rows
    in every internal table, and closes its open errors as ``pruned``. Runs, invocations and
    resolved errors stay as history. One transaction per sync; one whose lease is held is left
    alone and reported.
    """
    orphans = [s for s in orphaned_syncs(warehouse, declared) if s.renamed_to is None]
    history = History(warehouse)
    results = []
    for sync in orphans:
        snapshot_rows = history.snapshot_rows(sync.name)
        open_errors = history.open_error_counts([sync.name])[sync.name]
        if dry_run:
            results.append(PruneResult(sync, snapshot_rows, open_errors))
            continue
        try:
            with holding_lease(warehouse, sync, action="prune", now=now):
                with warehouse.transaction():
                    warehouse.call_macro("prune_sync_state", sync_name=sync.name, now=sql_time(now))
        except SyncError as exc:
            results.append(PruneResult(sync, snapshot_rows, open_errors, exc))
        else:
            results.append(PruneResult(sync, snapshot_rows, open_errors))
    return results


def disabled_sync_names(manifest: Any) -> set[str]:
    """Sync names declared on disabled models: their state is kept, never pruned."""
    names: set[str] = set()
    for nodes in (getattr(manifest, "disabled", None) or {}).values():
        for node in nodes:
            meta = getattr(getattr(node, "config", None), "meta", None) or {}
            names.update(entry["name"] for entry in named_entries(meta))
    return names
