"""``python -m bench.capture --warehouse duckdb|postgres --rows N --repeat R --out FILE``

Change capture, side by side in one process and one warehouse connection (dbt's adapter, the
package's real macros through Warehouse.call_macro):

1. snapshot state: the model at version 0, compute_plan, apply_operations (the snapshot then holds
   every row as delivered);
2. R times, interleaved: build the model at version 1 (``create table as`` the model's SQL, what
   dbt's table materialization runs), then the post-hook's work (``compute_plan``, exactly the
   macro capture_changes calls), then a naive diff in Python (pull model and snapshot, compare in
   memory).

Every repetition checks the plan's counts against what the edit of version 1 made
(``expected_plan``). On ``snowflake`` the step starts a fakesnow server (tests/support/fakesnow.py)
and talks to it through dbt-snowflake: a correctness figure, since its times are those of DuckDB
behind an emulator, not Snowflake's.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from bench.project import MODEL, SYNC, BenchProject

SQL = """
select
  i as id,
  'customer ' || cast(i as varchar)
    || case when {v} = 1 and i % 20 = 1 then ' (changed)' else '' end as name,
  {created_at} as created_at,
  cast(i as double precision) / 7 as score,
  cast((i % 100000) / 100.0 as numeric(12, 2)) as amount,
  i % 3 = 0 as active
