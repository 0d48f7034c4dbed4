"""The JSON Schema of a sync definition, shipped in ``schemas/sync_definition.schema.json``.

The schema is the one source of the definition's fields, their limits and their defaults: the
parser, the error wording and the lenient readers all read it from here. Loaded on first use,
not at import.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

__all__ = ["schema", "schema_default", "sync_definition_schema", "validator", "with_defaults"]

_SCHEMA_RESOURCE = "schemas/sync_definition.schema.json"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The schema itself, shared: callers must not modify it (``sync_definition_schema`` copies)."""
    text = resources.files("dbt_lambda_sync").joinpath(_SCHEMA_RESOURCE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    """A validator of one sync definition."""
    return Draft202012Validator(schema())


def sync_definition_schema() -> dict[str, Any]:
    """The JSON Schema of one sync definition (a copy the caller may change)."""
    return copy.deepcopy(schema())


def schema_default(*path: str) -> Any:
    """The ``default`` the schema declares for a field: ``schema_default("retries", "mode")``.

    Raises ``KeyError`` for a field without a default: a caller that needs one relies on it.
    """
    node: dict[str, Any] = schema()
    for part in path:
        node = node["properties"][part]
    return node["default"]


def with_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a valid definition with the schema's defaults filled in, nested ones included
    (``retries: {mode: next_run}`` gets ``attempts`` too).
    """
    return _filled(data, schema())


def _filled(data: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for key, prop in node.get("properties", {}).items():
        if key not in out and "default" in prop:
            out[key] = copy.deepcopy(prop["default"])
        if isinstance(out.get(key), dict) and "properties" in prop:
            out[key] = _filled(out[key], prop)
    return out
