"""A throw-away dbt project for the benchmarks (same shape as tests/integration/conftest.py).

One model, ``bench_rows``, generated in the warehouse (no seed to load): ``bench_n`` rows of six
mixed columns (bigint key, text, timestamp, double, decimal, boolean). ``bench_version=1`` mutates
it relative to version 0: 5% of rows changed (``id % 20 = 1``), 1% removed (``id % 100 = 0``),
1% added (ids past ``bench_n``). ``bench_hook=0`` builds it without the post-hook.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
SYNC = "bench_sync"
MODEL = "bench_rows"

MODEL_SQL = """\
{% set v = var('bench_version', 0) | int %}
{% set n = var('bench_n', 1000) | int %}
select
  i as id,
  'customer ' || cast(i as varchar)
    || case when {{ v }} = 1 and i % 20 = 1 then ' (changed)' else '' end as name,
  timestamp '2024-01-01 00:00:00' + i * interval '1 second' as created_at,
  cast(i as double precision) / 7 as score,
  cast((i % 100000) / 100.0 as numeric(12, 2)) as amount,
  i % 3 = 0 as active
from generate_series(1, {{ n + ((n // 100) if v == 1 else 0) }}) as t(i)
{% if v == 1 %}where i % 100 <> 0{% endif %}
"""

DBT_PROJECT = """\
name: dls_bench
version: "0.1.0"
config-version: 2
profile: dls_bench
model-paths: ["models"]
models:
  +post-hook: "{{ dbt_lambda_sync.capture_changes() if (var('bench_hook', 1) | int) == 1 else '' }}"
  dls_bench:
    +materialized: table
vars:
  lambda_sync_schema: "{{ env_var('DBT_LAMBDA_SYNC_SCHEMA') }}"
"""

PROFILES = """\
dls_bench:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{ env_var('DBT_DUCKDB_PATH') }}"
      threads: 4
    postgres:
      type: postgres
      host: 127.0.0.1
      port: 5432
      user: postgres
      password: ""
      dbname: test
      schema: "{{ env_var('DBT_PG_SCHEMA') }}"
      threads: 4
"""


class BenchProject:
    def __init__(self, root: Path, warehouse: str, sync: dict[str, Any]):
        self.root = root
        self.warehouse = warehouse
        self.schema = f"bench_{uuid.uuid4().hex[:8]}"
        self.sync_schema = f"{self.schema}_lambda_sync"
        if root.exists():
            shutil.rmtree(root)
        (root / "models").mkdir(parents=True)
        (root / "dbt_packages").mkdir()
        (root / "dbt_packages" / "dbt_lambda_sync").symlink_to(REPO)
        (root / "packages.yml").write_text(f"packages:\n  - local: {REPO}\n")
        (root / "dbt_project.yml").write_text(DBT_PROJECT)
        (root / "profiles.yml").write_text(PROFILES)
        (root / "models" / f"{MODEL}.sql").write_text(MODEL_SQL)
        self.set_sync(**sync)
        self.env = {
            **os.environ,
            "DBT_DUCKDB_PATH": str(root / "warehouse.duckdb"),
            "DBT_PG_SCHEMA": self.schema,
            "DBT_LAMBDA_SYNC_SCHEMA": self.sync_schema,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
        }
        self.env.pop("DBT_PROFILES_DIR", None)

    def set_sync(self, **sync: Any) -> None:
        config = {
            "name": SYNC,
            "function": "bench-fn",
            "primary_key": "id",
            "triggers": ["added", "changed", "removed"],
            "region": "us-east-1",
            "endpoint_url": "http://127.0.0.1:1",
            "retries": {"mode": "immediate", "attempts": 0},
        }
        config.update(sync)
        schema = {
            "version": 2,
            "models": [{"name": MODEL, "config": {"meta": {"lambda_sync": config}}}],
        }
        (self.root / "models" / "schema.yml").write_text(yaml.safe_dump(schema, sort_keys=False))

    # --- commands -----------------------------------------------------------------------------

    def command(self, executable: str, *args: str) -> list[str]:
        """A dbt or dbt-lambda-sync command line for this project and target."""
        return [
            str(BIN / executable),
            *args,
            "--project-dir",
            str(self.root),
            "--profiles-dir",
            str(self.root),
            "--target",
            self.warehouse,
        ]

    def _cmd(self, executable: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = self.command(executable, *args)
        result = subprocess.run(
            cmd, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=1800
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout[-4000:]}\n"
                f"{result.stderr[-4000:]}"
            )
        return result

    def dbt_run(self, *, n: int, version: int = 0, hook: bool = True) -> dict[str, Any]:
        """`dbt run -s bench_rows`; returns timings from run_results.json."""
        vars_ = json.dumps({"bench_n": n, "bench_version": version, "bench_hook": int(hook)})
        started = time.perf_counter()
        self._cmd("dbt", "run", "-s", MODEL, "--vars", vars_)
        wall = time.perf_counter() - started
        results = json.loads((self.root / "target" / "run_results.json").read_text())
        node = results["results"][0]
        timing = {t["name"]: t for t in node["timing"]}
        execute = timing["execute"]
        return {
            "wall_seconds": wall,
            "node_seconds": node["execution_time"],
            "execute_seconds": _seconds(execute["started_at"], execute["completed_at"]),
        }

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self._cmd("dbt-lambda-sync", *args, check=check)

    # --- direct access (only while no dbt process holds the database) --------------------------

    def connect(self) -> Any:
        if self.warehouse == "duckdb":
            import duckdb

            return duckdb.connect(str(self.root / "warehouse.duckdb"))
        import psycopg2

        return psycopg2.connect(**PG)

    @property
    def model_relation(self) -> str:
        return f"{'main' if self.warehouse == 'duckdb' else self.schema}.{MODEL}"

    def query(self, sql: str) -> list[tuple]:
        sql = sql.replace("{schema}", self.sync_schema).replace("{model}", self.model_relation)
        con = self.connect()
        try:
            cur = con.cursor()
            cur.execute(sql)
            rows = cur.fetchall() if cur.description else []
            con.commit()
            return rows
        finally:
            con.close()

    def plan_counts(self) -> dict[str, int]:
        rows = self.query(
            "select operation, count(*) from {schema}.lambda_sync_plans"
            f" where sync_name = '{SYNC}' group by operation"
        )
        return {op: int(c) for op, c in rows}

    def drop(self) -> None:
        if self.warehouse == "postgres":
            import psycopg2

            with psycopg2.connect(**PG) as con, con.cursor() as cur:
                cur.execute(f"drop schema if exists {self.schema} cascade")
                cur.execute(f"drop schema if exists {self.sync_schema} cascade")
        shutil.rmtree(self.root, ignore_errors=True)


def apply_all(project: BenchProject) -> None:
    """Moves the snapshot past the whole stored plan, through the package's own macro (as a
    run that delivered everything would), in a subprocess so dbt's globals stay out of ours."""
    code = f"""
import os, sys
from dbt_lambda_sync.warehouse import ProjectArgs, Warehouse
args = ProjectArgs(project_dir={str(project.root)!r}, profiles_dir={str(project.root)!r},
                   target={project.warehouse!r})
with Warehouse.open(args) as wh:
    with wh.transaction():
        wh.call_macro('apply_operations', sync_name={SYNC!r},
                      operations=['added', 'changed', 'removed'], run_id='bench-setup',
                      now='2026-01-01 00:00:00.000000')
        wh.execute("update " + str(wh.relation('lambda_sync_state'))
                   + " set initialized = true where sync_name = ?", [{SYNC!r}])
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"apply_all failed\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def _seconds(start: str, end: str) -> float:
    from datetime import datetime

    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    return (datetime.strptime(end, fmt) - datetime.strptime(start, fmt)).total_seconds()
