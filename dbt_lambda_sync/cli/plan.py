"""`plan`: compute and print each sync's pending changes; send nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from dbt_lambda_sync.cli.common import (
    load_project,
    output_option,
    print_json,
    project_options,
    select_option,
)
from dbt_lambda_sync.cli.display import Table, print_table
from dbt_lambda_sync.plan_store import PlanStore
from dbt_lambda_sync.reporting import PlanSummary
from dbt_lambda_sync.runner import utcnow
from dbt_lambda_sync.warehouse import ProjectArgs


def plan_document(summaries: Sequence[PlanSummary]) -> dict[str, Any]:
    """``{"syncs": [{"name", "model", "added", "changed", "removed", "invalid", "first_run",
    "reason", "blocked"}]}``.
    """
    return {"syncs": [s.to_json() for s in summaries]}


def plan_table(summaries: Sequence[PlanSummary]) -> Table:
    """The plans of the selected syncs as a table."""
    return Table(
        ["sync", "model", "added", "changed", "removed", "invalid", "first run", "reason"],
        [
            [s.name, s.model, s.added, s.changed, s.removed, s.invalid, s.first_run, s.reason]
            for s in summaries
        ],
    )


@click.command(short_help="Show what a run would send; send nothing.")
@project_options
@select_option
@output_option
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Show what `run --full-refresh` would send; the stored plan and snapshot stay as is.",
)
def plan(args: ProjectArgs, selectors: list[str], output: str, full_refresh: bool) -> None:
    """Compute and print the pending changes of each sync; send nothing.

    Counts only the operations in a sync's triggers; all 0 on the first run of an
    initial_sync: skip sync. invalid: rows with a null or duplicated primary key.
    reason: why a sync sends every row (first_run, columns_changed, primary_key_changed,
    full_refresh); a note on stderr says why a sync sends nothing (a changed primary key,
    a model built with --empty).
    With --full-refresh: what a full refresh would send (every valid row as added), read
    from the model without touching the sync's state.

    \b
    Examples:
      dbt-lambda-sync plan
      dbt-lambda-sync plan --select crm_customers --output json
      dbt-lambda-sync plan --select crm_customers --full-refresh
    """
    project = load_project(args)
    definitions = project.definitions(selectors)
    summaries: list[PlanSummary] = []
    with project.open_warehouse() as warehouse:
        warehouse.call_macro("create_sync_tables")
        for defn in definitions:
            store = PlanStore(warehouse, defn)
            store.check_relation()
            if full_refresh:
                summaries.append(store.preview_full_refresh()[0])
            else:
                summaries.append(store.summary(store.refresh(now=utcnow())))
    if output == "json":
        print_json(plan_document(summaries))
    else:
        print_table(plan_table(summaries))
    for summary in summaries:
        if summary.blocked:
            click.echo(f"note: sync '{summary.name}' sends nothing: {summary.blocked}", err=True)


COMMAND = plan
