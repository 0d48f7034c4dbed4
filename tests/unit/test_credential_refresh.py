"""Assumed-role credentials are refreshed before they expire, during one long run (SPEC §2, §8).

A run can outlast the one-hour session STS hands out. These tests build the real client
(``build_lambda_client`` with ``role_arn`` + ``external_id``), let it assume the role through
ministack's real STS (behind a ``RecordingProxy``, so every AssumeRole is seen), then make the
session look close to expiry and check that the next invoke assumes the role again, with the
external ID, and still succeeds; and that a fresh session is not refreshed again.

Nothing in boto3 is mocked. "Close to expiry" is staged on the two places botocore keeps the
session's expiry: the refreshable credentials the client signs with, and the fetcher's cache of
the last AssumeRole answer (a real expiring session is close to expiry in both; aging only the
first makes botocore re-read the still-fresh cached answer and never call STS).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

from dbt_lambda_sync.engine.clock import SystemClock
from dbt_lambda_sync.engine.invoker import InvocationResult, invoke
from dbt_lambda_sync.engine.sessions import ASSUME_ROLE_DURATION_SECONDS, build_lambda_client
from tests.support.ministack import Ministack
from tests.support.scripted_endpoint import RecordingProxy

pytestmark = pytest.mark.integration

SOURCE_KEY = "AKIDSOURCEKEY0000001"
SOURCE_SECRET = "source-secret-for-refresh-tests"
ROLE_ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ROLE_ACCOUNT}:role/lambda-sync-refresh"
EXTERNAL_ID = "ext-refresh-6f1c2e"
SESSION_NAME = "refresh-run"
FUNCTION = "refresh-echo"
ECHO_HANDLER = "def handler(event, context):\n    return {'echo': event}\n"

# botocore's windows (credentials.py): refresh is attempted with less than 15 minutes left
# ("advisory": on failure the old session is kept) and forced with less than 10 ("mandatory").
ADVISORY_WINDOW_SECONDS = 15 * 60
MANDATORY_WINDOW_SECONDS = 10 * 60


@pytest.fixture(autouse=True)
def source_keys_only(isolated_aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the source keys below: no developer settings, no metadata service."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SOURCE_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SOURCE_SECRET)


@pytest.fixture
def sts_proxy(ministack: Ministack, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    """STS calls go through a recorder on their way to ministack."""
    with RecordingProxy(ministack.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", proxy.endpoint_url)
        yield proxy


@pytest.fixture(scope="module")
def function(ministack: Ministack) -> str:
    # In the role's account only: the source keys (account 000000000000) cannot see it, so a
    # delivered invoke proves it was signed with the assumed-role session.
    ministack.deploy(FUNCTION, ECHO_HANDLER, account_id=ROLE_ACCOUNT)
    return FUNCTION


class SignedWith:
    """Records, per Invoke request, the access key and session token it was signed with."""

    def __init__(self, client: Any) -> None:
        self._lock = threading.Lock()
        self.keys: list[str] = []
        self.tokens: list[str] = []
        client.meta.events.register("before-send.lambda.Invoke", self._record)

    def _record(self, request: Any, **_: Any) -> None:
        authorization = _text(request.headers["Authorization"])
        with self._lock:
            self.keys.append(authorization.split("Credential=")[1].split("/")[0])
            self.tokens.append(_text(request.headers.get("X-Amz-Security-Token", b"")))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def make_client(ministack: Ministack, *, pool: int = 4) -> Any:
    return build_lambda_client(
        region="us-east-1",
        endpoint_url=ministack.endpoint_url,
        timeout_seconds=30,
        max_pool_connections=pool,
        role_arn=ROLE_ARN,
        external_id=EXTERNAL_ID,
        session_name=SESSION_NAME,
    )


def call(client: Any, n: int) -> InvocationResult:
    return invoke(
        client,
        function_name=FUNCTION,
        payload=json.dumps({"n": n}).encode(),
        clock=SystemClock(),
    )


def assert_delivered(result: InvocationResult, n: int) -> None:
    assert result.outcome == "delivered", result
    assert json.loads(result.payload or b"") == {"echo": {"n": n}}


def refreshable(client: Any) -> DeferredRefreshableCredentials:
    credentials = client._request_signer._credentials
    assert isinstance(credentials, DeferredRefreshableCredentials), type(credentials)
    return credentials


def session_secrets(client: Any) -> tuple[str, str, str]:
    frozen = refreshable(client)._frozen_credentials  # the current session, without refreshing
    assert frozen is not None
    return frozen.access_key, frozen.secret_key, frozen.token


def age_session(client: Any, seconds_left: float) -> None:
    """Make the current assumed-role session expire ``seconds_left`` from now (see the top)."""
    credentials = refreshable(client)
    fetcher = credentials._refresh_using.__self__  # type: ignore[attr-defined]
    assert isinstance(fetcher, AssumeRoleCredentialFetcher), type(fetcher)
    expiry = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_left)
    credentials._expiry_time = expiry
    assert fetcher._cache, "no AssumeRole answer cached yet"
    for response in fetcher._cache.values():
        response["Credentials"]["Expiration"] = expiry


def seconds_left(client: Any) -> float:
    return refreshable(client)._seconds_remaining()


def assert_assume_role(request: Any) -> None:
    form = request.form()
    assert form["Action"] == "AssumeRole"
    assert form["RoleArn"] == ROLE_ARN
    assert form["ExternalId"] == EXTERNAL_ID
    assert form["RoleSessionName"] == SESSION_NAME
    assert form["DurationSeconds"] == str(ASSUME_ROLE_DURATION_SECONDS)
    # signed by the source keys, never by the session being replaced
    assert f"Credential={SOURCE_KEY}/" in request.headers["Authorization"]


def assert_no_secret_in(results: list[InvocationResult], secrets: set[str]) -> None:
    for result in results:
        texts = [repr(result), result.failure_reason]
        for field in dataclasses.fields(result):
            value = getattr(result, field.name)
            if isinstance(value, bytes):
                value = value.decode(errors="replace")
            texts.append(str(value))
        for secret in secrets:
            assert secret and not any(secret in text for text in texts), result.outcome


@pytest.mark.parametrize(
    "left",
    [
        pytest.param(60, id="60s-left-mandatory-window"),
        pytest.param(12 * 60, id="12min-left-advisory-window-only"),
        pytest.param(-30, id="already-expired"),
    ],
)
def test_session_is_refreshed_before_it_expires(
    ministack: Ministack, sts_proxy: RecordingProxy, function: str, left: float
) -> None:
    client = make_client(ministack)
    signed = SignedWith(client)
    results: list[InvocationResult] = []

    # 1. the first invoke assumes the role, once, with the external ID
    assert sts_proxy.requests == []
    results.append(call(client, 1))
    assert_delivered(results[-1], 1)
    (first,) = sts_proxy.requests
    assert_assume_role(first)
    first_session = session_secrets(client)
    assert seconds_left(client) > ADVISORY_WINDOW_SECONDS  # a fresh session: hours, not minutes

    # 2. later in the run the session is about to expire: the next invoke assumes the role again
    age_session(client, left)
    assert seconds_left(client) < ADVISORY_WINDOW_SECONDS
    results.append(call(client, 2))
    assert_delivered(results[-1], 2)
    assert len(sts_proxy.requests) == 2, [r.form() for r in sts_proxy.requests]
    assert_assume_role(sts_proxy.requests[1])
    second_session = session_secrets(client)
    assert second_session[0] != first_session[0]  # a new session ...
    assert signed.keys[1] == second_session[0]  # ... and the invoke was signed with it
    assert signed.tokens[1] == second_session[2]
    assert seconds_left(client) > ADVISORY_WINDOW_SECONDS  # the new session is good for a while

    # 3. with a fresh session, no further AssumeRole
    results.append(call(client, 3))
    assert_delivered(results[-1], 3)
    assert len(sts_proxy.requests) == 2
    assert signed.keys == [first_session[0], second_session[0], second_session[0]]
    assert all(key.startswith("ASIA") and key != SOURCE_KEY for key in signed.keys)

    # the sessions' keys, secrets and tokens never reach what the runner logs and stores
    assert_no_secret_in(results, {*first_session, *second_session, SOURCE_SECRET})


def test_workers_sharing_a_client_refresh_once(
    ministack: Ministack, sts_proxy: RecordingProxy, function: str
) -> None:
    # One client serves every worker of a sync: a session expiring mid-run is replaced by one
    # AssumeRole, not one per worker, and no worker fails.
    workers = 8
    client = make_client(ministack, pool=workers)
    signed = SignedWith(client)
    assert_delivered(call(client, 0), 0)
    first_key = session_secrets(client)[0]
    age_session(client, 60)

    results: list[InvocationResult | None] = [None] * workers
    start = threading.Barrier(workers)

    def work(i: int) -> None:
        start.wait()
        results[i] = call(client, i + 1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    for i, result in enumerate(results):
        assert result is not None
        assert_delivered(result, i + 1)
    assert len(sts_proxy.requests) == 2, [r.form() for r in sts_proxy.requests]
    assert_assume_role(sts_proxy.requests[1])
    second_key = session_secrets(client)[0]
    assert second_key != first_key
    # in the mandatory window every worker waits for the new session: none signs with the old
    assert signed.keys[1:] == [second_key] * workers
