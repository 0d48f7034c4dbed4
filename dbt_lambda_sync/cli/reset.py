"""`reset SYNC`: forget a sync's snapshot so that its next run is a first run again."""

from __future__ import annotations

import click

from dbt_lambda_sync.cli.common import load_project, project_options
from dbt_lambda_sync.history import ResetResult, declared_syncs, one_sync, reset_sync
from dbt_lambda_sync.lifecycle import all_syncs
from dbt_lambda_sync.runner import utcnow
from dbt_lambda_sync.warehouse import ProjectArgs


def reset_message(result: ResetResult) -> str:
    """What `reset` forgot, in a sentence."""
    sync = result.sync
    if sync.orphaned:
        return (
            f"Reset {sync.name}: forgot the snapshot of {result.snapshot_rows:,} delivered row(s)"
            f" and the stored plan. It has no definition any more: dbt-lambda-sync prune removes"
            " the rest of its state."
        )
    next_run = (
        "records the current rows and sends nothing (initial_sync: skip)"
        if sync.initial_sync == "skip"
        else "sends every current row as added (initial_sync: backfill)"
    )
    kept = (
        f" Its {result.open_errors} current failure(s) are kept; the next run retries them or"
        " resolves those it no longer needs to send."
        if result.open_errors
        else ""
    )
    return (
        f"Reset {sync.name} (model {sync.model}): forgot the snapshot of"
        f" {result.snapshot_rows:,} delivered row(s) and the stored plan."
        f" Its next run is a first run: it {next_run}.{kept}"
    )


@click.command(short_help="Forget a sync's snapshot: next run is a first run.")
@click.argument("sync", metavar="SYNC")
@project_options
def reset(sync: str, args: ProjectArgs) -> None:
    """Forget a sync's snapshot, so that its next run is a first run again.

    Asks no questions. Takes the sync's lease first, so it fails (exit 3) while a run of the
    sync is in progress. Nothing is sent; the next `run` sends (initial_sync: backfill) or
    records (skip) every current row. SYNC is a sync name, or a model that has one sync, or a
    sync that has state but no definition any more.

    \b
    Example:
      dbt-lambda-sync reset crm_customers && dbt-lambda-sync run -s crm_customers
    """
    project = load_project(args)
    declared = declared_syncs(project.manifest)
    with project.open_warehouse() as warehouse:
        target = one_sync(all_syncs(warehouse, declared), sync)
        result = reset_sync(warehouse, target, now=utcnow())
    click.echo(reset_message(result))


COMMAND = reset
