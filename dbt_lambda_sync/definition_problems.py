"""Sync definition problems in plain words: schema errors, pasted secrets, and the checks a JSON
Schema cannot express.

``definition_issues`` takes one raw definition (plain dicts and lists) and returns every problem
as (path, message), secrets first, then in the schema's field order. Messages never repeat a
value from ``credentials`` or anything that looks like an AWS key: they end up in CI logs.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast
from urllib.parse import urlsplit

from jsonschema.exceptions import ValidationError

from dbt_lambda_sync.arns import (
    ENV_VAR_PATTERN,
    FunctionRef,
    check_external_id,
    check_region,
    check_role_arn,
    parse_function,
)
from dbt_lambda_sync.definition_schema import schema, validator
from dbt_lambda_sync.definition_secrets import (
    CREDENTIAL_CHOICES,
    LITERAL_CREDENTIALS_MESSAGE,
    credentials_issues,
    find_secrets,
    looks_like_access_key,
    looks_like_secret_key,
)

__all__ = [
    "LITERAL_CREDENTIALS_MESSAGE",
    "Path",
    "definition_issues",
    "field_name",
    "kind",
    "plain",
    "usable_name",
]

Path = tuple[str | int, ...]

_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
_ENV_VAR_RE = re.compile(ENV_VAR_PATTERN)


def definition_issues(data: dict[str, Any]) -> tuple[list[tuple[Path, str]], FunctionRef | None]:
    """Every problem of one raw definition, and its parsed function when that is valid.

    ``data`` holds plain dicts and lists (see ``plain``). No problems means the definition is
    valid: the function is then never None.
    """
    issues = _Issues()
    _find_secrets(data, issues)
    _schema_issues(data, issues)
    function = _semantic_issues(data, issues)
    return issues.sorted(), function


class _Issues:
    """Problems of one definition as (path, message); secrets are listed first."""

    def __init__(self) -> None:
        self._items: list[tuple[bool, Path, str]] = []
        self.secret_paths: list[Path] = []  # values never to be described again
        self.hidden_keys: set[tuple[Path, str]] = set()  # keys never to be named

    def add(self, path: Path, message: str, *, secret: bool = False) -> None:
        item = (secret, path, message)
        if item not in self._items:
            self._items.append(item)

    def add_secret(self, path: Path, message: str) -> None:
        self.secret_paths.append(path)
        self.add(path, message, secret=True)

    def is_secret(self, path: Path) -> bool:
        return any(path[: len(s)] == s for s in self.secret_paths)

    def covers(self, path: Path) -> bool:
        """Whether ``path``, a field containing it or a field inside it already has a problem."""
        n = len(path)
        return any(p and (path[: len(p)] == p or p[:n] == path) for _, p, _ in self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def sorted(self) -> list[tuple[Path, str]]:
        order = list(schema()["properties"])

        def key(item: tuple[bool, Path, str]) -> tuple[int, int, str]:
            secret, path, _ = item
            top = order.index(path[0]) if path and path[0] in order else len(order)
            return (0 if secret else 1, top, field_name(path))

        return [(path, msg) for _, path, msg in sorted(self._items, key=key)]


def plain(value: object) -> Any:
    """Mappings to dicts with string keys, sequences to lists: what JSON Schema expects."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def usable_name(value: object) -> str | None:
    """A sync name fit for messages: any short string, even an invalid one, unless it is a key."""
    if isinstance(value, str) and value and len(value) <= 200:
        if not looks_like_access_key(value):
            return value
    return None


