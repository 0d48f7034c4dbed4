"""`build`: run `dbt build` in this process, then the syncs of the models it built."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from dbt_lambda_sync.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    load_project,
    output_option,
    print_json,
    project_options,
    worst_exit_code,
)
from dbt_lambda_sync.cli.display import make_reporter
from dbt_lambda_sync.cli.run import (
    SyncOutcome,
    deliver,
    fail_on_option,
    runs_document,
    runs_exit_code,
    show_outcomes,
)
from dbt_lambda_sync.definitions import SyncDefinition
from dbt_lambda_sync.errors import SyncError, UsageError, WarehouseError
from dbt_lambda_sync.project import Project
from dbt_lambda_sync.runner import RunOptions
from dbt_lambda_sync.warehouse import ProjectArgs

FAILED_STATUSES = ("error", "fail", "runtime error")


@dataclass(frozen=True)
class BuildReport:
    """What one `dbt build` did to models: which built, and why the others will not be synced."""

    success: bool
    built: frozenset[str] = frozenset()  # unique_ids of models with status success
    not_synced: dict[str, str] = field(default_factory=dict)  # model unique_id -> why
    failed_nodes: tuple[str, ...] = ()  # names of nodes that errored or failed

    def syncable(self, unique_id: str) -> bool:
        """Whether dbt built this node in this build and did not mark it not to be synced."""
        return unique_id in self.built and unique_id not in self.not_synced


def _status(result: Any) -> str:
    status = getattr(result, "status", "")
    return str(getattr(status, "value", status)).lower()


def read_build(success: bool, results: Sequence[Any]) -> BuildReport:
    """Reads a RunExecutionResult's node results.

    A model is synced when it built (status success) and none of the tests that depend on it
    failed or errored: `dbt build` skips whatever depends on a model whose tests fail, and a
    sync depends on its model. Tests that only warn do not block.
    """
    built: set[str] = set()
    not_synced: dict[str, str] = {}
    failed: list[str] = []
    for result in results:
        node = result.node
        status = _status(result)
        kind = str(getattr(node.resource_type, "value", node.resource_type)).lower()
        if status in FAILED_STATUSES:
            failed.append(node.name)
        if kind == "model":
            if status == "success":
                built.add(node.unique_id)
            else:
                not_synced[node.unique_id] = f"the model did not build ({status})"
        elif kind == "test" and status in FAILED_STATUSES:
            for parent in getattr(node.depends_on, "nodes", []) or []:
                if parent.startswith("model.") and parent not in not_synced:
                    not_synced[parent] = (
                        f"its test {node.name} {'failed' if status == 'fail' else 'errored'}"
                    )
    return BuildReport(success, frozenset(built), not_synced, tuple(failed))


def _dbt_failure(exc: BaseException) -> SyncError:
    """The build could not run at all (bad arguments, project, profile, connection)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    message = f"dbt build could not run: {' '.join(str(exc).split()) or type(exc).__name__}"
    if names & {"DbtDatabaseError", "FailedToConnectError", "DatabaseException"}:
        return WarehouseError(message)
    return UsageError(message)


def run_dbt_build(project: Project, dbt_args: Sequence[str]) -> BuildReport:
    """`dbt build` in this process, reusing our parse. dbt's log goes to stderr, as with every
    command: stdout carries only the results (table or JSON document).
    """
    from dbt.cli.main import dbtRunner

    with contextlib.redirect_stdout(sys.stderr):
        result = dbtRunner(manifest=project.manifest).invoke(
            ["build", *project.args.dbt_flags(), *dbt_args]
        )
    execution: Any = result.result  # dbt's union of result types; a build gives results
    if isinstance(result.exception, KeyboardInterrupt):
        raise result.exception  # Ctrl-C or SIGTERM during the build: exit 130 or 143, not 2
    if result.exception is not None or not hasattr(execution, "results"):
        raise _dbt_failure(result.exception or RuntimeError("no results"))
    return read_build(bool(result.success), list(execution.results))


def build_document(
    report: BuildReport,
    definitions: Sequence[SyncDefinition],
    outcomes: Sequence[SyncOutcome],
    project: Project,
) -> dict[str, Any]:
    """The JSON document of `build --output json`: the dbt build and each sync's outcome."""
    names = {n.unique_id: n.name for n in project.manifest.nodes.values()}
    return {
        "dbt": {
            "success": report.success,
            "built": sorted(names.get(u, u) for u in report.built),
            "failed": list(report.failed_nodes),
        },
        **runs_document(outcomes),
        "skipped": [
            {"sync": d.name, "model": d.model.name, "reason": report.not_synced[d.model.unique_id]}
            for d in definitions
            if d.model.unique_id in report.not_synced
        ],
    }


@click.command(
    short_help="dbt build, then sync the models it built.",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@project_options
@output_option
@fail_on_option
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED, metavar="[DBT BUILD ARGS]...")
def build(args: ProjectArgs, output: str, fail_on: str, dbt_args: tuple[str, ...]) -> None:
    """Run `dbt build`, then deliver the changes of the models it built, and only those.

    Any option `dbt build` takes (--select, --exclude, --full-refresh, --threads...) goes to
    dbt: here --select is dbt's node selection, not a list of syncs. Sync definitions are
    checked before dbt starts (exit 2, nothing built). A model is synced when it built
    successfully in this build and none of its tests failed; the others are listed as skipped.

    \b
    Exit codes:
      0  dbt succeeded and every sync delivered everything
      1  dbt had failures (the syncs of the models that built still ran), or some
         rows were rejected or failed (with --fail-on new: rows not already failing
         before this run); a sync that could not run (3) outranks it
      2  invalid definitions, or dbt could not start the build (bad arguments, project)
      3  a sync could not run (warehouse unreachable, lease held, credentials refused)

    \b
    Examples:
      dbt-lambda-sync build
      dbt-lambda-sync build --select +customers --target prod
      dbt-lambda-sync build --exclude tag:nightly --output json
    """
    project = load_project(args)
    definitions = project.definitions()  # every definition valid before anything builds
    report = run_dbt_build(project, dbt_args)
    selected = [d for d in definitions if report.syncable(d.model.unique_id)]
    for d in definitions:
        if d.model.unique_id in report.not_synced:
            reason = report.not_synced[d.model.unique_id]
            click.echo(f"not synced: {d.name} (model {d.model.name}: {reason})", err=True)
    outcomes: list[SyncOutcome] = []
    if selected:
        with project.open_warehouse() as warehouse, make_reporter() as reporter:
            outcomes = deliver(
                warehouse, selected, options=RunOptions(), reporter=reporter, fail_on=fail_on
            )
    else:
        click.echo("No synced model built in this dbt build; nothing to deliver.", err=True)
    if output == "json":
        print_json(build_document(report, definitions, outcomes, project))
    else:
        show_outcomes(outcomes, output=output)
    dbt_code = EXIT_OK if report.success else EXIT_REJECTED
    sys.exit(worst_exit_code([dbt_code, runs_exit_code(outcomes)]))


COMMAND = build
