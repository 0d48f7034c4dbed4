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
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.support.dbt_project import (
    PROFILES_YML,
    REPO,
    DbtProject,
    postgres_available,
)
from tests.support.ministack import Ministack

HANDLER = (Path(__file__).parent / "handlers" / "recorder.py").read_text()
CUSTOMERS_SQL = "select * from {{ ref('customers_seed') }}"


class SyncProject(DbtProject):
    """The integration_tests dbt project in a temporary folder, with a recorder in ministack."""

    def __init__(
        self, root: Path, warehouse: str, ministack: Ministack, *, fakesnow: Any = None
    ) -> None:
        super().__init__(
            root,
            warehouse,
            fakesnow=fakesnow,
            files={
                "dbt_project.yml": (REPO / "integration_tests" / "dbt_project.yml").read_text(),
                "profiles.yml": PROFILES_YML.read_text(),
            },
        )
        (root / "seeds").mkdir()
        self.ministack = ministack
        self.record_file = root / "events.jsonl"
        self.rules_file = root / "rules.json"
        self.function = f"fn-{uuid.uuid4().hex[:10]}"

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
        self.declare(name, syncs)

    def build_customers(
        self, rows: Sequence[dict[str, Any]], *, syncs: Any = None, **sync: Any
    ) -> None:
        """Deploy the recorder, seed ``customers_seed`` with ``rows`` and build ``customers``
        from it, declaring ``syncs`` (default: one sync, ``sync_config(**sync)``)."""
        self.deploy()
        self.seed("customers_seed", rows)
        self.model("customers", CUSTOMERS_SQL, self.sync_config(**sync) if syncs is None else syncs)
        self.build()

    def rename_sync(self, new: str, *, old: str = "crm_customers", **sync: Any) -> None:
        """Declare ``customers``' only sync as ``new``, adopting ``old``'s state, and build."""
        config = self.sync_config(name=new, renamed_from=old, **sync)
        self.model("customers", CUSTOMERS_SQL, config)
        self.build()

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

    def dbt(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess:
        return self.run_command("dbt", args, expect=expect)

    def build(self) -> None:
        self.dbt("build")

    def cli(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess:
        return self.run_command("dbt-lambda-sync", args, expect=expect)

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
        return self.sql(sql, read_only=True)

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


WAREHOUSES = [
    "duckdb",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("snowflake", marks=pytest.mark.snowflake),
]


@pytest.fixture(params=WAREHOUSES)
def project(
    request: pytest.FixtureRequest, tmp_path: Path, ministack: Ministack
) -> Iterator[SyncProject]:
    if request.param == "postgres":
        reason = postgres_available()
        if reason:
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI=true but {reason}")
            pytest.skip(reason)
    fakesnow = request.getfixturevalue("fakesnow") if request.param == "snowflake" else None
    sync_project = SyncProject(tmp_path / "project", request.param, ministack, fakesnow=fakesnow)
    try:
        yield sync_project
    finally:
        sync_project.drop()


def execute(project: SyncProject, sql: str) -> None:
    """Writes with a plain driver, for tests that stage a state no runner would leave."""
    project.sql(sql.replace("{schema}", project.sync_schema))