def field_name(path: Path) -> str:
    """A path as the reader writes it: ('credentials', 'role_arn') -> credentials.role_arn."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _schema_key(path: Path) -> str:
    """The field with list indexes erased: triggers[1] -> triggers[]."""
    return field_name(tuple(-1 if isinstance(p, int) else p for p in path)).replace("[-1]", "[]")


def _find_secrets(value: object, issues: _Issues) -> None:
    for found in find_secrets(value):
        if found.hidden_key is not None:
            issues.hidden_keys.add((found.path, found.hidden_key))
            issues.add(found.path, found.message, secret=True)
        else:
            issues.add_secret(found.path, found.message)


# --- schema errors in plain words ----------------------------------------------------------------

# What a field expects, where the schema alone would say it badly.
_EXPECTED = {
    "name": (
        "a name that starts with a lowercase letter and has only lowercase letters, digits and "
        "underscores (at most 63 characters), such as crm_customers"
    ),
    "function": "a Lambda function name, partial ARN or ARN",
    "primary_key": "the name of one column of the model",
    "columns": "a list of column names",
    "columns[]": "a column name",
    "region": "an AWS region such as us-east-1",
    "endpoint_url": "an http:// or https:// URL such as http://127.0.0.1:4566",
    "rate_limit": "a mapping with requests and per",
    "retries": "a mapping with mode and/or attempts",
    "credentials": f"a mapping with {CREDENTIAL_CHOICES}",
    "credentials.role_arn": "an IAM role ARN such as arn:aws:iam::123456789012:role/lambda-sync",
    "credentials.external_id": "the role's external ID (2 to 1224 characters)",
    "credentials.profile": "the name of an AWS profile",
    "credentials.access_key_id_env": "the name of an environment variable",
    "credentials.secret_access_key_env": "the name of an environment variable",
    "renamed_from": "the sync's previous name, such as crm_contacts",
}


def _check_env_var(value: object) -> str | None:
    if isinstance(value, str) and _ENV_VAR_RE.fullmatch(value):
        return None
    return (
        "must be the name of an environment variable (letters, digits and underscores, not "
        "starting with a digit), not the credential itself"
    )


def _check_name(value: object) -> str | None:
    if isinstance(value, str) and _NAME_RE.fullmatch(value):
        return None
    return "must be " + _EXPECTED["name"]


def _check_renamed_from(value: object) -> str | None:
    if isinstance(value, str) and _NAME_RE.fullmatch(value):
        return None
    return "must be the sync's previous name: " + _EXPECTED["name"]


def _check_function(value: object) -> str | None:
    try:
        parse_function(value)  # type: ignore[arg-type]  # it rejects non-strings itself
    except ValueError as exc:
        return str(exc)
    return None


def _check_endpoint_url(value: object) -> str | None:
    expected = "must be " + _EXPECTED["endpoint_url"]
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return expected
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a non-numeric or out-of-range port
    except ValueError:
        return expected + " (with a valid port)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return expected
    if parts.username is not None or parts.password is not None:
        return "must not contain a user name or password; " + LITERAL_CREDENTIALS_MESSAGE
    if parts.query or parts.fragment or "?" in value or "#" in value:
        return "must not contain a query string or fragment"
    return None


# Format checks for string fields: used both to word a schema `pattern` error and, after the
# schema passed, to catch what a regular expression cannot (lengths of ARN parts, ...).
_FORMAT_CHECKS: dict[str, Callable[[object], str | None]] = {
    "name": _check_name,
    "function": _check_function,
    "region": check_region,
    "endpoint_url": _check_endpoint_url,
    "credentials.role_arn": check_role_arn,
    "credentials.external_id": check_external_id,
    "credentials.access_key_id_env": _check_env_var,
    "credentials.secret_access_key_env": _check_env_var,
    "renamed_from": _check_renamed_from,
}

# When one field breaks several keywords, the first of these explains it best.
_PRIORITY = (
    "type",
    "oneOf",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "uniqueItems",
)

_JSON_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def _schema_issues(data: dict[str, Any], issues: _Issues) -> None:
    by_path: dict[Path, list[ValidationError]] = {}
    for error in validator().iter_errors(data):
        path: Path = tuple(error.absolute_path)
        if issues.is_secret(path):
            continue
        if error.validator == "required":
            present = error.instance if isinstance(error.instance, dict) else {}
            for key in error.validator_value:
                if key not in present:
                    expected = _expected(error.schema["properties"][key], (*path, key))
                    issues.add((*path, key), f"is required; expected {expected}")
        elif error.validator == "additionalProperties":
            known = list(error.schema.get("properties", {}))
            for key in error.instance:
                if key not in known and (path, key) not in issues.hidden_keys:
                    if not issues.is_secret((*path, key)):
                        issues.add((*path, key), _unknown_key_message(key, known, path))
        else:
            by_path.setdefault(path, []).append(error)

    for path, errors in by_path.items():
        rank = {kw: i for i, kw in enumerate(_PRIORITY)}
        error = min(errors, key=lambda e: rank.get(str(e.validator), len(rank)))
        if error.validator == "oneOf" and path == ("credentials",):
            if any(p[:1] == ("credentials",) for p in issues.secret_paths):
                continue  # the literal-credentials message already says what to use
            for sub_path, message in credentials_issues(error.instance):
                issues.add(sub_path, message)
        else:
            issues.add(path, _message(error, path))


def _unknown_key_message(key: str, known: list[str], path: Path) -> str:
    if not path:
        # A nested key written at the top level: say where it belongs.
        for parent, sub in schema()["properties"].items():
            if key in sub.get("properties", {}):
                return f"unknown key here; '{key}' belongs under {parent}"
    match = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.6)
    if match:
        return f"unknown key; did you mean '{match[0]}'?"
    where = field_name(path) or "a sync definition"
    return f"unknown key; {where} takes: {', '.join(known)}"


def _expected(schema: Mapping[str, Any], path: Path) -> str:
    custom = _EXPECTED.get(_schema_key(path))
    if custom:
        return custom
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    json_type = schema.get("type")
    if json_type == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"an integer between {low} and {high}"
        if low is not None:
            return f"an integer of at least {low}"
        return "an integer"
    if json_type == "array" and "enum" in schema.get("items", {}):
        return "a list of one or more of " + ", ".join(schema["items"]["enum"])
    return _JSON_TYPES.get(str(json_type), "a valid value")


def _message(error: ValidationError, path: Path) -> str:
    keyword = error.validator
    value: Any = error.instance
    node = error.schema if isinstance(error.schema, Mapping) else {}
    expected = _expected(node, path)
    if keyword == "type":
        hint = ""
        if error.validator_value == "string" and isinstance(value, (bool, int, float)):
            hint = " (put it in quotes in YAML)"
        return f"must be {expected}, not {kind(value)}{hint}"
    if keyword in ("pattern", "minLength", "maxLength"):
        check = _FORMAT_CHECKS.get(_schema_key(path))
        message = check(value) if check else None
        if message:
            return message
        if value == "":
            return "must not be empty"
        return f"must be {expected}"
    if keyword == "enum":
        choices = cast(Sequence[object], error.validator_value)
        return f"must be {expected}{_got(value, path)}{_did_you_mean(value, choices)}"
    if keyword in ("minimum", "maximum"):
        return f"must be {expected}{_got(value, path)}"
    if keyword == "minItems":
        return f"must not be empty; expected {expected}"
    if keyword == "uniqueItems":
        repeated = _repeated(value)
        shown = ", ".join(_show(v, path) or "an entry" for v in repeated)
        return f"lists {shown} more than once"
    return f"must be {expected}"


def kind(value: object) -> str:
    """What a value is, in words ('a list', 'empty (null)'): messages never quote it."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"a {type(value).__name__}"


