"""The command line end to end: build, status, errors, reset, every --output json, and the live
display in a real pseudo-terminal. Real dbt, the real CLI, real handlers in ministack."""

from __future__ import annotations

import json
import os
import re
import select
import struct
import subprocess
import time
from collections.abc import Sequence

import pytest

from tests.integration.conftest import SyncProject
from tests.support.dbt_project import BIN

pytestmark = pytest.mark.integration

CUSTOMERS = [
    {"customer_id": 1, "email": "alice@example.com"},
    {"customer_id": 2, "email": "bob@example.com"},
    {"customer_id": 3, "email": "carol@example.com"},
]
MODEL_SQL = "select * from {{ ref('customers_seed') }}"
SLOW_HANDLER = "import time\n\ndef handler(event, context):\n    time.sleep(0.3)\n    return None\n"
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][A-Z0-9]")


def test_build_then_status_errors_reset(project: SyncProject) -> None:
    project.deploy()
    project.seed("customers_seed", CUSTOMERS)
    project.model(
        "customers",
        MODEL_SQL,
        project.sync_config(batch_size=10, retries={"mode": "immediate", "attempts": 0}),
    )
    project.model(
        "emails",
        "select customer_id, email from {{ ref('customers_seed') }}",
        project.sync_config(name="email_list", batch_size=10),
    )
    (project.root / "models" / "broken.sql").write_text("select * from no_such_table")

    # build: dbt fails on `broken`, `emails` is excluded (an argument passed through to dbt);
    # the one synced model that built is delivered, and dbt's failure makes the exit code 1.
    built = project.cli("build", "--exclude", "emails", "--output", "json", expect=1)
    doc = json.loads(built.stdout)  # dbt's log went to stderr
    assert doc["dbt"]["success"] is False and "broken" in doc["dbt"]["failed"]
    assert "customers" in doc["dbt"]["built"] and "emails" not in doc["dbt"]["built"]
    assert [(r["sync"], r["delivered_rows"]) for r in doc["runs"]] == [("crm_customers", 3)]
    assert doc["errors"] == [] and doc["skipped"] == []
    assert "broken" in built.stderr
    assert {e["sync"]["name"] for e in project.events()} == {"crm_customers"}

    # a rejected key: exit 1, the row goes to the errors table
    project.rules(reject=["2"], reason="Email not found")
    ran = project.run("--full-refresh", "--select", "crm_customers", expect=1)
    assert (ran["runs"][0]["delivered_rows"], ran["runs"][0]["rejected_rows"]) == (2, 1)

    status = json.loads(project.cli("status", "--output", "json").stdout)
    syncs = {s["name"]: s for s in status["syncs"]}
    assert set(syncs) == {"crm_customers", "email_list"}
    assert syncs["email_list"] == {
        "name": "email_list",
        "model": "emails",
        "orphaned": False,
        "renamed_to": None,
        "open_errors": 0,
        "invalid": 0,
        "runs": [],
    }
    runs = syncs["crm_customers"]["runs"]
    assert [r["status"] for r in runs] == ["partial", "success"]  # newest first
    assert runs[0]["run_id"] == ran["runs"][0]["run_id"] and runs[0]["first_run"] is True
    assert (runs[0]["delivered_rows"], runs[0]["rejected_rows"]) == (2, 1)
    assert runs[0]["started_at"].endswith("Z") and runs[0]["duration_seconds"] >= 0
    assert syncs["crm_customers"]["open_errors"] == 1

    # SYNC may name a model that has one sync
    errors = json.loads(project.cli("errors", "customers", "--output", "json").stdout)
    assert (errors["sync"], errors["model"], errors["open_errors"]) == (
        "crm_customers",
        "customers",
        1,
    )
    [error] = errors["errors"]
    assert (error["primary_key_value"], error["operation"], error["reason"]) == (
        "2",
        "added",
        "Email not found",
    )
    assert error["attempts"] == 1 and error["last_failed_run_id"] == runs[0]["run_id"]

    reset = project.cli("reset", "crm_customers")
    assert "Reset crm_customers (model customers)" in reset.stdout
    assert "2 delivered row(s)" in reset.stdout and "1 current failure(s)" in reset.stdout
    assert project.snapshot() == {}
    planned = project.cli("plan", "-s", "crm_customers", "--output", "json").stdout
    [plan] = json.loads(planned)["syncs"]
    assert (plan["name"], plan["first_run"], plan["added"]) == ("crm_customers", True, 3)

    # text mode with no terminal: plain lines on stderr, a plain table on stdout
    project.rules()
    ran = project.cli("run", "--select", "crm_customers")
    assert "crm_customers: 3 added, 0 changed, 0 removed, 0 invalid (first run)" in ran.stderr
    assert re.search(r"^crm_customers\s+customers\s+success\s+3\s+3\s+0\s", ran.stdout, re.M)
    latest = project.cli("status", "-s", "customers", "--limit", "1").stdout
    lines = [line for line in latest.splitlines() if line.startswith("crm_customers")]
    assert len(lines) == 1 and re.match(r"crm_customers\s+success \(first\)\s", lines[0])
    assert project.open_errors() == {}


