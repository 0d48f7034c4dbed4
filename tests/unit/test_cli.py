"""The commands with the project, warehouse and runner faked: exit codes, JSON documents, text,
errors. No dbt start-up; the integration suite drives the same commands for real."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result

from dbt_lambda_sync.cli import build as build_module
from dbt_lambda_sync.cli import failures, main, plan, reset, run, status, validate
from dbt_lambda_sync.errors import (
    DefinitionError,
    FunctionUnavailable,
    LeaseHeldError,
    Problem,
    SyncError,
    UsageError,
)
from dbt_lambda_sync.history import DeclaredSync, ErrorRecord, ResetResult, RunRecord
from dbt_lambda_sync.reporting import PlanSummary, RunSummary
from dbt_lambda_sync.runner import RunResult
from tests.unit.test_cli_display import summary

STARTED = datetime(2026, 1, 2, 3, 4, 5)


def invoke_assert_code(code: int, args: Sequence[str]) -> Result:
    """Runs the CLI in-process; asserts the exit code and that no traceback was printed."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stderr + result.stdout
    return result


def defn(name: str, model: str = "customers") -> Any:
    return SimpleNamespace(
        name=name, model=SimpleNamespace(name=model, unique_id=f"model.p.{model}")
    )


class FakeWarehouse:
    def __enter__(self) -> FakeWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def call_macro(self, name: str, **kwargs: Any) -> None:
        pass


class FakeProject:
    def __init__(self, definitions: Sequence[Any] = (), manifest: Any = None):
        self._definitions = list(definitions)
        self.manifest = manifest or SimpleNamespace(nodes={})
        self.args = SimpleNamespace(dbt_flags=lambda: [])

    def definitions(self, selectors: Sequence[str] = ()) -> list[Any]:
        if selectors:
            return [d for d in self._definitions if d.name in selectors]
        return list(self._definitions)

    def open_warehouse(self) -> FakeWarehouse:
        return FakeWarehouse()


def run_summary(sync: str, *, rejected: int = 0, status: str | None = None) -> RunSummary:
    return summary(
        run_id=f"20260102T030405Z-{sync[:6]}",
        sync=sync,
        status=status or ("partial" if rejected else "success"),
        first_run=False,
        planned_added=3,
        delivered_rows=3 - rejected,
        rejected_rows=rejected,
        invocations=3,
        duration_seconds=1.5,
    )


def use_fake_runner(monkeypatch: pytest.MonkeyPatch, behaviour: dict[str, Any]) -> None:
    """The CLI runs a fake_runner(behaviour) instead of SyncRunner."""
    monkeypatch.setattr(run, "SyncRunner", fake_runner(behaviour))


def three_syncs(*, billing: Any) -> dict[str, Any]:
    """billing does ``billing``; crm_customers rejects one row; emails delivers every row."""
    return {
        "billing": billing,
        "crm_customers": run_summary("crm_customers", rejected=1),
        "emails": run_summary("emails"),
    }


def fake_runner(behaviour: dict[str, Any]) -> type:
    """A SyncRunner whose run() returns or raises what ``behaviour`` says for the sync."""

    class Runner:
        def __init__(self, warehouse: Any, definition: Any, *, options: Any, reporter: Any):
            self.defn, self.reporter, self.options = definition, reporter, options

        def run(self) -> RunResult:
            outcome = behaviour[self.defn.name]
            self.reporter.sync_started(PlanSummary(self.defn.name, "customers", 3, 0, 0, 0, False))
            if isinstance(outcome, SyncError):
                failed = run_summary(self.defn.name, status="failed")
                self.reporter.sync_finished(failed)
                return RunResult(failed, outcome)
            if isinstance(outcome, Exception):
                raise outcome  # a bug the runner did not catch
            self.reporter.sync_finished(outcome)
            return RunResult(outcome)

    return Runner


