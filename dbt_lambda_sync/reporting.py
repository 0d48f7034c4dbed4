"""What the core tells the outside world while it works: the reporter interface the CLI implements.

The core never prints; it calls a Reporter. Summaries are plain data with a JSON form for scripts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class PlanSummary:
    """The pending change set of one sync, as `plan` prints it."""

    name: str
    model: str
    added: int
    changed: int
    removed: int
    invalid: int
    first_run: bool
    duplicate_keys: int = 0
    # why nothing is sent (a model built with --empty, a changed key); the counts are then 0
    blocked: str | None = None
    # why every row is sent: first_run, columns_changed, primary_key_changed, full_refresh
    reason: str | None = None

    @property
    def total(self) -> int:
        """Rows to send."""
        return self.added + self.changed + self.removed

    def to_json(self) -> dict[str, Any]:
        """The plan for scripts (``plan --output json``)."""
        return {
            "name": self.name,
            "model": self.model,
            "added": self.added,
            "changed": self.changed,
            "removed": self.removed,
            "invalid": self.invalid,
            "first_run": self.first_run,
            "reason": self.reason,
            "blocked": self.blocked,
        }


@dataclass(frozen=True)
class Progress:
    """How far a sync's run has got, reported while it works."""

    sync: str
    planned_rows: int
    delivered_rows: int
    rejected_rows: int
    invocations: int
    elapsed_seconds: float

    @property
    def rows_per_second(self) -> float:
        """Rows settled (delivered or rejected) per second so far."""
        done = self.delivered_rows + self.rejected_rows
        return done / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        """An estimate of the time left; None before the first rows settle."""
        rate = self.rows_per_second
        left = self.planned_rows - self.delivered_rows - self.rejected_rows
        return max(0.0, left / rate) if rate > 0 else None


@dataclass(frozen=True)
class RunSummary:
    """How a sync's run ended. Its counters are ``state.RunCounters``' (a unit test checks)."""

    run_id: str
    sync: str
    model: str
    status: str  # vocabulary.RUN_STATUSES, except running; skipped says why in note
    first_run: bool
    planned_added: int
    planned_changed: int
    planned_removed: int
    delivered_rows: int
    rejected_rows: int
    invalid_rows: int
    skipped_rows: int
    invocations: int
    retries: int
    duration_seconds: float
    error: str | None = None
    event_bytes: int | None = None  # dry runs: bytes of the events that would be sent
    note: str | None = None  # skipped runs: why nothing was sent
    # Rows that failed in this run and were not failing before it (not for dry runs)
    new_failures: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The summary for scripts: every field that is set (error always)."""
        return {k: v for k, v in asdict(self).items() if v is not None or k == "error"}


class Reporter(Protocol):
    """What the core calls while it works; the CLI implements it."""

    def sync_started(self, plan: PlanSummary) -> None:
        """A sync's run starts with this plan."""

    def progress(self, progress: Progress) -> None:
        """A sync's run has got this far."""

    def sync_finished(self, summary: RunSummary) -> None:
        """A sync's run ended."""


class NullReporter:
    """A reporter that shows nothing (tests, scripts)."""

    def sync_started(self, plan: PlanSummary) -> None:
        """Ignored."""

    def progress(self, progress: Progress) -> None:
        """Ignored."""

    def sync_finished(self, summary: RunSummary) -> None:
        """Ignored."""
