"""What the terminal shows: live progress and drawn tables on a terminal, plain lines without one.

The CLI's side of the core's reporter interface (``dbt_lambda_sync.reporting``). The core never
imports this module: imports flow one way, from the CLI down.

- ``make_reporter()`` picks ``LiveReporter`` (a rich progress display on stderr) when stderr is a
  terminal, else ``LineReporter`` (timestamped plain lines, what a CI log or a pipe should get).
- ``print_table()`` draws a rich table when the stream is a terminal, else plain aligned text.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, ProgressColumn, SpinnerColumn, Task, TaskID, TextColumn
from rich.progress import Progress as RichProgress
from rich.table import Table as RichTable
from rich.text import Text

from dbt_lambda_sync.reporting import PlanSummary, Progress, RunSummary
from dbt_lambda_sync.text import visible
from dbt_lambda_sync.vocabulary import (
    DRY_RUN,
    FAILED,
    INTERRUPTED,
    PARTIAL,
    RUNNING,
    SKIPPED,
    SUCCESS,
)

STATUS_STYLES = {
    SUCCESS: "green",
    DRY_RUN: "cyan",
    PARTIAL: "yellow",
    FAILED: "bold red",
    INTERRUPTED: "red",
    RUNNING: "blue",
    SKIPPED: "cyan",
}


# --- formatting -----------------------------------------------------------------------------------


def is_terminal(stream: TextIO) -> bool:
    """A stream worth drawing on: a TTY whose terminal understands cursor movement."""
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
    return tty and os.environ.get("TERM", "") not in ("dumb", "unknown")


def format_duration(seconds: float | None) -> str:
    """4.2s, 42s, 3m05s, 2h01m; '-' when unknown."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_rate(rows_per_second: float) -> str:
    """Rows per second, with as many digits as are worth reading."""
    if rows_per_second >= 100:
        return f"{rows_per_second:,.0f} rows/s"
    if rows_per_second >= 10:
        return f"{rows_per_second:.0f} rows/s"
    return f"{rows_per_second:.1f} rows/s"


def one_line(text: object, width: int | None = None) -> str:
    """A value on one line, cut to ``width`` characters with an ellipsis; control characters
    shown (``visible``), never sent to the terminal.
    """
    flat = visible(" ".join(str(text).split()))
    if width is not None and len(flat) > width:
        return flat[: max(0, width - 1)] + "…"
    return flat


def progress_line(progress: Progress) -> str:
    """One line of progress: rows done of planned, rate and time left."""
    done = progress.delivered_rows + progress.rejected_rows
    left = progress.seconds_left
    eta = f", about {format_duration(left)} left" if left is not None else ""
    return (
        f"{done:,}/{progress.planned_rows:,} rows, {progress.invocations:,} invocations,"
        f" {format_rate(progress.rows_per_second)}{eta}"
    )


def finished_line(summary: RunSummary) -> str:
    """One line saying how a sync ended."""
    if summary.status == DRY_RUN:
        return (
            f"dry run - {summary.invocations:,} invocations would send"
            f" {summary.event_bytes or 0:,} bytes; nothing sent"
        )
    if summary.status == SKIPPED:
        return f"skipped - {summary.note}"
    text = (
        f"{summary.status} - {summary.delivered_rows:,} delivered, {summary.rejected_rows:,}"
        f" rejected, {summary.invocations:,} invocations ({summary.retries:,} retries)"
        f" in {format_duration(summary.duration_seconds)}"
    )
    return text + (f": {one_line(summary.error, 200)}" if summary.error else "")


# --- tables ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """Rows to show as a table; ``status_column`` names the column coloured by run status."""

    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]
    title: str | None = None
    status_column: str | None = None
    right_columns: Sequence[str] = ()  # besides the numeric ones, found by their values


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    # Cells show what a function or a model wrote (reasons, keys): escapes are displayed, not run.
    return visible(str(value), lines=False)