def _show(value: object, path: Path) -> str | None:
    """A value fit to quote in a message, or None: never credentials, never long strings."""
    if path and path[0] == "credentials":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if (
        isinstance(value, str)
        and len(value) <= 40
        and value.isprintable()
        and not looks_like_access_key(value)
        and not looks_like_secret_key(value)
    ):
        return f"'{value}'"
    return None


def _got(value: object, path: Path) -> str:
    shown = _show(value, path)
    return f" (got {shown})" if shown else ""


def _did_you_mean(value: object, choices: Sequence[object]) -> str:
    if not isinstance(value, str):
        return ""
    options = [str(c) for c in choices]
    match = difflib.get_close_matches(value.lower().strip(), options, n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def _repeated(values: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out: list[Any] = []
    for v in values:
        key = json.dumps(v, sort_keys=True, default=str)
        if key in seen and v not in out:
            out.append(v)
        seen.add(key)
    return out


# --- checks beyond the schema --------------------------------------------------------------------


def _semantic_issues(data: dict[str, Any], issues: _Issues) -> FunctionRef | None:
    """Checks a JSON Schema cannot express; only on fields the schema found nothing wrong with.

    Returns the parsed function when it is valid.
    """
    function: FunctionRef | None = None
    if "function" in data and not issues.covers(("function",)):
        try:
            function = parse_function(data["function"])
        except ValueError as exc:
            issues.add(("function",), str(exc))
    _format_issues(data, issues)
    _region_issues(data, function, issues)
    renamed_from = data.get("renamed_from")
    if renamed_from is not None and renamed_from == data.get("name"):
        if not issues.covers(("renamed_from",)):
            issues.add(("renamed_from",), "is the sync's own name; give its previous name")
    _column_case_issues(data, issues)
    return function


def _format_issues(data: dict[str, Any], issues: _Issues) -> None:
    """The format checks of string fields the schema let through (the function is parsed apart)."""
    for key, check in _FORMAT_CHECKS.items():
        if key == "function":
            continue
        path: Path = tuple(key.split("."))
        value: Any = data
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and not issues.covers(path):
            message = check(value)
            if message:
                issues.add(path, message)


def _region_issues(data: dict[str, Any], function: FunctionRef | None, issues: _Issues) -> None:
    region = data.get("region")
    if function and function.region and region is not None and not issues.covers(("region",)):
        if region != function.region:
            issues.add(
                ("region",),
                f"is '{region}' but the function ARN is in '{function.region}'; make them agree "
                "or remove region",
            )


def _column_case_issues(data: dict[str, Any], issues: _Issues) -> None:
    columns = data.get("columns")
    if isinstance(columns, list) and not issues.covers(("columns",)):
        by_lower: dict[str, list[str]] = {}
        for column in (c for c in columns if isinstance(c, str)):
            by_lower.setdefault(column.lower(), []).append(column)
        for same in by_lower.values():
            if len(same) > 1:
                shown = " and ".join(f"'{c}'" for c in same)
                issues.add(
                    ("columns",),
                    f"lists {shown}: column names are compared case-insensitively",
                )
