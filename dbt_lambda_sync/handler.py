"""Write the Lambda function that dbt-lambda-sync invokes: a per-row function becomes a handler.

Standard library only, so it runs on any Lambda Python runtime (3.9 and later). Import it from the
installed package, or vendor this one file into your deployment package as
``dbt_lambda_sync/handler.py`` next to an empty ``dbt_lambda_sync/__init__.py``
(``examples/DEPLOYING.md`` shows the layout).

    from dbt_lambda_sync.handler import RowRejected, sync_handler

    def upsert_customer(row, ctx):
        if not row.get("email"):
            raise RowRejected("email is missing")  # this row only: recorded, retried later
        crm.upsert(ctx.primary_key, row)           # any other exception fails the whole batch

    handler = sync_handler(upsert_customer)        # Lambda handler setting: module.handler

The event the function receives and the answer it gives are described by the JSON Schemas that
ship with the package, ``dbt_lambda_sync/schemas/event.schema.json`` and
``dbt_lambda_sync/schemas/response.schema.json`` (SPEC sections 4 and 5). In short:

- the event carries rows of one operation (``added``, ``changed`` or ``removed``), optionally the
  rows' previous versions (``previous_rows``, ``changed`` events with ``include_previous: true``),
  and the ``sync`` it comes from (``name``, ``model``, ``run_id``, ``invocation_id``, ``attempt``);
- the answer ``{"errors": [{"primary_key_value": "42", "reason": "..."}]}`` lists the rows the
  function rejected; every other row of the event counts as delivered.

Rejected or failed? The two ways a row can fail mean different things, and the runner treats them
differently:

- **Rejected** (``RowRejected``, or an exception type you list in ``reject_on``): the row itself is
  wrong (a missing email, an address the CRM refuses). Only that row is reported; the rest of the
  batch is delivered. The runner records it in ``lambda_sync_errors`` with your reason and sends it
  again, as it is then, on every later run until it goes through.
- **Failed** (any other exception): something is wrong beyond the row, such as a bug, the
  downstream API being down, or a timeout. The exception leaves the handler, Lambda reports a
  function error, and the runner retries the **whole batch** (same ``invocation_id``,
  ``attempt + 1``) with backoff, then records every row of it with the error as reason. Swallowing
  such an error as a rejection would hide an outage behind thousands of row reasons, and would
  keep it out of Lambda's error metrics and alarms.

Because a batch can be retried after some of its rows went through, ``process_row`` must be
idempotent: upsert rather than insert, or deduplicate on ``ctx.idempotency_key``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_REASON_CHARS",
    "OPERATIONS",
    "BatchContext",
    "InvalidEvent",
    "RowContext",
    "RowRejected",
    "SyncInfo",
    "key_text",
    "sync_batch_handler",
    "sync_handler",
    "validate_event",
]

OPERATIONS = ("added", "changed", "removed")
MAX_REASON_CHARS = 1000  # the runner keeps at most this much of a reason
MAX_ROWS = 1000  # the largest batch_size
_MAX_PROBLEMS = 20  # validate_event lists at most this many problems, then counts the rest

logger = logging.getLogger(__name__)


class RowRejected(Exception):
    """Raise from ``process_row`` to reject that one row; ``reason`` is stored as it is.

    ``raise RowRejected("email is missing")`` answers
    ``{"primary_key_value": "42", "reason": "email is missing"}``. Subclass it for your own
    rejection types; they are caught the same way.
    """

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidEvent(ValueError):
    """The event does not have the dbt-lambda-sync shape (see ``validate_event``).

    Raised by the handlers before any row is processed. It leaves the handler as a function
    error, so the runner retries the batch and then records every row with this message.
    """


@dataclass(frozen=True)
class SyncInfo:
    """The event's ``sync`` object: where the rows come from and which invocation this is."""

    name: str  # the sync's name (config.meta.lambda_sync.name)
    model: str  # the dbt model
    run_id: str  # the dbt-lambda-sync run; lambda_sync_runs.run_id
    invocation_id: str  # the same on every retry of this batch; lambda_sync_invocations
    attempt: int  # 1 for the first send of the batch

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> SyncInfo:
        """The ``sync`` part of an event."""
        sync = event["sync"]
        return cls(
            name=sync["name"],
            model=sync["model"],
            run_id=sync["run_id"],
            invocation_id=sync["invocation_id"],
            attempt=sync["attempt"],
        )