def plain_table(table: Table) -> str:
    """Aligned columns with a dashed rule under the headers: stable text for logs and greps."""
    cells = [list(map(str, table.headers))] + [[_cell(v) for v in row] for row in table.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.headers))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if table.title:
        lines.insert(0, table.title)
    return "\n".join(lines)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_numeric_column(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(_is_number(v) for v in present)


def rich_table(table: Table) -> RichTable:
    """``table`` as a rich table (numbers right-aligned, cells shown with escapes visible)."""
    drawn = RichTable(title=table.title, box=box.ROUNDED, header_style="bold", title_style="bold")
    numeric = [
        _is_numeric_column([row[i] for row in table.rows]) or header in table.right_columns
        for i, header in enumerate(table.headers)
    ]
    for header, right in zip(table.headers, numeric, strict=True):
        drawn.add_column(header, justify="right" if right else "left", overflow="fold")
    status_at = (
        list(table.headers).index(table.status_column)
        if table.status_column is not None and table.status_column in table.headers
        else None
    )
    for row in table.rows:
        cells = []
        for i, value in enumerate(row):
            style = STATUS_STYLES.get(str(value).split(" ")[0], "") if i == status_at else ""
            # Text, never markup: reasons and messages may hold [brackets].
            cells.append(Text(_cell(value), style=style))
        drawn.add_row(*cells)
    return drawn


def print_table(table: Table, *, stream: TextIO | None = None) -> None:
    """A rich table on a terminal, else plain text; stdout unless told otherwise."""
    stream = stream or sys.stdout
    if is_terminal(stream):
        Console(file=stream, highlight=False).print(rich_table(table))
    else:
        click.echo(plain_table(table), file=stream)


# --- reporters ------------------------------------------------------------------------------------


class LineReporter:
    """Plain timestamped lines on stderr: one at the start of a sync, one a checkpoint, one at
    the end. What a CI log or a pipe should get.
    """

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        timestamp: Callable[[], str] = lambda: time.strftime("%H:%M:%S"),
    ):
        self._stream = stream
        self._timestamp = timestamp

    def __enter__(self) -> LineReporter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def _say(self, text: str) -> None:
        click.echo(f"{self._timestamp()}  {text}", file=self._stream or sys.stderr)

    def sync_started(self, plan: PlanSummary) -> None:
        """Print the sync's plan."""
        first = " (first run)" if plan.first_run else ""
        self._say(
            f"{plan.name}: {plan.added:,} added, {plan.changed:,} changed, {plan.removed:,}"
            f" removed, {plan.invalid:,} invalid{first}"
        )

    def progress(self, progress: Progress) -> None:
        """Print a progress line."""
        self._say(f"{progress.sync}: {progress_line(progress)}")

    def sync_finished(self, summary: RunSummary) -> None:
        """Print how the sync ended."""
        self._say(f"{summary.sync}: {finished_line(summary)}")

    def sync_failed(self, sync: str, message: str) -> None:
        """Print why the sync could not run."""
        click.echo(f"Error: {visible(message)}", file=self._stream or sys.stderr)


@dataclass
class _SyncTask:
    planned: int
    done: int = 0
    invocations: int = 0
    rate: float | None = None
    seconds_left: float | None = None
    outcome: Text | None = None  # set when the sync has finished or failed
    ok: bool = False


class _DetailColumn(ProgressColumn):
    """rows done/planned, invocations, rows/s and time left; the outcome once finished."""

    def __init__(self, tasks: dict[TaskID, _SyncTask]):
        super().__init__()
        self._tasks = tasks

    def render(self, task: Task) -> Text:
        state = self._tasks.get(task.id)
        if state is None:
            return Text("")
        if state.outcome is not None:
            return state.outcome
        parts = [
            f"{state.done:,}/{state.planned:,} rows",
            f"{state.invocations:,} invocations",
            format_rate(state.rate) if state.rate is not None else "- rows/s",
            f"{format_duration(state.seconds_left)} left"
            if state.seconds_left is not None
            else "- left",
        ]
        return Text("  ".join(parts))


