"""The event document, the batch cut and the answer format (SPEC sections 4 and 5)."""

from __future__ import annotations

import itertools
import json
from importlib.resources import files

import pytest
from jsonschema import Draft202012Validator

from dbt_lambda_sync.events import (
    MAX_ATTEMPT,
    MAX_INVOCATION_ID_LENGTH,
    MAX_PAYLOAD_BYTES,
    MAX_REASON_CHARS,
    MAX_UNKNOWN_KEYS,
    NO_REASON,
    Answer,
    Batch,
    Batcher,
    EventContext,
    PlannedRow,
    event_overhead,
    parse_answer,
    render_event,
    row_cost,
)

INVALID_ERRORS = "invalid response: 'errors' must be a list of objects with a 'primary_key_value'"


def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((files("dbt_lambda_sync") / "schemas" / name).read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.fixture(scope="module")
def event_schema() -> Draft202012Validator:
    return _validator("event.schema.json")


@pytest.fixture(scope="module")
def response_schema() -> Draft202012Validator:
    return _validator("response.schema.json")


def _ctx(*, include_previous: bool = False, **overrides: str) -> EventContext:
    values = {
        "sync_name": "crm_customers",
        "model_name": "customers",
        "run_id": "20261129T170000Z-3f9a1c",
        "primary_key_column": "customer_id",
    }
    return EventContext(include_previous=include_previous, **(values | overrides))


def _row(key: int, operation: str = "added", *, email: str = "a@example.com") -> PlannedRow:
    # As the warehouse renders rows: UTF-8 text, not ASCII-escaped.
    row = json.dumps({"customer_id": key, "email": email}, ensure_ascii=False)
    previous = json.dumps({"customer_id": key, "email": "old@example.com"})
    return PlannedRow(
        primary_key=str(key),
        operation=operation,
        row_json=row,
        previous_json=previous if operation == "changed" else None,
    )


def _ids():
    counter = itertools.count(1)
    return lambda: f"20261129T170000Z-3f9a1c:{next(counter):06d}"


def _batch(rows: list[PlannedRow], *, attempt: int = 1) -> Batch:
    operation = rows[0].operation
    return Batch(invocation_id="run:000001", operation=operation, rows=rows, attempt=attempt)


def _run(batcher: Batcher, rows: list[PlannedRow]) -> tuple[list[Batch], list[PlannedRow]]:
    batches: list[Batch] = []
    oversized: list[PlannedRow] = []
    for row in rows:
        done, rejected = batcher.add(row)
        batches += done
        oversized += rejected
    return batches + batcher.flush(), oversized


# --- render_event -------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["added", "changed", "removed"])
@pytest.mark.parametrize("include_previous", [False, True])
def test_event_matches_the_schema(event_schema, operation, include_previous):
    ctx = _ctx(include_previous=include_previous)
    rows = [_row(1, operation), _row(2, operation)]

    document = json.loads(render_event(_batch(rows, attempt=3), ctx))

    event_schema.validate(document)
    assert document["operation"] == operation
    assert document["primary_key_column"] == "customer_id"
    assert document["rows"] == [json.loads(r.row_json) for r in rows]
    assert document["sync"] == {
        "name": "crm_customers",
        "model": "customers",
        "run_id": "20261129T170000Z-3f9a1c",
        "invocation_id": "run:000001",
        "attempt": 3,
    }
    # previous_rows only on changed events of a sync that asks for them, in the order of rows.
    if operation == "changed" and include_previous:
        assert document["previous_rows"] == [json.loads(r.previous_json) for r in rows]
    else:
        assert "previous_rows" not in document


def test_event_schema_refuses_what_the_spec_forbids(event_schema):
    document = json.loads(render_event(_batch([_row(1)]), _ctx()))
    bad = [
        document | {"previous_rows": [{"customer_id": 1}]},  # not a changed event
        document | {"operation": "upserted"},
        document | {"rows": []},
        document | {"sync": document["sync"] | {"attempt": 0}},
    ]
    for instance in bad:
        assert not event_schema.is_valid(instance), instance


def test_metadata_is_escaped_and_rows_keep_their_bytes():
    ctx = _ctx(model_name='cust"omers\\ é 名', primary_key_column='the "id"')
    row = PlannedRow("1", "added", '{"the \\"id\\"": 1, "name": "Zoë \\"Z\\" 🙂"}')

    payload = render_event(_batch([row]), ctx)

    document = json.loads(payload.decode("utf-8"))
    assert document["sync"]["model"] == 'cust"omers\\ é 名'
    assert document["primary_key_column"] == 'the "id"'
    assert document["rows"] == [{'the "id"': 1, "name": 'Zoë "Z" 🙂'}]
    assert row.row_json.encode("utf-8") in payload  # joined as is, never re-dumped


def test_render_refuses_what_the_size_cut_did_not_reserve():
    with pytest.raises(ValueError, match="invocation_id"):
        render_event(
            Batch(
                invocation_id="x" * (MAX_INVOCATION_ID_LENGTH + 1),
                operation="added",
                rows=[_row(1)],
            ),
            _ctx(),
        )
    with pytest.raises(ValueError, match="attempt"):
        render_event(_batch([_row(1)], attempt=0), _ctx())
    with pytest.raises(ValueError, match="no previous_json"):
        row = PlannedRow("1", "changed", '{"customer_id": 1}')
        render_event(_batch([row]), _ctx(include_previous=True))


def test_overhead_and_costs_bound_the_rendered_size():
    ctx = _ctx(include_previous=True, model_name="modèle")
    rows = [_row(1, "changed", email="é" * 50), _row(2, "changed")]
    worst = Batch(
        # \u00e9 escapes to 6 characters: exactly the longest id once escaped.
        invocation_id="é" * 21 + "x" * (MAX_INVOCATION_ID_LENGTH - 6 * 21),
        operation="changed",
        rows=rows,
        attempt=MAX_ATTEMPT,
    )

    size = len(render_event(worst, ctx))

    bound = event_overhead(ctx, "changed") + sum(row_cost(r, ctx) for r in rows)
    assert size <= bound <= size + 2  # exact but for one separator per list
    assert (
        row_cost(rows[0], ctx)
        == len(rows[0].row_json.encode()) + 1 + len(rows[0].previous_json.encode()) + 1
    )


# --- Batcher ------------------------------------------------------------------------------------


def test_batches_are_cut_at_batch_size():
    batcher = Batcher(ctx=_ctx(), batch_size=3, new_invocation_id=_ids())

    batches, oversized = _run(batcher, [_row(k) for k in range(7)])

    assert [len(b.rows) for b in batches] == [3, 3, 1]
    assert [b.invocation_id[-6:] for b in batches] == ["000001", "000002", "000003"]
    assert [r.primary_key for b in batches for r in b.rows] == [str(k) for k in range(7)]
    assert all(b.attempt == 1 for b in batches)
    assert oversized == []
    assert batcher.flush() == []


def test_operations_are_never_mixed():
    batcher = Batcher(ctx=_ctx(include_previous=True), batch_size=10, new_invocation_id=_ids())
    rows = [_row(1), _row(2), _row(3, "changed"), _row(4, "removed"), _row(5, "removed")]

    batches, _ = _run(batcher, rows)

    assert [(b.operation, [r.primary_key for r in b.rows]) for b in batches] == [
        ("added", ["1", "2"]),
        ("changed", ["3"]),
        ("removed", ["4", "5"]),
    ]


@pytest.mark.parametrize("include_previous", [False, True])
def test_batches_are_cut_to_fit_the_payload_limit(event_schema, include_previous):
    ctx = _ctx(include_previous=include_previous)
    limit = event_overhead(ctx, "changed") + 700
    # Rows of uneven sizes, some multi-byte: several fit an event, never all of them.
    rows = [_row(k, "changed", email="ü" * (k * 37 % 150)) for k in range(40)]
    batcher = Batcher(ctx=ctx, batch_size=1000, new_invocation_id=_ids(), max_payload_bytes=limit)

    batches, oversized = _run(batcher, rows)

    assert oversized == []
    assert [r.primary_key for b in batches for r in b.rows] == [r.primary_key for r in rows]
    assert len(batches) > 1
    for batch in batches:
        batch.attempt = MAX_ATTEMPT  # retries must fit too
        payload = render_event(batch, ctx)
        assert len(payload) <= limit
        event_schema.validate(json.loads(payload))
        assert batch.payload_size == sum(row_cost(r, ctx) for r in batch.rows)
    # Not wastefully small: each batch was closed because its next row would not have fit.
    for batch, following in itertools.pairwise(batches):
        next_cost = row_cost(following.rows[0], ctx)
        assert event_overhead(ctx, "changed") + batch.payload_size + next_cost > limit


def test_a_row_that_fills_the_event_exactly_is_sent():
    ctx = _ctx()
    overhead = event_overhead(ctx, "added")
    row = _row(1)
    limit = overhead + row_cost(row, ctx)
    batcher = Batcher(ctx=ctx, batch_size=5, new_invocation_id=_ids(), max_payload_bytes=limit)

    batches, oversized = _run(batcher, [row, _row(2)])

    assert oversized == []
    assert [[r.primary_key for r in b.rows] for b in batches] == [["1"], ["2"]]
    assert all(len(render_event(b, ctx)) <= limit for b in batches)


def test_an_oversized_row_is_reported_and_not_batched():
    ctx = _ctx()
    limit = event_overhead(ctx, "added") + 200
    huge = _row(2, email="x" * 500)
    batcher = Batcher(ctx=ctx, batch_size=10, new_invocation_id=_ids(), max_payload_bytes=limit)

    done, oversized = batcher.add(_row(1))
    assert (done, oversized) == ([], [])
    done, oversized = batcher.add(huge)
    assert done == [] and oversized == [huge]
    batches, oversized = _run(batcher, [_row(3)])

    assert oversized == []
    assert [[r.primary_key for r in b.rows] for b in batches] == [["1", "3"]]


def test_the_default_limit_is_lambdas():
    ctx = _ctx()
    row = PlannedRow("1", "added", json.dumps({"customer_id": 1, "blob": "x" * MAX_PAYLOAD_BYTES}))
    batcher = Batcher(ctx=ctx, batch_size=1, new_invocation_id=_ids())

    assert batcher.add(row) == ([], [row])


def test_batcher_refuses_long_invocation_ids_at_the_cut():
    batcher = Batcher(
        ctx=_ctx(), batch_size=1, new_invocation_id=lambda: "x" * (MAX_INVOCATION_ID_LENGTH + 1)
    )
    with pytest.raises(ValueError, match="invocation_id"):
        batcher.add(_row(1))


# --- parse_answer -------------------------------------------------------------------------------

KEYS = ["1", "2", "3"]


def _answer(document: object, keys: list[str] = KEYS) -> Answer:
    return parse_answer(json.dumps(document).encode("utf-8"), keys)


ALL_DELIVERED = Answer(rejected={}, unknown_keys=(), invalid_reason=None)


@pytest.mark.parametrize(
    "payload",
    [b"null", b"{}", b'"ok"', b"42", b"[1, 2]", b'{"status": "ok"}', b"", b"  \n", b"true"],
)
def test_any_other_json_means_all_delivered(payload):
    assert parse_answer(payload, KEYS) == ALL_DELIVERED


def test_listed_rows_are_rejected_others_delivered():
    answer = _answer({"errors": [{"primary_key_value": "2", "reason": "Email not found"}]})

    assert answer == Answer(rejected={"2": "Email not found"}, unknown_keys=(), invalid_reason=None)


def test_an_empty_errors_list_delivers_everything():
    assert _answer({"errors": []}) == ALL_DELIVERED


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ({"errors": None}, "got null"),
        ({"errors": "boom"}, "got a string"),
        ({"errors": {"primary_key_value": "1"}}, "got an object"),
        ({"errors": ["1"]}, "errors[0] is a string"),
        ({"errors": [{"primary_key_value": "1"}, {"reason": "x"}]}, "errors[1] has no"),
        ({"errors": [{"primary_key_value": None}]}, "primary_key_value is null"),
        ({"errors": [{"primary_key_value": True}]}, "primary_key_value is a boolean"),
        ({"errors": [{"primary_key_value": ["1"]}]}, "primary_key_value is a list"),
        # issue 10 item 4: numbers no key can be (the 401-digit one raised OverflowError)
        (b'{"errors": [{"primary_key_value": 1' + b"0" * 400 + b"}]}", "not a finite number"),
        (b'{"errors": [{"primary_key_value": NaN}]}', "not a finite number"),
        (b'{"errors": [{"primary_key_value": -Infinity}]}', "not a finite number"),
        (b'{"errors": [{"primary_key_value": 1e400}]}', "not a finite number"),
    ],
)
def test_malformed_errors_reject_every_row(document, why):
    answer = parse_answer(document, KEYS) if isinstance(document, bytes) else _answer(document)

    assert answer.invalid_reason.startswith(INVALID_ERRORS)
    assert why in answer.invalid_reason
    assert answer.rejected == dict.fromkeys(KEYS, answer.invalid_reason)


