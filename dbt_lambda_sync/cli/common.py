"""What every command shares: exit codes, options, loading the project, printing JSON."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

import click

from dbt_lambda_sync.errors import SyncError
from dbt_lambda_sync.project import Project
from dbt_lambda_sync.warehouse import ProjectArgs

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 1, 2, 3
OUTPUT_KEY = "dbt_lambda_sync.output"  # in click's shared ctx.meta: the error handler reads it


def exit_code_of(exc: SyncError) -> int:
    """The exit code for an error: its own when it is a usage or environment error, else 1."""
    return exc.exit_code if exc.exit_code in (EXIT_USAGE, EXIT_ENVIRONMENT) else EXIT_REJECTED


def worst_exit_code(codes: Iterable[int]) -> int:
    """Usage (2) and environment (3) failures outrank rejected rows (1): the highest wins."""
    return max(codes, default=EXIT_OK)


# --- options --------------------------------------------------------------------------------------


def project_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--project-dir, --profiles-dir, --target and --vars, handed to the command as ``args``."""

    @functools.wraps(command)
    def wrapper(
        *,
        project_dir: str | None,
        profiles_dir: str | None,
        target: str | None,
        vars: str | None,
        **kwargs: Any,
    ) -> Any:
        args = ProjectArgs(
            project_dir=project_dir, profiles_dir=profiles_dir, target=target, vars=vars
        )
        return command(args=args, **kwargs)

    options = [
        click.option("--project-dir", metavar="DIR", help="The dbt project (default: as dbt)."),
        click.option(
            "--profiles-dir", metavar="DIR", help="Where profiles.yml is (default: as dbt)."
        ),
        click.option("--target", "-t", metavar="NAME", help="The profile target to use."),
        click.option("--vars", metavar="YAML", help="dbt variables, as YAML, like dbt's --vars."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def _split_names(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> list:
    names = []
    for item in value:
        split = item.replace(",", " ").split()
        if not split:
            # An empty selector (often an unset shell variable) must not widen to every sync.
            raise click.BadParameter(
                f"{item!r} names no sync or model; name at least one, or leave --select out"
                " to select every sync"
            )
        names += split
    return names


select_option = click.option(
    "--select",
    "-s",
    "selectors",
    multiple=True,
    metavar="NAME",
    callback=_split_names,
    help="Sync names or model names; repeat, or separate with spaces or commas. Default: all.",
)


def _remember_output(ctx: click.Context, _param: click.Parameter, value: str) -> str:
    ctx.meta[OUTPUT_KEY] = value
    return value


output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    callback=_remember_output,
    is_eager=True,
    help="json: one JSON document on stdout, for scripts; logs and progress go to stderr.",
)


def limit_option(default: int, what: str) -> Callable[..., Any]:
    """The ``--limit/-n`` option: how many rows to show (0: all)."""
    return click.option(
        "--limit",
        "-n",
        type=click.IntRange(min=0),
        default=default,
        show_default=True,
        metavar="N",
        help=f"How many {what} to show; 0 shows all.",
    )


# --- doing ----------------------------------------------------------------------------------------


def load_project(args: ProjectArgs) -> Project:
    """Parses the project with dbt. dbt's own log lines go to stderr: stdout carries results."""
    with contextlib.redirect_stdout(sys.stderr):
        return Project.load(args)


def print_json(document: Any) -> None:
    """Print a JSON document on stdout (dates and other values as text)."""
    click.echo(json.dumps(document, indent=2, default=str))


def wants_json() -> bool:
    """Whether the command was asked for ``--output json``."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get(OUTPUT_KEY) == "json")
