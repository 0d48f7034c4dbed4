"""``python -m bench.memory --out FILE [--warehouse postgres] [--rows 100000,1000000]``

Peak RSS of the real CLI process (``dbt-lambda-sync run --full-refresh --output json``, batch
1000, concurrency 8, fast endpoint) for each number of pending rows, polled with psutil
(VmHWM from /proc, the kernel's own high-water mark). Also the fixed start-up cost of the CLI:
its wall time minus RunSummary.duration_seconds (parse + adapter load + client), each run
after a `dbt parse` with the CLI's flags, as after the user's `dbt build`.
PostgreSQL by default: with DuckDB the warehouse engine lives inside the runner process and its
buffers would be counted as the runner's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import psutil

from bench.capture import model_sql
from bench.project import BenchProject
from tests.support.scripted_endpoint import EndpointProcess


def hwm_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def dbt_parse(project: BenchProject) -> None:
    command = project.command("dbt", "parse")  # the CLI's own flags
    subprocess.run(command, cwd=project.root, env=project.env, capture_output=True, check=True)


def measure(project: BenchProject, rows: int) -> dict:
    project.query("drop table if exists {model}")
    if project.warehouse == "postgres":
        project.query(f"create schema if not exists {project.schema}")
    project.query(f"create table {{model}} as {model_sql(rows, 0)}")
    endpoint = EndpointProcess()
    project.set_sync(endpoint_url=endpoint.url, batch_size=1000, concurrency=8)
    # The table is made without dbt: parse as the user's `dbt build` would have (same flags), so
    # that the start-up measured is the one after a build (dbt's partial parse, nothing changed),
    # not a full parse of a project no dbt command has seen, nor a re-parse of the edited YAML.
    dbt_parse(project)
    started = time.perf_counter()
    proc = subprocess.Popen(
        project.command("dbt-lambda-sync", "run", "--full-refresh", "--output", "json"),
        cwd=project.root,
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss, hwm_bytes(proc.pid))
        except psutil.Error:
            break
        time.sleep(0.05)
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    stats = endpoint.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"runner exited {proc.returncode}\n{out[-3000:]}\n{err[-3000:]}")
    run = json.loads(out)["runs"][0]
    return {
        "rows": rows,
        "peak_rss_mb": peak / 2**20,
        "wall_seconds": wall,
        "runner_seconds": run["duration_seconds"],
        "startup_seconds": wall - run["duration_seconds"],
        "delivered": run["delivered_rows"],
        "invocations": run["invocations"],
        "endpoint_peak_in_flight": stats["peak_in_flight"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--warehouse", default="postgres")
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--root", default="/tmp/dls-bench")
    args = parser.parse_args()
    project = BenchProject(Path(args.root) / f"memory_{args.warehouse}", args.warehouse, {})
    result: dict = {"warehouse": args.warehouse, "batch_size": 1000, "runs": []}
    try:
        for rows in (int(r) for r in args.rows.split(",")):
            result["runs"].append(measure(project, rows))
            print(json.dumps(result["runs"][-1]), flush=True)
        small, big = result["runs"][0], result["runs"][-1]
        result["growth"] = big["peak_rss_mb"] / small["peak_rss_mb"]
        result["peak_rss_mb"] = big["peak_rss_mb"]
    finally:
        Path(args.out).write_text(json.dumps(result, indent=2))
        project.drop()


if __name__ == "__main__":
    main()
