"""One synchronous Lambda invocation: call, read the answer, classify what happened.

``invoke`` never raises for anything Lambda, HTTP, the network or the credential source can do:
it turns every outcome into an ``InvocationResult`` whose ``retryable`` and ``fatal`` flags are
the whole retry decision, so the runner never inspects botocore exceptions itself.

The client it goes through is built by ``engine.sessions``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, cast

import botocore.exceptions as bx
from botocore.client import BaseClient
from botocore.compat import set_socket_timeout

from dbt_lambda_sync.engine.clock import Clock
from dbt_lambda_sync.engine.error_codes import (
    CREDENTIAL_ERRORS,
    FATAL_CODES,
    FATAL_STATUSES,
    NETWORK_ERRORS,
    THROTTLE_CODES,
    TRANSIENT_CODES,
    TRANSIENT_STATUSES,
)
from dbt_lambda_sync.text import clean_text

OUTCOMES = (
    "delivered",
    "partially_rejected",
    "function_error",
    "throttled",
    "client_error",
    "service_error",
    "network_error",
    "invalid_response",
)

# A synchronous Lambda answer is at most 6 MB; an endpoint of our own (endpoint_url) is not held
# to that, so reading stops a little past it and the answer counts as invalid, never as memory.
MAX_ANSWER_BYTES = 7 * 1024 * 1024
_READ_CHUNK = 64 * 1024

# Lambda holds the connection while the function runs (up to its timeout); the answer may take
# this much longer to arrive. The read timeout of each socket read and the deadline of a whole
# call are timeout_seconds plus this margin.
ANSWER_MARGIN_SECONDS = 5

# Error messages end up on every row of a failed batch and in the invocations log; a function
# that raises with a 5 MB message must not copy it a thousand times.
MAX_MESSAGE_CHARS = 4000
# Error types and codes, FunctionError, versions, request ids: names, never long. A function can
# still raise with any errorType, so these are cut too.
MAX_NAME_CHARS = 256


# What a call (and reading its answer) can raise that is classified instead of raised.
_READ_ERRORS: tuple[type[Exception], ...] = (bx.BotoCoreError, *NETWORK_ERRORS)
_CALL_ERRORS: tuple[type[Exception], ...] = (bx.ClientError, *_READ_ERRORS)


@dataclass(frozen=True)
class InvocationResult:
    """What one Invoke call came to. ``outcome`` is one of ``OUTCOMES``.

    A 200 without ``FunctionError`` is ``delivered`` here; the caller parses ``payload`` (the
    function's answer) and may turn it into ``partially_rejected`` or ``invalid_response``.
    """

    outcome: str
    status_code: int | None
    payload: bytes | None
    function_error: str | None
    error_code: str | None
    error_message: str | None
    executed_version: str | None
    request_id: str | None
    retry_after: float | None
    duration_ms: int
    retryable: bool
    fatal: bool

    @property
    def failure_reason(self) -> str:
        """``"<error type>: <message>"``: the rejection reason for every row of a failed batch."""
        kind = self.error_code or self.function_error or self.outcome
        return f"{kind}: {self.error_message}" if self.error_message else kind


def invoke(
    client: BaseClient,
    *,
    function_name: str,
    payload: bytes,
    clock: Clock,
    invocation_type: str = "RequestResponse",
    deadline_seconds: float | None = None,
) -> InvocationResult:
    """Invoke ``function_name`` synchronously with ``payload`` and classify what happened.

    ``invocation_type="DryRun"`` runs nothing: Lambda only checks that the function exists and
    that the caller may invoke it (204, or the same errors as a real invoke).

    ``deadline_seconds`` bounds the whole call: an answer still arriving after it (one byte at a
    time keeps every socket read inside the read timeout) is abandoned as a ``network_error``.
    An answer over ``MAX_ANSWER_BYTES`` is not read further: ``invalid_response``.

    Every text of the result is safe to store (``_stored_safe``); ``payload`` is the answer's raw
    bytes, which ``events.parse_answer`` reads.
    """
    return _stored_safe(
        _invoke(
            client,
            function_name=function_name,
            payload=payload,
            clock=clock,
            invocation_type=invocation_type,
            deadline_seconds=deadline_seconds,
        )
    )


def _invoke(
    client: BaseClient,
    *,
    function_name: str,
    payload: bytes,
    clock: Clock,
    invocation_type: str,
    deadline_seconds: float | None,
) -> InvocationResult:
    started = clock.monotonic()

    def elapsed_ms() -> int:
        return max(0, int(round((clock.monotonic() - started) * 1000)))

    try:
        response = client.invoke(  # type: ignore[attr-defined]  # botocore builds it at runtime
            FunctionName=function_name, InvocationType=invocation_type, Payload=payload
        )
    except _CALL_ERRORS as exc:
        return _from_exception(exc, elapsed_ms())
    headers = {
        "status_code": response.get("StatusCode"),
        "request_id": response.get("ResponseMetadata", {}).get("RequestId"),
        "executed_version": response.get("ExecutedVersion"),
    }
    stream = response["Payload"]
    deadline = None if deadline_seconds is None else started + deadline_seconds
    try:
        # Read everything: the connection goes back to the pool only once the body is consumed.
        body = _read_answer(stream, clock=clock, deadline=deadline)
    except _AnswerTooLarge as exc:
        too_large = _failure(
            "invalid_response", "ResponseTooLarge", str(exc), elapsed_ms(), retryable=True
        )
        return replace(too_large, function_error=response.get("FunctionError"), **headers)
    except _DeadlinePassed:
        message = (
            f"the answer was still arriving {deadline_seconds:g} s after the call started"
            f" (timeout_seconds + {ANSWER_MARGIN_SECONDS} s); abandoned"
        )
        late = _failure(
            "network_error", "AnswerDeadlineExceeded", message, elapsed_ms(), retryable=True
        )
        return replace(late, **headers)
    except _READ_ERRORS as exc:
        # The connection broke while the answer was streaming: the function ran (or is running),
        # but its answer is lost. Keep what the headers told us.
        return replace(_from_exception(exc, elapsed_ms()), **headers)
    finally:
        stream.close()
    return _from_answer(response, body, elapsed_ms())


def _from_answer(response: dict[str, Any], body: bytes, duration_ms: int) -> InvocationResult:
    """Classify an answer read whole: delivered, or the function's own error."""
    function_error = response.get("FunctionError")
    common: dict[str, Any] = dict(
        status_code=response.get("StatusCode")
        or response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
        payload=body,
        executed_version=response.get("ExecutedVersion"),
        request_id=response.get("ResponseMetadata", {}).get("RequestId"),
        retry_after=None,
        duration_ms=duration_ms,
    )
    if function_error:
        # Uncaught exception, timeout, out of memory...: the payload says which. Retryable, as
        # timeouts and crashes are often passing; the runner's attempt budget bounds it.
        error_type, message = _function_error_details(body, function_error)
        return InvocationResult(
            outcome="function_error",
            function_error=function_error,
            error_code=error_type,
            error_message=message,
            retryable=True,
            fatal=False,
            **common,
        )
    return InvocationResult(
        outcome="delivered",
        function_error=None,
        error_code=None,
        error_message=None,
        retryable=False,
        fatal=False,
        **common,
    )


class _AnswerTooLarge(Exception):
    pass


class _DeadlinePassed(Exception):
    pass


def _read_answer(stream: Any, *, clock: Clock, deadline: float | None) -> bytes:
    """The answer's bytes, at most ``MAX_ANSWER_BYTES``, all arrived before ``deadline``.

    Reads what each socket read gives (``read1``), checking the deadline in between; the socket's
    timeout is lowered to the time left, so a read that waits cannot outlast the deadline.
    """
    raw = getattr(stream, "_raw_stream", stream)
    declared = getattr(stream, "_content_length", None)
    if declared is not None and str(declared).isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise _AnswerTooLarge(_too_large_message(f"{int(declared):,} bytes"))
    read = getattr(raw, "read1", None) or raw.read
    chunks: list[bytes] = []
    size = 0
    while True:
        if deadline is not None:
            left = deadline - clock.monotonic()
            if left <= 0:
                raise _DeadlinePassed
            try:
                # botocore's own way to the socket (StreamingBody.set_socket_timeout); the pool
                # sets the read timeout again on the connection's next request.
                set_socket_timeout(raw, left)
            except AttributeError:
                pass  # not a socket (a test double): the deadline is checked between reads
        try:
            chunk = read(_READ_CHUNK)
        except Exception:
            if deadline is not None and clock.monotonic() >= deadline:
                raise _DeadlinePassed from None  # the lowered socket timeout fired
            raise
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise _AnswerTooLarge(_too_large_message(f"more than {MAX_ANSWER_BYTES:,} bytes"))
        chunks.append(chunk)
    if deadline is not None and clock.monotonic() > deadline:
        raise _DeadlinePassed
    if declared is not None and str(declared).isdigit() and size != int(declared):
        # read1 returns b"" when the connection closes early: check, as StreamingBody.read does.
        raise bx.IncompleteReadError(actual_bytes=size, expected_bytes=int(declared))
    return b"".join(chunks)


def _too_large_message(size: str) -> str:
    return (
        f"answer of {size}: a Lambda answer is at most 6 MB, reading stops at"
        f" {MAX_ANSWER_BYTES:,} bytes"
    )


def _from_exception(exc: Exception, duration_ms: int) -> InvocationResult:
    """Classify what botocore raised (before the answer, or while reading it)."""
    if isinstance(exc, bx.ClientError):
        return _from_client_error(exc, duration_ms)
    name = type(exc).__name__
    if isinstance(exc, CREDENTIAL_ERRORS):
        return _failure("client_error", name, f"AWS credentials: {exc}", duration_ms, fatal=True)
    if isinstance(exc, bx.ParamValidationError):
        # Only the function name or qualifier can be invalid, and they are the same for every
        # invocation of the sync.
        return _failure("client_error", name, str(exc), duration_ms, fatal=True)
    if isinstance(exc, NETWORK_ERRORS):
        return _failure("network_error", name, str(exc), duration_ms, retryable=True)
    # Anything else botocore raises: report it on the batch rather than crash the run.
    return _failure("client_error", name, str(exc), duration_ms)


def _from_client_error(exc: bx.ClientError, duration_ms: int) -> InvocationResult:
    response = cast(dict[str, Any], exc.response or {})
    error = response.get("Error", {})
    metadata = response.get("ResponseMetadata", {})
    code = str(error.get("Code") or "UnknownError")
    status = metadata.get("HTTPStatusCode")
    message = str(error.get("Message") or error.get("message") or "")
    common = dict(
        status_code=status,
        payload=None,
        function_error=None,
        error_code=code,
        executed_version=None,
        request_id=metadata.get("RequestId"),
        duration_ms=duration_ms,
    )

    if exc.operation_name and exc.operation_name != "Invoke":
        # Raised while fetching credentials (the AssumeRole call behind assumed-role credentials).
        transient = status == 429 or code in THROTTLE_CODES or (status or 0) >= 500
        return InvocationResult(
            outcome="service_error" if transient else "client_error",
            error_message=scrub(f"AWS credentials: {exc.operation_name} failed: {message}"),
            retry_after=None,
            retryable=transient,
            fatal=not transient,
            **common,
        )

    if status == 429 or code in THROTTLE_CODES:
        reason = response.get("Reason")
        if reason:
            message = f"{message} (Reason: {reason})" if message else f"Reason: {reason}"
        return InvocationResult(
            outcome="throttled",
            error_message=scrub(message),
            retry_after=_retry_after(response),
            retryable=True,
            fatal=False,
            **common,
        )

    outcome = "service_error" if (status or 0) >= 500 else "client_error"
    fatal = code in FATAL_CODES or status in FATAL_STATUSES
    retryable = not fatal and (
        code in TRANSIENT_CODES or status in TRANSIENT_STATUSES or (status or 0) >= 500
    )
    # Everything else (400 invalid content, 413 too large, 415...) concerns this payload only:
    # neither retried nor fatal; the rows are rejected with the reason.
    return InvocationResult(
        outcome=outcome,
        error_message=scrub(message),
        retry_after=None,
        retryable=retryable,
        fatal=fatal,
        **common,
    )


def _failure(
    outcome: str,
    code: str,
    message: str,
    duration_ms: int,
    *,
    retryable: bool = False,
    fatal: bool = False,
) -> InvocationResult:
    return InvocationResult(
        outcome=outcome,
        status_code=None,
        payload=None,
        function_error=None,
        error_code=code,
        error_message=scrub(message),
        executed_version=None,
        request_id=None,
        retry_after=None,
        duration_ms=duration_ms,
        retryable=retryable,
        fatal=fatal,
    )


def _retry_after(response: dict[str, Any]) -> float | None:
    """Lambda's wait hint: modelled as ``retryAfterSeconds`` (from the Retry-After header)."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    for raw in (response.get("retryAfterSeconds"), headers.get("retry-after")):
        if raw is None:
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            continue
        if value >= 0:
            return value
    return None


def _function_error_details(body: bytes, function_error: str) -> tuple[str, str]:
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict) and ("errorType" in document or "errorMessage" in document):
        error_type = str(document.get("errorType") or function_error)
        message = document.get("errorMessage")
        return error_type, scrub("" if message is None else str(message))
    text = body.decode("utf-8", errors="replace").strip()
    return function_error, scrub(text)


# Secrets that can show up in AWS error messages: InvalidSignatureException echoes the canonical
# request, which includes the x-amz-security-token header; access key IDs appear in several.
_SCRUB_PATTERNS = (
    (re.compile(r"(?i)(x-amz-security-token\s*[:=]\s*)[^\s'\",;]+"), r"\1<redacted>"),
    (re.compile(r"(?i)(X-Amz-Signature\s*[:=]\s*)[0-9a-f]+"), r"\1<redacted>"),
    (re.compile(r"(?i)(Signature\s*=\s*)[0-9a-f]{16,}"), r"\1<redacted>"),
    (
        re.compile(
            r"(?i)((?:aws_)?(?:secret_access_key|secret_key|session_token|secretaccesskey"
            r"|sessiontoken)[\"']?\s*[:=]\s*[\"']?)[^\s'\",;]+"
        ),
        r"\1<redacted>",
    ),
    (re.compile(r"\b((?:AKIA|ASIA|AROA|AIDA|ANPA|ABIA|ACCA)[A-Z0-9]{4})[A-Z0-9]{12}\b"), r"\1…"),
)


def scrub(text: str) -> str:
    """Text with the secrets AWS error messages can echo (tokens, signatures, keys) redacted."""
    for pattern, replacement in _SCRUB_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _clean_name(text: str | None) -> str | None:
    return None if text is None else clean_text(str(text), MAX_NAME_CHARS)


def _stored_safe(result: InvocationResult) -> InvocationResult:
    """The one place where every text of a result (what the function, Lambda or the network
    said) is made safe to store: see ``clean_text``. Types and codes are names, so short.
    """
    return replace(
        result,
        function_error=_clean_name(result.function_error),
        error_code=_clean_name(result.error_code),
        error_message=None
        if result.error_message is None
        else clean_text(result.error_message, MAX_MESSAGE_CHARS),
        executed_version=_clean_name(result.executed_version),
        request_id=_clean_name(result.request_id),
    )
