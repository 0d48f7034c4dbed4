"""engine.error_codes: the tables that decide whether a failed invocation is retried, stops the
sync (fatal), or rejects the batch's rows alone. Every entry of every table is driven through
``invoker.invoke`` with a stub client, so a code moved to the wrong table fails here.
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions as bx
import pytest
import urllib3.exceptions

from dbt_lambda_sync.engine.error_codes import (
    CREDENTIAL_ERRORS,
    FATAL_CODES,
    FATAL_STATUSES,
    NETWORK_ERRORS,
    THROTTLE_CODES,
    TRANSIENT_CODES,
    TRANSIENT_STATUSES,
)
from dbt_lambda_sync.engine.invoker import InvocationResult, invoke
from tests.support.clock import FakeClock


class RaisingClient:
    """A Lambda client whose invoke raises what it is given."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def invoke(self, **_: Any) -> Any:
        raise self.error


def client_error(code: str, status: int, operation: str = "Invoke") -> bx.ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": f"{code} happened"},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "req-1"},
    }
    return bx.ClientError(response, operation)


def outcome_of(error: BaseException) -> InvocationResult:
    client: Any = RaisingClient(error)
    return invoke(client, function_name="f", payload=b"{}", clock=FakeClock())


def decision(result: InvocationResult) -> str:
    """retried, fatal, or batch (neither: the batch's rows are rejected alone)."""
    assert not (result.retryable and result.fatal)
    return "retried" if result.retryable else "fatal" if result.fatal else "batch"


def test_tables_do_not_overlap() -> None:
    assert not THROTTLE_CODES & FATAL_CODES
    assert not THROTTLE_CODES & TRANSIENT_CODES
    assert not FATAL_CODES & TRANSIENT_CODES
    assert not TRANSIENT_STATUSES & FATAL_STATUSES


@pytest.mark.parametrize("code", sorted(THROTTLE_CODES))
@pytest.mark.parametrize("status", [400, 429, 502])
def test_throttle_codes_are_retried_whatever_the_status(code: str, status: int) -> None:
    result = outcome_of(client_error(code, status))
    assert result.outcome == "throttled"
    assert decision(result) == "retried"


@pytest.mark.parametrize("code", sorted(FATAL_CODES))
@pytest.mark.parametrize("status", [400, 403, 502])
def test_fatal_codes_stop_the_sync_even_as_a_5xx(code: str, status: int) -> None:
    result = outcome_of(client_error(code, status))
    assert decision(result) == "fatal"
    assert result.error_code == code


@pytest.mark.parametrize("code", sorted(TRANSIENT_CODES))
@pytest.mark.parametrize("status", [400, 502])
def test_transient_codes_are_retried_even_as_a_4xx(code: str, status: int) -> None:
    assert decision(outcome_of(client_error(code, status))) == "retried"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (408, "retried"),
        (409, "retried"),
        (429, "retried"),
        (500, "retried"),
        (503, "retried"),
        (504, "retried"),
        (401, "fatal"),
        (403, "fatal"),
        (404, "fatal"),
        (400, "batch"),
        (413, "batch"),
        (415, "batch"),
        (422, "batch"),
    ],
)
def test_unknown_codes_are_judged_by_status(status: int, expected: str) -> None:
    result = outcome_of(client_error("SomethingNew", status))
    assert decision(result) == expected
    assert result.outcome == (
        "throttled" if status == 429 else "service_error" if status >= 500 else "client_error"
    )


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("AccessDenied", 403, "fatal"),
        ("Throttling", 400, "retried"),
        ("InternalFailure", 500, "retried"),
    ],
)
def test_errors_from_the_credential_call_are_fatal_unless_passing(
    code: str, status: int, expected: str
) -> None:
    result = outcome_of(client_error(code, status, operation="AssumeRole"))
    assert decision(result) == expected
    assert "AWS credentials: AssumeRole failed" in (result.error_message or "")


@pytest.mark.parametrize(
    "error",
    [
        bx.NoCredentialsError(),
        bx.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
        bx.CredentialRetrievalError(provider="assume-role", error_msg="no"),
        bx.ProfileNotFound(profile="missing"),
        bx.SSOError(),
        bx.MetadataRetrievalError(error_msg="imds down"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_credential_errors_are_fatal(error: Exception) -> None:
    assert isinstance(error, CREDENTIAL_ERRORS)
    result = outcome_of(error)
    assert decision(result) == "fatal"
    assert result.outcome == "client_error"


@pytest.mark.parametrize(
    "error",
    [
        bx.EndpointConnectionError(endpoint_url="http://x"),
        bx.ReadTimeoutError(endpoint_url="http://x"),
        bx.ConnectionClosedError(endpoint_url="http://x"),
        bx.IncompleteReadError(actual_bytes=1, expected_bytes=2),
        urllib3.exceptions.ProtocolError("aborted"),
        ConnectionResetError(104, "reset"),
        TimeoutError("slow"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_network_errors_are_retried(error: Exception) -> None:
    assert isinstance(error, NETWORK_ERRORS)
    result = outcome_of(error)
    assert decision(result) == "retried"
    assert result.outcome == "network_error"


def test_credential_and_network_errors_are_disjoint() -> None:
    assert not set(CREDENTIAL_ERRORS) & set(NETWORK_ERRORS)


def test_other_botocore_errors_reject_the_batch_alone() -> None:
    result = outcome_of(bx.BotoCoreError())
    assert decision(result) == "batch"
    assert result.outcome == "client_error"


def test_invalid_parameters_are_fatal() -> None:
    assert decision(outcome_of(bx.ParamValidationError(report="bad name"))) == "fatal"
