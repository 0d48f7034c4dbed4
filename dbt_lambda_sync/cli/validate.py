"""`validate`: check every sync definition, and its columns against the built relations."""

from __future__ import annotations

import click

from dbt_lambda_sync.cli.common import load_project, project_options, select_option
from dbt_lambda_sync.definitions import SyncDefinition, check_columns
from dbt_lambda_sync.errors import DefinitionError, SyncError
from dbt_lambda_sync.project import Project
from dbt_lambda_sync.runner import PlanStore
from dbt_lambda_sync.warehouse import ProjectArgs


@click.command(short_help="Check every sync definition; print each problem.")
@project_options
@select_option
def validate(args: ProjectArgs, selectors: list[str]) -> None:
    """Check every sync definition and print each problem (exit 2 if any).

    When the warehouse can be reached, primary_key and columns are also checked against the
    built models; a note on stderr says when they could not be.

    \b
    Example:
      dbt-lambda-sync validate --project-dir jaffle_shop
    """
    project = load_project(args)
    definitions = project.definitions(selectors)
    note = _check_built_columns(project, definitions)
    for defn in definitions:
        click.echo(f"ok  {defn.name}  (model {defn.model.name} -> {defn.function.name})")
    if note:
        click.echo(note, err=True)
    click.echo(f"{len(definitions)} sync definition(s) valid.")


def _check_built_columns(project: Project, definitions: list[SyncDefinition]) -> str | None:
    """primary_key and columns against the built relations; a note when they cannot be checked."""
    try:
        warehouse = project.open_warehouse()
    except SyncError as exc:
        return f"note: columns not checked against the warehouse ({exc})"
    problems = []
    unbuilt = []
    with warehouse:
        for defn in definitions:
            store = PlanStore(warehouse, defn)
            columns = warehouse.columns_of(store.relation)
            if columns:
                problems += check_columns(defn, columns)
            else:
                unbuilt.append(defn.model.name)
    if problems:
        raise DefinitionError(problems)
    if unbuilt:
        return f"note: not built yet, columns not checked: {', '.join(sorted(set(unbuilt)))}"
    return None


COMMAND = validate
