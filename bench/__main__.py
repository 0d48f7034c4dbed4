"""``python -m bench [--steps a,b,..] [--assemble-only]``: runs the benchmarks (each in a process
of its own), then writes bench/results.json and prints the table.

Steps: capture_duckdb, capture_postgres, capture_snowflake (on the fakesnow emulator: checks the
plan, its times are DuckDB's), delivery, memory, profile_delivery. Sizes come from the
environment (defaults in brackets): BENCH_CAPTURE_ROWS [1000000], BENCH_SNOWFLAKE_ROWS [100000],
BENCH_REPEAT [3],
BENCH_DELIVERY_SCALE [1.0: the 200k rows at batch 100 and 20k at batch 1 of the targets],
BENCH_MEMORY_ROWS [100000,1000000]. Raw outputs go to bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
ROOT = os.environ.get("BENCH_ROOT", "/tmp/dls-bench")
REPEAT = os.environ.get("BENCH_REPEAT", "3")
ALL = [
    "capture_duckdb",
    "capture_postgres",
    "capture_snowflake",
    "delivery",
    "memory",
    "profile_delivery",
]
# Capture rows per warehouse: the emulator's HTTP round trips make the naive diff slow there.
CAPTURE_ROWS = {
    "duckdb": ("BENCH_CAPTURE_ROWS", "1000000"),
    "postgres": ("BENCH_CAPTURE_ROWS", "1000000"),
    "snowflake": ("BENCH_SNOWFLAKE_ROWS", "100000"),
}


def step_command(step: str) -> list[str]:
    py = [sys.executable, "-m"]
    out = str(OUT / f"{step}.json")
    if step.startswith("capture_") and step.split("_", 1)[1] in CAPTURE_ROWS:
        warehouse = step.split("_", 1)[1]
        return py + [
            "bench.capture",
            "--warehouse",
            warehouse,
            "--rows",
            os.environ.get(*CAPTURE_ROWS[warehouse]),
            "--repeat",
            REPEAT,
            "--root",
            ROOT,
            "--out",
            out,
        ]
    if step == "delivery":
        return py + [
            "bench.delivery",
            "--repeat",
            REPEAT,
            "--root",
            ROOT,
            "--out",
            out,
            "--scale",
            os.environ.get("BENCH_DELIVERY_SCALE", "1.0"),
        ]
    if step == "memory":
        return py + [
            "bench.memory",
            "--root",
            ROOT,
            "--out",
            out,
            "--rows",
            os.environ.get("BENCH_MEMORY_ROWS", "100000,1000000"),
        ]
    if step == "profile_delivery":
        return [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--format",
            "raw",
            "-r",
            "200",
            "-o",
            str(OUT / "profile_delivery.raw"),
            "--",
            sys.executable,
            "-m",
            "bench.delivery",
            "--profile",
            "--root",
            ROOT,
            "--out",
            out,
            "--scale",
            os.environ.get("BENCH_PROFILE_SCALE", "0.1"),
        ]
    raise SystemExit(f"unknown step {step}")


def load(name: str) -> dict | None:
    path = OUT / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def figure(name: str, value: object, target: str, ok: bool | None, context: str) -> dict:
    return {"figure": name, "value": value, "target": target, "ok": ok, "context": context}


def capture_figures() -> list[dict]:
    figs: list[dict] = []
    for wh in CAPTURE_ROWS:
        c = load(f"capture_{wh}")
        if not c or "hook_over_build" not in c:
            continue
        emulated = "emulated" in c  # a correctness figure: the times are DuckDB's
        ctx = (
            f"{c['rows']:,} rows: build {c['build_seconds']:.2f}s, hook "
            f"{c['hook_seconds']:.2f}s, naive {c['naive_seconds']:.2f}s (median of "
            f"{len(c['reps'])}); plan {c['reps'][0]['plan']}"
            + (f", expected {c['expected_plan']}" if "expected_plan" in c else "")
            + (
                "; times are DuckDB's under the fakesnow emulator, not Snowflake's"
                if emulated
                else ""
            )
        )
        name = f"capture {wh}" + (" (fakesnow)" if emulated else "")
        if "plan_ok" in c:
            figs.append(
                figure(f"{name}: plan counts = the edit's", c["plan_ok"], "True", c["plan_ok"], ctx)
            )
        for ratio, label, target, met in (
            ("hook_over_build", "hook / build", "<= 1.0", c["hook_over_build"] <= 1.0),
            ("naive_over_hook", "naive / hook", ">= 20", c["naive_over_hook"] >= 20),
        ):
            figs.append(
                figure(
                    f"{name}: {label}",
                    round(c[ratio], 2),
                    "(context)" if emulated else target,
                    None if emulated else met,
                    ctx,
                )
            )
    return figs


def delivery_figures() -> list[dict]:
    figs: list[dict] = []
    d = load("delivery")
    if not d:
        return figs
    for cfg in d.get("configs", []):
        if "ratio" not in cfg:
            continue
        slow = cfg.get("function_seconds", 0.0)
        target = 0.9 if cfg["batch_size"] >= 100 else 0.8
        figs.append(
            figure(
                f"delivery batch {cfg['batch_size']}: runner / bare boto3 (rows/s)"
                + (f", {slow * 1000:.0f} ms function" if slow else ""),
                round(cfg["ratio"], 3),
                "(context)" if slow else f">= {target}",
                None if slow else cfg["ratio"] >= target,
                f"{cfg['rows']:,} rows, concurrency {cfg['concurrency']}: runner "
                f"{cfg['runner_rows_per_s']:.0f} rows/s ({cfg['runner_seconds']:.1f}s), bare "
                f"{cfg['baseline_rows_per_s']:.0f} rows/s ({cfg['baseline_seconds']:.1f}s); "
                f"peak in flight runner {cfg['runner_peak_in_flight']:.0f} / bare "
                f"{cfg['baseline_peak_in_flight']:.0f}"
                + (
                    f"; process CPU runner {cfg['runner_cpu_seconds']:.1f}s (DuckDB included)"
                    f" / bare {cfg['baseline_cpu_seconds']:.1f}s"
                    if "runner_cpu_seconds" in cfg and "baseline_cpu_seconds" in cfg
                    else ""
                ),
            )
        )
    r = d.get("rate_limit")
    if r:
        figs.append(
            figure(
                "limits: rate 50/s, worst 1-s window deviation",
                round(r["worst_second_deviation"], 3),
                "<= 0.05",
                r["ok"],
                f"per second over 10 s: {r['per_second_first_10s']}; "
                f"overall {r['overall_rate']:.1f}/s",
            )
        )
    cc = d.get("concurrency")
    if cc:
        figs.append(
            figure(
                "limits: peak in flight / configured",
                cc["peak_in_flight"] / cc["configured"],
                "<= 1.0",
                cc["ok"],
                f"concurrency 4, 20 ms function: peak {cc['peak_in_flight']};"
                f" delivery runs (concurrency 8) peaks {cc['delivery_peaks']}",
            )
        )
    return figs


def memory_figures() -> list[dict]:
    figs: list[dict] = []
    m = load("memory")
    if not m or "growth" not in m:
        return figs
    small, big = m["runs"][0], m["runs"][-1]
    ctx = (
        f"{m['warehouse']}, batch 1000: {small['rows']:,} rows {small['peak_rss_mb']:.0f} MB"
        f" vs {big['rows']:,} rows {big['peak_rss_mb']:.0f} MB"
    )
    figs.append(
        figure(
            "memory: peak RSS growth (big / small)",
            round(m["growth"], 2),
            "<= 1.3",
            m["growth"] <= 1.3,
            ctx,
        )
    )
    figs.append(
        figure(
            "memory: peak RSS MB (big)",
            round(m["peak_rss_mb"], 1),
            "<= 400",
            m["peak_rss_mb"] <= 400,
            ctx,
        )
    )
    figs.append(
        figure(
            "start-up: CLI wall - runner duration (s)",
            round(sorted(r["startup_seconds"] for r in m["runs"])[len(m["runs"]) // 2], 1),
            "(context)",
            None,
            "parse + adapter load + client, per CLI invocation",
        )
    )
    return figs


def assemble() -> dict:
    results: dict = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "figures": capture_figures() + delivery_figures() + memory_figures(),
    }
    p = OUT / "profile_delivery.raw"
    if p.exists():
        from bench.profile_report import summarise

        results["profile_delivery"] = summarise(str(p), top=15)
        (OUT / "profile_delivery_summary.json").write_text(
            json.dumps(results["profile_delivery"], indent=1)
        )
    elif load("profile_delivery_summary") is not None:  # the raw profile is large: not kept
        results["profile_delivery"] = load("profile_delivery_summary")
    # Local experiments on scratch copies (bench/README.md "Findings"); written by hand, not re-run.
    if load("experiments") is not None:
        results["experiments"] = load("experiments")
    results["raw"] = {n: load(n) for n in ALL if load(n) is not None}
    return results


def print_table(results: dict) -> None:
    rows = [("figure", "value", "target", "ok")] + [
        (f["figure"], str(f["value"]), f["target"], {True: "yes", False: "NO", None: "-"}[f["ok"]])
        for f in results["figures"]
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for f in results["figures"]:
        print(f"- {f['figure']}: {f['context']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", default=",".join(ALL))
    parser.add_argument("--assemble-only", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    if not args.assemble_only:
        for step in args.steps.split(","):
            print(f"== {step}", flush=True)
            started = time.perf_counter()
            result = subprocess.run(step_command(step), cwd=HERE.parent)
            print(
                f"== {step}: exit {result.returncode} in {time.perf_counter() - started:.0f}s",
                flush=True,
            )
    results = assemble()
    (HERE / "results.json").write_text(json.dumps(results, indent=2))
    print_table(results)


if __name__ == "__main__":
    main()
