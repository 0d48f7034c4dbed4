"""Example Lambda function for dbt-lambda-sync: upsert customers into a CRM.

Lambda handler setting: ``crm_upsert.handler``. Deployment package (examples/DEPLOYING.md):

    crm_upsert.py
    dbt_lambda_sync/__init__.py     (empty)
    dbt_lambda_sync/handler.py      (the handler kit, standard library only)

The CRM here is a stand-in that logs what it would do. Replace ``CrmClient`` with your CRM's API
client; everything else stays as it is.

- ``added`` and ``changed`` rows are upserted by email; a row whose email is missing or not an
  address is rejected with a reason (dbt-lambda-sync records it in ``lambda_sync_errors`` and sends
  it again on later runs, so fixing the data upstream resolves it).
- ``removed`` rows are deleted; they need no valid email.
- Anything else that goes wrong (the CRM is down) raises: the whole batch is retried.

Environment variables:
- ``CRM_UPSERT_LOG`` (optional): a file to which every row received is appended as one JSON line,
  with what was done with it. The demo (``make demo``) reads it to show what the function got.
- ``LOG_LEVEL`` (optional, default ``INFO``).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from typing import Any

from dbt_lambda_sync.handler import RowContext, RowRejected, sync_handler

logger = logging.getLogger()
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

# Deliberately simple: one "@", no spaces, a dot in the domain.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


class CrmClient:
    """A stand-in for your CRM's API client: it only logs the calls it would make."""

    def upsert_contact(self, *, external_id: str, email: str, fields: dict[str, Any]) -> None:
        logger.info("crm: upsert contact %s <%s>", external_id, email)

    def delete_contact(self, *, external_id: str) -> None:
        logger.info("crm: delete contact %s", external_id)


# Created once per execution environment and reused by every invocation it serves.
crm = CrmClient()


def upsert_customer(row: dict[str, Any], ctx: RowContext) -> None:
    """Called by the handler kit for each row; raise RowRejected to reject just this row."""
    try:
        verdict = _apply(row, ctx)
    except RowRejected as exc:
        _audit(row, ctx, verdict="rejected", reason=exc.reason)
        raise
    _audit(row, ctx, verdict=verdict)


def _apply(row: dict[str, Any], ctx: RowContext) -> str:
    if ctx.operation == "removed":
        crm.delete_contact(external_id=ctx.primary_key)
        return "deleted"
    email = row.get("email")
    if not email:
        raise RowRejected("email is missing")
    if not EMAIL.match(email):
        raise RowRejected(f"email {email!r} is not a valid address")
    fields = {k: v for k, v in row.items() if k not in (ctx.primary_key_column, "email")}
    crm.upsert_contact(external_id=ctx.primary_key, email=email, fields=fields)
    return "upserted"


def _audit(row: dict[str, Any], ctx: RowContext, *, verdict: str, reason: str = "") -> None:
    """Log what this function received and did; also to $CRM_UPSERT_LOG when it is set."""
    logger.info(
        "%s %s %s (invocation %s, attempt %s)%s",
        ctx.operation,
        ctx.primary_key,
        verdict,
        ctx.sync.invocation_id,
        ctx.sync.attempt,
        f": {reason}" if reason else "",
    )
    path = os.environ.get("CRM_UPSERT_LOG")
    if not path:
        return
    entry = {
        "operation": ctx.operation,
        "key": ctx.primary_key,
        "verdict": verdict,
        "reason": reason or None,
        "row": row,
        "previous": ctx.previous,
        "invocation_id": ctx.sync.invocation_id,
        "attempt": ctx.sync.attempt,
    }
    with open(path, "a") as log:
        fcntl.flock(log, fcntl.LOCK_EX)  # concurrent invocations may share the file
        log.write(json.dumps(entry, default=str) + "\n")


handler = sync_handler(upsert_customer)
