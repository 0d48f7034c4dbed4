"""Snowflake for tests: fakesnow's Snowflake-protocol server, in a process of its own.

fakesnow (DuckDB and sqlglot behind Snowflake's REST protocol) lives in a virtualenv of its
own, never in the project's: ``$FAKESNOW_VENV`` if set, else ``<repo>/.venv-fakesnow``, created
on first use. The real dbt-snowflake adapter in the project's virtualenv talks to it over HTTP
(the ``snowflake`` target of ``integration_tests/profiles.yml``; ``profile_env()`` fills it in).

    with FakesnowServer() as server:        # free loopback port, waits until ready
        env = server.profile_env()          # DBT_SNOWFLAKE_PORT, ...

The server is started by ``fakesnow_server.py`` beside this file, which first applies the
workarounds for the gaps of fakesnow a dbt project meets (each named there after the behaviour
it covers). Things to know about fakesnow (0.12.1), checked by experiment:

- Every login shares one in-memory database for the server's lifetime; the profile's database is
  created at login. Give each test a schema of its own, or restart the server to reset.
- It needs ``snowflake-connector-python`` but does not depend on it; 5.x removed a module it
  imports, hence the ``<5`` pin below.
- Temporary tables are private to their session, as on Snowflake. DML inside ``begin`` ...
  ``commit``/``rollback`` behaves; DDL does not commit the open transaction (Snowflake's does).
- Two sessions writing the same row in open transactions: the second write fails at once
  (DuckDB's optimistic concurrency) where Snowflake would wait for the first to commit.
- A ``varchar(n)`` column created inside a transaction still fails (see workaround 6).
- ``hash()`` is DuckDB's (compare hashes inside SQL only; a result above 2^63 cannot be sent
  back), ``md5_number_lower64`` and ``object_keys`` fail, ``typeof`` always says JSON, views are in
  ``information_schema.views`` but not ``.tables``, and there is no GRANT, ``alter session``,
  scripting or ``swap with``: SQL that passes here is not proven on Snowflake.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.service import Service
from tests.support.tool_venv import die_with_parent, ensure_tool, free_port, stop_group

# The versions the workarounds in fakesnow_server.py wrap; bump deliberately.
FAKESNOW_REQUIREMENTS = ("fakesnow[server]==0.12.1", "snowflake-connector-python>=4,<5")
REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = Path(__file__).with_name("fakesnow_server.py")
DATABASE = "DBT_LAMBDA_SYNC_IT"


def fakesnow_venv() -> Path:
    """Where fakesnow's virtualenv is (or will be): $FAKESNOW_VENV or <repo>/.venv-fakesnow."""
    configured = os.environ.get("FAKESNOW_VENV")
    return Path(configured).expanduser() if configured else REPO_ROOT / ".venv-fakesnow"


class FakesnowServer(Service):
    """One fakesnow server on a free 127.0.0.1 port; the constructor does no I/O.

    ``workarounds=False`` starts stock fakesnow (to show a gap the workarounds cover).
    """

    def __init__(
        self,
        *,
        venv: Path | None = None,
        workarounds: bool = True,
        startup_timeout: float = 60.0,
        say: Callable[[str], object] = print,
    ) -> None:
        self.venv = venv or fakesnow_venv()
        self.workarounds = workarounds
        self.startup_timeout = startup_timeout
        self.say = say
        self.port: int | None = None
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    def start(self) -> FakesnowServer:
        if self._process is not None:
            return self
        ensure_tool(self.venv, FAKESNOW_REQUIREMENTS, "fakesnow", say=self.say)
        last_error = ""
        for _ in range(3):  # the free port can be taken between probing and binding: retry
            try:
                self._launch()
                return self
            except RuntimeError as exc:
                last_error = str(exc)
                self.stop()
        raise RuntimeError(f"fakesnow did not start: {last_error}")

    def _launch(self) -> None:
        self.port = free_port()
        fd, log_name = tempfile.mkstemp(prefix=f"fakesnow-{self.port}-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log_name)
        self._log_file = open(self.log_path, "wb")
        # -c with runpy, not the script's path: that would put this folder, whose fakesnow.py is
        # this launcher, first on the server's sys.path, shadowing the real fakesnow.
        run = f"import runpy; runpy.run_path({str(SERVER_SCRIPT)!r}, run_name='__main__')"
        args = ["--host", "127.0.0.1", "--port", str(self.port)]
        if not self.workarounds:
            args.append("--no-workarounds")
        self._process = subprocess.Popen(
            [str(self.venv / "bin" / "python"), "-c", run, *args],
            cwd=tempfile.gettempdir(),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        atexit.register(self.stop)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"fakesnow exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            try:
                urllib.request.urlopen(f"{self.url}/session", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # any HTTP answer (a GET on a POST route is 405) means it is serving
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise RuntimeError(
            f"fakesnow not ready after {self.startup_timeout:.0f}s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None:
            stop_group(process)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakesnowServer is not started")
        return f"http://127.0.0.1:{self.port}"

    def profile_env(self, *, schema: str, database: str = DATABASE) -> dict[str, str]:
        """The variables the ``snowflake`` target of integration_tests/profiles.yml reads."""
        if self.port is None:
            raise RuntimeError("FakesnowServer is not started")
        return {
            "DBT_SNOWFLAKE_PORT": str(self.port),
            "DBT_SNOWFLAKE_DATABASE": database,
            "DBT_SNOWFLAKE_SCHEMA": schema,
        }

    def connect(
        self, *, database: str = DATABASE, schema: str | None = None, timeout: int = 30
    ) -> Any:
        """A plain Snowflake connector connection (fakesnow creates the database at login).

        The connector comes with dbt-snowflake in the project's virtualenv (the dev extra).
        """
        import snowflake.connector

        if self.port is None:
            raise RuntimeError("FakesnowServer is not started")
        return snowflake.connector.connect(
            account="fakesnow",
            user="fake",
            password="snow",
            host="127.0.0.1",
            port=self.port,
            protocol="http",
            database=database,
            schema=schema,
            login_timeout=timeout,
            network_timeout=timeout,
        )

    def log_tail(self, lines: int = 60) -> str:
        """The end of the server's log (fakesnow logs every failed statement); gone after stop()."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
