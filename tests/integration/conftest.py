"""Fixtures for end-to-end scenarios: a throw-away dbt project on DuckDB or PostgreSQL, real dbt,
the real CLI, and a real Python handler in ministack that records what it receives.

The same scenarios run on both warehouses through the parametrized ``project`` fixture. Without a
reachable PostgreSQL server the PostgreSQL cases are skipped with the reason shown, except under
CI=true, where a missing server fails them.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.lambda_env import Ministack

REPO = Path(__file__).resolve().parents[2]
HANDLER = (Path(__file__).parent / "handlers" / "recorder.py").read_text()
BIN = Path(sys.executable).parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg2

        psycopg2.connect(connect_timeout=3, **PG).close()
        return None
    except Exception as exc:  # any failure to connect means "not here"
        return f"PostgreSQL not reachable at 127.0.0.1:5432 ({str(exc).strip()[:120]})"


class SyncProject:
    """A dbt project in a temporary folder that uses the package through a local install."""

    def __init__(self, root: Path, warehouse: str, ministack: Ministack):
        self.root = root
        self.warehouse = warehouse
        self.ministack = ministack
        self.schema = f"it_{uuid.uuid4().hex[:10]}"
        self.sync_schema = f"{self.schema}_lambda_sync"
        self.record_file = root / "events.jsonl"
        self.rules_file = root / "rules.json"
        self.function = f"fn-{uuid.uuid4().hex[:10]}"
        (root / "models").mkdir(parents=True)
        (root / "seeds").mkdir()
        (root / "dbt_packages").mkdir()
        # what `dbt deps` does for `local: ../`, without a dbt start-up per project
        (root / "dbt_packages" / "dbt_lambda_sync").symlink_to(REPO)
        (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
        (root / "dbt_project.yml").write_text(
            (REPO / "integration_tests" / "dbt_project.yml").read_text()
        )
        (root / "profiles.yml").write_text(
            (REPO / "integration_tests" / "profiles.yml").read_text()
        )
        self.env = {
            **os.environ,
            "DBT_DUCKDB_PATH": str(root / "warehouse.duckdb"),
            "DBT_PG_SCHEMA": self.schema,
            "DBT_LAMBDA_SYNC_SCHEMA": self.sync_schema,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        self.env.pop("DBT_PROFILES_DIR", None)

    # --- the function -------------------------------------------------------------------------

    def deploy(self, name: str | None = None, *, timeout: int = 30) -> str:
        return self.ministack.deploy(
            name or self.function,
            HANDLER,
            timeout=timeout,
            env={"RECORD_FILE": str(self.record_file), "RULES_FILE": str(self.rules_file)},
        )

    def rules(self, **rules: Any) -> None:
        self.rules_file.write_text(json.dumps(rules))

    def events(self) -> list[dict[str, Any]]:
        if not self.record_file.exists():
            return []
        return [json.loads(line) for line in self.record_file.read_text().splitlines() if line]

    def clear_events(self) -> None:
        self.record_file.unlink(missing_ok=True)

    def delivered(self, operation: str | None = None) -> list[dict[str, Any]]:
        return [
            row
            for event in self.events()
            if operation in (None, event["operation"])
            for row in event["rows"]
        ]

    # --- the dbt project ----------------------------------------------------------------------

    def seed(
        self, name: str, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None
    ) -> None:
        columns = list(columns or rows[0].keys())
        with open(self.root / "seeds" / f"{name}.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)

    def model(self, name: str, sql: str, syncs: Any, *, column_types: dict | None = None) -> None:
        (self.root / "models" / f"{name}.sql").write_text(sql)
        self._models = getattr(self, "_models", {})
        self._models[name] = {"name": name, "config": {"meta": {"lambda_sync": syncs}}}
        (self.root / "models" / "schema.yml").write_text(
            yaml.safe_dump({"version": 2, "models": list(self._models.values())}, sort_keys=False)
        )

    def sync_config(self, **overrides: Any) -> dict[str, Any]:
        config = {
            "name": "crm_customers",
            "function": self.function,
            "primary_key": "customer_id",
            "triggers": ["added", "changed", "removed"],
            "endpoint_url": self.ministack.endpoint_url,
            "region": "us-east-1",
            "retries": {"mode": "immediate", "attempts": 1},
        }
        config.update(overrides)
        return config

    def _command(
        self, executable: str, args: Sequence[str], expect: int | None
    ) -> subprocess.CompletedProcess:
        target = ["--target", self.warehouse]
        result = subprocess.run(
            [
                str(BIN / executable),
                *args,
                "--project-dir",
                str(self.root),
                "--profiles-dir",
                str(self.root),
                *target,
            ],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if expect is not None and result.returncode != expect:
            raise AssertionError(
                f"{executable} {' '.join(args)} exited {result.returncode}, expected {expect}\n"
                f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
            )
        return result

    def dbt(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess:
        return self._command("dbt", args, expect)

    def build(self) -> None:
        self.dbt("build")

    def cli(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess:
        return self._command("dbt-lambda-sync", args, expect)

    def plan(self) -> dict[str, dict[str, Any]]:
        out = self.cli("plan", "--output", "json").stdout
        return {s["name"]: s for s in json.loads(out)["syncs"]}

    def run(self, *args: str, expect: int | None = 0) -> dict[str, Any]:
        result = self.cli("run", "--output", "json", *args, expect=expect)
        return json.loads(result.stdout)

    # --- reading the package's tables ---------------------------------------------------------

    def query(self, sql: str) -> list[tuple]:
        """Reads with a plain driver after the CLI has exited (assertions only)."""
        sql = sql.replace("{schema}", self.sync_schema).replace("{model_schema}", self.model_schema)
        if self.warehouse == "duckdb":
            import duckdb

            with duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=True) as con:
                return con.execute(sql).fetchall()
        import psycopg2

        with psycopg2.connect(**PG) as con, con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    @property
    def model_schema(self) -> str:
        return "main" if self.warehouse == "duckdb" else self.schema

    def open_errors(self, sync: str = "crm_customers") -> dict[str, tuple]:
        rows = self.query(
            "select primary_key_value, operation, reason, attempts, resolved_run_id"
            f" from {{schema}}.lambda_sync_errors where sync_name = '{sync}'"
            " and resolved_at is null"
        )
        return {row[0]: row[1:] for row in rows}

    def snapshot(self, sync: str = "crm_customers") -> dict[str, dict[str, Any]]:
        rows = self.query(
            "select primary_key, row_json from {schema}.lambda_sync_snapshots"
            f" where sync_name = '{sync}'"
        )
        return {key: json.loads(row) for key, row in rows}

    def drop(self) -> None:
        if self.warehouse == "postgres":
            import psycopg2

            with psycopg2.connect(**PG) as con, con.cursor() as cur:
                cur.execute(f"drop schema if exists {self.schema} cascade")
                cur.execute(f"drop schema if exists {self.sync_schema} cascade")


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def project(
    request: pytest.FixtureRequest, tmp_path: Path, ministack: Ministack
) -> Iterator[SyncProject]:
    if request.param == "postgres":
        reason = postgres_available()
        if reason:
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI=true but {reason}")
            pytest.skip(reason)
    sync_project = SyncProject(tmp_path / "project", request.param, ministack)
    try:
        yield sync_project
    finally:
        sync_project.drop()


def execute(project: SyncProject, sql: str) -> None:
    """Writes with a plain driver, for tests that stage a state no runner would leave."""
    sql = sql.replace("{schema}", project.sync_schema)
    if project.warehouse == "duckdb":
        import duckdb

        with duckdb.connect(str(project.root / "warehouse.duckdb")) as con:
            con.execute(sql)
        return
    import psycopg2

    with psycopg2.connect(**PG) as con, con.cursor() as cur:
        cur.execute(sql)
