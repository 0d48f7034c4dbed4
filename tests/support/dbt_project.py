"""A throw-away dbt project that uses this repository as a local package.

The one builder behind the end-to-end tests (``tests/integration/conftest.py``'s ``SyncProject``),
the benchmarks (``bench/project.py``) and the demo (``examples/demo/run_demo.py``): a folder with
``dbt_project.yml``, ``profiles.yml`` and ``packages.yml`` (``local:`` this repository), the
package linked into ``dbt_packages/`` the way ``dbt deps`` would (no dbt start-up per project),
an environment with dummy AWS keys and a schema of its own, and the ``dbt`` and
``dbt-lambda-sync`` commands of this virtualenv run against it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv's bin/, not resolved
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
# The profiles of integration_tests/: DuckDB and PostgreSQL, paths and schemas from the environment.
PROFILES_YML = REPO / "integration_tests" / "profiles.yml"


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg2

        psycopg2.connect(connect_timeout=3, **PG).close()
        return None
    except Exception as exc:  # any failure to connect means "not here"
        return f"PostgreSQL not reachable at 127.0.0.1:5432 ({str(exc).strip()[:120]})"


class CommandFailed(AssertionError):
    """A ``dbt`` or ``dbt-lambda-sync`` command exited with another code than expected."""


class DbtProject:
    """A dbt project in ``root`` (made empty first) on ``warehouse`` (a profiles target).

    ``files`` maps file names to their text (``dbt_project.yml``, ``profiles.yml`` and the like);
    ``env`` is the environment the commands get (dummy AWS keys and the schema variables
    unless overridden). ``target`` is the ``--target`` of every command: by default
    ``warehouse``; None gives no ``--target`` (the profile's default).
    """

    def __init__(
        self,
        root: Path,
        warehouse: str,
        *,
        files: Mapping[str, str],
        schema_prefix: str = "it",
        env: Mapping[str, str] | None = None,
        target: str | None = "",
        fakesnow: Any = None,
    ) -> None:
        self.root = root
        self.fakesnow = fakesnow
        self.warehouse = warehouse
        self.target = warehouse if target == "" else target
        self.schema = f"{schema_prefix}_{uuid.uuid4().hex[:10]}"
        self.sync_schema = f"{self.schema}_lambda_sync"
        if root.exists():
            shutil.rmtree(root)
        (root / "models").mkdir(parents=True)
        (root / "dbt_packages").mkdir()
        (root / "dbt_packages" / "dbt_lambda_sync").symlink_to(REPO)
        (root / "packages.yml").write_text(local_package())
        for name, text in files.items():
            (root / name).write_text(text)
        self.env = {
            **os.environ,
            "DBT_DUCKDB_PATH": str(root / "warehouse.duckdb"),
            "DBT_PG_SCHEMA": self.schema,
            "DBT_LAMBDA_SYNC_SCHEMA": self.sync_schema,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            **(env or {}),
        }
        if warehouse == "snowflake":
            if fakesnow is None:
                raise ValueError("a Snowflake project needs a started FakesnowServer (fakesnow=)")
            self.env.update(fakesnow.profile_env(schema=self.schema))
        self.env.pop("DBT_PROFILES_DIR", None)
        self._models: dict[str, dict[str, Any]] = {}

    # --- models ---------------------------------------------------------------------------------

    def declare(self, name: str, syncs: Any) -> None:
        """Declare model ``name``'s syncs (``meta.lambda_sync``) in ``models/schema.yml``."""
        self._models[name] = {"name": name, "config": {"meta": {"lambda_sync": syncs}}}
        (self.root / "models" / "schema.yml").write_text(
            yaml.safe_dump({"version": 2, "models": list(self._models.values())}, sort_keys=False)
        )

    # --- commands -------------------------------------------------------------------------------

    def command(self, executable: str, *args: str) -> list[str]:
        """A ``dbt`` or ``dbt-lambda-sync`` command line for this project and target."""
        target = ["--target", self.target] if self.target else []
        return [
            str(BIN / executable),
            *args,
            "--project-dir",
            str(self.root),
            "--profiles-dir",
            str(self.root),
            *target,
        ]

    def run_command(
        self,
        executable: str,
        args: Sequence[str],
        *,
        expect: int | Sequence[int] | None = 0,
        timeout: float = 600,
        merge_stderr: bool = False,
    ) -> subprocess.CompletedProcess:
        """Run ``executable ARGS`` here; raise ``CommandFailed`` unless it exits ``expect``."""
        result = subprocess.run(
            self.command(executable, *args),
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            text=True,
            timeout=timeout,
        )
        expected = (expect,) if isinstance(expect, int) else expect
        if expected is not None and result.returncode not in expected:
            raise CommandFailed(
                f"{executable} {' '.join(args)} exited {result.returncode}, expected"
                f" {' or '.join(map(str, expected))}\n--- stdout\n{result.stdout[-6000:]}"
                f"\n--- stderr\n{(result.stderr or '')[-6000:]}"
            )
        return result

    # --- direct access to the warehouse (only while no dbt process holds a DuckDB file) ---------

    @property
    def model_schema(self) -> str:
        """The schema dbt builds the models in."""
        return "main" if self.warehouse == "duckdb" else self.schema

    def connect(self, *, read_only: bool = False) -> Any:
        """A plain driver connection to the project's warehouse."""
        if self.warehouse == "duckdb":
            import duckdb

            return duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=read_only)
        if self.warehouse == "snowflake":
            return self.fakesnow.connect()
        import psycopg2

        return psycopg2.connect(**PG)

    def sql(self, statement: str, *, read_only: bool = False) -> list[tuple]:
        """Run one statement with a plain driver (committed); its rows, if it returns any."""
        con = self.connect(read_only=read_only)
        try:
            cursor = con.cursor()
            cursor.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
            con.commit()
            return rows
        finally:
            con.close()

    def drop(self) -> None:
        """Drop the project's schemas (a DuckDB file goes with the folder)."""
        if self.warehouse in ("postgres", "snowflake"):
            self.sql(f"drop schema if exists {self.schema} cascade")
            self.sql(f"drop schema if exists {self.sync_schema} cascade")


def local_package() -> str:
    """``packages.yml`` installing this repository as a local package."""
    return f"packages:\n  - local: {REPO}\n"
