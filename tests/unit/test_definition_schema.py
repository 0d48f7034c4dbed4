"""definition_schema: the JSON Schema of a sync definition, the one source of its defaults."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from dbt_lambda_sync import arns
from dbt_lambda_sync.definition_schema import (
    schema,
    schema_default,
    sync_definition_schema,
    validator,
    with_defaults,
)
from dbt_lambda_sync.definitions import RetryConfig, SyncDefinition

# --- the schema file -----------------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12() -> None:
    schema = sync_definition_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_is_closed_and_documented_everywhere() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                assert node.get("additionalProperties") is False, where
            for key, sub in node.get("properties", {}).items():
                if sub is not False:
                    assert "description" in sub, f"{where}.{key}"
            for key, sub in node.items():
                walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}[{i}]")

    walk(sync_definition_schema(), "$")


def test_schema_patterns_are_the_parser_patterns() -> None:
    props = sync_definition_schema()["properties"]
    creds = props["credentials"]["properties"]
    assert props["function"]["pattern"] == arns.FUNCTION_PATTERN
    assert props["region"]["pattern"] == arns.REGION_PATTERN
    assert creds["role_arn"]["pattern"] == arns.ROLE_ARN_PATTERN
    assert creds["external_id"]["pattern"] == arns.EXTERNAL_ID_PATTERN
    assert creds["access_key_id_env"]["pattern"] == arns.ENV_VAR_PATTERN
    assert creds["secret_access_key_env"]["pattern"] == arns.ENV_VAR_PATTERN
    assert re.fullmatch(props["name"]["pattern"], "crm_customers")


def test_schema_copy_is_independent() -> None:
    sync_definition_schema()["properties"].clear()
    assert "name" in sync_definition_schema()["properties"]


def test_defaults_come_from_the_schema() -> None:
    assert schema_default("batch_size") == 1
    assert schema_default("retries", "attempts") == 3
    filled = with_defaults({"name": "crm", "retries": {"mode": "next_run"}})
    assert filled["retries"] == {"mode": "next_run", "attempts": 3}
    assert filled["initial_sync"] == "backfill" and filled["timeout_seconds"] == 900
    assert "rate_limit" not in filled and "credentials" not in filled
    with pytest.raises(KeyError):
        schema_default("name")


# --- schema_default and with_defaults -------------------------------------------------------------


def every_default() -> dict[tuple[str, ...], Any]:
    """Each (path, default) the schema declares, nested ones included."""
    found: dict[tuple[str, ...], Any] = {}

    def walk(node: dict[str, Any], path: tuple[str, ...]) -> None:
        for key, prop in node.get("properties", {}).items():
            if "default" in prop:
                found[(*path, key)] = prop["default"]
            walk(prop, (*path, key))

    walk(sync_definition_schema(), ())
    return found


def test_schema_declares_the_documented_defaults() -> None:
    assert every_default() == {
        ("initial_sync",): "backfill",
        ("batch_size",): 1,
        ("concurrency",): 5,
        ("retries",): {"mode": "immediate", "attempts": 3},
        ("retries", "mode"): "immediate",
        ("retries", "attempts"): 3,
        ("include_previous",): False,
        ("timeout_seconds",): 900,
    }


@pytest.mark.parametrize("path", sorted(every_default()))
def test_schema_default_reads_each_declared_default(path: tuple[str, ...]) -> None:
    assert schema_default(*path) == every_default()[path]


def test_a_bare_definition_gets_the_schema_defaults() -> None:
    fields = {f.name: f for f in dataclasses.fields(SyncDefinition)}
    for key in ("batch_size", "concurrency", "include_previous", "timeout_seconds"):
        assert fields[key].default_factory() == schema_default(key)  # type: ignore[misc]
    assert RetryConfig() == RetryConfig(
        mode=schema_default("retries", "mode"), attempts=schema_default("retries", "attempts")
    )


@pytest.mark.parametrize(
    "path", [("no_such_field",), ("rate_limit",), ("rate_limit", "per"), ("retries", "nope")]
)
def test_schema_default_of_a_field_without_one_raises_key_error(path: tuple[str, ...]) -> None:
    with pytest.raises(KeyError):
        schema_default(*path)


def test_with_defaults_never_changes_its_input_or_the_schema() -> None:
    data = {"name": "crm", "retries": {"mode": "next_run"}}
    filled = with_defaults(data)
    assert data == {"name": "crm", "retries": {"mode": "next_run"}}
    filled["retries"]["attempts"] = 99
    assert with_defaults({})["retries"] == {"mode": "immediate", "attempts": 3}
    assert schema()["properties"]["retries"]["default"]["attempts"] == 3


def test_with_defaults_keeps_given_values() -> None:
    given = {"batch_size": 50, "include_previous": True, "retries": {"attempts": 7}}
    filled = with_defaults(given)
    assert filled["batch_size"] == 50 and filled["include_previous"] is True
    assert filled["retries"] == {"attempts": 7, "mode": "immediate"}


def test_schema_and_validator_are_loaded_once() -> None:
    assert schema() is schema()
    assert validator() is validator()
    assert sync_definition_schema() is not schema()


def test_validator_judges_a_definition() -> None:
    good = {"name": "crm", "function": "crm-upsert", "primary_key": "id", "triggers": ["added"]}
    assert validator().is_valid(good)
    assert not validator().is_valid({**good, "batch_size": 0})
    assert not validator().is_valid({**good, "unknown_option": 1})
