"""The handler kit (dbt_lambda_sync/handler.py): per-row and batch handlers, validate_event."""

from __future__ import annotations

import ast
import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

from dbt_lambda_sync.events import Batch, EventContext, PlannedRow, parse_answer, render_event
from dbt_lambda_sync.handler import (
    MAX_REASON_CHARS,
    BatchContext,
    InvalidEvent,
    RowContext,
    RowRejected,
    key_text,
    sync_batch_handler,
    sync_handler,
    validate_event,
)


def _schema(name: str) -> dict[str, Any]:
    text = resources.files("dbt_lambda_sync").joinpath(f"schemas/{name}").read_text()
    return json.loads(text)


RESPONSE = jsonschema.Draft202012Validator(_schema("response.schema.json"))
EVENT = jsonschema.Draft202012Validator(_schema("event.schema.json"))


def make_event(
    rows: list[dict[str, Any]],
    *,
    operation: str = "added",
    previous: list[dict[str, Any]] | None = None,
    attempt: int = 1,
) -> dict[str, Any]:
    """An event as the runner renders it (events.render_event), parsed as Lambda would."""
    ctx = EventContext(
        sync_name="crm_customers",
        model_name="customers",
        run_id="20261129T170000Z-3f9a1c",
        primary_key_column="customer_id",
        include_previous=previous is not None,
    )
    planned = [
        PlannedRow(
            primary_key=key_text(row["customer_id"]),
            operation=operation,
            row_json=json.dumps(row),
            previous_json=json.dumps(previous[i]) if previous is not None else None,
        )
        for i, row in enumerate(rows)
    ]
    batch = Batch(
        invocation_id="20261129T170000Z-3f9a1c:000042",
        operation=operation,
        rows=planned,
        attempt=attempt,
    )
    event = json.loads(render_event(batch, ctx))
    EVENT.validate(event)
    return event


ROWS = [
    {"customer_id": 1, "email": "alice@example.com"},
    {"customer_id": 2, "email": None},
    {"customer_id": 3, "email": "carol@example.com"},
]


