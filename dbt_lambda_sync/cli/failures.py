"""`errors SYNC`: the current failures of one sync, from lambda_sync_errors; `--skip` gives up
on rows the function will never accept.
"""

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
from dbt_lambda_sync.cli.display import Table, one_line, print_table
from dbt_lambda_sync.errors import UsageError
from dbt_lambda_sync.history import DeclaredSync, ErrorRecord, History, declared_syncs, one_sync
from dbt_lambda_sync.lifecycle import SkipResult, all_syncs, skip_failures
from dbt_lambda_sync.runner import utcnow
from dbt_lambda_sync.warehouse import ProjectArgs, Warehouse


def errors_document(
    sync: DeclaredSync, errors: Sequence[ErrorRecord], open_errors: int
) -> dict[str, Any]:
    """``{"sync", "model", "open_errors", "errors": [{"primary_key_value", "operation",
    "reason", "attempts", "first_failed_at", "last_failed_at", "last_failed_run_id"}]}``.
    """
    return {
        "sync": sync.name,
        "model": sync.model,
        "open_errors": open_errors,
        "errors": [e.to_json() for e in errors],
    }


def errors_table(errors: Sequence[ErrorRecord]) -> Table:
    """The failing rows of a sync as a table."""
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


def skip_request(keys: Sequence[str], *, skip: bool, skip_all: bool) -> list[str] | None:
    """The keys to skip (None: every current failure); raises ``UsageError`` for a bad mix."""
    if skip and skip_all:
        raise UsageError("give either --skip KEY [KEY ...] or --skip-all, not both")
    if skip_all:
        if keys:
            raise UsageError("--skip-all takes no KEY; use --skip KEY [KEY ...] to name keys")
        return None
    if not keys:
        raise UsageError("--skip needs at least one KEY (or use --skip-all)")
    return list(keys)


def skip_message(result: SkipResult) -> str:
    """What `errors --skip` did, in a sentence."""
    sync = result.sync
    if not result.skipped:
        return f"No current failures of {sync.name} to skip."
    shown = ", ".join(result.skipped[:20]) + (" ..." if len(result.skipped) > 20 else "")
    return (
        f"Skipped {len(result.skipped)} row(s) of {sync.name}: {shown}. The snapshot moved past"
        " their current version; each is sent again only when its row changes."
    )


@click.command("errors", short_help="The current failures of a sync; --skip rows.")
@click.argument("sync", metavar="SYNC")
@click.argument("keys", nargs=-1, metavar="[KEY]...")
@click.option(
    "--skip",
    is_flag=True,
    help="Stop retrying the rows KEY...: the snapshot moves past their current version.",
)
@click.option("--skip-all", is_flag=True, help="--skip every current failure of the sync.")
@project_options
@output_option
@limit_option(50, "failures")
def errors_command(
    sync: str,
    keys: tuple[str, ...],
    skip: bool,
    skip_all: bool,
    args: ProjectArgs,
    output: str,
    limit: int,
) -> None:
    """Show the current failures of a sync: rows rejected or failed and not yet delivered.

    Most recent first. Every one is retried on each later run until it is delivered (or no
    longer needs sending). SYNC is a sync name, or a model that has one sync, or a sync that
    has state but no definition any more.

    --skip KEY [KEY ...] (or --skip-all) gives up on rows the function will never accept: the
    snapshot moves past each row's current version without sending it, and its error is
    resolved as `skipped`. The row is sent again when it changes in the model. A key starting
    with '-' goes after `--`.

    \b
    Examples:
      dbt-lambda-sync errors crm_customers
      dbt-lambda-sync errors crm_customers --limit 0 --output json > failures.json
      dbt-lambda-sync errors crm_customers --skip 17 42
      dbt-lambda-sync errors crm_customers --skip-all
    """
    skipping = skip or skip_all
    wanted = skip_request(keys, skip=skip, skip_all=skip_all) if skipping else None
    if keys and not skipping:
        raise UsageError(f"unexpected KEY argument(s) {' '.join(keys)}: KEYs go with --skip")
    project = load_project(args)
    declared = declared_syncs(project.manifest)
    with project.open_warehouse() as warehouse:
        target = one_sync(all_syncs(warehouse, declared), sync)
        if skipping:
            _skip(warehouse, target, wanted, output)
            return
        history = History(warehouse)
        errors = history.open_errors(target.name, limit=limit)
        total = history.open_error_counts([target.name])[target.name]
    _show(target, errors, total, output)


def _skip(
    warehouse: Warehouse, target: DeclaredSync, wanted: list[str] | None, output: str
) -> None:
    result = skip_failures(warehouse, target, wanted, now=utcnow())
    if output == "json":
        print_json({"sync": target.name, "model": target.model, "skipped": list(result.skipped)})
    else:
        click.echo(skip_message(result))


def _show(target: DeclaredSync, errors: Sequence[ErrorRecord], total: int, output: str) -> None:
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
