"""A sync's stored plan: kept fresh, judged (first run, changed key or columns), summarised.

The plan itself is computed by the compute_plan macro; this module decides when to recompute it
and what the stored state says a run of it would do.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from dbt_lambda_sync.definitions import SyncDefinition, check_columns, resolve_column
from dbt_lambda_sync.errors import DefinitionError, KeyChanged, SyncError, UsageError
from dbt_lambda_sync.leases import LeaseHolder
from dbt_lambda_sync.reporting import PlanSummary
from dbt_lambda_sync.state import StateRow, SyncState, sql_time
from dbt_lambda_sync.vocabulary import ADDED, CHANGED, DUPLICATE, REMOVED
from dbt_lambda_sync.warehouse import Warehouse


def definition_key(defn: SyncDefinition) -> str:
    """Must equal the macro dbt_lambda_sync.definition_key for the same definition."""
    return f"{defn.primary_key}|{','.join(defn.columns) if defn.columns else '*'}"


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
        """Raises when the model's relation is missing or lacks the sync's columns."""
        columns = self.warehouse.columns_of(self.relation)
        if not columns:
            raise UsageError(
                f"model '{self.defn.model.name}', sync '{self.defn.name}': {self.relation} does not"
                " exist in the warehouse; build the model first (dbt build)"
            )
        problems = check_columns(self.defn, columns)
        if problems:
            raise DefinitionError(problems)

    def event_key_column(self) -> str:
        """The key column as events spell it (``primary_key_column``, and the key of each row
        object): the relation's spelling of ``primary_key``, as the adapter names it in events
        (macro event_column_name: Snowflake's folded upper-case names go out lower-case).
        """
        actual = self.warehouse.columns_of(self.relation)
        column = resolve_column(self.defn.primary_key, actual) or self.defn.primary_key
        return str(self.warehouse.call_macro("event_column_name", column=column))

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
        """Raises KeyChanged when the primary key changed since the snapshot."""
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
        if old_state is None or not old:
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
            adopt_renamed_state(self.state, self.defn.renamed_from, now=now)

    def refresh(self, *, now: datetime, force: bool = False) -> StateRow:
        """Recomputes the stored plan unless it is fresh (``is_fresh``); the state row after."""
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
            counts={ADDED: int(added), DUPLICATE: int(duplicate_keys)},
        )
        return dataclasses.replace(summary, reason="full_refresh"), str(queries["rows"])

    def preview_pages(self, rows_sql: str, *, rows_per_page: int) -> Iterator[list[tuple]]:
        """The rows of ``preview_full_refresh``'s SELECT, a page at a time."""
        return self.warehouse.fetch_pages(rows_sql, rows_per_page=rows_per_page)

    def _plan_summary(
        self, *, first_run: bool, invalid: int, counts: dict[str, int]
    ) -> PlanSummary:
        sends = not (first_run and self.defn.initial_sync == "skip")

        def pending(op: str) -> int:
            return counts.get(op, 0) if sends and op in self.defn.triggers else 0

        return PlanSummary(
            name=self.defn.name,
            model=self.defn.model.name,
            added=pending(ADDED),
            changed=pending(CHANGED),
            removed=pending(REMOVED),
            invalid=invalid,
            first_run=first_run,
            duplicate_keys=counts.get(DUPLICATE, 0),
        )


# How long adopting a renamed sync's state may hold the old name's lease.
ADOPT_LEASE_SECONDS = 60


def adopt_renamed_state(state: SyncState, renamed_from: str, *, now: datetime) -> bool:
    """Takes over the state of ``renamed_from``, this sync's previous name (macro
    adopt_renamed_sync), in one transaction, holding the old name's lease. Returns False when
    there is nothing to adopt: the old name has no state (never had, pruned, or adopted
    already). Raises UsageError when this sync has run already (its snapshot would be mixed
    with the old one), and LeaseHeldError when a runner of the old name holds its lease.
    """
    old = SyncState(state.warehouse, sync_name=renamed_from, model_name=state.model_name)
    if old.read() is None:
        return False
    own = state.read()
    if own is not None and own.initialized:
        raise UsageError(
            f"sync '{state.sync_name}' (model '{state.model_name}') has run already, so"
            f" its renamed_from '{renamed_from}' cannot adopt the state that"
            f" '{renamed_from}' still has: remove renamed_from and run dbt-lambda-sync"
            f" prune to drop it, or run dbt-lambda-sync reset {state.sync_name} to adopt"
            " it instead of this sync's own snapshot"
        )
    holder = LeaseHolder.this_process(
        f"adopt-{now.strftime('%Y%m%dT%H%M%SZ')} by {state.sync_name}"
    )
    old.acquire_lease(holder, lease_seconds=ADOPT_LEASE_SECONDS)
    try:
        with state.warehouse.transaction():
            if old.read() is None:  # adopted meanwhile by another process
                return False
            state.warehouse.call_macro(
                "adopt_renamed_sync",
                sync_name=state.sync_name,
                model_name=state.model_name,
                renamed_from=renamed_from,
            )
    finally:
        # a no-op once adopted: the old name's state row is this sync's now
        with contextlib.suppress(SyncError):
            old.release_lease(holder)
    return True
