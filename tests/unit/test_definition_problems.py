"""definition_problems: every problem of one raw definition, worded from the schema.

The full table of invalid definitions and their messages goes through the parser in
test_definitions.py (``test_invalid_definition``); here the module's own functions, directly.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest

from dbt_lambda_sync.definition_problems import (
    definition_issues,
    field_name,
    kind,
    plain,
    usable_name,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:crm-upsert"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"


def raw(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "crm",
        "function": ARN,
        "primary_key": "id",
        "triggers": ["added"],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_valid_definition_has_no_issues_and_its_function() -> None:
    issues, function = definition_issues(raw())
    assert issues == []
    assert function is not None
    assert function.name == ARN
    assert function.function_name == "crm-upsert"
    assert function.region == "us-east-1"


def test_missing_required_fields_are_each_reported() -> None:
    issues, _ = definition_issues(raw(function=None, primary_key=None))
    fields = [field_name(path) for path, _ in issues]
    assert "function" in fields and "primary_key" in fields


def test_issues_follow_the_schema_field_order() -> None:
    issues, _ = definition_issues(raw(batch_size=0, name="Bad Name", triggers=["nope"]))
    tops = [path[0] for path, _ in issues]
    assert tops == ["name", "triggers", "batch_size"]


def test_secrets_come_first_and_are_never_echoed() -> None:
    issues, _ = definition_issues(raw(batch_size=0, credentials={"secret_access_key": "x"}))
    (first_path, first_message), *rest = issues
    assert first_path == ("credentials", "secret_access_key")
    assert "literal AWS credentials are not allowed" in first_message
    assert rest and all(ACCESS_KEY not in message for _, message in issues)


def test_an_access_key_value_is_never_quoted() -> None:
    issues, _ = definition_issues(raw(primary_key=ACCESS_KEY))
    assert issues
    assert all(ACCESS_KEY not in message for _, message in issues)


def test_unknown_key_is_reported_with_a_suggestion() -> None:
    issues, _ = definition_issues(raw(batch_sise=10))
    ((path, message),) = issues
    assert path == ("batch_sise",)
    assert "batch_size" in message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((), ""),
        (("name",), "name"),
        (("credentials", "role_arn"), "credentials.role_arn"),
        (("triggers", 1), "triggers[1]"),
        (("columns", 0, "x"), "columns[0].x"),
    ],
)
def test_field_name(path: tuple[str | int, ...], expected: str) -> None:
    assert field_name(path) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "empty (null)"),
        (True, "true/false"),
        (3, "an integer"),
        (1.5, "a number with a fraction"),
        ("x", "a string"),
        ([1], "a list"),
        ((1,), "a list"),
        ({"a": 1}, "a mapping"),
        (b"x", "a bytes"),
    ],
)
def test_kind_names_a_value_without_quoting_it(value: object, expected: str) -> None:
    assert kind(value) == expected


def test_plain_turns_mappings_and_sequences_into_json_shapes() -> None:
    value = OrderedDict([(1, (2, {"a": [3]})), ("b", None)])
    assert plain(value) == {"1": [2, {"a": [3]}], "b": None}
    assert type(plain(value)) is dict


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("crm", "crm"),
        ("Not A Valid Name", "Not A Valid Name"),
        ("", None),
        ("x" * 201, None),
        (ACCESS_KEY, None),
        (7, None),
        (None, None),
    ],
)
def test_usable_name(value: object, expected: str | None) -> None:
    assert usable_name(value) == expected
