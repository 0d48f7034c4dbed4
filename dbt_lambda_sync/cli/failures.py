"""`errors SYNC`: the current failures of one sync, from lambda_sync_errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from dbt_lambda_sync.cli.common import (
    limit_option,
    load_project,
    output_option,
    print_json,
    project_options,
)
from dbt_lambda_sync.display import Table, one_line, print_table
from dbt_lambda_sync.history import DeclaredSync, ErrorRecord, History, declared_syncs, one_sync
from dbt_lambda_sync.warehouse import ProjectArgs


def errors_document(
    sync: DeclaredSync, errors: Sequence[ErrorRecord], open_errors: int
) -> dict[str, Any]:
    """``{"sync", "model", "open_errors", "errors": [{"primary_key_value", "operation",
    "reason", "attempts", "first_failed_at", "last_failed_at", "last_failed_run_id"}]}``."""
    return {
        "sync": sync.name,
        "model": sync.model,
        "open_errors": open_errors,
        "errors": [e.to_json() for e in errors],
    }


def errors_table(errors: Sequence[ErrorRecord]) -> Table:
    return Table(
        ["key", "operation", "reason", "attempts", "last failed (UTC)"],
        [
            [
                e.primary_key_value,
                e.operation,
                one_line(e.reason or "", 120),
                e.attempts,
                e.last_failed_at.strftime("%Y-%m-%d %H:%M:%S") if e.last_failed_at else "",
            ]
            for e in errors
        ],
    )


@click.command("errors", short_help="The current failures of a sync.")
@click.argument("sync", metavar="SYNC")
@project_options
@output_option
@limit_option(50, "failures")
def errors_command(sync: str, args: ProjectArgs, output: str, limit: int) -> None:
    """Show the current failures of a sync: rows rejected or failed and not yet delivered.

    Most recent first. Every one is retried on each later run until it is delivered (or no
    longer needs sending). SYNC is a sync name, or a model that has one sync.

    \b
    Examples:
      dbt-lambda-sync errors crm_customers
      dbt-lambda-sync errors crm_customers --limit 0 --output json > failures.json
    """
    project = load_project(args)
    target = one_sync(declared_syncs(project.manifest), sync)
    with project.open_warehouse() as warehouse:
        history = History(warehouse)
        errors = history.open_errors(target.name, limit=limit)
        total = history.open_error_counts([target.name])[target.name]
    if output == "json":
        print_json(errors_document(target, errors, total))
        return
    if not errors:
        click.echo(f"No current failures for {target.name} (model {target.model}).")
        return
    print_table(errors_table(errors))
    shown = f"{len(errors)} of {total}" if len(errors) < total else f"{total}"
    more = "; --limit 0 shows all" if len(errors) < total else ""
    click.echo(f"{shown} current failure(s) of {target.name}{more}.")


COMMAND = errors_command