def _run_in_terminal(
    argv: Sequence[str], *, env: dict[str, str], cwd: str, timeout: float = 300
) -> tuple[int, str]:
    """Runs argv with stdin, stdout and stderr on a fresh pseudo-terminal; returns what the
    terminal received."""
    import fcntl
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen(
        list(argv), stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True
    )
    os.close(slave)
    received = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child side is closed
                break
            if not chunk:
                break
            received += chunk
        else:
            proc.kill()
            raise AssertionError(
                f"timed out; the terminal got:\n{received.decode(errors='replace')}"
            )
        return proc.wait(timeout=30), received.decode("utf-8", errors="replace")
    finally:
        os.close(master)


@pytest.mark.parametrize("project", ["duckdb"], indirect=True)  # the display is warehouse-blind
def test_live_progress_and_summary_on_a_terminal(project: SyncProject) -> None:
    project.ministack.deploy(project.function, SLOW_HANDLER)
    rows = [{"customer_id": i, "email": f"c{i}@example.com"} for i in range(1, 21)]
    project.seed("customers_seed", rows)
    project.model("customers", MODEL_SQL, project.sync_config(batch_size=1, concurrency=1))
    project.build()

    env = {**project.env, "TERM": "xterm-256color", "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
    env.pop("COLUMNS", None)
    env.pop("NO_COLOR", None)
    argv = [str(BIN / "dbt-lambda-sync"), "run", "--project-dir", str(project.root)]
    argv += ["--profiles-dir", str(project.root), "--target", project.warehouse]
    started = time.monotonic()
    code, screen = _run_in_terminal(argv, env=env, cwd=str(project.root))
    elapsed = time.monotonic() - started
    text = ANSI.sub("", screen)
    assert code == 0, text
    assert "\x1b[" in screen  # drawn, not logged: cursor movement and colours
    # the display was redrawn mid-run with the core's progress (checkpoints about 1 s apart)
    midway = {int(done) for done in re.findall(r"\b(\d+)/20 rows", text) if 0 < int(done) < 20}
    assert len(midway) >= 2, text
    assert "rows/s" in text and " left" in text and "invocations" in text
    assert "━" in text  # the progress bar
    # the summary table, drawn with rich's rounded box, one row for the sync
    assert "╭" in text and "╰" in text
    summary = [line for line in text.splitlines() if re.search(r"│\s*crm_customers\s*│", line)]
    assert summary, text
    assert re.search(r"│\s*success\s*│\s*20\s*│\s*20\s*│\s*0\s*│", summary[-1]), summary[-1]
    assert "Traceback" not in text
    print(f"terminal run took {elapsed:.1f}s")


def _sync_state(project: SyncProject) -> dict[str, list[tuple]]:
    """Everything a run or a plan may write for a sync, to compare before and after."""
    return {
        table: project.query(f"select * from {{schema}}.lambda_sync_{table} order by {order}")
        for table, order in (
            ("state", "sync_name"),
            ("snapshots", "sync_name, primary_key"),
            ("plans", "sync_name, seq"),
            ("unsettled", "sync_name, primary_key"),
            ("runs", "run_id"),
            ("invocations", "run_id, invocation_id, attempt"),
            ("errors", "sync_name, primary_key_value"),
        )
    }


def test_dry_run_full_refresh_previews_the_resend_and_changes_nothing(
    project: SyncProject,
) -> None:
    project.deploy()
    # four valid keys, a duplicated key (2 rows) and a null key: 3 invalid rows
    rows = [*CUSTOMERS, {"customer_id": 4, "email": "dan@example.com"}]
    rows += [{"customer_id": 5, "email": "e1@example.com"}, {"customer_id": 5, "email": "e2@x"}]
    rows += [{"customer_id": "", "email": "nobody@example.com"}]
    project.seed("customers_seed", rows)
    # and 5,001 more: the preview reads its rows in pages of PLAN_PAGE_ROWS (5,000)
    generated = (
        " union all select n as customer_id, concat('g', cast(n as varchar), '@example.com')"
        " as email from generate_series(1000, 6000) as g(n)"
    )
    project.model(
        "customers",
        "select customer_id, email from {{ ref('customers_seed') }}" + generated,
        [
            project.sync_config(batch_size=1000),
            project.sync_config(name="crm_skip", initial_sync="skip", batch_size=1000),
        ],
    )

    # build in text mode: dbt's log on stderr, only the results table on stdout
    built = project.cli("build")
    assert "Running with dbt" in built.stderr and "Running with dbt" not in built.stdout
    lines = built.stdout.splitlines()
    assert lines[0].split()[:3] == ["sync", "model", "status"] and set(lines[1]) <= {"-", " "}
    assert [line.split()[0] for line in lines[2:]] == ["crm_customers", "crm_skip"]
    assert len(project.delivered()) == 5005

    before = _sync_state(project)
    assert project.plan()["crm_customers"]["added"] == 0  # nothing pending
    preview = project.run("--dry-run", "--full-refresh")
    by_sync = {r["sync"]: r for r in preview["runs"]}
    dry = by_sync["crm_customers"]
    assert (dry["status"], dry["first_run"], dry["planned_added"]) == ("dry_run", True, 5005)
    assert (dry["planned_changed"], dry["planned_removed"], dry["invalid_rows"]) == (0, 0, 3)
    assert dry["invocations"] == 6 and dry["event_bytes"] > 0
    skip = by_sync["crm_skip"]  # a full refresh of a skip sync sends nothing
    assert (skip["planned_added"], skip["invocations"], skip["event_bytes"]) == (0, 0, 0)
    planned = json.loads(project.cli("plan", "--full-refresh", "-o", "json").stdout)["syncs"]
    assert {s["name"]: (s["added"], s["invalid"], s["first_run"]) for s in planned} == {
        "crm_customers": (5005, 3, True),
        "crm_skip": (0, 3, True),
    }
    assert _sync_state(project) == before  # snapshot, plan, state row, logs: untouched
    assert len(project.events()) == 6  # the build's events, nothing since

    # the same figures as a dry run of a real first run, and as the real full refresh
    project.cli("reset", "crm_customers")
    first = project.run("--dry-run", "-s", "crm_customers")["runs"][0]
    assert {k: first[k] for k in ("planned_added", "invocations", "event_bytes")} == {
        k: dry[k] for k in ("planned_added", "invocations", "event_bytes")
    }
    project.clear_events()
    [real] = project.run("--full-refresh", "-s", "crm_customers")["runs"]
    assert (real["planned_added"], real["delivered_rows"], real["invocations"]) == (5005, 5005, 6)
    keys = sorted(r["customer_id"] for r in project.delivered("added"))
    assert keys == [1, 2, 3, 4, *range(1000, 6001)]


@pytest.mark.parametrize(
    "project", ["duckdb"], indirect=True
)  # checks functions, not the warehouse
def test_validate_check_functions_against_ministack(project: SyncProject) -> None:
    project.deploy()
    project.seed("customers_seed", CUSTOMERS)
    env_keys = {
        "access_key_id_env": "DLS_TEST_NO_KEY",
        "secret_access_key_env": "DLS_TEST_NO_SECRET",
    }
    project.model(
        "customers",
        MODEL_SQL,
        [
            project.sync_config(),
            project.sync_config(name="gone", function="fn-never-deployed"),
            project.sync_config(name="no_keys", credentials=env_keys),
        ],
    )
    # definitions alone: valid, and nothing is invoked
    assert "3 sync definition(s) valid." in project.cli("validate").stdout
    assert project.events() == []

    text = project.cli("validate", "--check-functions", expect=3)
    assert f"function {project.function} (sync crm_customers): can be invoked" in text.stdout
    assert re.search(
        r"^function fn-never-deployed \(sync gone\): not found: ResourceNotFoundException: ",
        text.stdout,
        re.M,
    )
    assert re.search(
        r"^function \S+ \(sync no_keys\): credentials: .*DLS_TEST_NO_KEY", text.stdout, re.M
    )
    assert (
        "Error: 2 of 3 function(s) cannot be invoked: gone (not found), no_keys (credentials)"
        in (text.stderr)
    )
    assert project.events() == []  # DryRun runs nothing

    doc = json.loads(project.cli("validate", "--check-functions", "-o", "json", expect=3).stdout)
    checks = {s["name"]: s["function_check"] for s in doc["syncs"]}
    assert doc["valid"] is True and doc["problems"] == []
    assert checks["crm_customers"] == {"ok": True, "kind": "ok", "error": None}
    assert (checks["gone"]["ok"], checks["gone"]["kind"]) == (False, "not_found")
    assert (checks["no_keys"]["ok"], checks["no_keys"]["kind"]) == (False, "credentials")

    # only the selected syncs are checked; all of them invocable: exit 0
    ok = json.loads(
        project.cli("validate", "--check-functions", "-s", "crm_customers", "-o", "json").stdout
    )
    assert [(s["name"], s["function_check"]["ok"]) for s in ok["syncs"]] == [
        ("crm_customers", True)
    ]
    assert project.events() == []
