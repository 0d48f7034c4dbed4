"""The event document a function receives and the answer it gives back (SPEC sections 4 and 5).

Pure Python, no I/O: the runner hands rows in, gets bytes to send and an ``Answer`` back.

The warehouse already renders every row as JSON object text, so an event is assembled by
concatenating those strings around a small metadata frame; rows are never parsed and re-dumped on
the hot path. Metadata strings go through ``json.dumps`` (ASCII-escaped), so the frame's length in
characters is its length in bytes and the size arithmetic below stays exact.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from dbt_lambda_sync.text import clean_text
from dbt_lambda_sync.vocabulary import CHANGED, OPERATIONS

__all__ = [
    "MAX_ATTEMPT",
    "MAX_INVOCATION_ID_LENGTH",
    "MAX_PAYLOAD_BYTES",
    "MAX_REASON_CHARS",
    "MAX_UNKNOWN_KEYS",
    "NO_REASON",
    "OPERATIONS",
    "OVERSIZED_REASON",
    "Answer",
    "Batch",
    "Batcher",
    "EventContext",
    "PlannedRow",
    "event_overhead",
    "invalid_answer",
    "parse_answer",
    "render_event",
    "row_cost",
]

MAX_PAYLOAD_BYTES = 6_291_456  # Lambda synchronous request limit
OVERSIZED_REASON = "row exceeds the 6 MB Lambda payload limit"

# Size cutting happens before a batch has its final invocation_id and before its retries bump
# `attempt`, so the frame reserves room for the longest of each; render_event refuses longer ones.
MAX_INVOCATION_ID_LENGTH = 128  # characters once JSON-escaped, quotes excluded
MAX_ATTEMPT = 9_999_999_999  # ten digits reserved in the frame

NO_REASON = "rejected by the function (no reason given)"
MAX_REASON_CHARS = 1000
MAX_UNKNOWN_KEYS = 100  # unknown keys listed on an Answer; the count covers all of them
_MAX_UNKNOWN_KEY_CHARS = 200
_INVALID_ERRORS = "invalid response: 'errors' must be a list of objects with a 'primary_key_value'"


@dataclass(slots=True)
class PlannedRow:
    """One row of a change set, as the warehouse streams it out (plan order)."""

    primary_key: str  # the key as text (the warehouse casts it)
    operation: str  # added | changed | removed
    row_json: str  # the row to send, JSON object text (removed: the row as last delivered)
    previous_json: str | None = None  # changed rows: the row as last delivered
    seq: int = 0  # its place in the stored plan; a confirmation names it


@dataclass(slots=True, kw_only=True)
class Batch:
    """Rows of one operation that go out in one invocation (and its retries)."""

    invocation_id: str  # the same for every retry of this batch
    operation: str
    rows: list[PlannedRow]
    attempt: int = 1
    payload_size: int = 0  # bytes of the rows part (sum of row_cost), for information


@dataclass(frozen=True, slots=True)
class EventContext:
    """What every event of one sync run carries besides its rows."""

    sync_name: str
    model_name: str
    run_id: str
    primary_key_column: str
    include_previous: bool


# --- rendering ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Frame:
    head: str  # '{"operation":..,"primary_key_column":..,"rows":['
    middle: str  # '],"previous_rows":[' when previous rows are sent, else ''
    tail: str  # '],"sync":{...,"invocation_id":' -- the id, attempt and closing braces follow

    def overhead(self) -> int:
        # ASCII only (json.dumps escapes), so characters == bytes.
        worst_id = 2 + MAX_INVOCATION_ID_LENGTH  # quotes + escaped text
        worst_attempt = len(',"attempt":') + len(str(MAX_ATTEMPT)) + len("}}")
        return len(self.head) + len(self.middle) + len(self.tail) + worst_id + worst_attempt


@lru_cache(maxsize=64)
def _frame(ctx: EventContext, operation: str) -> _Frame:
    # Cached: a run renders thousands of events from the same handful of (ctx, operation) pairs.
    if operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; expected one of {OPERATIONS}")
    dumps = json.dumps
    head = (
        f'{{"operation":{dumps(operation)},'
        f'"primary_key_column":{dumps(ctx.primary_key_column)},"rows":['
    )
    middle = '],"previous_rows":[' if _sends_previous(ctx, operation) else ""
    tail = (
        f'],"sync":{{"name":{dumps(ctx.sync_name)},"model":{dumps(ctx.model_name)},'
        f'"run_id":{dumps(ctx.run_id)},"invocation_id":'
    )
    return _Frame(head=head, middle=middle, tail=tail)


def _sends_previous(ctx: EventContext, operation: str) -> bool:
    return ctx.include_previous and operation == CHANGED


def _invocation_id_json(invocation_id: str) -> str:
    """The id as JSON text, refusing ids longer than the room the size cut reserved for them."""
    text = json.dumps(invocation_id)
    if not invocation_id or len(text) - 2 > MAX_INVOCATION_ID_LENGTH:
        raise ValueError(
            f"invocation_id must be 1..{MAX_INVOCATION_ID_LENGTH} characters once JSON-escaped, "
            f"got {len(text) - 2}"
        )
    return text


def _utf8_len(text: str) -> int:
    # str.isascii() is O(1) in CPython (a flag on the string), so ASCII rows -- the common case --
    # are measured without an encode.
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _missing_previous(row: PlannedRow) -> ValueError:
    return ValueError(
        f"changed row {row.primary_key!r} has no previous_json, but the sync sends previous rows"
    )


def event_overhead(ctx: EventContext, operation: str) -> int:
    """Bytes of the event document without its rows, with the longest invocation_id and attempt.

    ``event_overhead + sum(row_cost)`` is an upper bound of the rendered size (it counts one
    separator too many per list), so a batch cut against it always fits.
    """
    return _frame(ctx, operation).overhead()


def row_cost(row: PlannedRow, ctx: EventContext) -> int:
    """UTF-8 bytes this row adds to its event: its JSON, its previous JSON when sent, separators."""
    cost = _utf8_len(row.row_json) + 1  # + the comma that joins it to its neighbour
    if _sends_previous(ctx, row.operation):
        if row.previous_json is None:
            raise _missing_previous(row)
        cost += _utf8_len(row.previous_json) + 1
    return cost


def render_event(batch: Batch, ctx: EventContext) -> bytes:
    """The SPEC section 4 document for ``batch``, as UTF-8 bytes.

    Rows are trusted to be JSON object text (the warehouse renders them) and are joined as is.
    """
    if not batch.rows:
        raise ValueError(f"batch {batch.invocation_id!r} has no rows")
    if not 1 <= batch.attempt <= MAX_ATTEMPT:
        raise ValueError(f"attempt must be 1..{MAX_ATTEMPT}, got {batch.attempt}")
    frame = _frame(ctx, batch.operation)
    rows = batch.rows
    parts = [frame.head, ",".join([r.row_json for r in rows])]
    if frame.middle:
        previous = [r.previous_json for r in rows]
        if None in previous:
            raise _missing_previous(rows[previous.index(None)])
        parts += [frame.middle, ",".join(previous)]  # type: ignore[arg-type]  # None ruled out
    parts += [
        frame.tail,
        _invocation_id_json(batch.invocation_id),
        f',"attempt":{batch.attempt}}}}}',
    ]
    # One join, one encode: the only copies of a payload that can reach 6 MB.
    return "".join(parts).encode("utf-8")


# --- batching -----------------------------------------------------------------------------------


class Batcher:
    """Cuts a stream of PlannedRow into Batches of one operation, at most batch_size rows, and at
    most max_payload_bytes for the whole rendered event. A row that alone cannot fit is returned
    as oversized (record it with OVERSIZED_REASON); it is never batched.

    Rows are expected grouped by operation (plan order); an operation change closes the pending
    batch, so operations are never mixed. Invocation ids are drawn when a batch is closed, so they
    follow the order in which batches come out.
    """

    def __init__(
        self,
        *,
        ctx: EventContext,
        batch_size: int,
        new_invocation_id: Callable[[], str],
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._ctx = ctx
        self._batch_size = batch_size
        self._new_invocation_id = new_invocation_id
        self._max_payload_bytes = max_payload_bytes
        self._rows: list[PlannedRow] = []
        self._operation = ""
        self._size = 0  # sum of row_cost of self._rows
        self._budgets: dict[str, int] = {}  # operation -> bytes left for rows in one event

    def add(self, row: PlannedRow) -> tuple[list[Batch], list[PlannedRow]]:
        """Batches completed by this row, and the row itself if it is oversized."""
        completed: list[Batch] = []
        if self._rows and row.operation != self._operation:
            completed.append(self._close())
        budget = self._budgets.get(row.operation)
        if budget is None:
            budget = self._max_payload_bytes - event_overhead(self._ctx, row.operation)
            self._budgets[row.operation] = budget
        cost = row_cost(row, self._ctx)
        if cost > budget:
            return completed, [row]
        if self._size + cost > budget:
            completed.append(self._close())
        self._rows.append(row)
        self._operation = row.operation
        self._size += cost
        if len(self._rows) >= self._batch_size:
            completed.append(self._close())
        return completed, []

    def flush(self) -> list[Batch]:
        """The pending partial batch, if any (at most one is ever pending)."""
        return [self._close()] if self._rows else []

    def _close(self) -> Batch:
        invocation_id = self._new_invocation_id()
        _invocation_id_json(invocation_id)  # fail at the cut, not when the batch is sent
        batch = Batch(
            invocation_id=invocation_id,
            operation=self._operation,
            rows=self._rows,
            payload_size=self._size,
        )
        self._rows = []
        self._size = 0
        return batch


# --- the answer ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """What a function's answer says about the rows of its batch.

    Every key of the batch not in ``rejected`` was delivered. When the answer is malformed,
    ``invalid_reason`` is set and ``rejected`` already maps every key of the batch to it, so
    callers can treat both cases the same way.
    """

    rejected: dict[str, str]  # primary key text -> reason
    unknown_keys: tuple[str, ...]  # keys the answer named that were not in the batch (first 100)
    invalid_reason: str | None
    unknown_key_count: int = 0  # all distinct unknown keys, listed or not


def parse_answer(payload: bytes, batch_keys: Sequence[str]) -> Answer:
    """Read a function's answer (SPEC section 5) for a batch whose primary keys are batch_keys.

    - An object with ``errors``: the listed keys are rejected, every other row delivered.
    - Any other JSON (``null``, ``{}``, a string, a number, a list, an object without ``errors``):
      every row delivered. An empty or blank payload counts as ``null`` -- it is what a function
      that returns nothing produces on some runtimes.
    - ``errors`` that is not a list of objects each with a string or number ``primary_key_value``
      (``"errors": null`` included), or a payload that is not JSON: every row rejected, with
      ``invalid_reason`` saying why.

    Keys compare as text: strings as they are, integers and integral floats (``5.0``) as their
    integer digits, other numbers as Python writes them.
    """
    try:
        document = json.loads(payload) if payload.strip() else None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError/UnicodeDecodeError; too deep
        return invalid_answer(f"invalid response: not JSON: {exc}", batch_keys)
    if not isinstance(document, dict) or "errors" not in document:
        return Answer(rejected={}, unknown_keys=(), invalid_reason=None)

    entries = document["errors"]
    problem = _errors_problem(entries)
    if problem:
        return invalid_answer(f"{_INVALID_ERRORS}; {problem}", batch_keys)

    in_batch = set(batch_keys)
    rejected: dict[str, str] = {}
    unknown: dict[str, None] = {}  # an ordered set
    for entry in entries:
        key = _matching_key(entry["primary_key_value"], in_batch)
        if key in in_batch:
            if key not in rejected:  # duplicates: the first reason wins
                rejected[key] = _reason_text(entry.get("reason"))
        else:
            unknown[key] = None
    listed = tuple(clean_text(k, _MAX_UNKNOWN_KEY_CHARS) for k in list(unknown)[:MAX_UNKNOWN_KEYS])
    return Answer(
        rejected=rejected,
        unknown_keys=listed,
        invalid_reason=None,
        unknown_key_count=len(unknown),
    )


def invalid_answer(reason: str, batch_keys: Sequence[str]) -> Answer:
    """Every row of the batch rejected with ``reason`` (cleaned): an answer that cannot be read."""
    reason = clean_text(reason, MAX_REASON_CHARS)
    return Answer(
        rejected=dict.fromkeys(batch_keys, reason),
        unknown_keys=(),
        invalid_reason=reason,
    )


_JSON_TYPE_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _describe(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _errors_problem(entries: object) -> str | None:
    """Why ``errors`` is malformed, or None when it is a list of well-formed entries."""
    if not isinstance(entries, list):
        return f"got {_describe(entries)}"
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            return f"errors[{index}] is {_describe(entry)}"
        if "primary_key_value" not in entry:
            return f"errors[{index}] has no 'primary_key_value'"
        key = entry["primary_key_value"]
        if isinstance(key, bool) or not isinstance(key, (str, int, float)):
            return f"errors[{index}].primary_key_value is {_describe(key)}, not a string or number"
        if not isinstance(key, str) and not _finite_double(key):
            # NaN, Infinity, 1e400, a 400-digit integer: no key a warehouse holds, and no form
            # to compare it in (float() of such an integer overflows).
            return f"errors[{index}].primary_key_value is not a finite number a key can hold"
    return None


def _finite_double(value: int | float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _matching_key(value: str | int | float, in_batch: set[str]) -> str:
    """The batch's key text for an answered key. A number may match the warehouse's text of an
    integer key ("5") or of a float key ("5.0"): try the forms a warehouse writes.
    """
    text = _key_text(value)
    if text in in_batch or isinstance(value, str):
        return text
    for form in (repr(float(value)), json.dumps(value)):
        if form in in_batch:
            return form
    return text


def _key_text(value: str | int | float) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():  # False for inf and nan
        return str(int(value))  # 5.0 -> "5", as the warehouse casts an integer key
    return str(value)


def _reason_text(value: object) -> str:
    if value is None or value == "":
        return NO_REASON
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return clean_text(text, MAX_REASON_CHARS)
