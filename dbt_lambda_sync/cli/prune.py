"""`prune`: remove the state of syncs that no longer have a definition (renamed or removed)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from dbt_lambda_sync.cli.common import (
    EXIT_OK,
    exit_code_of,
    load_project,
    output_option,
    print_json,
    project_options,
    worst_exit_code,
)
from dbt_lambda_sync.cli.display import Table, one_line, print_table
from dbt_lambda_sync.history import DeclaredSync, declared_syncs
from dbt_lambda_sync.lifecycle import PruneResult, disabled_sync_names, prune
from dbt_lambda_sync.runner import utcnow
from dbt_lambda_sync.warehouse import ProjectArgs


def prune_document(results: Sequence[PruneResult], *, dry_run: bool) -> dict[str, Any]:
    """``{"dry_run", "syncs": [{"name", "model", "snapshot_rows", "open_errors", "pruned",
    "error"}]}``.
    """
    return {
        "dry_run": dry_run,
        "syncs": [
            {
                "name": r.sync.name,
                "model": r.sync.model or None,
                "snapshot_rows": r.snapshot_rows,
                "open_errors": r.open_errors,
                "pruned": not dry_run and r.error is None,
                "error": str(r.error) if r.error else None,
            }
            for r in results
        ],
    }


def prune_table(results: Sequence[PruneResult], *, dry_run: bool) -> Table:
    """What `prune` did (or would do, with ``dry_run``) to each orphaned sync, as a table."""
    rows = []
    for r in results:
        if r.error is not None:
            outcome = f"not pruned: {one_line(str(r.error), 100)}"
        else:
            outcome = "would prune" if dry_run else "pruned"
        rows.append([r.sync.name, r.sync.model, r.snapshot_rows, r.open_errors, outcome])
    return Table(["sync", "last model", "snapshot rows", "open errors", "outcome"], rows)


@click.command("prune", short_help="Remove the state of syncs that have no definition any more.")
@project_options
@output_option
@click.option("--dry-run", is_flag=True, help="List what would be pruned; change nothing.")
def prune_command(args: ProjectArgs, output: str, dry_run: bool) -> None:
    """Remove the state of every orphaned sync: a sync renamed or removed from the YAML whose
    snapshot, stored plan and open errors are still in the warehouse.

    Its rows leave every internal table (state, snapshot, plan, unsettled rows) and its open
    errors are resolved as `pruned`; its runs, invocations and resolved errors stay as history.
    Every definition must be valid first (exit 2), so a sync is never pruned because its YAML
    is broken; syncs of disabled models and old names a `renamed_from` will adopt are kept.
    A sync whose lease is held is left alone (exit 3).

    \b
    Examples:
      dbt-lambda-sync prune --dry-run
      dbt-lambda-sync prune --output json
    """
    project = load_project(args)
    project.definitions()  # every definition valid: a broken one must not look removed
    declared = declared_syncs(project.manifest)
    kept = [DeclaredSync(name=name, model="") for name in disabled_sync_names(project.manifest)]
    with project.open_warehouse() as warehouse:
        results = prune(warehouse, [*declared, *kept], dry_run=dry_run, now=utcnow())
    if output == "json":
        print_json(prune_document(results, dry_run=dry_run))
    elif not results:
        click.echo("No orphaned syncs: every sync with state in the warehouse has a definition.")
    else:
        print_table(prune_table(results, dry_run=dry_run))
        if dry_run:
            click.echo(f"{len(results)} orphaned sync(s); run without --dry-run to prune them.")
    failed = [r.error for r in results if r.error is not None]
    for error in failed:
        click.echo(f"Error: {error}", err=True)
    sys.exit(worst_exit_code([EXIT_OK, *(exit_code_of(e) for e in failed)]))


COMMAND = prune_command