@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch) -> FakeProject:
    fake = FakeProject(
        [defn("billing", "invoices"), defn("crm_customers"), defn("emails", "emails")]
    )
    for module in (run, build_module, plan, status, failures, reset):
        monkeypatch.setattr(module, "load_project", lambda args: fake)
    return fake


# --- help -----------------------------------------------------------------------------------------


def test_group_help_lists_commands_and_exit_codes() -> None:
    text = invoke_assert_code(0, ["--help"]).stdout
    for command in ("validate", "plan", "run", "build", "status", "errors", "reset", "prune"):
        assert f"\n  {command} " in text
    assert "Exit codes:" in text and "  3  a sync could not run" in text


@pytest.mark.parametrize(
    "command", ["validate", "plan", "run", "build", "status", "errors", "reset", "prune"]
)
def test_every_command_has_an_example(command: str) -> None:
    text = invoke_assert_code(0, [command, "--help"]).stdout
    assert "Example" in text and f"dbt-lambda-sync {command}" in text


# --- run ------------------------------------------------------------------------------------------


def test_run_json_document_and_exit_1_for_rejected_rows(project, monkeypatch) -> None:
    use_fake_runner(monkeypatch, three_syncs(billing=run_summary("billing")))
    result = invoke_assert_code(1, ["run", "--output", "json"])
    document = json.loads(result.stdout)
    assert set(document) == {"runs", "errors"} and document["errors"] == []
    assert [r["sync"] for r in document["runs"]] == ["billing", "crm_customers", "emails"]
    assert document["runs"][1]["rejected_rows"] == 1
    assert set(document["runs"][0]) >= {"run_id", "status", "delivered_rows", "duration_seconds"}
    # logs on stderr, plain lines (no terminal here)
    assert "crm_customers: partial - 2 delivered, 1 rejected" in result.stderr


def test_a_sync_that_cannot_run_does_not_stop_the_others(project, monkeypatch) -> None:
    lease = LeaseHeldError("billing", "run-x (pid 1 on elsewhere)", "2999-01-01")
    use_fake_runner(monkeypatch, three_syncs(billing=lease))
    result = invoke_assert_code(3, ["run", "--output", "json"])
    document = json.loads(result.stdout)
    assert document["errors"] == [{"sync": "billing", "error": str(lease), "exit_code": 3}]
    assert [r["sync"] for r in document["runs"]] == ["crm_customers", "emails"]
    assert f"Error: {lease}" in result.stderr

    # text: the summary table has a row for the failed sync, with its error
    text = invoke_assert_code(3, ["run"]).stdout.splitlines()
    assert text[0].split() == [
        "sync",
        "model",
        "status",
        "planned",
        "delivered",
        "rejected",
        "invalid",
        "invocations",
        "retries",
        "time",
        "note",
    ]
    billing = next(line for line in text if line.startswith("billing"))
    assert "failed" in billing and "exit 3: sync 'billing' is being run by run-x" in billing
    crm = next(line for line in text if line.startswith("crm_customers"))
    assert crm.split()[:6] == ["crm_customers", "customers", "partial", "3", "2", "1"]
    assert "dbt-lambda-sync errors crm_customers" in crm


def test_an_unexpected_error_in_one_sync_does_not_stop_the_others(project, monkeypatch) -> None:
    """Issue 10 item 4: a bug (here OverflowError) in one sync used to end the command."""
    use_fake_runner(
        monkeypatch, three_syncs(billing=OverflowError("int too large to convert to float"))
    )
    result = invoke_assert_code(3, ["run", "--output", "json"])
    document = json.loads(result.stdout)
    assert [r["sync"] for r in document["runs"]] == ["crm_customers", "emails"]
    [error] = document["errors"]
    assert error["sync"] == "billing" and error["exit_code"] == 3
    assert error["error"].startswith("unexpected OverflowError: int too large")