def answer_of(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    """Call the handler as Lambda does and check its answer against the response schema."""
    answer = handler(event, object())
    RESPONSE.validate(answer)
    json.dumps(answer)  # it must serialise as Lambda returns it
    return answer


# --- sync_handler ---------------------------------------------------------------------------------


def test_every_row_delivered_answers_an_empty_error_list() -> None:
    seen: list[tuple[dict[str, Any], RowContext]] = []
    handler = sync_handler(lambda row, ctx: seen.append((row, ctx)))
    assert answer_of(handler, make_event(ROWS)) == {"errors": []}
    assert [row for row, _ in seen] == ROWS
    ctx = seen[2][1]
    assert (ctx.operation, ctx.primary_key_column, ctx.primary_key, ctx.index) == (
        "added",
        "customer_id",
        "3",
        2,
    )
    assert ctx.previous is None
    assert (ctx.sync.name, ctx.sync.model) == ("crm_customers", "customers")
    assert ctx.sync.run_id == "20261129T170000Z-3f9a1c"
    assert (ctx.sync.invocation_id, ctx.sync.attempt) == ("20261129T170000Z-3f9a1c:000042", 1)


def test_lambda_context_is_passed_through() -> None:
    contexts = []
    handler = sync_handler(lambda row, ctx: contexts.append(ctx.lambda_context))
    lambda_context = object()
    handler(make_event(ROWS[:1]), lambda_context)
    assert contexts == [lambda_context]


def test_row_rejected_rejects_only_that_row_with_its_reason() -> None:
    def process(row: dict[str, Any], ctx: RowContext) -> None:
        if not row["email"]:
            raise RowRejected("email is missing")

    answer = answer_of(sync_handler(process), make_event(ROWS))
    assert answer == {"errors": [{"primary_key_value": "2", "reason": "email is missing"}]}
    # and the runner reads it as: row 2 rejected, 1 and 3 delivered
    parsed = parse_answer(json.dumps(answer).encode(), ["1", "2", "3"])
    assert parsed.rejected == {"2": "email is missing"} and parsed.invalid_reason is None


def test_subclasses_of_row_rejected_are_rejections_too() -> None:
    class InvalidEmail(RowRejected):
        pass

    def process(row: dict[str, Any], ctx: RowContext) -> None:
        raise InvalidEmail(f"bad email for {ctx.primary_key}")

    answer = answer_of(sync_handler(process), make_event(ROWS[:1]))
    assert answer["errors"] == [{"primary_key_value": "1", "reason": "bad email for 1"}]


def test_reject_on_other_exception_types_names_the_type() -> None:
    def process(row: dict[str, Any], ctx: RowContext) -> None:
        if ctx.primary_key == "1":
            raise ValueError("not a valid address")
        if ctx.primary_key == "3":
            raise KeyError("plan")

    handler = sync_handler(process, reject_on=(RowRejected, ValueError, LookupError))
    assert answer_of(handler, make_event(ROWS))["errors"] == [
        {"primary_key_value": "1", "reason": "ValueError: not a valid address"},
        {"primary_key_value": "3", "reason": "KeyError: 'plan'"},
    ]


def test_a_single_exception_type_is_accepted_for_reject_on() -> None:
    def process(row: dict[str, Any], ctx: RowContext) -> None:
        raise ValueError()

    answer = answer_of(sync_handler(process, reject_on=ValueError), make_event(ROWS[:1]))
    assert answer["errors"] == [{"primary_key_value": "1", "reason": "ValueError"}]


def test_a_rejection_without_a_message_still_has_a_reason() -> None:
    def process(row: dict[str, Any], ctx: RowContext) -> None:
        raise RowRejected()

    answer = answer_of(sync_handler(process), make_event(ROWS[:1]))
    assert answer["errors"] == [{"primary_key_value": "1", "reason": "RowRejected"}]


def test_other_exceptions_propagate_so_the_whole_batch_is_retried() -> None:
    calls = []

    def process(row: dict[str, Any], ctx: RowContext) -> None:
        calls.append(ctx.primary_key)
        if ctx.primary_key == "2":
            raise ConnectionError("CRM unreachable")

    with pytest.raises(ConnectionError, match="CRM unreachable"):
        sync_handler(process)(make_event(ROWS), None)
    assert calls == ["1", "2"]  # stops at the failure: the runner re-sends all three


def test_long_reasons_are_cut_to_1000_characters() -> None:
    def process(row: dict[str, Any], ctx: RowContext) -> None:
        if ctx.primary_key == "1":
            raise RowRejected("x" * 5000)
        raise OSError("y" * 5000)

    handler = sync_handler(process, reject_on=(RowRejected, OSError))
    first, second = answer_of(handler, make_event(ROWS[:2]))["errors"]
    assert len(first["reason"]) == MAX_REASON_CHARS and first["reason"].endswith("…")
    assert first["reason"].startswith("xxx")
    assert len(second["reason"]) == MAX_REASON_CHARS
    assert second["reason"].startswith("OSError: yyy")


def test_previous_rows_are_paired_with_their_rows() -> None:
    previous = [{"customer_id": 1, "email": "old-a@example.com"}, {"customer_id": 3, "email": "c"}]
    rows = [ROWS[0], ROWS[2]]
    pairs = []
    handler = sync_handler(lambda row, ctx: pairs.append((row, ctx.previous, ctx.operation)))
    answer_of(handler, make_event(rows, operation="changed", previous=previous))
    assert pairs == [(rows[0], previous[0], "changed"), (rows[1], previous[1], "changed")]


def test_removed_rows_have_no_previous() -> None:
    seen = []
    handler = sync_handler(lambda row, ctx: seen.append((ctx.operation, ctx.previous)))
    answer_of(handler, make_event(ROWS[:1], operation="removed"))
    assert seen == [("removed", None)]


def test_keys_are_text_the_way_the_runner_compares_them() -> None:
    rows = [{"customer_id": "A-7"}, {"customer_id": 5.0}, {"customer_id": 12345678901234567890}]
    keys = []
    answer_of(sync_handler(lambda row, ctx: keys.append(ctx.primary_key)), make_event(rows))
    assert keys == ["A-7", "5", "12345678901234567890"]
    assert [key_text(v) for v in (True, 1.5, -3)] == ["true", "1.5", "-3"]


def test_idempotency_key_is_stable_across_attempts_and_changes_with_the_row() -> None:
    keys: list[str] = []
    handler = sync_handler(lambda row, ctx: keys.append(ctx.idempotency_key))
    handler(make_event(ROWS[:1], attempt=1), None)
    handler(make_event(ROWS[:1], attempt=2), None)
    handler(make_event([{**ROWS[0], "email": "new@example.com"}]), None)
    handler(make_event(ROWS[:1], operation="removed"), None)
    assert keys[0] == keys[1]
    assert len(set(keys)) == 3
    assert keys[0].startswith("crm_customers:1:")


def test_an_invalid_event_raises_before_any_row_is_processed() -> None:
    calls = []
    handler = sync_handler(lambda row, ctx: calls.append(row))
    with pytest.raises(InvalidEvent, match="'operation' must be one of"):
        handler({**make_event(ROWS), "operation": "upserted"}, None)
    assert calls == []


def test_validation_can_be_turned_off() -> None:
    calls = []
    handler = sync_handler(lambda row, ctx: calls.append(row), validate=False)
    handler({**make_event(ROWS[:1]), "sync": {**make_event(ROWS[:1])["sync"], "attempt": 0}})
    assert calls == ROWS[:1]


def test_bad_arguments_are_refused_at_once() -> None:
    with pytest.raises(TypeError, match="callable"):
        sync_handler("not a function")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exception types"):
        sync_handler(lambda row, ctx: None, reject_on=("ValueError",))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        sync_batch_handler(None)  # type: ignore[arg-type]


# --- sync_batch_handler ---------------------------------------------------------------------------


def test_batch_handler_passes_all_rows_and_reports_what_it_rejected() -> None:
    seen: list[BatchContext] = []

    def process(rows: list[dict[str, Any]], ctx: BatchContext) -> dict[Any, Any]:
        seen.append(ctx)
        assert rows == ROWS
        return {ctx.key(row): "email is missing" for row in rows if not row["email"]}

    answer = answer_of(sync_batch_handler(process), make_event(ROWS))
    assert answer == {"errors": [{"primary_key_value": "2", "reason": "email is missing"}]}
    ctx = seen[0]
    assert ctx.keys == ["1", "2", "3"] and ctx.operation == "added"
    assert ctx.previous_rows is None and ctx.sync.attempt == 1


def test_batch_handler_accepts_none_raw_keys_and_empty_reasons() -> None:
    assert answer_of(sync_batch_handler(lambda rows, ctx: None), make_event(ROWS)) == {"errors": []}
    handler = sync_batch_handler(lambda rows, ctx: {3: None, 1.0: "", 2: "z" * 3000})
    errors = answer_of(handler, make_event(ROWS))["errors"]
    assert errors[0] == {"primary_key_value": "3"}  # the runner stores its no-reason text
    assert errors[1] == {"primary_key_value": "1"}
    assert errors[2]["primary_key_value"] == "2" and len(errors[2]["reason"]) == MAX_REASON_CHARS


def test_batch_handler_gets_previous_rows() -> None:
    previous = [{"customer_id": 1, "email": "old@example.com"}]
    got = []
    handler = sync_batch_handler(lambda rows, ctx: got.append(ctx.previous_rows))
    answer_of(handler, make_event(ROWS[:1], operation="changed", previous=previous))
    assert got == [previous]


def test_batch_handler_exceptions_and_wrong_return_types_propagate() -> None:
    def boom(rows: list[dict[str, Any]], ctx: BatchContext) -> None:
        raise TimeoutError("bulk API timed out")

    with pytest.raises(TimeoutError):
        sync_batch_handler(boom)(make_event(ROWS), None)
    with pytest.raises(TypeError, match="mapping of primary key to reason"):
        sync_batch_handler(lambda rows, ctx: ["1"])(make_event(ROWS), None)


# --- validate_event -------------------------------------------------------------------------------


def test_events_the_runner_renders_are_valid() -> None:
    assert validate_event(make_event(ROWS)) == []
    previous = [dict(r, email="old") for r in ROWS]
    assert validate_event(make_event(ROWS, operation="changed", previous=previous)) == []
    assert validate_event({**make_event(ROWS), "a_future_field": 1}) == []  # forward compatible


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"operation": None}, "'operation' must be one of added, changed, removed"),
        ({"primary_key_column": ""}, "'primary_key_column' must be a non-empty string"),
        ({"rows": []}, "'rows' must be a non-empty list"),
        ({"rows": {"customer_id": 1}}, "'rows' must be a non-empty list; got an object"),
        ({"rows": [{"customer_id": 1}, 7]}, "rows[1] must be an object; got a number"),
        ({"rows": [{"email": "x"}]}, "rows[0] has no value for primary key 'customer_id'"),
        ({"rows": [{"customer_id": [1]}]}, "rows[0].customer_id must be a string or number"),
        ({"rows": [{"customer_id": i} for i in range(1001)]}, "'rows' has 1001 rows; at most"),
        ({"previous_rows": [{"customer_id": 1}]}, "'previous_rows' appears only on 'changed'"),
        ({"sync": None}, "'sync' must be an object; got null"),
        ({"sync": {"name": "s", "model": "m", "run_id": "r", "invocation_id": "i"}}, "attempt"),
        ({"sync": {"name": "", "model": "m", "run_id": "r", "invocation_id": "i", "attempt": 1}},
         "'sync.name' must be a non-empty string"),
        ({"sync": {"name": "s", "model": "m", "run_id": "r", "invocation_id": "i",
                   "attempt": True}}, "'sync.attempt' must be an integer from 1"),
    ],
)  # fmt: skip
def test_validate_event_names_each_problem(change: dict[str, Any], problem: str) -> None:
    problems = validate_event({**make_event(ROWS), **change})
    assert any(problem in p for p in problems), problems


def test_validate_event_checks_previous_rows_line_up() -> None:
    event = make_event(ROWS, operation="changed", previous=ROWS)
    event["previous_rows"] = event["previous_rows"][:2]
    assert validate_event(event) == ["'previous_rows' has 2 rows but 'rows' has 3"]


def test_validate_event_refuses_non_objects_and_caps_its_list() -> None:
    assert validate_event("{}") == ["the event must be an object, got a string"]
    problems = validate_event({**make_event(ROWS), "rows": [1] * 50})
    assert len(problems) == 21 and problems[-1].startswith("... and ")


# --- the module stays dependency-free -------------------------------------------------------------


def test_handler_module_imports_only_the_standard_library() -> None:
    import sys

    import dbt_lambda_sync.handler as module

    tree = ast.parse(open(module.__file__).read())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom)) and getattr(node, "level", 0) == 0
        for alias in node.names
    }
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported
