"""`validate`: check every sync definition, its columns against the built relations, and (asked)
whether each function can be invoked.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from dbt_lambda_sync.cli.common import (
    EXIT_ENVIRONMENT,
    EXIT_USAGE,
    load_project,
    output_option,
    print_json,
    project_options,
    select_option,
)
from dbt_lambda_sync.definitions import SyncDefinition, check_columns
from dbt_lambda_sync.errors import DefinitionError, Problem, SyncError
from dbt_lambda_sync.function_check import FunctionCheck, check_function
from dbt_lambda_sync.plan_store import PlanStore
from dbt_lambda_sync.project import Project
from dbt_lambda_sync.warehouse import ProjectArgs


def validate_document(
    definitions: Sequence[SyncDefinition],
    checks: Sequence[FunctionCheck],
    *,
    problems: Sequence[Problem] = (),
    notes: Sequence[str] = (),
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """``{"valid", "syncs": [{"name", "model", "function", "function_check"?}], "problems":
    [{"model", "sync", "field", "message"}], "notes": [...], "warnings": [...]}``;
    function_check (``{"ok", "kind", "error"}``) only with --check-functions.
    """
    by_sync = {c.sync: c for c in checks}
    syncs = []
    for defn in definitions:
        sync: dict[str, Any] = {
            "name": defn.name,
            "model": defn.model.name,
            "function": defn.function.name,
        }
        if defn.name in by_sync:
            sync["function_check"] = by_sync[defn.name].to_json()
        syncs.append(sync)
    return {
        "valid": not problems,
        "syncs": syncs,
        "problems": [
            {"model": p.model, "sync": p.sync, "field": p.field, "message": p.message}
            for p in problems
        ],
        "notes": list(notes),
        "warnings": list(warnings),
    }


@click.command(short_help="Check every sync definition; print each problem.")
@project_options
@select_option
@output_option
@click.option(
    "--check-functions",
    is_flag=True,
    help="Also check that each selected sync's function can be invoked (a DryRun Invoke:"
    " runs nothing). Exit 3 if one cannot.",
)
def validate(args: ProjectArgs, selectors: list[str], output: str, check_functions: bool) -> None:
    """Check every sync definition and print each problem (exit 2 if any).

    When the warehouse can be reached, primary_key and columns are also checked against the
    built models, and a warning says when a sync's next run sends every row (first run,
    changed columns) or refuses to run (changed primary key); a note on stderr says when they
    could not be checked. With --check-functions, each
    selected sync's function gets an Invoke with InvocationType=DryRun, through the client a
    run would use: ok, or why not (not found, access denied, credentials...); exit 3 if any
    function cannot be invoked.

    \b
    Examples:
      dbt-lambda-sync validate --project-dir jaffle_shop
      dbt-lambda-sync validate --check-functions --output json
    """
    project = load_project(args)
    try:
        definitions = project.definitions(selectors)
        note, warnings = _check_built_columns(project, definitions)
    except DefinitionError as exc:
        if output != "json":
            raise
        print_json(validate_document([], [], problems=exc.problems))
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    checks = [check_function(defn) for defn in definitions] if check_functions else []
    if output == "json":
        print_json(
            validate_document(definitions, checks, notes=[note] if note else [], warnings=warnings)
        )
    else:
        for defn in definitions:
            click.echo(f"ok  {defn.name}  (model {defn.model.name} -> {defn.function.name})")
        if note:
            click.echo(note, err=True)
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(f"{len(definitions)} sync definition(s) valid.")
        for check in checks:
            verdict = "can be invoked" if check.ok else f"{_label(check)}: {check.error}"
            click.echo(f"function {check.function} (sync {check.sync}): {verdict}")
    failed = [c for c in checks if not c.ok]
    if failed:
        names = ", ".join(f"{c.sync} ({_label(c)})" for c in failed)
        click.echo(
            f"Error: {len(failed)} of {len(checks)} function(s) cannot be invoked: {names}",
            err=True,
        )
        sys.exit(EXIT_ENVIRONMENT)


def _label(check: FunctionCheck) -> str:
    return check.kind.replace("_", " ")


def _check_built_columns(
    project: Project, definitions: list[SyncDefinition]
) -> tuple[str | None, list[str]]:
    """primary_key and columns against the built relations, then what each sync's stored state
    says its next run does (warnings); a note when they cannot be checked.
    """
    try:
        warehouse = project.open_warehouse()
    except SyncError as exc:
        return (
            f"note: columns not checked against the warehouse, nor the syncs' stored state ({exc})",
            [],
        )
    problems = []
    unbuilt = []
    built = []
    with warehouse:
        for defn in definitions:
            store = PlanStore(warehouse, defn)
            columns = warehouse.columns_of(store.relation)
            if columns:
                problems += check_columns(defn, columns)
                built.append(store)
            else:
                unbuilt.append(defn.model.name)
        if problems:
            raise DefinitionError(problems)
        warnings = [w for store in built if (w := store.next_run_warning())]
    if unbuilt:
        names = ", ".join(sorted(set(unbuilt)))
        return f"note: not built yet, columns not checked: {names}", warnings
    return None, warnings


COMMAND = validate
