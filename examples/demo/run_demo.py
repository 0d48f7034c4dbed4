"""`make demo`: dbt-lambda-sync end to end on this machine, with a local Lambda endpoint.

Run it with the project's virtualenv (it needs dbt, dbt-duckdb, boto3 and dbt-lambda-sync):

    make demo                                    # = .venv/bin/python examples/demo/run_demo.py
    .venv/bin/python examples/demo/run_demo.py --workdir /tmp/lambda-sync-demo

What it does, printing each step:

1. starts ministack (a local AWS emulator) on a free 127.0.0.1 port, installing it on first use;
2. deploys examples/handlers/crm_upsert.py as the function ``crm-upsert``, zipped the way
   examples/DEPLOYING.md describes;
3. copies this dbt project (25 customers, 2 with a bad email) to the work directory, then runs
   ``dbt deps`` and ``dbt build``: the post-hook computes the change set;
4. runs ``dbt-lambda-sync run`` and shows what was delivered and rejected, from the package's
   tables and from the function's own log, and one SQL query over lambda_sync_errors;
5. changes the data (2 rows changed, 1 deleted, 2 added, one bad email fixed), builds and syncs
   again, and shows the added, changed and removed events and the fixed row's error resolved;
6. stops ministack.

Exit status 0 when everything behaved as described, 1 with a message otherwise. The work
directory (default $TMPDIR/dbt-lambda-sync-demo, emptied at the start of each run) keeps the
DuckDB file for you to explore.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))  # examples/: package_function
sys.path.insert(0, str(REPO))  # tests.support: the ministack launcher and the project builder

from package_function import build_package  # noqa: E402

from tests.support.dbt_project import CommandFailed, DbtProject  # noqa: E402
from tests.support.ministack import Ministack  # noqa: E402

FUNCTION = "crm-upsert"
HANDLER_FILE = REPO / "examples" / "handlers" / "crm_upsert.py"
SYNC = "crm_customers"
SCHEMA = "main_lambda_sync"  # <target schema>_lambda_sync; DuckDB's schema is main
PROJECT_FILES = ["dbt_project.yml", "profiles.yml"]
PROJECT_FOLDERS = ["models", "seeds"]
SEED = Path("seeds") / "raw_customers.csv"
WORKDIR_MARKER = ".lambda-sync-demo"
# Outside the checkout on purpose: `dbt deps` links the package (this repository) into the
# project, and a link back to the checkout from inside it sends setuptools' package discovery
# (it follows links) round in circles on the next `pip install -e .`.
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "dbt-lambda-sync-demo"

ERRORS_SQL = f"""\
select primary_key_value, operation, reason, attempts,
       resolved_run_id is not null as resolved