def test_a_sync_error_raised_while_setting_up_a_run_keeps_its_exit_code(
    project, monkeypatch
) -> None:
    """A SyncError from the runner's set-up is the sync's own error (exit 2), not a bug (3)."""

    class Refusing:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise UsageError("sync 'crm_customers': no such thing")

    monkeypatch.setattr(run, "SyncRunner", Refusing)
    result = invoke_assert_code(2, ["run", "-s", "crm_customers", "--output", "json"])
    [error] = json.loads(result.stdout)["errors"]
    assert error == {
        "sync": "crm_customers",
        "error": "sync 'crm_customers': no such thing",
        "exit_code": 2,
    }


def test_function_unavailable_is_exit_3_and_outranks_rejections(project, monkeypatch) -> None:
    use_fake_runner(monkeypatch, {"crm_customers": FunctionUnavailable("cannot be invoked: gone")})
    result = invoke_assert_code(3, ["run", "-s", "crm_customers"])
    assert "Error: cannot be invoked: gone" in result.stderr


def test_errors_before_any_sync_print_one_json_document(project, monkeypatch) -> None:
    def broken(args: Any) -> Any:
        raise DefinitionError([Problem("customers", "crm_customers", "batch_size", "too big")])

    monkeypatch.setattr(run, "load_project", broken)
    result = invoke_assert_code(2, ["run", "--output", "json"])
    document = json.loads(result.stdout)
    assert document["exit_code"] == 2 and "field 'batch_size': too big" in document["error"]
    assert result.stderr.startswith("Error: 1 invalid sync definition problem(s):")
    # text mode: nothing on stdout
    assert invoke_assert_code(2, ["run"]).stdout == ""


def test_an_unexpected_error_is_exit_3_without_a_traceback(project, monkeypatch) -> None:
    def bug(args: Any) -> Any:
        raise KeyError("oops")

    monkeypatch.setattr(plan, "load_project", bug)
    result = invoke_assert_code(3, ["plan"])
    assert "Error: unexpected KeyError: 'oops'" in result.stderr


def test_usage_errors_from_click_are_exit_2() -> None:
    assert "No such option" in invoke_assert_code(2, ["run", "--nope"]).stderr
    assert "Missing argument 'SYNC'" in invoke_assert_code(2, ["errors"]).stderr


@pytest.mark.parametrize("command", ["validate", "plan", "run", "status"])
@pytest.mark.parametrize(
    "selector", [["-s", ""], ["--select", ","], ["-s", " "], ["-s", "a", "-s", ""]]
)
def test_an_empty_selector_is_a_usage_error_not_every_sync(
    project, monkeypatch, command: str, selector: list[str]
) -> None:
    def must_not_load(args: Any) -> Any:
        raise AssertionError("an empty --select reached the project")

    for module in (validate, run, plan, status):
        monkeypatch.setattr(module, "load_project", must_not_load)
    result = invoke_assert_code(2, [command, *selector])
    assert "Invalid value for '--select'" in result.stderr
    assert "names no sync or model" in result.stderr


def test_names_separated_by_commas_and_spaces_still_select(project, monkeypatch) -> None:
    runs = {"billing": run_summary("billing"), "emails": run_summary("emails")}
    use_fake_runner(monkeypatch, runs)
    document = json.loads(
        invoke_assert_code(0, ["run", "-s", "billing,, emails", "-o", "json"]).stdout
    )
    assert [r["sync"] for r in document["runs"]] == ["billing", "emails"]


def test_validate_json_lists_each_definition_problem(project, monkeypatch) -> None:
    def invalid(selectors: Sequence[str] = ()) -> list:
        raise DefinitionError([Problem("customers", "crm", "batch_size", "must be 1..1000")])

    monkeypatch.setattr(validate, "load_project", lambda args: project)
    monkeypatch.setattr(project, "definitions", invalid)
    result = invoke_assert_code(2, ["validate", "-o", "json"])
    assert json.loads(result.stdout) == {
        "valid": False,
        "syncs": [],
        "problems": [
            {
                "model": "customers",
                "sync": "crm",
                "field": "batch_size",
                "message": "must be 1..1000",
            }
        ],
        "notes": [],
        "warnings": [],
    }
    assert "field 'batch_size': must be 1..1000" in result.stderr
    text = invoke_assert_code(2, ["validate"])  # text mode: the problems on stderr, as before
    assert text.stdout == "" and "field 'batch_size'" in text.stderr