@pytest.mark.parametrize(
    "payload", [b"not json", b'{"errors": [', b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000]
)
def test_non_json_rejects_every_row(payload):
    answer = parse_answer(payload, KEYS)

    assert answer.invalid_reason.startswith("invalid response: not JSON: ")
    assert len(answer.invalid_reason) <= MAX_REASON_CHARS
    assert answer.rejected == dict.fromkeys(KEYS, answer.invalid_reason)


def test_numeric_keys_compare_as_text():
    keys = [{"primary_key_value": value} for value in (1, 2.0, 3.5)]

    answer = _answer({"errors": keys}, keys=["1", "2", "3"])

    assert answer.rejected == {"1": NO_REASON, "2": NO_REASON}
    assert answer.unknown_keys == ("3.5",)


def test_unknown_keys_are_noted_and_capped():
    errors = [{"primary_key_value": f"u{n}"} for n in range(MAX_UNKNOWN_KEYS + 50)]
    errors += [{"primary_key_value": "u0"}, {"primary_key_value": "1", "reason": "bad"}]

    answer = _answer({"errors": errors})

    assert answer.rejected == {"1": "bad"}
    assert answer.unknown_keys == tuple(f"u{n}" for n in range(MAX_UNKNOWN_KEYS))
    assert answer.unknown_key_count == MAX_UNKNOWN_KEYS + 50
    assert answer.invalid_reason is None


