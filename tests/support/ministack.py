"""Real Lambda handlers for tests: ministack (a local AWS emulator) in a process of its own.

ministack pins an exact botocore, so it lives in a virtualenv of its own, never in the project's:
``$MINISTACK_VENV`` if set, else ``<repo>/.venv-ministack``, created on first use with
``pip install ministack==MINISTACK_VERSION`` (needs only Python >= 3.10 and PyPI).

    ms = Ministack().start()          # free loopback port, waits until ready
    arn = ms.deploy("echo", "def handler(event, context):\\n    return None\\n")
    ms.client().invoke(FunctionName="echo", Payload=b"{}")
    ms.stop()

Things to know about ministack (1.5.33), checked by experiment:

- Python handlers run in subprocesses of ministack's own interpreter (its venv's Python), not
  the runtime named in ``Runtime``; ``botocore`` is importable there, ``boto3`` is not.
- An uncaught exception comes back as 200 + ``X-Amz-Function-Error: Unhandled`` with
  ``errorType`` always ``Runtime.HandlerError`` (real Lambda sends the exception class name, e.g.
  ``ValueError``); ``errorMessage`` is ``str(exception)``. A timeout is ``Sandbox.Timedout``.
- Accounts come from the access key: a 12-digit access key ID selects that account, any other
  key is account 000000000000, and an STS session key acts in the account of the role it assumed.
  ``client(account_id=...)`` / ``deploy(..., account_id=...)`` use that to put functions in
  another account (cross-account AssumeRole tests).
- Signatures are not verified (AUTH is off), it does not enforce the 6 MB request limit and it
  accepts non-JSON payloads: use ``tests.support.scripted_endpoint`` for those paths.
- ``put_function_concurrency(ReservedConcurrentExecutions=1)`` gives real 429s with a ``Reason``
  and ``Retry-After``.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.support.service import Service
from tests.support.tool_venv import die_with_parent, ensure_tool, free_port, stop_group

# The version the project's tests are written against (see the quirks above); bump deliberately.
MINISTACK_VERSION = "1.5.33"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ACCOUNT_ID = "000000000000"
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::{account}:role/lambda-test"  # ministack does not check the role exists


def ministack_venv() -> Path:
    """Where ministack's virtualenv is (or will be): $MINISTACK_VENV or <repo>/.venv-ministack."""
    configured = os.environ.get("MINISTACK_VENV")
    return Path(configured).expanduser() if configured else REPO_ROOT / ".venv-ministack"


def ensure_ministack(venv: Path | None = None, *, say: Callable[[str], object] = print) -> Path:
    """Return the ``ministack`` executable, creating its virtualenv first if it is missing.

    Its exact botocore pin would fight the project's: it gets a virtualenv of its own
    (tool_venv.ensure_tool, safe from several processes at once).
    """
    return ensure_tool(
        venv or ministack_venv(), [f"ministack=={MINISTACK_VERSION}"], "ministack", say=say
    )


def zip_handler(source: str, filename: str = "app.py") -> bytes:
    """A deployment package holding one file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(filename)
        info.external_attr = 0o644 << 16
        archive.writestr(info, source)
    return buffer.getvalue()


class Ministack(Service):
    """One ministack server on a free 127.0.0.1 port (lambda, sts and iam only).

    ``start()`` is the only method that starts anything; the constructor does no I/O.
    """

    def __init__(
        self,
        *,
        venv: Path | None = None,
        services: str = "lambda,sts,iam",
        startup_timeout: float = 60.0,
        extra_env: Mapping[str, str] | None = None,
        say: Callable[[str], object] = print,
    ) -> None:
        self.venv = venv
        self.say = say
        self.services = services
        self.startup_timeout = startup_timeout
        self.extra_env = dict(extra_env or {})
        self.port: int | None = None
        self.workdir: Path | None = None
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    # --- lifecycle ---

    def start(self) -> Ministack:
        if self._process is not None:
            return self
        executable = ensure_ministack(self.venv, say=self.say)
        last_error = ""
        for _ in range(3):  # the free port can be taken between probing and binding: retry
            try:
                self._launch(executable)
                return self
            except RuntimeError as exc:
                last_error = str(exc)
                self.stop()
        raise RuntimeError(f"ministack did not start: {last_error}")

    def _launch(self, executable: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            {
                "BIND_HOST": "127.0.0.1",  # the default is 0.0.0.0: never expose it
                "GATEWAY_PORT": str(self.port),
                "SERVICES": self.services,
                "PERSIST_STATE": "0",
                # ministack hands its own AWS_* variables to handlers: never real credentials.
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": REGION,
                "PYTHONUNBUFFERED": "1",
            }
        )
        # ministack leaves its handlers' unpacked code, its pid file and our log in TMPDIR and
        # never cleans up: give it a private one that stop() removes.
        self.workdir = Path(tempfile.mkdtemp(prefix=f"ministack-{self.port}-"))
        env["TMPDIR"] = str(self.workdir)
        env.update(self.extra_env)
        self.log_path = self.workdir / "ministack.log"
        self._log_file = open(self.log_path, "wb")
        self._process = subprocess.Popen(
            [str(executable)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            # Its own process group, so stop() also ends the handler subprocesses it spawned.
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        # A test session that ends without calling stop() (an exception, a forgotten fixture)
        # must not leave the server running; SIGKILL of the parent is die_with_parent's job.
        atexit.register(self.stop)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.endpoint_url}/_ministack/ready"
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"ministack exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"ministack not ready after {self.startup_timeout:.0f}s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None:
            # Handlers may outlive the server in the same group: stop_group ends them too.
            stop_group(process)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
            self.log_path = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("Ministack is not started")
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 60) -> str:
        """The end of ministack's log (handler output included); gone after stop()."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # --- clients and functions ---

    def client(
        self, service: str = "lambda", *, account_id: str | None = None, **config: Any
    ) -> Any:
        """A boto3 client for this server: dummy keys, us-east-1.

        ``account_id`` (12 digits) makes ministack act in that account. ``config`` goes to
        ``botocore.config.Config`` (e.g. ``read_timeout=5``).
        """
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=account_id or "test",
            aws_secret_access_key="test",
            config=Config(**config) if config else None,
        )

    def deploy(
        self,
        name: str,
        handler_source: str,
        *,
        timeout: int = 30,
        env: Mapping[str, str] | None = None,
        account_id: str | None = None,
    ) -> str:
        """(Re)create function ``name`` running ``handler_source`` as ``app.handler``.

        An existing function of that name is deleted first. Waits until it is Active and
        returns its ARN.
        """
        client = self.client(account_id=account_id)
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_function(FunctionName=name)
        created = client.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=ROLE_ARN.format(account=account_id or DEFAULT_ACCOUNT_ID),
            Handler="app.handler",
            Code={"ZipFile": zip_handler(handler_source)},
            Timeout=timeout,
            Environment={"Variables": dict(env or {})},
        )
        self._wait_active(client, name)
        return str(created["FunctionArn"])

    @staticmethod
    def _wait_active(client: Any, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            configuration = client.get_function_configuration(FunctionName=name)
            state = configuration.get("State", "Active")
            if state == "Active":
                return
            if state == "Failed" or time.monotonic() > deadline:
                raise RuntimeError(
                    f"function {name} is {state}: {configuration.get('StateReason', '')}"
                )
            time.sleep(0.05)


@contextlib.contextmanager
def running_ministack(**kwargs: Any) -> Iterator[Ministack]:
    """``with running_ministack() as ms:`` — a Ministack that is stopped on exit."""
    ministack = Ministack(**kwargs)
    try:
        yield ministack.start()
    finally:
        ministack.stop()