# --- plan -----------------------------------------------------------------------------------------


def test_plan_json_and_text(project, monkeypatch) -> None:
    class Store:
        def __init__(self, warehouse: Any, definition: Any):
            self.defn = definition

        def check_relation(self) -> None:
            pass

        def event_key_column(self) -> str:
            return "customer_id"

        def refresh(self, *, now: datetime) -> None:
            return None

        def summary(self, state: Any) -> PlanSummary:
            return PlanSummary(self.defn.name, self.defn.model.name, 3, 1, 0, 2, True)

    monkeypatch.setattr(plan, "PlanStore", Store)
    document = json.loads(invoke_assert_code(0, ["plan", "-s", "emails", "-o", "json"]).stdout)
    assert document == {
        "syncs": [
            {
                "name": "emails",
                "model": "emails",
                "added": 3,
                "changed": 1,
                "removed": 0,
                "invalid": 2,
                "first_run": True,
                "reason": None,
                "blocked": None,
            }
        ]
    }
    text = invoke_assert_code(0, ["plan", "-s", "emails"]).stdout.splitlines()
    assert text[0].split() == [
        "sync",
        "model",
        "added",
        "changed",
        "removed",
        "invalid",
        "first",
        "run",
        "reason",
    ]
    assert text[2].split() == ["emails", "emails", "3", "1", "0", "2", "yes"]


# --- status and errors ----------------------------------------------------------------------------


def run_record(status: str, *, error: str | None = None, first: bool = False) -> RunRecord:
    return RunRecord(
        run_id=f"run-{status}",
        sync_name="crm_customers",
        model_name="customers",
        started_at=STARTED,
        finished_at=STARTED.replace(second=17),
        status=status,
        first_run=first,
        planned_added=3,
        planned_changed=0,
        planned_removed=0,
        delivered_rows=2,
        rejected_rows=1,
        invalid_rows=0,
        skipped_rows=0,
        invocations=4,
        retries=1,
        error=error,
    )


class FakeHistory:
    def __init__(self, warehouse: Any):
        self.asked: dict[str, Any] = {}

    def recent_runs(self, names: Sequence[str], *, limit: int, now: datetime) -> dict:
        FakeHistory.limit = limit
        runs = {n: [] for n in names}
        if "crm_customers" in runs:
            runs["crm_customers"] = [
                run_record("partial"),
                run_record("success", first=True),
            ][: limit or None]
        return runs

    def open_error_counts(self, names: Sequence[str]) -> dict[str, int]:
        return {n: (120 if n == "crm_customers" else 0) for n in names}

    def invalid_row_counts(self, names: Sequence[str]) -> dict[str, int]:
        return {n: (7 if n == "crm_customers" else 0) for n in names}

    def open_errors(self, name: str, *, limit: int) -> list[ErrorRecord]:
        if name != "crm_customers":
            return []
        record = ErrorRecord("2", "added", "Email\nnot found", 3, STARTED, STARTED, "run-partial")
        return [record] * min(limit or 120, 120)


@pytest.fixture
def history(project, monkeypatch) -> None:
    declared = [
        DeclaredSync("billing", "invoices"),
        DeclaredSync("crm_customers", "customers"),
        DeclaredSync("emails", "emails", "skip"),
    ]
    for module in (status, failures, reset):
        monkeypatch.setattr(module, "declared_syncs", lambda manifest: declared)
        # no orphaned syncs here (tests/unit/test_cli_lifecycle.py has them)
        monkeypatch.setattr(module, "all_syncs", lambda warehouse, declared: list(declared))
    monkeypatch.setattr(status, "History", FakeHistory)
    monkeypatch.setattr(failures, "History", FakeHistory)