class _MarkColumn(SpinnerColumn):
    """A spinner while a sync runs; a tick or a cross once it is done."""

    def __init__(self, tasks: dict[TaskID, _SyncTask]):
        super().__init__(spinner_name="dots")
        self._tasks = tasks

    def render(self, task: Task) -> Any:
        state = self._tasks.get(task.id)
        if state is not None and state.outcome is not None:
            return Text("✓" if state.ok else "✗", style="green" if state.ok else "red")
        return super().render(task)


class LiveReporter:
    """A live progress display on a terminal (stderr): one line per sync, redrawn in place.

    Use it as a context manager around the syncs; errors print above the display.
    """

    def __init__(self, console: Console | None = None, *, refresh_per_second: float = 4):
        self.console = console or Console(stderr=True, highlight=False)
        self._tasks: dict[TaskID, _SyncTask] = {}
        self._ids: dict[str, TaskID] = {}
        self._progress = RichProgress(
            _MarkColumn(self._tasks),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=30),
            _DetailColumn(self._tasks),
            console=self.console,
            refresh_per_second=refresh_per_second,
            redirect_stdout=False,  # stdout carries results (a JSON document, a table)
            redirect_stderr=True,
        )

    def __enter__(self) -> LiveReporter:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def sync_started(self, plan: PlanSummary) -> None:
        """Print the sync's plan above the display and add its progress bar."""
        first = " (first run)" if plan.first_run else ""
        self.console.print(
            Text(
                f"{plan.name}: {plan.added:,} added, {plan.changed:,} changed, {plan.removed:,}"
                f" removed, {plan.invalid:,} invalid{first}",
                style="dim",
            )
        )
        # rich draws an empty bar for nothing planned; a total of 1 fills it at the end.
        task = self._progress.add_task(
            plan.name, total=max(plan.total, 1), completed=0, visible=False
        )
        self._ids[plan.name] = task
        self._tasks[task] = _SyncTask(planned=plan.total)
        self._progress.update(task, visible=True)  # drawn once its numbers exist

    def progress(self, progress: Progress) -> None:
        """Move the sync's progress bar."""
        counted = self._count(progress.sync, progress)
        if counted is None:
            return
        task, state = counted
        state.rate = progress.rows_per_second
        state.seconds_left = progress.seconds_left
        self._progress.update(task, completed=min(state.done, max(state.planned, 1)))

    def sync_finished(self, summary: RunSummary) -> None:
        """Show how the sync ended on its line."""
        counted = self._count(summary.sync, summary)
        if counted is None:
            return
        task, state = counted
        state.ok = summary.status in (SUCCESS, DRY_RUN, SKIPPED)
        style = STATUS_STYLES.get(summary.status, "")
        state.outcome = Text(finished_line(summary), style=style)
        self._progress.update(task, completed=max(state.planned, 1))
        self._progress.stop_task(task)

    def _count(self, sync: str, numbers: Progress | RunSummary) -> tuple[TaskID, _SyncTask] | None:
        """The sync's task with the rows done and invocations of ``numbers``; None if unknown."""
        task = self._ids.get(sync)
        if task is None:
            return None
        state = self._tasks[task]
        state.done = numbers.delivered_rows + numbers.rejected_rows
        state.invocations = numbers.invocations
        return task, state

    def sync_failed(self, sync: str, message: str) -> None:
        """Mark the sync failed and print why above the display."""
        task = self._ids.get(sync)
        if task is not None and self._tasks[task].outcome is None:
            state = self._tasks[task]
            state.ok = False
            state.outcome = Text(f"failed: {one_line(message, 120)}", style="bold red")
            self._progress.stop_task(task)
        self.console.print(Text.assemble(("Error: ", "bold red"), visible(message)))


def make_reporter(*, stream: TextIO | None = None) -> LineReporter | LiveReporter:
    """Live progress when stderr is a terminal; plain lines otherwise."""
    stream = stream or sys.stderr
    if is_terminal(stream):
        return LiveReporter(Console(file=stream, highlight=False))
    return LineReporter(stream=stream)
