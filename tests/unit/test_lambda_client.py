"""lambda_client: the client a sync's definition asks for, built without calling it."""

from __future__ import annotations

from typing import Any

import pytest

from dbt_lambda_sync.definitions import ModelRef, load_definitions
from dbt_lambda_sync.engine.invoker import ANSWER_MARGIN_SECONDS
from dbt_lambda_sync.errors import CredentialsError
from dbt_lambda_sync.lambda_client import lambda_client_for

pytestmark = pytest.mark.usefixtures("isolated_aws_env")

ARN = "arn:aws:lambda:ap-southeast-2:123456789012:function:crm-upsert"


@pytest.fixture(autouse=True)
def env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDDEFAULTCHAIN0000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "default-secret")


def definition(**fields: Any) -> Any:
    entry = {"name": "crm", "function": ARN, "primary_key": "id", "triggers": ["added"]}
    entry.update(fields)
    model = ModelRef(
        "model.p.customers", "customers", None, "s", "customers", "p", {"lambda_sync": [entry]}
    )
    (defn,) = load_definitions([model])
    return defn


def test_client_follows_the_definition() -> None:
    defn = definition(endpoint_url="http://localhost:4566", concurrency=7, timeout_seconds=40)
    client = lambda_client_for(defn)
    config = client.meta.config
    assert client.meta.region_name == "ap-southeast-2"  # the function ARN's
    assert client.meta.endpoint_url == "http://localhost:4566"
    assert config.max_pool_connections == 7 == defn.concurrency
    assert config.read_timeout == 40 + ANSWER_MARGIN_SECONDS
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}


def test_region_of_a_plain_function_name() -> None:
    client = lambda_client_for(definition(function="crm-upsert", region="eu-west-3"))
    assert client.meta.region_name == "eu-west-3"
    assert client.meta.endpoint_url == "https://lambda.eu-west-3.amazonaws.com"


def test_default_pool_is_the_default_concurrency() -> None:
    defn = definition()
    assert lambda_client_for(defn).meta.config.max_pool_connections == defn.concurrency


def test_credentials_from_named_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_KEY", "AKIDCRMKEY0000000000")
    monkeypatch.setenv("CRM_SECRET", "crm-secret")
    defn = definition(
        credentials={"access_key_id_env": "CRM_KEY", "secret_access_key_env": "CRM_SECRET"}
    )
    credentials = lambda_client_for(defn)._request_signer._credentials
    assert credentials.access_key == "AKIDCRMKEY0000000000"


def test_missing_credentials_variable_is_a_credentials_error() -> None:
    defn = definition(
        credentials={"access_key_id_env": "NOT_SET_1", "secret_access_key_env": "NOT_SET_2"}
    )
    with pytest.raises(CredentialsError, match="NOT_SET_1"):
        lambda_client_for(defn)


def test_missing_profile_is_a_credentials_error() -> None:
    with pytest.raises(CredentialsError, match="'ghost' not found"):
        lambda_client_for(definition(credentials={"profile": "ghost"}))
