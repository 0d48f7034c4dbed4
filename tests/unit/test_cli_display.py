"""The terminal display: formatting, plain and drawn tables, both reporters. No dbt start-up."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from rich.console import Console

from dbt_lambda_sync.cli.display import (
    LineReporter,
    LiveReporter,
    Table,
    format_duration,
    format_rate,
    is_terminal,
    make_reporter,
    one_line,
    plain_table,
    print_table,
)
from dbt_lambda_sync.reporting import PlanSummary, Progress, RunSummary

PACKAGE = Path(__file__).resolve().parents[2] / "dbt_lambda_sync"


def summary(**overrides: object) -> RunSummary:
    values: dict = dict(
        run_id="20260101T000000Z-abcdef",
        sync="crm_customers",
        model="customers",
        status="success",
        first_run=True,
        planned_added=20,
        planned_changed=0,
        planned_removed=0,
        delivered_rows=20,
        rejected_rows=0,
        invalid_rows=0,
        skipped_rows=0,
        invocations=20,
        retries=0,
        duration_seconds=12.3,
    )
    values.update(overrides)
    return RunSummary(**values)


PLAN = PlanSummary("crm_customers", "customers", 20, 0, 0, 1, True)
PROGRESS = Progress("crm_customers", 20, 9, 1, 10, elapsed_seconds=5.0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.04, "0.0s"), (4.24, "4.2s"), (42.4, "42s"), (185, "3m05s"), (7260, "2h01m")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_rate_and_one_line() -> None:
    assert [format_rate(r) for r in (0.25, 12.4, 1234.5)] == [
        "0.2 rows/s",
        "12 rows/s",
        "1,234 rows/s",
    ]
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("x" * 10, 5) == "xxxx…"


def test_plain_table_is_aligned_and_shows_none_and_bools_plainly() -> None:
    text = plain_table(
        Table(["sync", "rows", "first"], [["a", 3, True], ["long_name", None, False]])
    )
    assert text.splitlines() == [
        "sync       rows  first",
        "---------  ----  -----",
        "a          3     yes",
        "long_name        no",
    ]


def test_print_table_draws_on_a_terminal_and_never_reads_markup(monkeypatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    table = Table(["key", "reason", "attempts"], [["2", "[bold]not markup[/bold]", 3]])
    drawn, plain = Terminal(), io.StringIO()
    print_table(table, stream=drawn)
    print_table(table, stream=plain)
    assert "╭" in drawn.getvalue() and "[bold]not markup[/bold]" in drawn.getvalue()
    assert plain.getvalue().startswith("key  reason") and "╭" not in plain.getvalue()


def test_is_terminal(monkeypatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("TERM", "xterm")
    assert is_terminal(Terminal()) and not is_terminal(io.StringIO())
    monkeypatch.setenv("TERM", "dumb")
    assert not is_terminal(Terminal())
    assert isinstance(make_reporter(stream=Terminal()), LineReporter)


def test_line_reporter_prints_plain_timestamped_lines() -> None:
    out = io.StringIO()
    reporter = LineReporter(stream=out, timestamp=lambda: "12:00:00")
    with reporter:
        reporter.sync_started(PLAN)
        reporter.progress(PROGRESS)
        reporter.sync_finished(summary(status="partial", rejected_rows=1, delivered_rows=19))
        reporter.sync_failed("billing", "sync 'billing' is being run by someone")
    assert out.getvalue().splitlines() == [
        "12:00:00  crm_customers: 20 added, 0 changed, 0 removed, 1 invalid (first run)",
        "12:00:00  crm_customers: 10/20 rows, 10 invocations, 2.0 rows/s, about 5.0s left",
        "12:00:00  crm_customers: partial - 19 delivered, 1 rejected, 20 invocations"
        " (0 retries) in 12s",
        "Error: sync 'billing' is being run by someone",
    ]


def test_live_reporter_draws_progress_then_the_outcome() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=150, color_system=None)
    with LiveReporter(console, refresh_per_second=20) as reporter:
        reporter.sync_started(PLAN)
        reporter.progress(PROGRESS)
        reporter._progress.refresh()
        middle = out.getvalue()
        reporter.sync_finished(summary())
        reporter.sync_started(PlanSummary("billing", "invoices", 0, 0, 0, 0, False))
        reporter.sync_failed("billing", "the warehouse refused [x]")
    text = out.getvalue()
    assert "10/20 rows  10 invocations  2.0 rows/s  5.0s left" in middle
    assert "✓ crm_customers" in text and "success - 20 delivered, 0 rejected" in text
    assert "✗ billing" in text and "failed: the warehouse refused [x]" in text
    assert "Error: the warehouse refused [x]" in text


def test_dry_run_and_failed_lines() -> None:
    out = io.StringIO()
    reporter = LineReporter(stream=out, timestamp=lambda: "t")
    reporter.sync_finished(summary(status="dry_run", event_bytes=2048, delivered_rows=0))
    reporter.sync_finished(summary(status="failed", error="FunctionUnavailable: gone\nfor good"))
    lines = out.getvalue().splitlines()
    assert (
        lines[0]
        == "t  crm_customers: dry run - 20 invocations would send 2,048 bytes; nothing sent"
    )
    assert lines[1].endswith(": FunctionUnavailable: gone for good")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_core_never_imports_the_cli_or_the_display() -> None:
    core = [p for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts]
    assert len(core) > 10
    for path in core:
        bad = {
            name
            for name in _imports(path)
            if name.startswith("dbt_lambda_sync.cli")
            or name in ("click", "rich")
            or name.startswith("rich.")
        }
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_tables_and_lines_show_control_characters() -> None:
    """Issue 10 item 6: text output displays escapes; tab and newline fold to spaces."""
    table = Table(["key", "reason"], [["k\x1b[2J", "a\tb\nc \x1b]0;t\x07"]])
    text = plain_table(table)
    assert "\x1b" not in text and "\x07" not in text
    assert "k\\x1b[2J" in text and "a\\x09b\\x0ac \\x1b]0;t\\x07" in text
    assert one_line("a\tb\nc \x1b]0;t\x07") == "a b c \\x1b]0;t\\x07"
