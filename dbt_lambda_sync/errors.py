"""The one error tree of dbt-lambda-sync.

Every error the core raises descends from ``SyncError``. The class decides two things callers
never re-derive: the CLI's exit code (``exit_code``) and, for invocation failures, whether the
runner retries (``retryable``) or stops the sync (``fatal``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class SyncError(Exception):
    """Base of every error dbt-lambda-sync raises on purpose."""

    exit_code = 1


# --- user mistakes: printed without a traceback, exit 2, nothing was sent -----------------------


class UserError(SyncError):
    """A mistake the user can fix (definitions, flags): exit 2, no traceback."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One problem in one sync definition, named down to the field."""

    model: str
    sync: str | None
    field: str
    message: str

    def __str__(self) -> str:
        sync = f"sync '{self.sync}'" if self.sync else "sync <unnamed>"
        where = f"model '{self.model}', {sync}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class DefinitionError(UserError):
    """One or more sync definitions are invalid; carries every problem found, not only the first."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} invalid sync definition problem(s):\n{lines}")


class UsageError(UserError):
    """The command line asks for something that does not exist or does not make sense."""


class KeyChanged(UserError):
    """A sync's primary key (or how it renders) changed since its snapshot was written: the
    snapshot cannot be compared with the model until the user accepts a full resend.
    """


# --- the environment: a sync could not run, exit 3 ----------------------------------------------


class EnvironmentFailure(SyncError):
    """Something outside the user's input failed (warehouse, AWS, another run): exit 3."""

    exit_code = 3


class WarehouseError(EnvironmentFailure):
    """The warehouse could not be reached or refused a statement."""


class LeaseHeldError(EnvironmentFailure):
    """Another runner holds the lease on a sync."""

    def __init__(self, sync_name: str, holder: str, expires_at: object):
        self.sync_name = sync_name
        self.holder = holder
        super().__init__(
            f"sync '{sync_name}' is being run by {holder} (lease held until {expires_at} UTC); "
            "wait for it to finish, or for the lease to expire if that runner died"
        )


class PlanReplaced(EnvironmentFailure):
    """A dbt command recomputed the sync's plan while a run was delivering from it."""


class FunctionUnavailable(EnvironmentFailure):
    """The Lambda function cannot be invoked at all (not found, access denied, bad credentials)."""


class CredentialsError(EnvironmentFailure):
    """AWS credentials could not be obtained from the configured source."""


class UnexpectedError(EnvironmentFailure):
    """A bug: an exception no part of dbt-lambda-sync raises on purpose. Raised for one sync
    (the others still run), it says what was raised.
    """

    def __init__(self, exc: BaseException):
        self.original = exc
        super().__init__(
            f"unexpected {type(exc).__name__}: {exc} (set DBT_LAMBDA_SYNC_DEBUG=1 for the"
            " traceback)"
        )


# --- signals: the process was asked to stop ------------------------------------------------------


class Interrupted(KeyboardInterrupt):
    """A signal asked the process to stop: SIGINT (Ctrl-C), exit 130.

    A ``KeyboardInterrupt``, not an ``Exception``: code that catches ``Exception`` lets it through,
    as it does Python's own Ctrl-C, and dbt treats it as one (it cancels its queries).
    """

    exit_code = 130
    signal_name = "SIGINT"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or f"interrupted by {self.signal_name}")


class Terminated(Interrupted):
    """SIGTERM, what schedulers and Kubernetes send to stop a process: exit 143 (128 + 15)."""

    exit_code = 143
    signal_name = "SIGTERM"
