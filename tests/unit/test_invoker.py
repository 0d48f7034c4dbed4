"""The invoker: classification of every outcome, the client's configuration, credential forms.

Three layers, none of which mocks boto3:
- botocore's own ``before-send`` event hook answers (or fails) the request in-process;
- the scripted HTTP endpoint answers over a real socket (timeouts, dropped connections, headers);
- ministack runs real handlers and a real STS (``integration``).
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions as bx
import pytest
import urllib3.exceptions
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from dbt_lambda_sync.engine.clock import SystemClock
from dbt_lambda_sync.engine.invoker import (
    MAX_ANSWER_BYTES,
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    OUTCOMES,
    InvocationResult,
    invoke,
)
from dbt_lambda_sync.engine.sessions import build_lambda_client
from dbt_lambda_sync.errors import CredentialsError
from tests.support.clock import FakeClock
from tests.support.ministack import Ministack
from tests.support.scripted_endpoint import RecordingProxy, Reply, ScriptedEndpoint

FAKE_URL = "http://lambda.test.invalid"
SOURCE_KEY = "AKIDSOURCEKEY0000000"


# No test sees the developer's AWS settings, and none reaches a metadata service.
pytestmark = pytest.mark.usefixtures("isolated_aws_env")


@pytest.fixture
def env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SOURCE_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "source-secret")


def make_client(endpoint_url: str = FAKE_URL, **overrides: Any) -> Any:
    options: dict[str, Any] = dict(
        region="us-east-1",
        endpoint_url=endpoint_url,
        timeout_seconds=5,
        max_pool_connections=4,
    )
    options.update(overrides)
    return build_lambda_client(**options)


class _Body:
    """The raw body botocore reads an answer from (``stream()`` for errors, ``read()`` else)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data.read()

    def read(self, amt: int | None = None) -> bytes:
        return self._data.read() if amt is None else self._data.read(amt)

    def close(self) -> None:
        pass


def answer(status: int = 200, body: bytes = b"null", **headers: str) -> AWSResponse:
    all_headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        "x-amzn-RequestId": "req-0001",
    }
    all_headers.update({k.replace("_", "-"): v for k, v in headers.items()})
    return AWSResponse(FAKE_URL, status, all_headers, _Body(body))


def api_error(status: int, code: str, message: str, **body_fields: Any) -> AWSResponse:
    document = {"Type": "User", "message": message, **body_fields}
    return answer(status, json.dumps(document).encode(), x_amzn_ErrorType=code)


Hook = Callable[[AWSPreparedRequest], "AWSResponse | BaseException | None"]


