"""`run`: deliver the pending changes of each selected sync. `build` reuses ``deliver``."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from dbt_lambda_sync.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    exit_code_of,
    load_project,
    output_option,
    print_json,
    project_options,
    select_option,
    worst_exit_code,
)
from dbt_lambda_sync.cli.display import Table, format_duration, make_reporter, one_line, print_table
from dbt_lambda_sync.definitions import SyncDefinition
from dbt_lambda_sync.errors import SyncError, UnexpectedError
from dbt_lambda_sync.reporting import RunSummary
from dbt_lambda_sync.runner import RunOptions, RunResult, SyncRunner
from dbt_lambda_sync.vocabulary import DRY_RUN, FAILED, SKIPPED
from dbt_lambda_sync.warehouse import ProjectArgs, Warehouse


@dataclass(frozen=True)
class SyncOutcome:
    """How one sync's run ended: a summary, an error, or (a failed run) both."""

    name: str
    model: str
    summary: RunSummary | None
    error: SyncError | None = None
    fail_on: str = "any"  # 'any' rejected row exits 1, or only 'new' ones (see FAIL_ON)

    @property
    def exit_code(self) -> int:
        """The exit code this sync asks for (errors outrank rejected rows)."""
        if self.error is not None:
            return exit_code_of(self.error)
        if self.summary is not None and self.summary.rejected_rows:
            if self.fail_on == "new" and not self.summary.new_failures:
                return EXIT_OK  # every failed row was already failing before this run
            return EXIT_REJECTED
        return EXIT_OK


def deliver(
    warehouse: Warehouse,
    definitions: Sequence[SyncDefinition],
    *,
    options: RunOptions,
    reporter: Any,
    fail_on: str = "any",
) -> list[SyncOutcome]:
    """Runs each sync in turn; one that cannot run does not stop the others."""
    outcomes = []
    for defn in definitions:
        try:
            result = SyncRunner(warehouse, defn, options=options, reporter=reporter).run()
        except SyncError as exc:  # a sync that cannot start: its own exit code
            result = RunResult(None, exc)
        except Exception as exc:  # a bug the runner did not catch: this sync fails alone
            result = RunResult(None, UnexpectedError(exc))
        error = result.error
        if error is not None:
            if isinstance(error, UnexpectedError) and os.environ.get("DBT_LAMBDA_SYNC_DEBUG"):
                traceback.print_exception(error.original)
            reporter.sync_failed(defn.name, str(error))
        outcomes.append(SyncOutcome(defn.name, defn.model.name, result.summary, error, fail_on))
    return outcomes


FAIL_ON = ("new", "any")

fail_on_option = click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="any",
    show_default=True,
    help="any: exit 1 when any row failed. new: only when a row failed that was not already"
    " failing before this run.",
)


def runs_exit_code(outcomes: Sequence[SyncOutcome]) -> int:
    """The command's exit code: the worst of its syncs'."""
    return worst_exit_code(o.exit_code for o in outcomes)


def runs_document(outcomes: Sequence[SyncOutcome]) -> dict[str, Any]:
    """``{"runs": [RunSummary...], "errors": [{"sync", "error", "exit_code"}]}``."""
    return {
        "runs": [o.summary.to_json() for o in outcomes if o.error is None and o.summary],
        "errors": [
            {"sync": o.name, "error": str(o.error), "exit_code": o.exit_code}
            for o in outcomes
            if o.error is not None
        ],
    }


def runs_table(outcomes: Sequence[SyncOutcome]) -> Table:
    """The summary table `run` prints: a row per sync, a note when there is one."""
    rows: list[list[Any]] = []
    for o in outcomes:
        s = o.summary
        if s is None:  # the sync failed before it started delivering
            rows.append([o.name, o.model, FAILED, None, None, None, None, None, None, None])
        else:
            status = FAILED if o.error is not None else s.status
            planned = s.planned_added + s.planned_changed + s.planned_removed
            rows.append(
                [
                    o.name,
                    o.model,
                    status,
                    planned,
                    s.delivered_rows,
                    s.rejected_rows,
                    s.invalid_rows,
                    s.invocations,
                    s.retries,
                    format_duration(s.duration_seconds),
                ]
            )
        note = ""
        if o.error is not None:
            note = f"exit {o.exit_code}: {one_line(o.error, 160)}"
        elif s is not None and s.status == SKIPPED:
            note = one_line(s.note or "", 160)
        elif s is not None and s.status == DRY_RUN:
            note = f"dry run: {s.event_bytes or 0:,} bytes of events, nothing sent"
        elif s is not None and s.rejected_rows:
            note = f"dbt-lambda-sync errors {o.name}"
        rows[-1].append(note)
    headers = [
        "sync",
        "model",
        "status",
        "planned",
        "delivered",
        "rejected",
        "invalid",
        "invocations",
        "retries",
        "time",
        "note",
    ]
    if not any(row[-1] for row in rows):
        headers.pop()
        rows = [row[:-1] for row in rows]
    return Table(headers, rows, status_column="status", right_columns=["time"])


def show_outcomes(outcomes: Sequence[SyncOutcome], *, output: str) -> None:
    """Prints the outcomes as a table, or as one JSON document."""
    if output == "json":
        print_json(runs_document(outcomes))
    elif outcomes:
        print_table(runs_table(outcomes))


@click.command(short_help="Deliver pending changes to the Lambda functions.")
@project_options
@select_option
@output_option
@click.option("--dry-run", is_flag=True, help="Plan and build the events, but invoke nothing.")
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Forget the snapshot first: this run is a first run. With --dry-run: preview that"
    " resend, forgetting nothing.",
)
@fail_on_option
def run(
    args: ProjectArgs,
    selectors: list[str],
    output: str,
    dry_run: bool,
    full_refresh: bool,
    fail_on: str,
) -> None:
    """Deliver the pending changes of each sync to its Lambda function.

    Shows live progress on a terminal (plain lines otherwise, on stderr), then a summary table
    on stdout. Exit 0: all delivered; 1: some rows rejected or failed (see `errors SYNC`;
    with --fail-on new, only rows that were not already failing); 2: invalid definitions or
    usage; 3: a sync could not run. A sync that cannot run does not stop the others.

    \b
    Examples:
      dbt build && dbt-lambda-sync run
      dbt-lambda-sync run --select customers --dry-run
      dbt-lambda-sync run -s crm_customers --full-refresh --output json
      dbt-lambda-sync run --fail-on new         # alert only on rows that newly failed
    """
    project = load_project(args)
    definitions = project.definitions(selectors)
    options = RunOptions(dry_run=dry_run, full_refresh=full_refresh)
    if not definitions:
        click.echo("No syncs to run: no model declares config.meta.lambda_sync.", err=True)
    with project.open_warehouse() as warehouse, make_reporter() as reporter:
        outcomes = deliver(
            warehouse, definitions, options=options, reporter=reporter, fail_on=fail_on
        )
    show_outcomes(outcomes, output=output)
    sys.exit(runs_exit_code(outcomes))


COMMAND = run
