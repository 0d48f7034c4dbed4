"""engine.sessions: the botocore client an invocation goes through, built without calling it.

The credential forms' end-to-end behaviour (which key a request is signed with, profiles,
assumed roles) is tested in test_invoker.py, which sends requests; here only what the client is
built with, and the errors raised before any request.
"""

from __future__ import annotations

from typing import Any

import pytest

from dbt_lambda_sync.engine.invoker import ANSWER_MARGIN_SECONDS
from dbt_lambda_sync.engine.sessions import build_lambda_client
from dbt_lambda_sync.errors import CredentialsError

pytestmark = pytest.mark.usefixtures("isolated_aws_env")

ENDPOINT = "http://lambda.test.invalid:4566"


@pytest.fixture
def static_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("SYNC_KEY_ID", "AKIDSTATICKEY0000000")
    monkeypatch.setenv("SYNC_SECRET", "static-secret")
    return {"access_key_id_env": "SYNC_KEY_ID", "secret_access_key_env": "SYNC_SECRET"}


def build(**overrides: Any) -> Any:
    options: dict[str, Any] = dict(
        region="eu-central-1", endpoint_url=ENDPOINT, timeout_seconds=30, max_pool_connections=9
    )
    options.update(overrides)
    return build_lambda_client(**options)


def test_client_configuration(static_keys: dict[str, str]) -> None:
    client = build(**static_keys)
    config = client.meta.config
    assert client.meta.service_model.service_name == "lambda"
    assert client.meta.region_name == "eu-central-1"
    assert client.meta.endpoint_url == ENDPOINT
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert config.read_timeout == 30 + ANSWER_MARGIN_SECONDS
    assert config.connect_timeout == 10
    assert config.max_pool_connections == 9
    assert config.tcp_keepalive is True
    assert "dbt-lambda-sync" in (config.user_agent_extra or "")


def test_static_keys_are_read_from_the_named_variables(static_keys: dict[str, str]) -> None:
    credentials = build(**static_keys)._request_signer._credentials
    assert credentials.access_key == "AKIDSTATICKEY0000000"
    assert credentials.secret_key == "static-secret"


def test_without_endpoint_the_regional_aws_endpoint(static_keys: dict[str, str]) -> None:
    client = build(endpoint_url=None, **static_keys)
    assert client.meta.endpoint_url == "https://lambda.eu-central-1.amazonaws.com"


def test_each_build_is_a_new_client(static_keys: dict[str, str]) -> None:
    assert build(**static_keys) is not build(**static_keys)


@pytest.mark.parametrize(
    ("unset", "field"),
    [("SYNC_KEY_ID", "access_key_id_env"), ("SYNC_SECRET", "secret_access_key_env")],
)
def test_missing_variable_names_the_variable_and_the_field(
    static_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch, unset: str, field: str
) -> None:
    monkeypatch.delenv(unset)
    with pytest.raises(CredentialsError) as info:
        build(**static_keys)
    message = str(info.value)
    assert f"environment variable {unset} (credentials.{field})" in message
    assert "AKIDSTATICKEY0000000" not in message and "static-secret" not in message


@pytest.mark.parametrize(
    "half", [{"access_key_id_env": "SYNC_KEY_ID"}, {"secret_access_key_env": "SYNC_SECRET"}]
)
def test_half_a_key_pair_is_refused(static_keys: dict[str, str], half: dict[str, str]) -> None:
    with pytest.raises(CredentialsError, match="must be given together"):
        build(**half)


def test_no_region_is_refused_before_any_call(static_keys: dict[str, str]) -> None:
    with pytest.raises(CredentialsError, match="no AWS region"):
        build(region=None, **static_keys)


def test_missing_profile_is_refused_at_build(static_keys: dict[str, str]) -> None:
    with pytest.raises(CredentialsError, match="AWS profile 'absent' not found"):
        build(profile="absent")


def test_role_is_not_assumed_at_build(static_keys: dict[str, str]) -> None:
    # STS is first called on the first invoke: building makes no request (the endpoint is fake)
    client = build(role_arn="arn:aws:iam::123456789012:role/sync", external_id="ext", **static_keys)
    assert client.meta.region_name == "eu-central-1"
    assert client.meta.endpoint_url == ENDPOINT