def hooked(client: Any, hook: Hook) -> Any:
    """Answer the client's Invoke requests in-process with botocore's before-send event."""

    def before_send(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        result = hook(request)
        if isinstance(result, BaseException):
            raise result
        return result

    client.meta.events.register("before-send.lambda.Invoke", before_send)
    return client


def run(hook: Hook, *, clock: Any = None, **client_options: Any):
    client = hooked(make_client(**client_options), hook)
    return invoke(
        client,
        function_name="crm-upsert",
        payload=b'{"rows": []}',
        clock=clock or FakeClock(),
    )


def assert_flags(result: InvocationResult, *, retryable: bool, fatal: bool) -> None:
    assert (result.retryable, result.fatal) == (retryable, fatal), result


# --- classification through botocore's event hooks ----------------------------------------------


def test_outcomes_are_the_documented_ones() -> None:
    assert OUTCOMES == (
        "delivered",
        "partially_rejected",
        "function_error",
        "throttled",
        "client_error",
        "service_error",
        "network_error",
        "invalid_response",
    )


def test_delivered(env_keys: None) -> None:
    seen: list[AWSPreparedRequest] = []

    def hook(request: AWSPreparedRequest) -> AWSResponse:
        seen.append(request)
        return answer(body=b'{"errors": []}', X_Amz_Executed_Version="7")

    result = run(hook)
    assert result.outcome == "delivered"
    assert result.payload == b'{"errors": []}'
    assert result.status_code == 200
    assert result.executed_version == "7"
    assert result.request_id == "req-0001"
    assert result.function_error is None and result.error_code is None
    assert result.retry_after is None
    assert_flags(result, retryable=False, fatal=False)
    (request,) = seen
    # a qualifier is part of the function name (arns.FunctionRef.name): no Qualifier parameter
    assert request.url.endswith("/2015-03-31/functions/crm-upsert/invocations")
    assert request.headers["X-Amz-Invocation-Type"] in (b"RequestResponse", "RequestResponse")
    assert request.body == b'{"rows": []}'


def test_no_qualifier_parameter_is_sent(env_keys: None) -> None:
    urls: list[str] = []
    run(lambda request: urls.append(request.url) or answer())
    assert urls == [f"{FAKE_URL}/2015-03-31/functions/crm-upsert/invocations"]


def test_duration_comes_from_the_injected_clock(env_keys: None) -> None:
    clock = FakeClock(start=50.0)

    def hook(request: AWSPreparedRequest) -> AWSResponse:
        clock.advance(1.5)
        return answer()

    assert run(hook, clock=clock).duration_ms == 1500


def test_function_error_uses_the_payload_error_type_and_message(env_keys: None) -> None:
    body = json.dumps(
        {"errorMessage": "Email column missing", "errorType": "KeyError", "stackTrace": ["..."]}
    ).encode()
    result = run(lambda r: answer(body=body, X_Amz_Function_Error="Unhandled"))
    assert result.outcome == "function_error"
    assert result.function_error == "Unhandled"
    assert result.error_code == "KeyError"
    assert result.error_message == "Email column missing"
    assert result.failure_reason == "KeyError: Email column missing"
    assert result.payload == body
    assert result.status_code == 200
    assert_flags(result, retryable=True, fatal=False)


def test_function_timeout_is_a_retryable_function_error(env_keys: None) -> None:
    body = b'{"errorMessage": "Task timed out after 3.00 seconds", "errorType": "Sandbox.Timedout"}'
    result = run(lambda r: answer(body=body, X_Amz_Function_Error="Unhandled"))
    assert result.outcome == "function_error"
    assert result.failure_reason == "Sandbox.Timedout: Task timed out after 3.00 seconds"
    assert_flags(result, retryable=True, fatal=False)


def test_function_error_without_a_json_payload(env_keys: None) -> None:
    result = run(lambda r: answer(body=b"Segmentation fault", X_Amz_Function_Error="Unhandled"))
    assert result.outcome == "function_error"
    assert result.failure_reason == "Unhandled: Segmentation fault"


def test_huge_error_messages_are_capped(env_keys: None) -> None:
    body = json.dumps({"errorMessage": "x" * 100_000, "errorType": "ValueError"}).encode()
    result = run(lambda r: answer(body=body, X_Amz_Function_Error="Unhandled"))
    assert result.error_message is not None
    assert len(result.error_message) == MAX_MESSAGE_CHARS
    assert result.error_message.endswith("…")
    assert result.payload == body  # the payload itself is untouched


def test_huge_error_types_are_capped(env_keys: None) -> None:
    """Issue 10 item 5: a 3 MB errorType used to be stored whole on every row of the batch."""
    body = json.dumps({"errorMessage": "m", "errorType": "T" * 3_000_000}).encode()
    result = run(lambda r: answer(body=body, X_Amz_Function_Error="Unhandled" * 100))
    assert result.error_code is not None and len(result.error_code) == MAX_NAME_CHARS
    assert result.function_error is not None and len(result.function_error) == MAX_NAME_CHARS
    assert len(result.failure_reason) <= MAX_NAME_CHARS + 2 + MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            json.dumps({"errorType": "Bad\x00T\ud800", "errorMessage": "a\x00b\udfff"}),
            "Bad\ufffdT\ufffd: a\ufffdb\ufffd",
        ),
        ('{"errorType": "T\\u0000", "errorMessage": "\\ud800"}', "T\ufffd: \ufffd"),
        ("raw \x00 body \udcff", "Unhandled: raw \ufffd body " + "\ufffd" * 3),
    ],
)
def test_error_text_is_storable(env_keys: None, body: str, reason: str) -> None:
    """Issue 10 item 3: NUL and lone surrogates never reach the warehouse."""
    raw = body.encode("utf-8", "surrogatepass")
    result = run(lambda r: answer(body=raw, X_Amz_Function_Error="Unhandled"))
    assert result.failure_reason == reason


