"""The error tree (errors.py): each class decides the exit code; messages name what went wrong."""

from __future__ import annotations

import pytest

from dbt_lambda_sync.errors import (
    CredentialsError,
    DefinitionError,
    EnvironmentFailure,
    FunctionUnavailable,
    Interrupted,
    KeyChanged,
    PlanReplaced,
    Problem,
    SyncError,
    Terminated,
    UnexpectedError,
    UsageError,
    UserError,
    WarehouseError,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (SyncError("x"), 1),
        (UserError("x"), 2),
        (UsageError("x"), 2),
        (KeyChanged("x"), 2),
        (DefinitionError([]), 2),
        (EnvironmentFailure("x"), 3),
        (WarehouseError("x"), 3),
        (PlanReplaced("x"), 3),
        (FunctionUnavailable("x"), 3),
        (CredentialsError("x"), 3),
        (UnexpectedError(ValueError("x")), 3),
    ],
)
def test_the_class_decides_the_exit_code(error: SyncError, code: int) -> None:
    assert error.exit_code == code


def test_a_problem_names_model_sync_and_field() -> None:
    assert str(Problem("customers", "crm", "batch_size", "must be >= 1")) == (
        "model 'customers', sync 'crm', field 'batch_size': must be >= 1"
    )
    assert str(Problem("customers", None, "", "no name")) == (
        "model 'customers', sync <unnamed>: no name"
    )


def test_a_definition_error_lists_every_problem() -> None:
    problems = [Problem("m", "a", "f", "one"), Problem("m", "b", "g", "two")]
    error = DefinitionError(problems)
    assert error.problems == problems
    assert str(error) == (
        "2 invalid sync definition problem(s):\n"
        "  - model 'm', sync 'a', field 'f': one\n"
        "  - model 'm', sync 'b', field 'g': two"
    )


def test_an_unexpected_error_says_what_was_raised() -> None:
    cause = OverflowError("int too large")
    error = UnexpectedError(cause)
    assert error.original is cause
    assert str(error).startswith("unexpected OverflowError: int too large")


def test_signals_are_keyboard_interrupts_not_exceptions() -> None:
    assert isinstance(Terminated(), Interrupted) and isinstance(Interrupted(), KeyboardInterrupt)
    assert not isinstance(Interrupted(), Exception)
    assert (Interrupted.exit_code, Terminated.exit_code) == (130, 143)
    assert str(Terminated()) == "interrupted by SIGTERM"
