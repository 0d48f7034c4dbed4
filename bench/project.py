"""A throw-away dbt project for the benchmarks (tests/support/dbt_project.py's builder).

One model, ``bench_rows``, generated in the warehouse (no seed to load): ``bench_n`` rows of six
mixed columns (bigint key, text, timestamp, double, decimal, boolean). ``bench_version=1`` mutates
it relative to version 0: 5% of rows changed (``id % 20 = 1``), 1% removed (``id % 100 = 0``),
1% added (ids past ``bench_n``). ``bench_hook=0`` builds it without the post-hook.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.dbt_project import PROFILES_YML, DbtProject

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
profile: dbt_lambda_sync_integration_tests  # integration_tests/profiles.yml
model-paths: ["models"]
models:
  +post-hook: "{{ dbt_lambda_sync.capture_changes() if (var('bench_hook', 1) | int) == 1 else '' }}"
  dls_bench:
    +materialized: table
vars:
  lambda_sync_schema: "{{ env_var('DBT_LAMBDA_SYNC_SCHEMA') }}"
"""


class BenchProject(DbtProject):
    """The benchmark project: one generated model, ``bench_rows``, with one sync."""

    def __init__(self, root: Path, warehouse: str, sync: dict[str, Any], *, fakesnow: Any = None):
        super().__init__(
            root,
            warehouse,
            files={"dbt_project.yml": DBT_PROJECT, "profiles.yml": PROFILES_YML.read_text()},
            schema_prefix="bench",
            env={
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "DO_NOT_TRACK": "1",
            },
            fakesnow=fakesnow,
        )
        (root / "models" / f"{MODEL}.sql").write_text(MODEL_SQL)
        self.set_sync(**sync)

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
        self.declare(MODEL, config)

    # --- commands -----------------------------------------------------------------------------

    def _cmd(self, executable: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run_command(executable, args, expect=0 if check else None, timeout=1800)

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

    @property
    def model_relation(self) -> str:
        return f"{self.model_schema}.{MODEL}"

    def query(self, sql: str) -> list[tuple]:
        sql = sql.replace("{schema}", self.sync_schema).replace("{model}", self.model_relation)
        return self.sql(sql)

    def plan_counts(self) -> dict[str, int]:
        rows = self.query(
            "select operation, count(*) from {schema}.lambda_sync_plans"
            f" where sync_name = '{SYNC}' group by operation"
        )
        return {op: int(c) for op, c in rows}

    def drop(self) -> None:
        super().drop()
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