def test_throttled_with_retry_after_and_reason(env_keys: None) -> None:
    response = api_error(
        429,
        "TooManyRequestsException",
        "Rate Exceeded.",
        Reason="ReservedFunctionConcurrentInvocationLimitExceeded",
    )
    response.headers["Retry-After"] = "3"
    result = run(lambda r: response)
    assert result.outcome == "throttled"
    assert result.status_code == 429
    assert result.retry_after == 3.0
    assert result.error_code == "TooManyRequestsException"
    assert result.failure_reason == (
        "TooManyRequestsException: Rate Exceeded. "
        "(Reason: ReservedFunctionConcurrentInvocationLimitExceeded)"
    )
    assert_flags(result, retryable=True, fatal=False)


def test_throttled_without_retry_after(env_keys: None) -> None:
    result = run(lambda r: api_error(429, "TooManyRequestsException", "Rate Exceeded."))
    assert result.outcome == "throttled"
    assert result.retry_after is None


@pytest.mark.parametrize(
    ("status", "code", "outcome", "retryable", "fatal"),
    [
        (500, "ServiceException", "service_error", True, False),
        (503, "ServiceUnavailable", "service_error", True, False),
        (502, "EC2ThrottledException", "service_error", True, False),
        (502, "ResourceNotReadyException", "service_error", True, False),
        (502, "ENILimitReachedException", "service_error", True, False),
        (409, "ResourceConflictException", "client_error", True, False),
        (408, "EFSMountTimeoutException", "client_error", True, False),
        (502, "KMSAccessDeniedException", "service_error", False, True),
        (502, "InvalidSubnetIDException", "service_error", False, True),
        (404, "ResourceNotFoundException", "client_error", False, True),
        (403, "AccessDeniedException", "client_error", False, True),
        (403, "UnrecognizedClientException", "client_error", False, True),
        (403, "InvalidSignatureException", "client_error", False, True),
        (403, "ExpiredTokenException", "client_error", False, True),
        (400, "ExpiredTokenException", "client_error", False, True),
        (413, "RequestEntityTooLargeException", "client_error", False, False),
        (413, "RequestTooLargeException", "client_error", False, False),
        (400, "InvalidRequestContentException", "client_error", False, False),
        (415, "UnsupportedMediaTypeException", "client_error", False, False),
    ],
)
def test_api_errors(
    env_keys: None, status: int, code: str, outcome: str, retryable: bool, fatal: bool
) -> None:
    result = run(lambda r: api_error(status, code, f"{code} happened"))
    assert result.outcome == outcome
    assert result.status_code == status
    assert result.error_code == code
    assert result.failure_reason == f"{code}: {code} happened"
    assert result.request_id == "req-0001"
    assert result.payload is None
    assert_flags(result, retryable=retryable, fatal=fatal)


def test_credentials_never_leak_through_error_messages(env_keys: None) -> None:
    message = (
        "The request signature we calculated does not match the signature you provided.\n"
        "The Canonical String for this request should have been\n'POST\n/2015-03-31/functions/f\n"
        "host:lambda.us-east-1.amazonaws.com\nx-amz-date:20261129T170000Z\n"
        "x-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLETOKEN/abc+def=\n'\n"
        "Credential=AKIAIOSFODNN7EXAMPLE/20261129/us-east-1/lambda/aws4_request, "
        "Signature=0123456789abcdef0123456789abcdef"
    )
    result = run(lambda r: api_error(403, "InvalidSignatureException", message))
    reason = result.failure_reason
    assert "IQoJb3JpZ2luX2VjEXAMPLETOKEN" not in reason
    assert "AKIAIOSFODNN7EXAMPLE" not in reason
    assert "0123456789abcdef0123456789abcdef" not in reason
    assert "signature we calculated" in reason
    assert result.fatal