def test_duplicated_keys_keep_the_first_reason():
    answer = _answer(
        {
            "errors": [
                {"primary_key_value": "1", "reason": "first"},
                {"primary_key_value": 1, "reason": "second"},
            ]
        }
    )

    assert answer.rejected == {"1": "first"}


@pytest.mark.parametrize(
    ("reason", "stored"),
    [
        ("Email not found", "Email not found"),
        (None, NO_REASON),
        ("", NO_REASON),
        ({"code": 4, "msg": "é"}, '{"code": 4, "msg": "é"}'),
        (404, "404"),
        ("nul\x00 and \ud800", "nul\ufffd and \ufffd"),  # storable in any UTF-8 text column
    ],
)
def test_reason_text(reason, stored):
    assert _answer({"errors": [{"primary_key_value": "1", "reason": reason}]}).rejected == {
        "1": stored
    }


def test_missing_reason():
    assert _answer({"errors": [{"primary_key_value": "1"}]}).rejected == {"1": NO_REASON}


def test_long_reasons_are_truncated():
    answer = _answer({"errors": [{"primary_key_value": "1", "reason": "é" * 5000}]})

    reason = answer.rejected["1"]
    assert len(reason) == MAX_REASON_CHARS
    assert reason.endswith("…")


def test_a_six_megabyte_answer_is_read():
    keys = [str(k) for k in range(1000)]
    errors = [{"primary_key_value": k, "reason": "r" * 6000} for k in range(1000)]
    payload = json.dumps({"errors": errors}).encode()
    assert len(payload) > 6_000_000

    answer = parse_answer(payload, keys)

    assert list(answer.rejected) == keys
    assert all(len(reason) == MAX_REASON_CHARS for reason in answer.rejected.values())


