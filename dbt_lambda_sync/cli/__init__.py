"""The command line: parses arguments, wires the core together, prints, and owns the exit codes.

One module per command; ``common`` holds what they share. The core never imports this package.

Exit codes: 0 everything planned was delivered; 1 the run finished but some rows were rejected or
failed (they are in lambda_sync_errors); 2 invalid definitions or usage, nothing was sent; 3 a sync
could not run (warehouse unreachable, lease held, function or credentials refused).

Errors print ``Error: ...`` on stderr, without a traceback (set DBT_LAMBDA_SYNC_DEBUG=1 to get
one for an unexpected error). With ``--output json``, an error that stops the command before it
has a result prints ``{"error": "...", "exit_code": N}`` on stdout.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

from dbt_lambda_sync.cli import build, failures, plan, prune, reset, run, status, validate
from dbt_lambda_sync.cli.common import (
    EXIT_ENVIRONMENT,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    exit_code_of,
    print_json,
    wants_json,
)
from dbt_lambda_sync.cli.display import visible
from dbt_lambda_sync.errors import Interrupted, SyncError
from dbt_lambda_sync.interrupts import process_stops

__all__ = ["EXIT_ENVIRONMENT", "EXIT_OK", "EXIT_REJECTED", "EXIT_USAGE", "main"]

EXIT_INTERRUPTED = Interrupted.exit_code  # SIGINT; SIGTERM exits 143 (errors.Terminated)


class _Group(click.Group):
    """Turns errors into `Error: ...` on stderr and the exit code; commands keep to their work."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order added: the order of a day's work

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with process_stops.installed():
                return super().invoke(ctx)
        except SyncError as exc:
            _stop(str(exc), exit_code_of(exc))
        except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM (interrupts.py)
            name = getattr(exc, "signal_name", "SIGINT")
            message = (
                f"Interrupted by {name}: every sync's progress up to its last checkpoint is kept,"
                " its run recorded as interrupted and its lease released."
            )
            code = getattr(exc, "exit_code", EXIT_INTERRUPTED)
            click.echo(message, err=True)
            if wants_json():
                print_json({"error": message, "exit_code": code})
            sys.exit(code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # a bug: still no traceback unless asked, and never exit 1
            if os.environ.get("DBT_LAMBDA_SYNC_DEBUG"):
                traceback.print_exc()
            _stop(
                f"unexpected {type(exc).__name__}: {exc} (set DBT_LAMBDA_SYNC_DEBUG=1 for the"
                " traceback)",
                EXIT_ENVIRONMENT,
            )


def _stop(message: str, code: int) -> None:
    click.echo(f"Error: {visible(message)}", err=True)
    if wants_json():
        print_json({"error": message, "exit_code": code})
    sys.exit(code)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Exit codes:
  0  everything planned was delivered
  1  the run finished, but some rows were rejected or failed (see `errors SYNC`)
  2  invalid sync definitions or usage; nothing was sent
  3  a sync could not run (warehouse unreachable, lease held, credentials refused)

Run `dbt-lambda-sync COMMAND --help` for a command's options and examples.""",
)
@click.version_option(package_name="dbt-lambda-sync")
def main() -> None:
    """Deliver the rows your dbt models added, changed or removed to AWS Lambda functions.

    The project, profile and target are found the way dbt finds them; --select takes sync or
    model names.

    \b
    Examples:
      dbt-lambda-sync build                      # dbt build, then sync what it built
      dbt build && dbt-lambda-sync run           # the same, in two steps
      dbt-lambda-sync plan --output json         # what a run would send; sends nothing
      dbt-lambda-sync status                     # the last runs of every sync
      dbt-lambda-sync errors crm_customers       # rows that failed and will be retried
    """
    _fix_malloc_mmap_threshold()


def _fix_malloc_mmap_threshold() -> None:
    """Keeps glibc's mmap threshold at its 128 KiB default for this process.

    glibc raises the threshold each time a large mmapped block is freed, after which large blocks
    (the warehouse driver's plan pages, a few MB each) come from the heap and fragment it: peak RSS
    then grows with the length of a run (bench, PostgreSQL: 1M pending rows 227 MB vs 165 MB at
    100k; 192 MB vs 152 MB with the threshold fixed). Setting it explicitly turns the adjustment
    off. Elsewhere, a no-op.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass  # not glibc (musl has no mallopt): nothing to fix


for _module in (validate, plan, run, build, status, failures, reset, prune):
    main.add_command(_module.COMMAND)
