"""A test tool's own virtualenv, created on first use, and the child-process plumbing its server
needs (a free loopback port, death with the parent, stopping its process group).

For tools whose pins would fight the project's (ministack's exact botocore, fakesnow's sqlglot
and connector): ``ensure_tool(venv, requirements, executable)`` installs them beside the project,
never into it.
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
from collections.abc import Callable, Sequence
from pathlib import Path

_MARKER = ".created-for-dbt-lambda-sync-tests"
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def ensure_tool(
    venv: Path,
    requirements: Sequence[str],
    executable: str,
    *,
    say: Callable[[str], object] = print,
) -> Path:
    """Return ``venv/bin/<executable>``, installing ``requirements`` into ``venv`` if it is missing.

    Safe from several processes at once (a file lock serialises the installation); refuses a
    directory these tests did not create, so nothing is installed into someone's environment.
    """
    path = venv / "bin" / executable
    if path.exists():
        return path
    venv.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(str(venv.resolve()).encode()).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"dbt-lambda-sync-tool-venv-{digest}.lock"
    marker = venv / _MARKER
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():  # another process installed it while we waited
            return path
        if venv.exists() and any(venv.iterdir()) and not marker.exists():
            raise RuntimeError(
                f"{venv} exists but has no bin/{executable} and was not created by these tests: "
                "remove it, or point the tool's *_VENV variable at a new directory"
            )
        say(f"installing {' '.join(requirements)} into {venv} (first run only)")
        if not (venv / "bin" / "python").exists():
            _run([sys.executable, "-m", "venv", str(venv)], f"create a virtualenv in {venv}")
            marker.write_text("created by the dbt-lambda-sync tests for a test tool; deletable\n")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        _run([*pip, "--disable-pip-version-check", *requirements], f"install into {venv}")
    if not path.exists():
        raise RuntimeError(f"installed {' '.join(requirements)} but {path} does not exist")
    return path


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"could not {what} (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (it can be taken before it is bound: retry on failure)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """In the child before exec: on Linux, get SIGTERM when the parent dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass  # best effort: atexit still covers ordinary exits


def stop_group(process: subprocess.Popen[bytes], *, timeout: float = 10) -> None:
    """SIGTERM ``process``'s group (started with ``start_new_session``), SIGKILL if it lingers."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
