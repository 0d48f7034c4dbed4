"""The words the package's tables, events and summaries share: operations and run statuses.

One home for each, so that a new status or a renamed operation is a change in one place. Plain
strings (not enums): they are written to the warehouse, compared with what it returns and put in
JSON as they are. The schema's ``triggers`` enum lists the same operations (a unit test checks).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ADDED",
    "CHANGED",
    "DRY_RUN",
    "DUPLICATE",
    "FAILED",
    "FINISHED_STATUSES",
    "INTERRUPTED",
    "OPERATIONS",
    "PARTIAL",
    "REMOVED",
    "RUNNING",
    "RUN_STATUSES",
    "SKIPPED",
    "SUCCESS",
    "UNKNOWN",
]

# --- operations: what happened to a row since it was last delivered ---------------------------

ADDED: Final = "added"
CHANGED: Final = "changed"
REMOVED: Final = "removed"
OPERATIONS: Final = (ADDED, CHANGED, REMOVED)
# Not an event: the plan's mark for a key on more than one model row (compute_plan writes it);
# such rows are never sent and fail as duplicate keys.
DUPLICATE: Final = "duplicate"

# --- run statuses: lambda_sync_runs.status and RunSummary.status ------------------------------

RUNNING: Final = "running"  # in the table while the runner works
SUCCESS: Final = "success"
PARTIAL: Final = "partial"  # finished, some rows rejected
FAILED: Final = "failed"
INTERRUPTED: Final = "interrupted"  # stopped by a signal; also shown for a killed runner's row
DRY_RUN: Final = "dry_run"  # summaries only: a dry run writes no run row
SKIPPED: Final = "skipped"  # summaries only: nothing could be sent (see RunSummary.note)
UNKNOWN: Final = "unknown"  # a run row without a status
FINISHED_STATUSES: Final = (SUCCESS, PARTIAL, FAILED, INTERRUPTED)
RUN_STATUSES: Final = (RUNNING, *FINISHED_STATUSES, DRY_RUN, SKIPPED)