def test_status_json(history) -> None:
    document = json.loads(invoke_assert_code(0, ["status", "--output", "json"]).stdout)
    assert [s["name"] for s in document["syncs"]] == ["billing", "crm_customers", "emails"]
    crm = document["syncs"][1]
    assert (crm["model"], crm["open_errors"], crm["invalid"]) == ("customers", 120, 7)
    assert [r["status"] for r in crm["runs"]] == ["partial", "success"]
    assert crm["runs"][0] == {
        "run_id": "run-partial",
        "started_at": "2026-01-02T03:04:05Z",
        "finished_at": "2026-01-02T03:04:17Z",
        "duration_seconds": 12.0,
        "status": "partial",
        "first_run": False,
        "planned_added": 3,
        "planned_changed": 0,
        "planned_removed": 0,
        "delivered_rows": 2,
        "rejected_rows": 1,
        "invalid_rows": 0,
        "skipped_rows": 0,
        "invocations": 4,
        "retries": 1,
        "error": None,
    }
    assert FakeHistory.limit == 5
    one = json.loads(
        invoke_assert_code(0, ["status", "-s", "customers", "-n", "1", "-o", "json"]).stdout
    )
    assert [len(s["runs"]) for s in one["syncs"]] == [1] and FakeHistory.limit == 1


def test_status_text(history) -> None:
    lines = invoke_assert_code(0, ["status"]).stdout.splitlines()
    assert lines[0].split()[:4] == ["sync", "status", "started", "(UTC)"]
    assert lines[2].split()[:2] == ["billing", "never"]
    assert lines[3].split()[:7] == [
        "crm_customers",
        "partial",
        "2026-01-02",
        "03:04:05",
        "12s",
        "3",
        "2",
    ]
    assert "success (first)" in lines[4]
    assert lines[0].split()[-2:] == ["invalid", "error"]
    assert lines[3].split()[-2:] == ["120", "7"]


def test_status_with_an_unknown_selector_is_exit_2(history) -> None:
    # the real selection, on the faked declared syncs
    result = invoke_assert_code(2, ["status", "-s", "crm_customer", "-o", "json"])
    assert "did you mean 'crm_customers'" in json.loads(result.stdout)["error"]


def test_errors_json_and_text(history) -> None:
    document = json.loads(
        invoke_assert_code(0, ["errors", "customers", "-n", "2", "-o", "json"]).stdout
    )
    assert (document["sync"], document["model"], document["open_errors"]) == (
        "crm_customers",
        "customers",
        120,
    )
    assert document["errors"][0] == {
        "primary_key_value": "2",
        "operation": "added",
        "reason": "Email\nnot found",
        "attempts": 3,
        "first_failed_at": "2026-01-02T03:04:05Z",
        "last_failed_at": "2026-01-02T03:04:05Z",
        "last_failed_run_id": "run-partial",
    }
    assert len(document["errors"]) == 2
    lines = invoke_assert_code(0, ["errors", "crm_customers", "--limit", "3"]).stdout.splitlines()
    assert lines[0].split() == ["key", "operation", "reason", "attempts", "last", "failed", "(UTC)"]
    assert lines[2].split() == [
        "2",
        "added",
        "Email",
        "not",
        "found",
        "3",
        "2026-01-02",
        "03:04:05",
    ]
    assert lines[-1] == "3 of 120 current failure(s) of crm_customers; --limit 0 shows all."
    empty = invoke_assert_code(0, ["errors", "emails"]).stdout
    assert empty == "No current failures for emails (model emails).\n"


