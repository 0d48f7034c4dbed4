"""``python -m bench.delivery --out FILE [--repeat R] [--profile]``: delivery and limits, in one
process that parses the project and opens the warehouse once (DuckDB).

For each (batch_size, rows): the plan is prepared outside the timing (reset_sync + compute_plan
stamped with the invocation in target/run_results.json, so the runner finds it fresh, as after
``dbt build``); then, side by side and R times: ``SyncRunner.run()`` against a fresh fast endpoint
process (RunSummary.duration_seconds: time inside the runner), and bench/baseline.py (a bare boto3
pool, same payloads, same concurrency) against another fresh endpoint process.
Limits: rate_limit 50/second over >10 s (arrivals counted at the endpoint), and a concurrency cap
of 4 with a 20 ms function (the endpoint's peak in flight).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.capture import build, compute_plan
from bench.project import MODEL, SYNC, BenchProject
from tests.support.scripted_endpoint import EndpointProcess

CONCURRENCY = 8
# (batch_size, rows, function seconds): the targets' fast endpoint (answers at once), and for
# context the same batch-100 run against a 20 ms function, where the client's CPU is not the limit
CONFIGS = [(100, 200_000, 0.0), (1, 20_000, 0.0), (100, 200_000, 0.02)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--root", default="/tmp/dls-bench")
    parser.add_argument("--profile", action="store_true", help="one runner run per config only")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()

    from dbt_lambda_sync.definitions import RateLimit
    from dbt_lambda_sync.project import Project
    from dbt_lambda_sync.runner import SyncRunner
    from dbt_lambda_sync.warehouse import ProjectArgs

    project = BenchProject(
        Path(args.root) / ("delivery_profile" if args.profile else "delivery"),
        "duckdb",
        {"batch_size": 100, "concurrency": CONCURRENCY},
    )
    os.environ.update(project.env)
    pargs = ProjectArgs(
        project_dir=str(project.root), profiles_dir=str(project.root), target="duckdb"
    )
    t0 = time.perf_counter()
    dbt_project = Project.load(pargs)
    (defn,) = dbt_project.definitions()
    wh = dbt_project.open_warehouse()
    result: dict = {"open_seconds": time.perf_counter() - t0, "configs": []}
    target = project.root / "target"
    target.mkdir(exist_ok=True)
    (target / "run_results.json").write_text(
        json.dumps(
            {
                "metadata": {"invocation_id": "bench"},
                "results": [{"unique_id": defn.model.unique_id, "status": "success"}],
            }
        )
    )
    relation = wh.model_relation(None, "main", MODEL)
    wh.call_macro("create_sync_tables")

    def load_rows(n: int) -> None:
        build(wh, relation, n, 0)

    def prepare() -> None:
        """A fresh plan of every row as 'added', as the post-hook leaves it after dbt build."""
        with wh.transaction():
            wh.call_macro(
                "reset_sync", sync_name=SYNC, model_name=MODEL, now="2026-01-01 00:00:00.000000"
            )
        compute_plan(wh, relation)

    def run_runner(d, delay: float = 0.0) -> tuple[dict, dict]:
        endpoint = EndpointProcess(delay)
        cpu_started = time.process_time()
        try:
            result = SyncRunner(wh, dataclasses.replace(d, endpoint_url=endpoint.url)).run()
        finally:
            stats = endpoint.stop()
        # process CPU, all threads (DuckDB's too: it runs inside this process)
        stats["cpu_seconds"] = time.process_time() - cpu_started
        if result.error is not None or result.summary is None:
            raise SystemExit(f"the run failed: {result.error}")
        return result.summary.to_json(), stats

    try:
        for batch_size, rows, function_seconds in CONFIGS:
            rows = int(rows * args.scale)
            load_rows(rows)
            d = dataclasses.replace(defn, batch_size=batch_size, concurrency=CONCURRENCY)
            prepare()
            rows_file = project.root / f"rows_{batch_size}.jsonl"
            plans = wh.relation("lambda_sync_plans")
            with open(rows_file, "w") as f:
                for op, row_json in wh.fetch_all(
                    f"select operation, row_json from {plans} where sync_name = ? order by seq",
                    [SYNC],
                ):
                    f.write(json.dumps([op, row_json]) + "\n")
            reps = []
            for rep in range(1 if args.profile else args.repeat):
                if rep:
                    prepare()
                summary, stats = run_runner(d, function_seconds)
                assert summary["delivered_rows"] == rows, summary
                entry = {
                    "runner_seconds": summary["duration_seconds"],
                    "runner_rows_per_s": rows / summary["duration_seconds"],
                    "runner_invocations": summary["invocations"],
                    "runner_peak_in_flight": stats["peak_in_flight"],
                    "runner_cpu_seconds": stats["cpu_seconds"],
                }
                if not args.profile:
                    endpoint = EndpointProcess(function_seconds)
                    try:
                        out = subprocess.run(
                            [
                                sys.executable,
                                "-m",
                                "bench.baseline",
                                str(rows_file),
                                endpoint.url,
                                str(batch_size),
                                str(CONCURRENCY),
                            ],
                            cwd=Path(__file__).resolve().parents[1],
                            capture_output=True,
                            text=True,
                            check=True,
                        ).stdout
                    finally:
                        bstats = endpoint.stop()
                    base = json.loads(out)
                    entry.update(
                        {
                            "baseline_seconds": base["seconds"],
                            "baseline_rows_per_s": rows / base["seconds"],
                            "baseline_invocations": base["invocations"],
                            "baseline_peak_in_flight": bstats["peak_in_flight"],
                            "baseline_cpu_seconds": base["cpu_seconds"],
                        }
                    )
                    entry["ratio"] = entry["runner_rows_per_s"] / entry["baseline_rows_per_s"]
                reps.append(entry)
                print(
                    json.dumps(
                        {"batch_size": batch_size, "function_seconds": function_seconds, **entry}
                    ),
                    flush=True,
                )
            config = {
                "batch_size": batch_size,
                "function_seconds": function_seconds,
                "rows": rows,
                "concurrency": CONCURRENCY,
                "reps": reps,
            }
            for key in reps[0]:
                config[key] = statistics.median(r[key] for r in reps)
            result["configs"].append(config)

        if not args.profile:
            # --- rate limit: 50/s, batch 1, 600 rows -> 12 s
            load_rows(600)
            prepare()
            d = dataclasses.replace(
                defn, batch_size=1, concurrency=CONCURRENCY, rate_limit=RateLimit(50, "second")
            )
            summary, stats = run_runner(d)
            arrivals = stats["arrivals"]
            per_second = [sum(1 for t in arrivals if s <= t < s + 1) for s in range(10)]
            worst = max(abs(c - 50) / 50 for c in per_second)
            result["rate_limit"] = {
                "configured_per_second": 50,
                "requests": stats["requests"],
                "per_second_first_10s": per_second,
                "mean_per_second_10s": sum(per_second) / 10,
                "worst_second_deviation": worst,
                "overall_rate": (len(arrivals) - 1) / arrivals[-1] if len(arrivals) > 1 else None,
                "ok": worst <= 0.05,
            }
            print(json.dumps(result["rate_limit"]), flush=True)
            # --- concurrency cap: 4, with a 20 ms function
            load_rows(400)
            prepare()
            d = dataclasses.replace(defn, batch_size=1, concurrency=4)
            summary, stats = run_runner(d, delay=0.02)
            result["concurrency"] = {
                "configured": 4,
                "peak_in_flight": stats["peak_in_flight"],
                "requests": stats["requests"],
                "delivery_peaks": [c["runner_peak_in_flight"] for c in result["configs"]],
                "ok": stats["peak_in_flight"] <= 4
                and all(c["runner_peak_in_flight"] <= CONCURRENCY for c in result["configs"]),
            }
            print(json.dumps(result["concurrency"]), flush=True)
    finally:
        wh.close()
        Path(args.out).write_text(json.dumps(result, indent=2))
        project.drop()


if __name__ == "__main__":
    main()