from {SCHEMA}.lambda_sync_errors
where sync_name = '{SYNC}'
order by primary_key_value::int"""


class DemoFailed(Exception):
    """Something did not behave as the demo says it should."""


# --- output ---------------------------------------------------------------------------------------


class Output:
    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.step_number = 0
        self.started = time.monotonic()
        self.step_started = self.started
        self.timings: list[tuple[str, float]] = []

    def step(self, title: str) -> None:
        self._close_step()
        self.step_number += 1
        self.step_started = time.monotonic()
        self.title = title
        print(f"\n== {self.step_number}/{self.steps}  {title}", flush=True)

    def _close_step(self) -> None:
        if self.step_number:
            elapsed = time.monotonic() - self.step_started
            self.timings.append((self.title, elapsed))
            print(f"   ({elapsed:.1f} s)", flush=True)

    def say(self, text: str = "", indent: int = 3) -> None:
        pad = " " * indent
        print("\n".join(pad + line if line else "" for line in text.splitlines()) or "", flush=True)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: int = 5) -> None:
        cells = [list(headers)] + [["" if v is None else str(v) for v in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        lines = [
            "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            for row in cells
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        self.say("\n".join(lines), indent)

    def finish(self) -> float:
        self._close_step()
        return time.monotonic() - self.started


# --- the demo -------------------------------------------------------------------------------------


class Demo:
    def __init__(self, workdir: Path, out: Output) -> None:
        self.workdir = workdir
        self.project = workdir / "project"
        self.dbt_project: DbtProject | None = None
        self.database = workdir / "demo.duckdb"
        self.received_log = workdir / "crm_upsert_received.jsonl"
        self.out = out
        self.bin = Path(sys.executable).parent  # the virtualenv's bin/, not resolved
        self.env: dict[str, str] = {}
        self.received_seen = 0
        self.runs_seen: set[str] = set()

    # --- steps ---

    def run(self) -> None:
        self.check_tools()
        self.prepare_workdir()
        self.out.step("Start a local Lambda endpoint (ministack, 127.0.0.1 only)")
        with Ministack(say=self.out.say) as ministack:
            endpoint_url = ministack.endpoint_url
            self.out.say(f"listening on {endpoint_url}")
            self.env = self.environment(endpoint_url)
            self.deploy(ministack)
            self.first_run()
            self.second_run()
            self.out.step("Stop ministack")

    def check_tools(self) -> None:
        missing = [t for t in ("dbt", "dbt-lambda-sync") if not (self.bin / t).exists()]
        if missing:
            raise DemoFailed(
                f"{', '.join(missing)} not found next to {sys.executable}: run the demo with the "
                "project's virtualenv (make demo, or .venv/bin/python examples/demo/run_demo.py)"
            )
        try:
            import boto3  # noqa: F401
            import duckdb  # noqa: F401
        except ImportError as exc:
            raise DemoFailed(f"{exc}: install the project first (make install)") from exc

    def prepare_workdir(self) -> None:
        marker = self.workdir / WORKDIR_MARKER
        if self.workdir.exists() and any(self.workdir.iterdir()):
            if not marker.exists() and self.workdir != DEFAULT_WORKDIR:
                # never empty a directory the demo did not make
                raise DemoFailed(f"{self.workdir} is not empty: choose another --workdir")
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        marker.write_text("made by examples/demo/run_demo.py; emptied by its next run\n")
        # The checked-in packages.yml says `local: ../..`; the builder writes this checkout's path.
        files = {name: (HERE / name).read_text() for name in PROJECT_FILES}
        self.dbt_project = DbtProject(self.project, "duckdb", files=files, target=None)
        for name in PROJECT_FOLDERS:
            shutil.copytree(HERE / name, self.project / name, dirs_exist_ok=True)

    def environment(self, endpoint_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DBT_"))}
        env.update(
            DEMO_DUCKDB_PATH=str(self.database),
            DEMO_LAMBDA_ENDPOINT_URL=endpoint_url,
            # ministack takes any key; never hand real credentials to a local emulator.
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION="us-east-1",
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        )
        return env

    def deploy(self, ministack: Ministack) -> None:
        self.out.step(f"Deploy examples/handlers/crm_upsert.py as the function {FUNCTION}")
        package = build_package(HANDLER_FILE)
        self.out.say(
            f"zip: crm_upsert.py, dbt_lambda_sync/__init__.py (empty), "
            f"dbt_lambda_sync/handler.py ({len(package):,} bytes)"
        )
        client = ministack.client()
        client.create_function(
            FunctionName=FUNCTION,
            Runtime="python3.12",
            Role="arn:aws:iam::000000000000:role/crm-upsert",
            Handler="crm_upsert.handler",
            Code={"ZipFile": package},
            Timeout=30,
            Environment={"Variables": {"CRM_UPSERT_LOG": str(self.received_log)}},
        )
        client.get_waiter("function_active").wait(
            FunctionName=FUNCTION, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        self.out.say(f"{FUNCTION}: runtime python3.12, handler crm_upsert.handler, Active")

    def first_run(self) -> None:
        self.out.step("dbt deps && dbt build  (25 customers; 9 has no email, 17 a bad one)")
        self.dbt("deps")
        self.dbt("build")
        self.out.step("dbt-lambda-sync run  (first run: every row is sent as added)")
        run = self.sync(expect_exit=1, why="2 rows were rejected, as expected")
        self.show_run(run)
        self.check(run["delivered_rows"] == 23, f"expected 23 rows delivered, got {run}")
        self.check(run["rejected_rows"] == 2, f"expected 2 rows rejected, got {run}")
        self.show_received(first=True)
        errors = self.show_errors()
        self.check(
            {row[0] for row in errors if not row[4]} == {"9", "17"},
            f"expected open errors for customers 9 and 17, got {errors}",
        )

    def second_run(self) -> None:
        self.out.step("Change the data, dbt build, dbt-lambda-sync run again")
        for line in self.change_seed():
            self.out.say(f"- {line}")
        self.dbt("build")
        run = self.sync(expect_exit=1, why="customer 17's email is still invalid")
        self.show_run(run)
        self.check(
            (run["planned_added"], run["planned_changed"], run["planned_removed"]) == (4, 2, 1),
            f"expected 4 added (26, 27 and the retried 9 and 17), 2 changed, 1 removed; got {run}",
        )
        self.check(run["delivered_rows"] == 6, f"expected 6 rows delivered, got {run}")
        received = self.show_received(first=False)
        operations = {entry["operation"] for entry in received}
        self.check(
            operations == {"added", "changed", "removed"},
            f"expected added, changed and removed events, got {sorted(operations)}",
        )
        errors = {row[0]: row for row in self.show_errors()}
        self.check(errors["9"][4], f"expected customer 9's error resolved, got {errors['9']}")
        self.check(not errors["17"][4], f"expected customer 17 still failing, got {errors['17']}")
        self.out.say("customer 9's error is resolved (its email was fixed); 17 is still open.")

    # --- the data ---

    def change_seed(self) -> list[str]:
        path = self.project / SEED
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            columns = list(reader.fieldnames or [])
            rows = {row["customer_id"]: row for row in reader}
        rows["3"].update(plan="pro", lifetime_value="135.50", updated_at="2024-04-02 10:00:00")
        rows["14"].update(email="noah@harris.example.org", updated_at="2024-04-02 10:05:00")
        del rows["21"]
        rows["9"].update(email="isabel.taylor@example.com", updated_at="2024-04-02 10:10:00")
        new = [
            ["26", "zoe.young@example.com", "Zoe", "Young", "US", "free", "0.00"],
            ["27", "adam.king@example.com", "Adam", "King", "BR", "pro", "410.00"],
        ]
        for values in new:
            rows[values[0]] = dict(zip(columns, [*values, "2024-04-02 10:15:00"], strict=True))
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows.values())
        return [
            "changed 3: plan free -> pro, lifetime_value 35.50 -> 135.50",
            "changed 14: a new email",
            "deleted 21",
            "added 26 and 27",
            "fixed 9: it has an email now (17 keeps its bad one)",
        ]

    # --- commands ---

    def command(self, executable: str, *args: str, expect: Sequence[int] = (0,)) -> str:
        assert self.dbt_project is not None
        self.dbt_project.env = self.env  # the demo's own environment, not the caller's DBT_*
        try:
            result = self.dbt_project.run_command(
                executable,
                args,
                expect=expect,
                merge_stderr=True,  # interleaved as on a terminal
            )
        except CommandFailed as exc:
            raise DemoFailed(str(exc)) from exc
        return result.stdout

    def dbt(self, command: str) -> None:
        output = self.command("dbt", command)
        done = [line for line in output.splitlines() if "Done. PASS=" in line]
        summary = done[-1].split("Done. ", 1)[1] if done else "ok"
        self.out.say(f"$ dbt {command:<6} {summary}")

    def sync(self, *, expect_exit: int, why: str) -> dict[str, Any]:
        self.out.say("$ dbt-lambda-sync run")
        # text output first, as a user sees it; the numbers are read from the tables after
        output = self.command("dbt-lambda-sync", "run", expect=(expect_exit,))
        self.out.say(output.rstrip(), indent=5)
        runs = self.query(
            "select run_id, status, planned_added, planned_changed, planned_removed,"
            " delivered_rows, rejected_rows, invocations, retries"
            f" from {SCHEMA}.lambda_sync_runs where sync_name = '{SYNC}'"
            " order by started_at"
        )
        runs = [run for run in runs if run[0] not in self.runs_seen]
        self.runs_seen.update(run[0] for run in runs)
        if len(runs) != 1:  # exit 1 can also be a crash: no run was logged
            raise DemoFailed(
                f"dbt-lambda-sync run logged {len(runs)} runs, expected 1:\n{output[-3000:]}"
            )
        self.out.say(f"exit code {expect_exit}: {why}")
        names = [
            "run_id",
            "status",
            "planned_added",
            "planned_changed",
            "planned_removed",
            "delivered_rows",
            "rejected_rows",
            "invocations",
            "retries",
        ]
        return dict(zip(names, runs[0], strict=True))

    def query(self, sql: str) -> list[tuple]:
        import duckdb  # read-only, after the CLI exited: DuckDB has one writer at a time

        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.execute(sql).fetchall()

    # --- showing results ---

    def show_run(self, run: dict[str, Any]) -> None:
        self.out.say(f"\nlambda_sync_runs (run {run['run_id']}):")
        self.out.table(list(run)[1:], [list(run.values())[1:]])
        calls = self.query(
            "select operation, attempt, outcome, count(*), sum(row_count), sum(rejected_rows)"
            f" from {SCHEMA}.lambda_sync_invocations where run_id = '{run['run_id']}'"
            " group by all order by min(started_at)"
        )
        self.out.say("\nlambda_sync_invocations, grouped:")
        self.out.table(["operation", "attempt", "outcome", "calls", "rows", "rejected"], calls)

    def show_received(self, *, first: bool) -> list[dict[str, Any]]:
        lines = self.received_log.read_text().splitlines() if self.received_log.exists() else []
        received = [json.loads(line) for line in lines[self.received_seen :]]
        # concurrent invocations append in any order: sort for reading
        order = {op: i for i, op in enumerate(("added", "changed", "removed"))}
        received.sort(key=lambda e: (e["attempt"], order[e["operation"]], int(e["key"])))
        self.received_seen = len(lines)
        self.out.say("\nWhat the function received (its own log, $CRM_UPSERT_LOG):")
        counts = collections.Counter((e["operation"], e["attempt"], e["verdict"]) for e in received)
        self.out.table(
            ["operation", "attempt", "verdict", "rows"],
            [[*key, n] for key, n in sorted(counts.items())],
        )
        shown = received[:3] if first else received
        if first:
            self.out.say("\nthe first rows:")
        else:
            self.out.say("\nevery row:")
        self.out.table(
            ["operation", "attempt", "key", "verdict", "what"],
            [[e["operation"], e["attempt"], e["key"], e["verdict"], _describe(e)] for e in shown],
        )
        rejected = [e for e in received if e["verdict"] == "rejected" and e["attempt"] == 1]
        if first and rejected:
            self.out.say("\nrejected:")
            self.out.table(
                ["key", "email", "reason"],
                [[e["key"], e["row"].get("email"), e["reason"]] for e in rejected],
            )
        return received

    def show_errors(self) -> list[tuple]:
        rows = self.query(ERRORS_SQL)
        self.out.say("\nThe rows that failed, in SQL:")
        self.out.say(ERRORS_SQL, indent=5)
        self.out.table(["primary_key_value", "operation", "reason", "attempts", "resolved"], rows)
        return rows

    @staticmethod
    def check(condition: bool, message: str) -> None:
        if not condition:
            raise DemoFailed(message)


def _describe(entry: dict[str, Any]) -> str:
    row, previous = entry["row"], entry.get("previous")
    if previous:
        changes = [
            f"{k}: {previous.get(k)} -> {v}"
            for k, v in row.items()
            if previous.get(k) != v and k != "updated_at"
        ]
        return "; ".join(changes)
    text = f"{row.get('first_name')} {row.get('last_name')} <{row.get('email')}>"
    return f"{text}: {entry['reason']}" if entry.get("reason") else text


def _short(path: Path) -> str:
    """``path`` relative to the current directory when it lies below it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --- entry point ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="where the dbt project copy, the DuckDB file and the logs go (emptied first)",
    )
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so ministack is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = Output(steps=6)
    print("dbt-lambda-sync demo: a dbt model's changes delivered to a Lambda function")
    print(f"work directory: {workdir}")
    try:
        Demo(workdir, out).run()
    except (DemoFailed, RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        out.finish()
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; ministack stopped", file=sys.stderr)
        return 130
    except Exception:
        out.finish()
        traceback.print_exc()
        print("\nDEMO FAILED: an unexpected error (traceback above)", file=sys.stderr)
        return 1
    total = out.finish()
    print(f"\nDemo finished in {total:.0f} s:")
    for title, seconds in out.timings:
        print(f"   {seconds:5.1f} s  {title}")
    bin_dir, project = Path(sys.executable).parent, _short(workdir / "project")
    print(
        f"\nExplore the result (the DuckDB file stays in {_short(workdir)}):\n"
        f"   cd {project}\n"
        f"   export DEMO_DUCKDB_PATH={workdir / 'demo.duckdb'}\n"
        f"   {bin_dir}/dbt-lambda-sync status\n"
        f"   {bin_dir}/dbt-lambda-sync errors {SYNC}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