@pytest.mark.parametrize(
    "error",
    [
        bx.EndpointConnectionError(endpoint_url=FAKE_URL),
        bx.ConnectTimeoutError(endpoint_url=FAKE_URL),
        bx.ReadTimeoutError(endpoint_url=FAKE_URL),
        bx.ConnectionClosedError(endpoint_url=FAKE_URL),
        bx.ResponseStreamingError(error="IncompleteRead(3 bytes read)"),
        bx.SSLError(endpoint_url=FAKE_URL, error="handshake failed"),
        urllib3.exceptions.ProtocolError("Connection aborted."),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_network_errors(env_keys: None, error: BaseException) -> None:
    result = run(lambda r: error)
    assert result.outcome == "network_error"
    assert result.error_code == type(error).__name__
    assert result.status_code is None
    assert result.failure_reason.startswith(f"{type(error).__name__}: ")
    assert_flags(result, retryable=True, fatal=False)


@pytest.mark.parametrize(
    "error",
    [
        bx.CredentialRetrievalError(provider="assume-role", error_msg="STS said no"),
        bx.NoCredentialsError(),
        bx.TokenRetrievalError(provider="sso", error_msg="token expired"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_credential_source_failures_are_fatal(env_keys: None, error: BaseException) -> None:
    result = run(lambda r: error)
    assert result.outcome == "client_error"
    assert result.error_code == type(error).__name__
    assert_flags(result, retryable=False, fatal=True)


def test_no_credentials_anywhere_is_fatal() -> None:
    # isolated_aws_env left no keys, no files, no metadata service: signing fails.
    result = run(lambda r: pytest.fail("nothing should be sent"))
    assert result.outcome == "client_error"
    assert result.error_code == "NoCredentialsError"
    assert result.failure_reason.startswith("NoCredentialsError: AWS credentials: ")
    assert_flags(result, retryable=False, fatal=True)


def test_other_exceptions_are_not_swallowed(env_keys: None) -> None:
    with pytest.raises(ZeroDivisionError):
        run(lambda r: ZeroDivisionError("a bug"))


# --- against the scripted HTTP endpoint ---------------------------------------------------------


@pytest.fixture
def endpoint(env_keys: None, scripted_endpoint: ScriptedEndpoint) -> ScriptedEndpoint:
    return scripted_endpoint


def call(endpoint: ScriptedEndpoint, client: Any = None, **kwargs: Any) -> InvocationResult:
    options: dict[str, Any] = dict(
        function_name="arn:aws:lambda:us-east-1:123456789012:function:crm-upsert",
        payload=b'{"operation": "added"}',
        clock=SystemClock(),
    )
    options.update(kwargs)
    return invoke(client or make_client(endpoint.endpoint_url), **options)


def test_http_delivered_and_recorded(endpoint: ScriptedEndpoint) -> None:
    endpoint.script(Reply.ok({"errors": [{"primary_key_value": "1", "reason": "no"}]}))
    result = call(endpoint)
    assert result.outcome == "delivered"
    assert json.loads(result.payload or b"") == {
        "errors": [{"primary_key_value": "1", "reason": "no"}]
    }
    assert result.executed_version == "$LATEST"
    assert re.fullmatch(r"[0-9a-f-]{36}", result.request_id or "")
    (request,) = endpoint.requests
    assert request.function_name == "arn:aws:lambda:us-east-1:123456789012:function:crm-upsert"
    assert request.qualifier is None
    assert request.body == b'{"operation": "added"}'
    assert request.headers["X-Amz-Invocation-Type"] == "RequestResponse"


def test_http_default_answer_is_null(endpoint: ScriptedEndpoint) -> None:
    client = make_client(endpoint.endpoint_url)
    results = [call(endpoint, client) for _ in range(3)]
    assert [r.payload for r in results] == [b"null"] * 3
    assert endpoint.request_count == 3


def test_http_malformed_answer_is_passed_on_for_the_caller_to_judge(
    endpoint: ScriptedEndpoint,
) -> None:
    endpoint.script(Reply.malformed())
    result = call(endpoint)
    assert result.outcome == "delivered"
    assert result.payload == b'{"errors": [{"primary_key_value": '


def test_http_function_error_headers(endpoint: ScriptedEndpoint) -> None:
    endpoint.script(Reply.function_error("ValueError", "bad email", executed_version="3"))
    result = call(endpoint)
    assert result.outcome == "function_error"
    assert result.failure_reason == "ValueError: bad email"
    assert result.executed_version == "3"
    assert result.request_id


def test_http_service_error(endpoint: ScriptedEndpoint) -> None:
    endpoint.script(Reply.service_error("boom inside Lambda"))
    result = call(endpoint)
    assert (result.outcome, result.status_code, result.error_code) == (
        "service_error",
        500,
        "ServiceException",
    )
    assert result.failure_reason == "ServiceException: boom inside Lambda"
    assert_flags(result, retryable=True, fatal=False)


def test_http_throttled_with_retry_after(endpoint: ScriptedEndpoint) -> None:
    endpoint.script(Reply.throttled(retry_after=7))
    result = call(endpoint)
    assert result.outcome == "throttled"
    assert result.retry_after == 7.0
    assert "ReservedFunctionConcurrentInvocationLimitExceeded" in result.failure_reason
    assert_flags(result, retryable=True, fatal=False)


def test_http_request_too_large(endpoint: ScriptedEndpoint) -> None:
    endpoint.script(Reply.too_large())
    result = call(endpoint)
    assert (result.outcome, result.status_code, result.error_code) == (
        "client_error",
        413,
        "RequestEntityTooLargeException",
    )
    assert_flags(result, retryable=False, fatal=False)


def test_http_not_found_and_access_denied_are_fatal(endpoint: ScriptedEndpoint) -> None:
    endpoint.script(Reply.not_found("crm-upsert"), Reply.access_denied())
    client = make_client(endpoint.endpoint_url)
    missing, denied = call(endpoint, client), call(endpoint, client)
    assert (missing.status_code, missing.error_code, missing.fatal) == (
        404,
        "ResourceNotFoundException",
        True,
    )
    assert (denied.status_code, denied.error_code, denied.fatal) == (
        403,
        "AccessDeniedException",
        True,
    )


def test_http_connection_dropped_mid_answer(endpoint: ScriptedEndpoint) -> None:
    endpoint.script(Reply.drop())
    result = call(endpoint)
    assert result.outcome == "network_error"
    assert result.status_code == 200  # the headers had arrived
    assert result.request_id
    assert_flags(result, retryable=True, fatal=False)


def test_http_answer_over_the_size_cap_is_not_read(endpoint: ScriptedEndpoint) -> None:
    """Issue 10 item 5: a custom endpoint's 400 MB answer used to be read whole."""
    endpoint.script(Reply.ok(b'"' + b"x" * (MAX_ANSWER_BYTES + 10) + b'"'))
    result = call(endpoint)
    assert result.outcome == "invalid_response"
    assert result.error_code == "ResponseTooLarge" and result.payload is None
    assert "at most 6 MB" in (result.error_message or "")
    assert_flags(result, retryable=True, fatal=False)
    endpoint.script(Reply.ok(b'"' + b"x" * (MAX_ANSWER_BYTES - 10) + b'"'))
    assert call(endpoint).outcome == "delivered"  # up to the cap, an answer is read


def test_http_slow_drip_answer_is_bounded_by_the_deadline(endpoint: ScriptedEndpoint) -> None:
    """Issue 10 item 8: one byte every 0.2 s keeps each socket read inside the read timeout;
    the deadline bounds the whole call."""
    endpoint.script(Reply.drip({"errors": []}, every=0.2))
    result = call(endpoint, endpoint.client(read_timeout=1), deadline_seconds=0.7)
    assert result.outcome == "network_error"
    assert result.error_code == "AnswerDeadlineExceeded"
    assert 650 <= result.duration_ms < 1500, result.duration_ms
    assert_flags(result, retryable=True, fatal=False)
    endpoint.script(Reply.drip(None, every=0.05))
    assert call(endpoint, deadline_seconds=5).outcome == "delivered"


def test_http_connection_reset_before_answer(endpoint: ScriptedEndpoint) -> None:
    endpoint.script(Reply.reset())
    result = call(endpoint)
    assert result.outcome == "network_error"
    assert result.status_code is None
    assert_flags(result, retryable=True, fatal=False)


def test_http_answer_slower_than_the_read_timeout(endpoint: ScriptedEndpoint) -> None:
    endpoint.script(Reply.hang(10))
    clock = SystemClock()
    result = call(endpoint, endpoint.client(read_timeout=0.3), clock=clock)
    assert result.outcome == "network_error"
    assert result.error_code == "ReadTimeoutError"
    assert 250 <= result.duration_ms < 5000
    assert_flags(result, retryable=True, fatal=False)


def test_http_connection_refused(env_keys: None) -> None:
    closed = ScriptedEndpoint().start()
    url = closed.endpoint_url
    closed.stop()
    result = invoke(make_client(url), function_name="f", payload=b"{}", clock=FakeClock())
    assert result.outcome == "network_error"
    assert result.error_code == "EndpointConnectionError"


def test_http_counts_requests_in_flight(endpoint: ScriptedEndpoint) -> None:
    # 1 s per answer: on a loaded 2-core machine thread start-up alone can take a few 100 ms
    endpoint.default = Reply.ok(None, delay=1.0)
    client = make_client(endpoint.endpoint_url, max_pool_connections=8)
    results: list[InvocationResult] = []
    threads = [
        threading.Thread(target=lambda: results.append(call(endpoint, client))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.outcome for r in results] == ["delivered"] * 6
    assert 2 <= endpoint.peak_in_flight <= 6
    # the handler thread leaves after its reply is written: the client may see it first
    deadline = time.monotonic() + 5
    while endpoint.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert endpoint.in_flight == 0


def test_http_responder_answers_from_the_request(endpoint: ScriptedEndpoint) -> None:
    def reject_odd_ids(request: Any) -> Reply:
        rows = request.json()["rows"]
        errors = [{"primary_key_value": str(r["id"]), "reason": "odd"} for r in rows if r["id"] % 2]
        return Reply.ok({"errors": errors})

    endpoint.responder = reject_odd_ids
    payload = json.dumps({"rows": [{"id": 1}, {"id": 2}, {"id": 3}]}).encode()
    result = call(endpoint, payload=payload)
    assert json.loads(result.payload or b"")["errors"] == [
        {"primary_key_value": "1", "reason": "odd"},
        {"primary_key_value": "3", "reason": "odd"},
    ]


# --- building the client: configuration and credential forms ------------------------------------


def test_client_never_retries_on_its_own(env_keys: None) -> None:
    client = make_client(timeout_seconds=60, max_pool_connections=17)
    config = client.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert config.read_timeout == 65
    assert config.connect_timeout == 10
    assert config.max_pool_connections == 17
    assert client.meta.region_name == "us-east-1"


def test_a_retryable_failure_is_sent_exactly_once(endpoint: ScriptedEndpoint) -> None:
    endpoint.script(Reply.service_error(), Reply.throttled(), Reply.reset())
    client = make_client(endpoint.endpoint_url)
    outcomes = [call(endpoint, client).outcome for _ in range(3)]
    assert outcomes == ["service_error", "throttled", "network_error"]
    assert endpoint.request_count == 3


def sent_access_key(client: Any) -> str:
    """Invoke through a hook and return the access key ID the request was signed with."""
    keys: list[str] = []

    def hook(request: AWSPreparedRequest) -> AWSResponse:
        authorization = request.headers["Authorization"]
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        keys.append(re.search(r"Credential=([^/]+)/", authorization).group(1))  # type: ignore[union-attr]
        return answer()

    hooked(client, hook)
    result = invoke(client, function_name="f", payload=b"{}", clock=FakeClock())
    assert result.outcome == "delivered", result
    return keys[0]


def test_default_chain(env_keys: None) -> None:
    assert sent_access_key(make_client()) == SOURCE_KEY


def test_region_from_the_environment(env_keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    assert make_client(region=None).meta.region_name == "ap-southeast-2"


def test_no_region_anywhere(env_keys: None) -> None:
    with pytest.raises(CredentialsError) as info:
        make_client(region=None)
    assert str(info.value) == "no AWS region: set region in the sync or AWS_DEFAULT_REGION"


def test_keys_from_named_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_AWS_KEY_ID", "AKIDFROMENVVAR000000")
    monkeypatch.setenv("SYNC_AWS_SECRET", "s3cr3t-value")
    client = make_client(
        access_key_id_env="SYNC_AWS_KEY_ID", secret_access_key_env="SYNC_AWS_SECRET"
    )
    assert sent_access_key(client) == "AKIDFROMENVVAR000000"


@pytest.mark.parametrize("missing", ["SYNC_AWS_KEY_ID", "SYNC_AWS_SECRET"])
def test_missing_key_variable_names_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    values = {"SYNC_AWS_KEY_ID": "AKIDPRESENTVALUE0000", "SYNC_AWS_SECRET": "very-secret-value"}
    for name, value in values.items():
        if name != missing:
            monkeypatch.setenv(name, value)
    with pytest.raises(CredentialsError) as info:
        make_client(access_key_id_env="SYNC_AWS_KEY_ID", secret_access_key_env="SYNC_AWS_SECRET")
    message = str(info.value)
    assert missing in message
    for value in values.values():
        assert value not in message


def test_empty_key_variable_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNC_AWS_KEY_ID", "")
    monkeypatch.setenv("SYNC_AWS_SECRET", "very-secret-value")
    with pytest.raises(CredentialsError, match="SYNC_AWS_KEY_ID"):
        make_client(access_key_id_env="SYNC_AWS_KEY_ID", secret_access_key_env="SYNC_AWS_SECRET")


def test_key_variables_come_in_pairs() -> None:
    with pytest.raises(CredentialsError, match="together"):
        make_client(access_key_id_env="SYNC_AWS_KEY_ID")


def write_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[profile sync]\nregion = eu-west-1\n")
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[sync]\naws_access_key_id = AKIDFROMPROFILE00000\naws_secret_access_key = profile-secret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))


def test_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env_keys: None) -> None:
    write_profile(monkeypatch, tmp_path)
    client = make_client(region=None, profile="sync")
    assert client.meta.region_name == "eu-west-1"  # the profile's region
    assert sent_access_key(client) == "AKIDFROMPROFILE00000"  # not the environment's keys


def test_explicit_region_beats_the_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write_profile(monkeypatch, tmp_path)
    assert make_client(region="us-west-2", profile="sync").meta.region_name == "us-west-2"


def test_missing_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write_profile(monkeypatch, tmp_path)
    with pytest.raises(CredentialsError, match="'nope' not found"):
        make_client(profile="nope")


def test_role_without_source_credentials() -> None:
    with pytest.raises(CredentialsError, match="no AWS credentials found to assume"):
        make_client(role_arn="arn:aws:iam::123456789012:role/sync", external_id="x-1")


def test_role_is_assumed_lazily(env_keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Building the client must not call STS: point STS at nothing and build anyway.
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
    make_client(role_arn="arn:aws:iam::123456789012:role/sync", external_id="x-1")


# --- ministack: real handlers, real STS (integration) -------------------------------------------


ECHO_HANDLER = "def handler(event, context):\n    return {'echo': event}\n"
RAISING_HANDLER = "def handler(event, context):\n    raise ValueError('bad thing ' + event['k'])\n"


def invoke_ministack(client: Any, function: str, payload: bytes = b"{}") -> InvocationResult:
    return invoke(client, function_name=function, payload=payload, clock=SystemClock())


@pytest.mark.integration
def test_ministack_delivered_with_the_answer(ministack: Ministack, env_keys: None) -> None:
    ministack.deploy("engine-echo", ECHO_HANDLER)
    client = make_client(ministack.endpoint_url)
    result = invoke_ministack(client, "engine-echo", b'{"rows": [1, 2]}')
    assert result.outcome == "delivered", result
    assert json.loads(result.payload or b"") == {"echo": {"rows": [1, 2]}}
    assert result.status_code == 200
    assert result.executed_version == "$LATEST"
    assert result.request_id


@pytest.mark.integration
def test_ministack_missing_function_is_fatal(ministack: Ministack, env_keys: None) -> None:
    result = invoke_ministack(make_client(ministack.endpoint_url), "engine-no-such-function")
    assert result.outcome == "client_error"
    assert result.status_code == 404
    assert result.error_code == "ResourceNotFoundException"
    assert "engine-no-such-function" in result.failure_reason
    assert_flags(result, retryable=False, fatal=True)


@pytest.mark.integration
def test_ministack_raising_function(ministack: Ministack, env_keys: None) -> None:
    ministack.deploy("engine-raises", RAISING_HANDLER)
    result = invoke_ministack(make_client(ministack.endpoint_url), "engine-raises", b'{"k": "42"}')
    assert result.outcome == "function_error"
    assert result.function_error == "Unhandled"
    # ministack reports every exception as Runtime.HandlerError (AWS: the class name).
    assert result.error_code in ("ValueError", "Runtime.HandlerError")
    assert result.failure_reason == f"{result.error_code}: bad thing 42"
    assert_flags(result, retryable=True, fatal=False)


@pytest.mark.integration
def test_ministack_throttled(ministack: Ministack, env_keys: None) -> None:
    ministack.deploy("engine-throttled", ECHO_HANDLER)
    ministack.client().put_function_concurrency(
        FunctionName="engine-throttled", ReservedConcurrentExecutions=0
    )
    result = invoke_ministack(make_client(ministack.endpoint_url), "engine-throttled")
    assert result.outcome == "throttled"
    assert result.retry_after == 1.0
    assert "ReservedFunctionConcurrentInvocationLimitExceeded" in result.failure_reason


ROLE_ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ROLE_ACCOUNT}:role/lambda-sync"


@pytest.fixture
def sts_proxy(ministack: Ministack, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    """STS calls go through a recorder on their way to ministack."""
    with RecordingProxy(ministack.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", proxy.endpoint_url)
        yield proxy


@pytest.mark.integration
def test_assumed_role_with_external_id(
    ministack: Ministack, sts_proxy: RecordingProxy, env_keys: None
) -> None:
    # The function lives in the role's account only: the source keys (account 000000000000 in
    # ministack) cannot see it, the assumed-role session can.
    ministack.deploy("engine-cross-account", ECHO_HANDLER, account_id=ROLE_ACCOUNT)
    client = make_client(
        ministack.endpoint_url, role_arn=ROLE_ARN, external_id="ext-6f1c2e", session_name="run-1"
    )
    assert sts_proxy.requests == []  # nothing sent before the first invoke

    direct = invoke_ministack(make_client(ministack.endpoint_url), "engine-cross-account")
    assert direct.error_code == "ResourceNotFoundException"

    signed_with: list[str] = []

    def record_key(request: AWSPreparedRequest, **_: Any) -> None:
        authorization = request.headers["Authorization"]
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        signed_with.append(authorization.split("Credential=")[1].split("/")[0])

    client.meta.events.register("before-send.lambda.Invoke", record_key)
    first = invoke_ministack(client, "engine-cross-account", b'{"n": 1}')
    second = invoke_ministack(client, "engine-cross-account", b'{"n": 2}')
    assert (first.outcome, second.outcome) == ("delivered", "delivered"), (first, second)
    assert json.loads(second.payload or b"") == {"echo": {"n": 2}}

    (assume,) = sts_proxy.requests  # one AssumeRole: the credentials are cached and reused
    form = assume.form()
    assert form["Action"] == "AssumeRole"
    assert form["RoleArn"] == ROLE_ARN
    assert form["ExternalId"] == "ext-6f1c2e"
    assert form["RoleSessionName"] == "run-1"
    assert form["DurationSeconds"] == "3600"
    assert f"Credential={SOURCE_KEY}/" in assume.headers["Authorization"]  # signed by the source

    # The Lambda calls were signed with the session STS handed out, not the source keys.
    assert signed_with[0] == signed_with[1] != SOURCE_KEY
    assert signed_with[0].startswith("ASIA")
    identity = ministack.client("sts").get_caller_identity()  # sanity: the proxy is transparent
    assert identity["Account"] == "000000000000"


@pytest.mark.integration
def test_refused_assume_role_is_fatal(
    ministack: Ministack, sts_proxy: RecordingProxy, env_keys: None
) -> None:
    # ministack refuses AssumeRole on something that is not a role ARN.
    client = make_client(
        ministack.endpoint_url,
        role_arn="arn:aws:iam::123456789012:user/not-a-role",
        external_id="ext-1",
    )
    result = invoke_ministack(client, "engine-echo")
    assert result.outcome == "client_error"
    assert result.error_code == "ValidationError"
    assert result.failure_reason.startswith("ValidationError: AWS credentials: AssumeRole failed")
    assert_flags(result, retryable=False, fatal=True)
    assert [r.form()["Action"] for r in sts_proxy.requests] == ["AssumeRole"]
