"""The command line: parses arguments, wires the core together, prints, and owns the exit codes.

Exit codes: 0 everything planned was delivered; 1 the run finished but some rows were rejected or
failed (they are in lambda_sync_errors); 2 invalid definitions or usage, nothing was sent; 3 a sync
could not run (warehouse unreachable, lease held, function or credentials refused).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import click

from dbt_lambda_sync.definitions import SyncDefinition, check_columns
from dbt_lambda_sync.errors import DefinitionError, SyncError
from dbt_lambda_sync.project import Project
from dbt_lambda_sync.reporting import PlanSummary, Progress, RunSummary
from dbt_lambda_sync.runner import PlanStore, RunOptions, SyncRunner, utcnow
from dbt_lambda_sync.warehouse import ProjectArgs

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 1, 2, 3


# --- output ---------------------------------------------------------------------------------------


class LineReporter:
    """Plain log lines on stderr: what a CI log or a pipe should get."""

    def __init__(self, *, quiet: bool = False):
        self.quiet = quiet

    def _say(self, text: str) -> None:
        if not self.quiet:
            click.echo(f"{time.strftime('%H:%M:%S')}  {text}", err=True)

    def sync_started(self, plan: PlanSummary) -> None:
        first = " (first run)" if plan.first_run else ""
        self._say(
            f"{plan.name}: {plan.added} added, {plan.changed} changed, {plan.removed} removed,"
            f" {plan.invalid} invalid{first}"
        )

    def progress(self, progress: Progress) -> None:
        left = progress.seconds_left
        eta = f", about {left:.0f}s left" if left is not None else ""
        self._say(
            f"{progress.sync}: {progress.delivered_rows + progress.rejected_rows}"
            f"/{progress.planned_rows} rows, {progress.invocations} invocations,"
            f" {progress.rows_per_second:.0f} rows/s{eta}"
        )

    def sync_finished(self, summary: RunSummary) -> None:
        self._say(
            f"{summary.sync}: {summary.status} - {summary.delivered_rows} delivered,"
            f" {summary.rejected_rows} rejected, {summary.invocations} invocations"
            f" ({summary.retries} retries) in {summary.duration_seconds:.1f}s"
        )


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(map(str, headers))] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, default=str))


# --- shared options -------------------------------------------------------------------------------


def project_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--project-dir", help="The dbt project (default: as dbt finds it)."),
        click.option("--profiles-dir", help="Where profiles.yml is (default: as dbt finds it)."),
        click.option("--target", "-t", help="The profile target to use."),
        click.option("--vars", help="dbt variables, as YAML, like dbt's --vars."),
        click.option(
            "--select",
            "-s",
            "selectors",
            multiple=True,
            help="Sync names or model names; repeat or separate with spaces.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def output_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--output",
        "-o",
        type=click.Choice(["text", "json"]),
        default="text",
        help="json prints one JSON document on stdout, for scripts.",
    )(command)


def _args(
    project_dir: str | None, profiles_dir: str | None, target: str | None, vars: str | None
) -> ProjectArgs:
    return ProjectArgs(project_dir=project_dir, profiles_dir=profiles_dir, target=target, vars=vars)


def _selectors(raw: Sequence[str]) -> list[str]:
    return [name for item in raw for name in item.replace(",", " ").split()]


def _fail(exc: SyncError) -> None:
    click.echo(f"Error: {exc}", err=True)
    sys.exit(exc.exit_code if exc.exit_code in (EXIT_USAGE, EXIT_ENVIRONMENT) else EXIT_REJECTED)


# --- commands -------------------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dbt-lambda-sync")
def main() -> None:
    """Deliver the rows your dbt models added, changed or removed to AWS Lambda functions."""


@main.command()
@project_options
def validate(
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    vars: str | None,
    selectors: tuple[str, ...],
) -> None:
    """Check every sync definition and print each problem.

    \b
    Example:
      dbt-lambda-sync validate --project-dir jaffle_shop
    """
    try:
        project = Project.load(_args(project_dir, profiles_dir, target, vars))
        definitions = project.definitions(_selectors(selectors))
        note = _check_built_columns(project, definitions)
    except SyncError as exc:
        _fail(exc)
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


@main.command()
@project_options
@output_option
def plan(
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    vars: str | None,
    selectors: tuple[str, ...],
    output: str,
) -> None:
    """Compute and print the pending changes of each sync; send nothing.

    \b
    Example:
      dbt-lambda-sync plan --select crm_customers --output json
    """
    summaries: list[PlanSummary] = []
    try:
        project = Project.load(_args(project_dir, profiles_dir, target, vars))
        definitions = project.definitions(_selectors(selectors))
        with project.open_warehouse() as warehouse:
            warehouse.call_macro("create_sync_tables")
            for defn in definitions:
                store = PlanStore(warehouse, defn)
                store.check_relation()
                summaries.append(store.summary(store.refresh(now=utcnow())))
    except SyncError as exc:
        _fail(exc)
    if output == "json":
        _print_json({"syncs": [s.to_json() for s in summaries]})
        return
    click.echo(
        _table(
            ["sync", "model", "added", "changed", "removed", "invalid", "first run"],
            [
                [
                    s.name,
                    s.model,
                    s.added,
                    s.changed,
                    s.removed,
                    s.invalid,
                    "yes" if s.first_run else "no",
                ]
                for s in summaries
            ],
        )
    )


@main.command()
@project_options
@output_option
@click.option("--dry-run", is_flag=True, help="Plan and build the events, but invoke nothing.")
@click.option("--full-refresh", is_flag=True, help="Treat this run as a first run.")
def run(
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    vars: str | None,
    selectors: tuple[str, ...],
    output: str,
    dry_run: bool,
    full_refresh: bool,
) -> None:
    """Deliver the pending changes of each sync to its Lambda function.

    \b
    Examples:
      dbt build && dbt-lambda-sync run
      dbt-lambda-sync run --select customers --dry-run
    """
    options = RunOptions(dry_run=dry_run, full_refresh=full_refresh)
    reporter = LineReporter(quiet=False)
    summaries: list[RunSummary] = []
    failures: list[tuple[str, SyncError]] = []
    try:
        project = Project.load(_args(project_dir, profiles_dir, target, vars))
        definitions = project.definitions(_selectors(selectors))
        with project.open_warehouse() as warehouse:
            for defn in definitions:
                try:
                    runner = SyncRunner(warehouse, defn, options=options, reporter=reporter)
                    summaries.append(runner.run())
                except SyncError as exc:
                    # One sync that cannot run does not stop the others.
                    failures.append((defn.name, exc))
                    click.echo(f"Error: {exc}", err=True)
    except SyncError as exc:
        _fail(exc)
    if output == "json":
        _print_json(
            {
                "runs": [s.to_json() for s in summaries],
                "errors": [
                    {"sync": name, "error": str(exc), "exit_code": exc.exit_code}
                    for name, exc in failures
                ],
            }
        )
    else:
        click.echo(
            _table(
                [
                    "sync",
                    "status",
                    "delivered",
                    "rejected",
                    "invalid",
                    "invocations",
                    "retries",
                    "seconds",
                ],
                [
                    [
                        s.sync,
                        s.status,
                        s.delivered_rows,
                        s.rejected_rows,
                        s.invalid_rows,
                        s.invocations,
                        s.retries,
                        s.duration_seconds,
                    ]
                    for s in summaries
                ],
            )
        )
    codes = [exc.exit_code for _, exc in failures]
    if any(code in (EXIT_USAGE, EXIT_ENVIRONMENT) for code in codes):
        sys.exit(max(code for code in codes if code in (EXIT_USAGE, EXIT_ENVIRONMENT)))
    if codes or any(s.rejected_rows for s in summaries):
        sys.exit(EXIT_REJECTED)