# --- the response schema agrees with parse_answer -----------------------------------------------

EXAMPLE_ANSWERS = [
    {
        "errors": [
            {"primary_key_value": "928713", "reason": "Email not found"},
            {"primary_key_value": "283743", "reason": "Email already exists"},
        ]
    },
    {"errors": [{"primary_key_value": 928713}]},
    {"errors": []},
    None,
    {},
    "ok",
    12,
    [{"primary_key_value": "1"}],
    {"statusCode": 200},
    {"errors": None},
    {"errors": "boom"},
    {"errors": [{"reason": "no key"}]},
    {"errors": [{"primary_key_value": None}]},
    {"errors": [{"primary_key_value": False}]},
    {"errors": ["1"]},
]


@pytest.mark.parametrize("document", EXAMPLE_ANSWERS)
def test_response_schema_accepts_exactly_what_parse_answer_accepts(response_schema, document):
    valid = response_schema.is_valid(document)

    assert valid == (_answer(document, keys=["928713"]).invalid_reason is None)


def test_numeric_answer_keys_match_float_keys_as_the_warehouse_writes_them() -> None:
    # DuckDB casts a double key 5 to "5.0"; the function may answer 5.0, 5 or "5.0"
    for answered in (5.0, 5, "5.0"):
        answer = parse_answer(
            json.dumps({"errors": [{"primary_key_value": answered, "reason": "no"}]}).encode(),
            ["5.0", "6.0"],
        )
        assert answer.rejected == {"5.0": "no"}, answered
    integer = parse_answer(b'{"errors": [{"primary_key_value": 5.0}]}', ["5", "6"])
    assert list(integer.rejected) == ["5"]
