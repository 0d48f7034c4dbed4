"""A scripted stand-in for the Lambda Invoke API, for tests and throughput benchmarks.

``ScriptedEndpoint`` serves ``POST /2015-03-31/functions/<name>/invocations`` on 127.0.0.1 (a free
port) well enough for boto3 with ``endpoint_url=endpoint.endpoint_url``. Each request gets, in
order: the next scripted ``Reply`` (``script(...)``), else what the ``responder`` callable returns,
else the default reply (200 ``null``: every row delivered). Replies can be real Lambda answers
(function errors, 429 with ``Retry-After``, 5xx, 413...) or transport faults (connection dropped
mid-answer, reset before answering, an answer slower than the client's read timeout, a body that
is not JSON).

Every request is recorded (``requests``, ``bodies``, ``json_bodies()``), with the number in
flight and the peak in flight, so a test can check what was sent and how concurrently.

The fast path (default reply, no delay) costs one header parse and one ``sendall`` per request on
a keep-alive HTTP/1.1 connection: good for measuring the runner, not the endpoint. Pass
``record=False`` for long benchmarks: requests are then counted but not kept.

Example::

    with ScriptedEndpoint() as endpoint:
        endpoint.script(Reply.throttled(retry_after=2), Reply.ok({"errors": []}))
        client = endpoint.client()
        client.invoke(FunctionName="f", Payload=b"{}")   # -> 429 TooManyRequestsException
        client.invoke(FunctionName="f", Payload=b"{}")   # -> 200 {"errors": []}
        assert endpoint.request_count == 2

For benchmarks, ``EndpointProcess`` runs ``python -m tests.support.scripted_endpoint`` (the
default answer, in a process of its own; it prints its URL on the first line of stdout); boto3's
own overhead, not the endpoint, is then the limit.

``RecordingProxy`` (at the bottom) forwards every request to another endpoint (ministack) and
records it: how the tests check what reaches STS (the AssumeRole ExternalId) end to end.
"""

from __future__ import annotations

import collections
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from tests.support.service import Service

INVOKE_PREFIX = "/2015-03-31/functions/"
INVOKE_SUFFIX = "/invocations"

