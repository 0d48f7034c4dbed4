"""`validate --check-functions`: one DryRun Invoke per sync, classified for people. Against the
scripted endpoint (real HTTP through botocore) for the answers ministack cannot give (403s, a
dropped connection); tests/integration/test_cli.py runs the command against ministack."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from dbt_lambda_sync.errors import CredentialsError
from dbt_lambda_sync.function_check import check_function
from tests.support.scripted_endpoint import Reply, ScriptedEndpoint

DEFN: Any = SimpleNamespace(
    name="crm_customers",
    model=SimpleNamespace(name="customers"),
    function=SimpleNamespace(name="crm-upsert"),
)


@pytest.fixture
def endpoint() -> Any:
    with ScriptedEndpoint() as endpoint:
        yield endpoint


@pytest.mark.parametrize(
    ("reply", "kind", "error"),
    [
        (Reply(status=204, body=b""), "ok", None),
        (Reply.not_found("crm-upsert"), "not_found", "ResourceNotFoundException: Function not"),
        (Reply.access_denied(), "access_denied", "AccessDeniedException: User is not authorized"),
        (
            Reply.error(403, "UnrecognizedClientException", "The security token is invalid"),
            "credentials",
            "UnrecognizedClientException: The security token",
        ),
        (Reply.throttled(), "throttled", "TooManyRequestsException"),
        (Reply.service_error(), "error", "ServiceException"),
        (Reply.reset(), "unreachable", None),
    ],
)
def test_a_dry_run_invoke_per_sync_classified(endpoint, reply, kind, error) -> None:
    endpoint.script(reply)
    check = check_function(DEFN, client_factory=lambda defn: endpoint.client())
    assert (check.sync, check.model, check.function, check.kind) == (
        "crm_customers",
        "customers",
        "crm-upsert",
        kind,
    )
    assert check.ok is (kind == "ok")
    if error:
        assert check.error is not None and check.error.startswith(error)
    elif kind == "ok":
        assert check.error is None
    [request] = endpoint.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["x-amz-invocation-type"] == "DryRun"
    assert request.function_name == "crm-upsert" and request.body == b""


def test_credentials_that_cannot_be_had_are_reported_without_a_request(endpoint) -> None:
    def no_credentials(defn: Any) -> Any:
        raise CredentialsError("environment variable SYNC_KEY (credentials...) is not set")

    check = check_function(DEFN, client_factory=no_credentials)
    assert (check.kind, check.ok) == ("credentials", False)
    assert "SYNC_KEY" in (check.error or "")
    assert check.to_json() == {"ok": False, "kind": "credentials", "error": check.error}
    assert endpoint.requests == []
