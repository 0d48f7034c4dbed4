"""`status`: the last runs of each selected sync, from lambda_sync_runs, newest first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import click

from dbt_lambda_sync.cli.common import (
    limit_option,
    load_project,
    output_option,
    print_json,
    project_options,
    select_option,
)
from dbt_lambda_sync.cli.display import Table, format_duration, one_line, print_table
from dbt_lambda_sync.history import DeclaredSync, History, RunRecord, declared_syncs, select_syncs
from dbt_lambda_sync.lifecycle import all_syncs
from dbt_lambda_sync.runner import utcnow
from dbt_lambda_sync.warehouse import ProjectArgs


def status_document(
    syncs: Sequence[DeclaredSync],
    runs: Mapping[str, Sequence[RunRecord]],
    open_errors: Mapping[str, int],
    invalid: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """``{"syncs": [{"name", "model", "open_errors", "invalid", "runs": [run, ...newest
    first]}]}``; invalid: the rows of lambda_sync_invalid_rows (null or duplicated keys).
    """
    invalid = invalid or {}
    return {
        "syncs": [
            {
                "name": s.name,
                "model": s.model,
                "orphaned": s.orphaned,
                "renamed_to": s.renamed_to,
                "open_errors": open_errors.get(s.name, 0),
                "invalid": invalid.get(s.name, 0),
                "runs": [r.to_json() for r in runs.get(s.name, [])],
            }
            for s in syncs
        ]
    }


def status_table(
    syncs: Sequence[DeclaredSync],
    runs: Mapping[str, Sequence[RunRecord]],
    open_errors: Mapping[str, int],
    invalid: Mapping[str, int] | None = None,
) -> Table:
    """Each sync's last runs, open errors and invalid rows as a table."""
    invalid = invalid or {}
    rows: list[list[Any]] = []
    for s in syncs:
        errors = open_errors.get(s.name, 0)
        bad = invalid.get(s.name, 0)
        if s.orphaned:
            note = (
                f"renamed to {s.renamed_to}: adopted by its next plan or run"
                if s.renamed_to
                else "no definition; dbt-lambda-sync prune removes its state"
            )
            rows.append([s.name, "orphaned", None, None, None, None, None, None, errors, bad, note])
        elif not runs.get(s.name):
            rows.append([s.name, "never run", None, None, None, None, None, None, errors, bad, ""])
        for r in runs.get(s.name, []):
            started = r.started_at.strftime("%Y-%m-%d %H:%M:%S") if r.started_at else ""
            rows.append(
                [
                    s.name,
                    r.status + (" (first)" if r.first_run else ""),
                    started,
                    format_duration(r.duration_seconds),
                    r.planned_rows,
                    r.delivered_rows,
                    r.rejected_rows,
                    r.invocations,
                    errors,
                    bad,
                    one_line(r.error or "", 80),
                ]
            )
    headers = [
        "sync",
        "status",
        "started (UTC)",
        "time",
        "planned",
        "delivered",
        "rejected",
        "invocations",
        "open errors",
        "invalid",
        "error",
    ]
    return Table(headers, rows, status_column="status", right_columns=["time"])


@click.command(short_help="The last runs of each sync, newest first.")
@project_options
@select_option
@output_option
@limit_option(5, "runs per sync")
def status(args: ProjectArgs, selectors: list[str], output: str, limit: int) -> None:
    """Show the last runs of each sync, newest first, from lambda_sync_runs.

    A run shown as "interrupted" is still "running" in the table, but its runner no longer holds
    the sync's lease (it was killed); the next run re-sends what it had not checkpointed.
    "open errors" counts the sync's current failures (see `errors SYNC`); "invalid" the rows
    its last capture could not plan (null or duplicated key: lambda_sync_invalid_rows). A sync
    that has state in the warehouse but no definition any more (renamed or removed) is listed as
    "orphaned": `dbt-lambda-sync prune` removes its state, or `renamed_from` adopts it.

    \b
    Examples:
      dbt-lambda-sync status
      dbt-lambda-sync status --select crm_customers --limit 20
      dbt-lambda-sync status --output json | jq '.syncs[].runs[0].status'
    """
    project = load_project(args)
    declared = declared_syncs(project.manifest)
    with project.open_warehouse() as warehouse:
        syncs = select_syncs(all_syncs(warehouse, declared), selectors)
        names = [s.name for s in syncs]
        history = History(warehouse)
        runs = history.recent_runs(names, limit=limit, now=utcnow())
        open_errors = history.open_error_counts(names)
        invalid = history.invalid_row_counts(names)
    if output == "json":
        print_json(status_document(syncs, runs, open_errors, invalid))
    elif not syncs:
        click.echo("No syncs declared (no model has config.meta.lambda_sync).")
    else:
        print_table(status_table(syncs, runs, open_errors, invalid))


COMMAND = status
