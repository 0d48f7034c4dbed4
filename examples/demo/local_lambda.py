"""A local AWS Lambda endpoint for the demo: ministack, on a free 127.0.0.1 port.

ministack pins an exact botocore, so it gets a virtualenv of its own: ``$MINISTACK_VENV``, else
``<repo>/.venv-ministack`` (the one the test suite uses), created on first use with
``pip install ministack==MINISTACK_VERSION``. A trimmed copy of tests/lambda_env.py, so that the
demo does not import from the tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

MINISTACK_VERSION = "1.5.33"  # keep equal to tests/lambda_env.py (a test checks it)
REPO_ROOT = Path(__file__).resolve().parents[2]
MARKER = ".created-for-dbt-lambda-sync-tests"  # the test suite accepts a venv with this marker


def ensure_ministack(say=print) -> Path:
    """The ministack executable, installing its virtualenv first if it is missing."""
    configured = os.environ.get("MINISTACK_VENV")
    venv = Path(configured).expanduser() if configured else REPO_ROOT / ".venv-ministack"
    executable = venv / "bin" / "ministack"
    if executable.exists():
        return executable
    digest = hashlib.sha1(str(venv.resolve()).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"dbt-lambda-sync-ministack-venv-{digest}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the test suite may be installing it right now
        if executable.exists():
            return executable
        if venv.exists() and any(venv.iterdir()) and not (venv / MARKER).exists():
            raise RuntimeError(f"{venv} exists but is not a ministack virtualenv: remove it")
        say(f"installing ministack=={MINISTACK_VERSION} into {venv} (first run only)")
        if not (venv / "bin" / "python").exists():
            _run([sys.executable, "-m", "venv", str(venv)])
            (venv / MARKER).write_text("created for ministack by dbt-lambda-sync; safe to delete\n")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        _run([*pip, "--disable-pip-version-check", f"ministack=={MINISTACK_VERSION}"])
    return executable


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, get SIGTERM when the demo dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


class LocalLambda:
    """``with LocalLambda(workdir) as endpoint_url:`` runs ministack until the block ends."""

    def __init__(self, workdir: Path, *, say=print) -> None:
        self.workdir = workdir
        self.say = say
        self.log_path = workdir / "ministack.log"
        self.process: subprocess.Popen | None = None
        self.endpoint_url = ""

    def __enter__(self) -> str:
        executable = ensure_ministack(self.say)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            BIND_HOST="127.0.0.1",  # never 0.0.0.0
            GATEWAY_PORT=str(port),
            SERVICES="lambda,sts,iam",
            PERSIST_STATE="0",
            TMPDIR=str(self.workdir),  # where ministack unpacks functions
            AWS_ACCESS_KEY_ID="test",  # handed to the functions: never real credentials
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION="us-east-1",
        )
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(executable)], env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )  # fmt: skip
        self.endpoint_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.__exit__()
                raise RuntimeError(f"ministack exited; see {self.log_path}")
            with contextlib.suppress(OSError):
                ready = f"{self.endpoint_url}/_ministack/ready"
                with urllib.request.urlopen(ready, timeout=2) as response:
                    if response.status == 200:
                        return self.endpoint_url
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"ministack did not get ready in 60 s; see {self.log_path}")

    def __exit__(self, *exc_info: object) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # its own group: the functions it ran too
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # handlers left in the group