def test_errors_text_shows_terminal_escapes_instead_of_sending_them(history, monkeypatch) -> None:
    """Issue 10 item 6: an OSC title sequence in a reason reached the terminal raw."""
    hostile = "\x1b]0;pwned\x07 \x1b[31mred\x1b[0m \x9b2J \r back"
    record = ErrorRecord(hostile, "added", hostile, 1, STARTED, STARTED, "r")
    monkeypatch.setattr(FakeHistory, "open_errors", lambda self, name, *, limit: [record])
    out = invoke_assert_code(0, ["errors", "crm_customers"]).stdout
    assert not any(ch in out for ch in "\x1b\x07\x9b\r")
    assert "\\x1b]0;pwned\\x07 \\x1b[31mred\\x1b[0m \\x9b2J \\x0d back" in out
    # JSON keeps the text as it is (json escapes it)
    document = json.loads(invoke_assert_code(0, ["errors", "crm_customers", "-o", "json"]).stdout)
    assert document["errors"][0]["reason"] == hostile


def test_errors_of_an_unknown_sync_is_exit_2(history) -> None:
    result = invoke_assert_code(2, ["errors", "nope"])
    assert result.stderr.startswith("Error: no sync or model named 'nope'")


# --- reset ----------------------------------------------------------------------------------------


def test_reset_prints_what_it_did(history, monkeypatch) -> None:
    calls = []

    def fake_reset(warehouse: Any, sync: DeclaredSync, *, now: datetime) -> ResetResult:
        calls.append(sync)
        return ResetResult(sync, snapshot_rows=1234, open_errors=2 if sync.name != "emails" else 0)

    monkeypatch.setattr(reset, "reset_sync", fake_reset)
    text = invoke_assert_code(0, ["reset", "crm_customers"]).stdout
    assert text.startswith("Reset crm_customers (model customers): forgot the snapshot of 1,234")
    assert "sends every current row as added" in text and "2 current failure(s) are kept" in text
    text = invoke_assert_code(0, ["reset", "emails"]).stdout
    assert "records the current rows and sends nothing" in text and "kept" not in text
    assert [s.name for s in calls] == ["crm_customers", "emails"]


def test_reset_while_a_run_holds_the_lease_is_exit_3(history, monkeypatch) -> None:
    def held(warehouse: Any, sync: DeclaredSync, *, now: datetime) -> ResetResult:
        raise LeaseHeldError(sync.name, "run-1 (pid 7 on box)", "2026-01-02 03:06:05")

    monkeypatch.setattr(reset, "reset_sync", held)
    result = invoke_assert_code(3, ["reset", "crm_customers"])
    assert "Error: sync 'crm_customers' is being run by run-1 (pid 7 on box)" in result.stderr
    assert result.stdout == ""


# --- build ----------------------------------------------------------------------------------------


def node_result(unique_id: str, status: str, depends_on: Sequence[str] = ()) -> Any:
    kind, _, name = unique_id.split(".")
    node = SimpleNamespace(
        unique_id=unique_id,
        name=name,
        resource_type=kind,
        depends_on=SimpleNamespace(nodes=list(depends_on)),
    )
    return SimpleNamespace(node=node, status=SimpleNamespace(value=status))


def test_read_build_syncs_built_models_whose_tests_did_not_fail() -> None:
    report = build_module.read_build(
        False,
        [
            node_result("seed.p.raw", "success"),
            node_result("model.p.customers", "success"),
            node_result("model.p.invoices", "success"),
            node_result("test.p.unique_invoices_id", "fail", ["model.p.invoices"]),
            node_result("test.p.not_null_customers_id", "warn", ["model.p.customers"]),
            node_result("model.p.emails", "error"),
            node_result("model.p.downstream", "skipped"),
        ],
    )
    assert report.syncable("model.p.customers")
    assert not report.syncable("model.p.invoices")
    assert report.not_synced["model.p.invoices"] == "its test unique_invoices_id failed"
    assert report.not_synced["model.p.emails"] == "the model did not build (error)"
    assert not report.syncable("model.p.downstream") and not report.syncable("model.p.other")
    assert report.failed_nodes == ("unique_invoices_id", "emails")