@dataclass(frozen=True)
class RowContext:
    """What ``process_row(row, ctx)`` knows besides the row."""

    operation: str  # added | changed | removed (a removed row is the row as last delivered)
    primary_key_column: str
    primary_key: str  # the row's key as text, as the answer names it
    previous: dict[str, Any] | None  # changed rows with include_previous: the last delivered row
    sync: SyncInfo
    index: int  # the row's position in the event's rows
    lambda_context: Any  # the Lambda context object (get_remaining_time_in_millis, ...)
    row: Mapping[str, Any]

    @property
    def idempotency_key(self) -> str:
        """A stable key for this version of the row: the same across retries and runs.

        Built from the sync, the operation, the primary key and the row's content, so the same
        change delivered twice (a retried batch, a run that re-sends an unconfirmed batch) has
        the same key, and a later change of the row has a new one.
        """
        content = json.dumps(self.row, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(
            "\x1f".join([self.sync.name, self.operation, self.primary_key, content]).encode()
        ).hexdigest()
        return f"{self.sync.name}:{self.primary_key}:{digest[:32]}"


@dataclass(frozen=True)
class BatchContext:
    """What ``process_batch(rows, ctx)`` knows besides the rows."""

    operation: str
    primary_key_column: str
    keys: list[str]  # keys[i] is rows[i]'s primary key as text
    previous_rows: list[dict[str, Any]] | None  # previous_rows[i] is rows[i]'s last delivered row
    sync: SyncInfo
    lambda_context: Any

    def key(self, row: Mapping[str, Any]) -> str:
        """A row's primary key as text, as the answer names it."""
        return key_text(row[self.primary_key_column])


RowFunction = Callable[[dict, RowContext], Any]
BatchFunction = Callable[[list, BatchContext], Any]
Handler = Callable[..., dict]


def key_text(value: Any) -> str:
    """A primary key value as text, the way the runner compares keys.

    Strings as they are, integers and integral floats (``5.0``) as their digits, booleans as
    ``true``/``false`` (as SQL casts them), other numbers as Python writes them.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rows_with_context(event: Mapping[str, Any], context: Any) -> Iterator[tuple[dict, RowContext]]:
    """Each row of ``event`` with the ``RowContext`` a row function gets."""
    column = event["primary_key_column"]
    previous_rows = event.get("previous_rows")
    sync = SyncInfo.from_event(event)
    for index, row in enumerate(event["rows"]):
        yield (
            row,
            RowContext(
                operation=event["operation"],
                primary_key_column=column,
                primary_key=key_text(row[column]),
                previous=previous_rows[index] if previous_rows else None,
                sync=sync,
                index=index,
                lambda_context=context,
                row=row,
            ),
        )


def sync_handler(
    process_row: RowFunction,
    *,
    reject_on: tuple[type[BaseException], ...] = (RowRejected,),
    validate: bool = True,
) -> Handler:
    """A Lambda handler that calls ``process_row(row, ctx)`` for each row of the event, in order.

    - ``process_row`` returns normally: the row is delivered (its return value is ignored).
    - It raises an exception in ``reject_on`` (default: ``RowRejected`` and its subclasses): the
      row is rejected. The reason is the ``RowRejected`` message as given, or
      ``"<ExceptionType>: <message>"`` for other types, cut to 1000 characters.
    - It raises anything else: the exception propagates, Lambda reports a function error and the
      runner retries the whole batch (see the module docstring for why).

    The handler answers ``{"errors": [...]}`` (an empty list when every row was delivered), which
    matches ``dbt_lambda_sync/schemas/response.schema.json``. With ``validate`` (the default), an
    event of the wrong shape raises ``InvalidEvent`` before any row is processed.
    """
    if not callable(process_row):
        raise TypeError(f"process_row must be callable, got {type(process_row).__name__}")
    reject_on = _exception_types(reject_on)

    def handler(event: dict, context: Any = None) -> dict:
        _check(event, validate)
        errors = []
        for row, ctx in _rows_with_context(event, context):
            try:
                process_row(row, ctx)
            except reject_on as exc:
                reason = _reason(exc)
                logger.info("rejected %s %s: %s", ctx.operation, ctx.primary_key, reason)
                errors.append({"primary_key_value": ctx.primary_key, "reason": reason})
            except Exception:
                logger.error(
                    "%s row %s raised: the whole batch fails (invocation %s, attempt %s)",
                    ctx.operation,
                    ctx.primary_key,
                    ctx.sync.invocation_id,
                    ctx.sync.attempt,
                )
                raise
        return {"errors": errors}

    handler.__doc__ = f"dbt-lambda-sync handler for {_name(process_row)}."
    return handler


def sync_batch_handler(process_batch: BatchFunction, *, validate: bool = True) -> Handler:
    """A Lambda handler that calls ``process_batch(rows, ctx)`` once for the whole event.

    For APIs with bulk endpoints. ``process_batch`` returns the rejected rows as a mapping of
    primary key (text, or the key's value) to reason, or ``None`` / an empty mapping when every
    row was delivered. Use ``ctx.key(row)`` or ``ctx.keys`` for the keys as text. Reasons are cut
    to 1000 characters; an empty or ``None`` reason is sent without one. Any exception
    propagates: a function error, and the runner retries the whole batch.
    """
    if not callable(process_batch):
        raise TypeError(f"process_batch must be callable, got {type(process_batch).__name__}")

    def handler(event: dict, context: Any = None) -> dict:
        _check(event, validate)
        column = event["primary_key_column"]
        rows = event["rows"]
        ctx = BatchContext(
            operation=event["operation"],
            primary_key_column=column,
            keys=[key_text(row[column]) for row in rows],
            previous_rows=event.get("previous_rows"),
            sync=SyncInfo.from_event(event),
            lambda_context=context,
        )
        rejected = process_batch(rows, ctx)
        if rejected is None:
            return {"errors": []}
        if not isinstance(rejected, Mapping):
            raise TypeError(
                "process_batch must return a mapping of primary key to reason, or None; "
                f"got {type(rejected).__name__}"
            )
        errors = []
        for key, reason in rejected.items():
            entry = {"primary_key_value": key_text(key)}
            if reason is not None and reason != "":
                entry["reason"] = _truncate(str(reason))
            errors.append(entry)
        return {"errors": errors}

    handler.__doc__ = f"dbt-lambda-sync batch handler for {_name(process_batch)}."
    return handler


def validate_event(event: Any) -> list[str]:
    """What is wrong with ``event`` as a dbt-lambda-sync event; an empty list when nothing is.

    A cheap structural check of what the handlers rely on, without jsonschema. It accepts keys it
    does not know, so a function keeps working when later versions add fields; the full contract
    is ``dbt_lambda_sync/schemas/event.schema.json``.
    """
    if not isinstance(event, Mapping):
        return [f"the event must be an object, got {_describe(event)}"]
    problems: list[str] = []
    operation = event.get("operation")
    if operation not in OPERATIONS:
        problems.append(f"'operation' must be one of {', '.join(OPERATIONS)}; got {operation!r}")
    column = event.get("primary_key_column")
    if not isinstance(column, str) or not column:
        problems.append(f"'primary_key_column' must be a non-empty string; got {column!r}")
        column = None
    rows = event.get("rows")
    if not isinstance(rows, list) or not rows:
        problems.append(f"'rows' must be a non-empty list; got {_describe(rows)}")
        rows = None
    elif len(rows) > MAX_ROWS:
        problems.append(f"'rows' has {len(rows)} rows; at most {MAX_ROWS}")
    if rows:
        problems += _row_problems("rows", rows, column)
    if "previous_rows" in event:
        previous = event["previous_rows"]
        if operation != "changed":
            problems.append("'previous_rows' appears only on 'changed' events")
        if not isinstance(previous, list):
            problems.append(f"'previous_rows' must be a list; got {_describe(previous)}")
        else:
            if rows and len(previous) != len(rows):
                problems.append(
                    f"'previous_rows' has {len(previous)} rows but 'rows' has {len(rows)}"
                )
            problems += _row_problems("previous_rows", previous, None)
    problems += _sync_problems(event.get("sync"))
    if len(problems) > _MAX_PROBLEMS:
        more = len(problems) - _MAX_PROBLEMS
        problems = problems[:_MAX_PROBLEMS] + [f"... and {more} more"]
    return problems


# --- helpers --------------------------------------------------------------------------------------


def _check(event: Any, validate: bool) -> None:
    if not validate:
        return
    problems = validate_event(event)
    if problems:
        raise InvalidEvent("not a dbt-lambda-sync event: " + "; ".join(problems))


def _row_problems(name: str, rows: list, column: str | None) -> list[str]:
    problems = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            problems.append(f"{name}[{index}] must be an object; got {_describe(row)}")
        elif column is not None:
            value = row.get(column)
            if value is None:
                problems.append(f"{name}[{index}] has no value for primary key {column!r}")
            elif not isinstance(value, (str, int, float)):
                problems.append(
                    f"{name}[{index}].{column} must be a string or number; got {_describe(value)}"
                )
    return problems


def _sync_problems(sync: Any) -> list[str]:
    if not isinstance(sync, Mapping):
        return [f"'sync' must be an object; got {_describe(sync)}"]
    problems = []
    for field in ("name", "model", "run_id", "invocation_id"):
        value = sync.get(field)
        if not isinstance(value, str) or not value:
            problems.append(f"'sync.{field}' must be a non-empty string; got {value!r}")
    attempt = sync.get("attempt")
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        problems.append(f"'sync.attempt' must be an integer from 1; got {attempt!r}")
    return problems


def _exception_types(reject_on: Any) -> tuple[type[BaseException], ...]:
    if isinstance(reject_on, type):
        reject_on = (reject_on,)
    types = tuple(reject_on)
    for item in types:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise TypeError(f"reject_on must hold exception types, got {item!r}")
    return types


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RowRejected):
        text = exc.reason or str(exc)
        return _truncate(text) if text else type(exc).__name__
    message = str(exc)
    name = type(exc).__name__
    return _truncate(f"{name}: {message}" if message else name)


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _name(function: Any) -> str:
    return getattr(function, "__qualname__", None) or repr(function)