Action = Literal["respond", "drop", "reset", "hang", "drip"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build them with the class methods below."""

    status: int = 200
    body: bytes = b"null"
    headers: Mapping[str, str] = field(default_factory=dict)
    # respond: answer normally (after ``delay``); drop: send the headers and half the body, then
    # close; reset: close without answering; hang: wait ``delay`` seconds, then answer; drip: the
    # headers, then the body one byte every ``delay`` seconds.
    action: Action = "respond"
    delay: float = 0.0

    @classmethod
    def ok(
        cls, answer: Any = None, *, executed_version: str = "$LATEST", delay: float = 0.0
    ) -> Reply:
        """200 with ``answer`` as the function's JSON result (bytes are sent as they are)."""
        body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        return cls(body=body, headers={"X-Amz-Executed-Version": executed_version}, delay=delay)

    @classmethod
    def function_error(
        cls,
        error_type: str = "ValueError",
        message: str = "boom",
        *,
        kind: str = "Unhandled",
        executed_version: str = "$LATEST",
    ) -> Reply:
        """200 + ``X-Amz-Function-Error``: what Lambda answers for an uncaught exception."""
        body = json.dumps(
            {"errorMessage": message, "errorType": error_type, "stackTrace": []}
        ).encode()
        return cls(
            body=body,
            headers={"X-Amz-Function-Error": kind, "X-Amz-Executed-Version": executed_version},
        )

    @classmethod
    def timeout(cls, seconds: int = 3) -> Reply:
        """The function ran past its own timeout: 200 + Unhandled + Sandbox.Timedout."""
        return cls.function_error("Sandbox.Timedout", f"Task timed out after {seconds:.2f} seconds")

    @classmethod
    def error(
        cls,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **body_fields: Any,
    ) -> Reply:
        """A Lambda API error: ``x-amzn-ErrorType`` header plus a JSON body, as AWS sends it."""
        document = {"Type": "User" if status < 500 else "Service", "message": message}
        document.update(body_fields)
        return cls(
            status=status,
            body=json.dumps(document).encode(),
            headers={"x-amzn-ErrorType": code, **(headers or {})},
        )

    @classmethod
    def service_error(cls, message: str = "An internal error occurred.") -> Reply:
        return cls.error(500, "ServiceException", message)

    @classmethod
    def throttled(
        cls,
        retry_after: float | None = 1,
        *,
        reason: str = "ReservedFunctionConcurrentInvocationLimitExceeded",
        message: str = "Rate Exceeded.",
    ) -> Reply:
        """429 TooManyRequestsException; botocore reads ``retryAfterSeconds`` from Retry-After."""
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        return cls.error(429, "TooManyRequestsException", message, headers=headers, Reason=reason)

    @classmethod
    def too_large(cls) -> Reply:
        """413 as Lambda sends it for a request over 6 MB (not the modelled exception name)."""
        return cls.error(
            413,
            "RequestEntityTooLargeException",
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
        )

    @classmethod
    def not_found(cls, function: str = "unknown") -> Reply:
        return cls.error(404, "ResourceNotFoundException", f"Function not found: {function}")

    @classmethod
    def access_denied(
        cls, message: str = "User is not authorized to perform: lambda:InvokeFunction"
    ) -> Reply:
        return cls.error(403, "AccessDeniedException", message)

    @classmethod
    def malformed(cls, body: bytes = b'{"errors": [{"primary_key_value": ') -> Reply:
        """200 whose body is not JSON."""
        return cls(body=body, headers={"X-Amz-Executed-Version": "$LATEST"})

    @classmethod
    def drop(cls) -> Reply:
        """Headers and half the body, then the connection closes: a broken answer."""
        return cls(body=json.dumps({"errors": [], "padding": "x" * 200}).encode(), action="drop")

    @classmethod
    def reset(cls) -> Reply:
        """The connection closes before any answer."""
        return cls(action="reset")

    @classmethod
    def drip(cls, answer: Any = None, *, every: float = 3.0) -> Reply:
        """200 whose body arrives one byte every ``every`` seconds: each socket read is quick,
        the whole answer is not."""
        body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        return cls(body=body, action="drip", delay=every)

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Reply:
        """Answer only after ``seconds``: longer than a short client read timeout."""
        return cls(action="hang", delay=seconds)


@dataclass(frozen=True)
class RecordedRequest:
    function_name: str  # URL-decoded: a name, a partial ARN or an ARN, as the client sent it
    qualifier: str | None
    body: bytes
    headers: Mapping[str, str]
    received_at: float  # time.monotonic()

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[RecordedRequest], "Reply | None"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Benchmarks open many connections at once; the default backlog (5) would refuse some.
    request_queue_size = 1024
    endpoint: ScriptedEndpoint

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # connections closed by stop() or by a client mid-request are expected here


class _InvokeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: boto3's pooled connections are reused
    server: _Server

    def setup(self) -> None:
        super().setup()
        # One sendall per answer anyway, but without Nagle a small answer never waits for the
        # client's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.endpoint._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.endpoint._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest output is for failures

    def do_POST(self) -> None:
        endpoint = self.server.endpoint
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        if not (path.startswith(INVOKE_PREFIX) and path.endswith(INVOKE_SUFFIX)):
            reply = Reply.error(400, "UnknownOperationException", f"not an Invoke path: {path}")
            self._respond(reply, str(uuid.uuid4()))
            return
        name = urllib.parse.unquote(path[len(INVOKE_PREFIX) : -len(INVOKE_SUFFIX)])
        qualifier = urllib.parse.parse_qs(query).get("Qualifier", [None])[0]
        request = RecordedRequest(
            function_name=name,
            qualifier=qualifier,
            body=body,
            headers=dict(self.headers.items()),
            received_at=time.monotonic(),
        )
        endpoint._enter(request)
        try:
            self._answer(endpoint, request)
        except OSError:
            # The client gave up (read timeout) or went away: nothing left to answer.
            self.close_connection = True
        finally:
            endpoint._leave()

    def _answer(self, endpoint: ScriptedEndpoint, request: RecordedRequest) -> None:
        reply = endpoint._reply_for(request)
        request_id = str(uuid.uuid4())
        if reply.action == "reset":
            self._abort()
            return
        if reply.action == "drip":
            self.wfile.write(self._head(reply, request_id, len(reply.body)))
            self.wfile.flush()
            for index in range(len(reply.body)):
                if endpoint._stopping.wait(reply.delay):
                    self._abort()
                    return
                self.wfile.write(reply.body[index : index + 1])
                self.wfile.flush()
            return
        if reply.delay > 0 and endpoint._stopping.wait(reply.delay):
            self._abort()  # stop() while hanging: don't hold the server up
            return
        if reply.action == "drop":
            head = self._head(reply, request_id, len(reply.body))
            self.wfile.write(head + reply.body[: len(reply.body) // 2])
            self._abort()
            return
        self._respond(reply, request_id)

    def _head(self, reply: Reply, request_id: str, length: int) -> bytes:
        reason = http.client.responses.get(reply.status, "Unknown")
        lines = [f"HTTP/1.1 {reply.status} {reason}"]
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id}
        headers.update(reply.headers)
        lines.extend(f"{k}: {v}" for k, v in headers.items())
        lines.append(f"Content-Length: {length}")
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _respond(self, reply: Reply, request_id: str) -> None:
        # Head and body in one write: one segment for small answers.
        self.wfile.write(self._head(reply, request_id, len(reply.body)) + reply.body)

    def _abort(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class ScriptedEndpoint(Service):
    """A Lambda Invoke endpoint whose answers a test scripts. See the module docstring."""

    def __init__(
        self,
        *,
        default: Reply | None = None,
        responder: Responder | None = None,
        record: bool = True,
    ) -> None:
        self.default = default if default is not None else Reply()
        self.responder = responder
        # False: only count requests (long benchmarks would otherwise keep every body in memory).
        self.record = record
        self._script: collections.deque[Reply] = collections.deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._count = 0
        self._in_flight = 0
        self._peak = 0
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> ScriptedEndpoint:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _InvokeHandler)
        server.endpoint = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"scripted-lambda-{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # idle keep-alive connections would keep their threads alive
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("ScriptedEndpoint is not started")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, *, read_timeout: float = 10, max_pool_connections: int = 10) -> Any:
        """A boto3 Lambda client for this endpoint: dummy keys, us-east-1, no retries."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "lambda",
            region_name="us-east-1",
            endpoint_url=self.endpoint_url,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(
                retries={"mode": "standard", "total_max_attempts": 1},
                read_timeout=read_timeout,
                connect_timeout=5,
                max_pool_connections=max_pool_connections,
            ),
        )

    # --- scripting ---

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order (before responder and default)."""
        with self._lock:
            self._script.extend(replies)

    def script_many(self, replies: Iterable[Reply]) -> None:
        with self._lock:
            self._script.extend(replies)

    @property
    def pending_script(self) -> int:
        with self._lock:
            return len(self._script)

    def reset(self) -> None:
        """Forget the script, the recorded requests and the counters."""
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self._count = 0
            self._peak = self._in_flight

    # --- what happened ---

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def bodies(self) -> list[bytes]:
        return [r.body for r in self.requests]

    def json_bodies(self) -> list[Any]:
        return [json.loads(b) for b in self.bodies]

    @property
    def request_count(self) -> int:
        with self._lock:
            return self._count

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        with self._lock:
            return self._peak

    # --- called by the handler threads ---

    def _enter(self, request: RecordedRequest) -> None:
        with self._lock:
            self._count += 1
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            if self.record:
                self._requests.append(request)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _reply_for(self, request: RecordedRequest) -> Reply:
        with self._lock:
            if self._script:
                return self._script.popleft()
        if self.responder is not None:
            reply = self.responder(request)
            if reply is not None:
                return reply
        return self.default

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


# --- a recording forwarder ------------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        """The body as a query-protocol form (STS, IAM): ``{"Action": "AssumeRole", ...}``."""
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.body.decode()).items()}


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _forward(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        proxy._record(ForwardedRequest(self.command, self.path, dict(self.headers.items()), body))
        upstream = urllib.parse.urlsplit(proxy.upstream)
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in (
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "date",
                    "server",
                ):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = _forward


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    proxy: RecordingProxy


class RecordingProxy(Service):
    """Forwards every request to ``upstream`` (e.g. ministack) and records it.

    Point one service at it (``AWS_ENDPOINT_URL_STS=proxy.endpoint_url``) to see exactly what a
    client sent, e.g. that AssumeRole carried the ExternalId. Signatures pass through unchanged;
    ministack does not verify them unless started with AUTH=true.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._lock = threading.Lock()
        self._requests: list[ForwardedRequest] = []
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RecordingProxy:
        server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        server.proxy = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("RecordingProxy is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[ForwardedRequest]:
        with self._lock:
            return list(self._requests)

    def _record(self, request: ForwardedRequest) -> None:
        with self._lock:
            self._requests.append(request)


# --- a separate process, for benchmarks -----------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.support.scripted_endpoint [--port N] [--delay S]``: the default answer.

    For throughput benchmarks: in its own process the endpoint does not share the runner's GIL.
    Prints the endpoint URL on the first line of stdout and serves until SIGTERM or SIGINT, then
    prints one JSON line: ``{"requests", "peak_in_flight", "arrivals": [seconds since first]}``.
    """
    import argparse
    import signal

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    arrivals: list[float] = []

    def stamp(_request: RecordedRequest) -> None:
        arrivals.append(time.monotonic())  # list.append is atomic under the GIL
        return None  # the default reply

    endpoint = ScriptedEndpoint(default=Reply(delay=args.delay), responder=stamp, record=False)
    server = _Server(("127.0.0.1", args.port), _InvokeHandler)
    server.endpoint = endpoint
    endpoint._server = server
    print(endpoint.endpoint_url, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        first = arrivals[0] if arrivals else 0.0
        stats = {
            "requests": endpoint.request_count,
            "peak_in_flight": endpoint.peak_in_flight,
            "arrivals": [round(t - first, 4) for t in arrivals],
        }
        print(json.dumps(stats), flush=True)


class EndpointProcess:
    """Starts ``python -m tests.support.scripted_endpoint`` and collects its stats on stop()."""

    def __init__(self, delay: float = 0.0):
        repo = Path(__file__).resolve().parents[2]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.scripted_endpoint", "--delay", str(delay)],
            cwd=repo,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError(f"endpoint did not start: {self.url!r}")

    def stop(self) -> dict:
        """End the process; its stats (requests, peak in flight, arrival times)."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        return json.loads(out.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