@pytest.mark.parametrize(
    ("dbt_ok", "behaviour", "code"),
    [
        (True, run_summary("crm_customers"), 0),
        (False, run_summary("crm_customers"), 1),
        (True, run_summary("crm_customers", rejected=1), 1),
        (False, FunctionUnavailable("gone"), 3),
    ],
)
def test_build_syncs_only_what_dbt_built(project, monkeypatch, dbt_ok, behaviour, code) -> None:
    seen = []

    def fake_build(proj: Any, dbt_args: Sequence[str]) -> Any:
        seen.append(list(dbt_args))
        return build_module.BuildReport(
            dbt_ok,
            frozenset({"model.p.customers", "model.p.invoices"}),
            {"model.p.invoices": "its test x failed"},
            () if dbt_ok else ("broken",),
        )

    monkeypatch.setattr(build_module, "run_dbt_build", fake_build)
    use_fake_runner(monkeypatch, {"crm_customers": behaviour})
    args = ["build", "--select", "+customers", "-o", "json", "--full-refresh", "-t", "dev"]
    result = invoke_assert_code(code, args)
    assert seen == [["--select", "+customers", "--full-refresh"]]
    document = json.loads(result.stdout)
    assert document["dbt"]["success"] is dbt_ok
    assert document["skipped"] == [
        {"sync": "billing", "model": "invoices", "reason": "its test x failed"}
    ]
    assert [r["sync"] for r in document["runs"]] + [e["sync"] for e in document["errors"]] == [
        "crm_customers"
    ]
    assert "not synced: billing (model invoices: its test x failed)" in result.stderr


@pytest.mark.parametrize("output", ["text", "json"])
def test_build_sends_dbts_log_to_stderr_in_every_output_mode(project, monkeypatch, output) -> None:
    import dbt.cli.main

    class LoudDbt:
        """dbt's runner as seen from outside: logs on stdout, returns the node results."""

        def __init__(self, manifest: Any):
            pass

        def invoke(self, args: Sequence[str]) -> Any:
            print("06:55:01  Running with dbt=1.11.0")
            print("06:55:02  Completed successfully")
            built = node_result("model.p.customers", "success")
            return SimpleNamespace(
                success=True, exception=None, result=SimpleNamespace(results=[built])
            )

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", LoudDbt)
    use_fake_runner(monkeypatch, {"crm_customers": run_summary("crm_customers")})
    result = invoke_assert_code(0, ["build", "-o", output])
    assert "Running with dbt" in result.stderr and "Completed successfully" in result.stderr
    assert "dbt=" not in result.stdout and "Completed" not in result.stdout
    if output == "json":
        assert json.loads(result.stdout)["runs"][0]["sync"] == "crm_customers"
    else:
        lines = result.stdout.splitlines()
        assert lines[0].split()[:3] == ["sync", "model", "status"]
        assert [line.split()[0] for line in lines[2:]] == ["crm_customers"]


def test_build_when_dbt_cannot_start_is_exit_2(project, monkeypatch) -> None:
    def fake_build(proj: Any, dbt_args: Sequence[str]) -> Any:
        raise build_module._dbt_failure(RuntimeError("No such option: --bogus"))

    monkeypatch.setattr(build_module, "run_dbt_build", fake_build)
    result = invoke_assert_code(2, ["build", "--bogus"])
    assert result.stderr == "Error: dbt build could not run: No such option: --bogus\n"


def test_build_checks_definitions_before_dbt_starts(project, monkeypatch) -> None:
    def invalid(selectors: Sequence[str] = ()) -> list:
        raise UsageError("1 invalid sync definition problem(s)")

    monkeypatch.setattr(project, "definitions", invalid)
    monkeypatch.setattr(build_module, "run_dbt_build", lambda *a, **k: pytest.fail("dbt ran"))
    invoke_assert_code(2, ["build"])