from {rows}
{where}
"""
# What differs in Snowflake's SQL: no generate_series (and seq4() may leave gaps, hence
# row_number), no interval arithmetic on timestamps.
ROWS = {
    "snowflake": "(select row_number() over (order by seq4()) as i"
    " from table(generator(rowcount => {top}))) as t",
}
CREATED_AT = {"snowflake": "dateadd(second, i, timestamp '2024-01-01 00:00:00')"}


def model_sql(warehouse: str, n: int, version: int) -> str:
    top = n + (n // 100 if version == 1 else 0)
    return SQL.format(
        v=version,
        created_at=CREATED_AT.get(
            warehouse, "timestamp '2024-01-01 00:00:00' + i * interval '1 second'"
        ),
        rows=ROWS.get(warehouse, "generate_series(1, {top}) as t(i)").format(top=top),
        where="where i % 100 <> 0" if version == 1 else "",
    )


def expected_plan(n: int) -> dict[str, int]:
    """The plan version 1 must give against a snapshot of version 0 (both of ``n`` rows)."""
    top = n + n // 100
    return {
        "added": (top - n) - (top // 100 - n // 100),  # ids past n, less the removed multiples
        "changed": (n + 19) // 20,  # i % 20 = 1 within 1..n (never a multiple of 100)
        "removed": n // 100,
    }


def build(wh, relation, n: int, version: int) -> float:
    started = time.perf_counter()
    with wh.transaction():
        wh.execute(f"drop table if exists {relation}")
        wh.execute(f"create table {relation} as {model_sql(wh.adapter_type, n, version)}")
    return time.perf_counter() - started


def compute_plan(wh, relation) -> float:
    started = time.perf_counter()
    with wh.transaction():
        wh.call_macro(
            "compute_plan",
            sync_name=SYNC,
            model_name=MODEL,
            relation=relation,
            primary_key="id",
            columns=None,
            invocation="bench",
        )
    return time.perf_counter() - started


def _canon(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def naive_diff(wh, relation, snapshots) -> tuple[float, dict[str, int]]:
    """Pull everything into Python and compare in memory: what a Python-side diff would do."""
    started = time.perf_counter()
    cur = wh._run(f"select * from {relation}", [])
    names = [d[0] for d in cur.description]
    model_rows = cur.fetchall()
    cur = wh._run(f"select primary_key, row_json from {snapshots} where sync_name = ?", [SYNC])
    snapshot = dict(cur.fetchall())
    counts = {"added": 0, "changed": 0, "removed": 0}
    seen = set()
    for row in model_rows:
        key = str(row[0])
        seen.add(key)
        previous = snapshot.get(key)
        if previous is None:
            counts["added"] += 1
        elif json.loads(previous) != {
            n.lower(): _canon(v) for n, v in zip(names, row, strict=True)
        }:
            counts["changed"] += 1
    counts["removed"] = sum(1 for key in snapshot if key not in seen)
    return time.perf_counter() - started, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", default="duckdb")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", default="/tmp/dls-bench")
    parser.add_argument("--out", required=True)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.warehouse != "snowflake":
        measure(args, fakesnow=None)
        return
    from tests.support.fakesnow import FakesnowServer

    with FakesnowServer() as server:  # stopped (and its in-memory database gone) at the end
        measure(args, fakesnow=server)


def measure(args: argparse.Namespace, *, fakesnow: Any) -> None:
    from dbt_lambda_sync.warehouse import ProjectArgs, Warehouse

    project = BenchProject(
        Path(args.root) / f"capture_{args.warehouse}", args.warehouse, {}, fakesnow=fakesnow
    )
    os.environ.update(project.env)
    t0 = time.perf_counter()
    wh = Warehouse.open(
        ProjectArgs(
            project_dir=str(project.root), profiles_dir=str(project.root), target=args.warehouse
        )
    )
    open_seconds = time.perf_counter() - t0
    expected = expected_plan(args.rows)
    result: dict = {
        "warehouse": args.warehouse,
        "rows": args.rows,
        "open_seconds": open_seconds,
        "expected_plan": expected,
    }
    if fakesnow is not None:
        result["emulated"] = "fakesnow: DuckDB behind Snowflake's protocol; not Snowflake's speed"
    try:
        wh.call_macro("create_sync_tables")
        if args.warehouse != "duckdb":
            wh.execute(f"create schema if not exists {project.model_schema}")
        relation = wh.model_relation(None, project.model_schema, MODEL)
        snapshots = wh.relation("lambda_sync_snapshots")
        # --- the snapshot: version 0 delivered in full
        t = time.perf_counter()
        build(wh, relation, args.rows, 0)
        first_plan = compute_plan(wh, relation)
        with wh.transaction():
            wh.call_macro(
                "apply_operations",
                sync_name=SYNC,
                operations=["added", "changed", "removed"],
                run_id="bench-setup",
                now="2026-01-01 00:00:00.000000",
            )
        result["setup_seconds"] = time.perf_counter() - t
        result["first_plan_seconds"] = first_plan  # every row 'added', empty snapshot
        reps = []
        for _ in range(args.repeat):
            b = build(wh, relation, args.rows, 1)
            h = compute_plan(wh, relation)
            counts = dict(
                wh.fetch_all(
                    f"select operation, count(*) from {wh.relation('lambda_sync_plans')}"
                    " where sync_name = ? group by operation",
                    [SYNC],
                )
            )
            nv, naive_counts = naive_diff(wh, relation, snapshots)
            reps.append(
                {
                    "build_seconds": b,
                    "hook_seconds": h,
                    "naive_seconds": nv,
                    "plan": {k: int(v) for k, v in sorted(counts.items())},
                    "naive_counts": naive_counts,
                }
            )
            reps[-1]["plan_ok"] = reps[-1]["plan"] == expected
            print(json.dumps(reps[-1]), flush=True)
            Path(args.out).write_text(json.dumps({**result, "reps": reps}, indent=2))  # partial
        result["reps"] = reps
        result["plan_ok"] = all(r["plan_ok"] for r in reps)
        med = lambda k: statistics.median(r[k] for r in reps)  # noqa: E731
        result["build_seconds"] = med("build_seconds")
        result["hook_seconds"] = med("hook_seconds")
        result["naive_seconds"] = med("naive_seconds")
        result["hook_over_build"] = statistics.median(
            r["hook_seconds"] / r["build_seconds"] for r in reps
        )
        result["naive_over_hook"] = statistics.median(
            r["naive_seconds"] / r["hook_seconds"] for r in reps
        )
    finally:
        wh.close()
        if not args.keep:
            project.drop()
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
