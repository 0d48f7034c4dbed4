"""Sync definitions (SPEC section 2): read from a model's ``config.meta.lambda_sync``, validated
against the JSON Schema shipped in ``schemas/sync_definition.schema.json``, and turned into frozen
dataclasses the rest of the package works with.

Pure Python: it knows nothing of dbt, the warehouse or boto3. The caller builds ``ModelRef`` objects
from the manifest and gets back ``SyncDefinition`` objects or every problem at once.

Messages never repeat a value from ``credentials`` or anything that looks like an AWS key: the
output of ``validate`` ends up in CI logs.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from dbt_lambda_sync.arns import (
    ENV_VAR_PATTERN,
    FunctionRef,
    check_external_id,
    check_region,
    check_role_arn,
    parse_function,
)
from dbt_lambda_sync.errors import DefinitionError, Problem, UsageError

__all__ = [
    "INITIAL_SYNC_MODES",
    "LITERAL_CREDENTIALS_MESSAGE",
    "META_KEY",
    "RATE_PERIODS",
    "RETRY_MODES",
    "TRIGGERS",
    "CredentialsConfig",
    "ModelRef",
    "RateLimit",
    "RetryConfig",
    "SyncDefinition",
    "check_columns",
    "load_definitions",
    "parse_model_syncs",
    "resolve_column",
    "select_definitions",
    "sync_definition_schema",
]

META_KEY = "lambda_sync"
TRIGGERS = ("added", "changed", "removed")
INITIAL_SYNC_MODES = ("backfill", "skip")
RETRY_MODES = ("immediate", "next_run")
RATE_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}

LITERAL_CREDENTIALS_MESSAGE = (
    "literal AWS credentials are not allowed in YAML (dbt writes meta to target/manifest.json in "
    "plain text); use access_key_id_env and secret_access_key_env, a profile, or role_arn"
)

_SCHEMA_RESOURCE = "schemas/sync_definition.schema.json"
_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
_ENV_VAR_RE = re.compile(ENV_VAR_PATTERN)

# Key names that can only mean someone pasted a credential (compared after snake_casing).
_SECRET_KEYS = frozenset(
    {
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_security_token",
        "aws_secret_key",
        "aws_access_key",
        "access_key_id",
        "access_key",
        "secret_access_key",
        "secret_key",
        "session_token",
        "security_token",
        "password",
        "token",
        "secret",
    }
)
_ACCESS_KEY_ID_RE = re.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}")
# A secret access key is 40 base64-ish characters. Requiring mixed case and a digit keeps a 40-char
# hex external ID (a SHA-1, say) from being mistaken for one.
_SECRET_KEY_RE = re.compile(r"[A-Za-z0-9/+]{40}")
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

_CREDENTIAL_GROUPS = (
    ("role_arn", "external_id"),
    ("profile",),
    ("access_key_id_env", "secret_access_key_env"),
)
_CREDENTIAL_CHOICES = (
    "role_arn with external_id, profile, or access_key_id_env with secret_access_key_env"
)


# --- the model of a definition -----------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    requests: int
    per: str  # 'second' | 'minute' | 'hour'

    @property
    def period_seconds(self) -> float:
        return RATE_PERIODS[self.per]


@dataclass(frozen=True)
class RetryConfig:
    mode: str = "immediate"  # 'immediate' | 'next_run'
    attempts: int = 3


@dataclass(frozen=True)
class CredentialsConfig:
    """Where AWS credentials come from; exactly one source is set (the schema enforces it).

    Nothing here is a secret by AWS's standards, but an external ID is a shared value that guards
    a role against the confused-deputy problem, so it is masked in ``repr`` and ``to_dict``.
    """

    role_arn: str | None = None
    external_id: str | None = None
    profile: str | None = None
    access_key_id_env: str | None = None
    secret_access_key_env: str | None = None

    @property
    def source(self) -> str:
        """'role', 'profile' or 'env'."""
        if self.role_arn:
            return "role"
        if self.profile:
            return "profile"
        return "env"

    def to_dict(self) -> dict[str, str]:
        out = {
            "role_arn": self.role_arn,
            "external_id": "***" if self.external_id else None,
            "profile": self.profile,
            "access_key_id_env": self.access_key_id_env,
            "secret_access_key_env": self.secret_access_key_env,
        }
        return {k: v for k, v in out.items() if v is not None}

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"CredentialsConfig({shown})"


@dataclass(frozen=True)
class ModelRef:
    """What the manifest says about a model; built by the caller, never by this module."""

    unique_id: str
    name: str
    database: str | None
    schema: str
    identifier: str  # the relation name: alias, else name
    package_name: str
    # node.config.meta. Not hashed (dicts are not hashable) and not in repr: it holds the raw
    # definition, external ID included.
    meta: Mapping[str, Any] = field(hash=False, repr=False)
    columns: tuple[str, ...] = ()  # documented columns, possibly none or only some

    @property
    def relation_name(self) -> str:
        """database.schema.identifier, unquoted: for messages, not for SQL."""
        return ".".join(p for p in (self.database, self.schema, self.identifier) if p)


@dataclass(frozen=True)
class SyncDefinition:
    """One valid sync.

    ``columns`` is None for "all columns". When given, it always contains ``primary_key``: the
    primary key is always sent, so a list that leaves it out gets it added at the front.
    ``region`` is the explicit region, else the function ARN's, else None (the AWS default chain).
    """

    name: str
    model: ModelRef
    function: FunctionRef
    primary_key: str
    triggers: frozenset[str]
    initial_sync: str
    columns: tuple[str, ...] | None
    batch_size: int = 1
    concurrency: int = 5
    rate_limit: RateLimit | None = None
    retries: RetryConfig = field(default_factory=RetryConfig)
    include_previous: bool = False
    region: str | None = None
    endpoint_url: str | None = None
    timeout_seconds: int = 900
    credentials: CredentialsConfig | None = None
    renamed_from: str | None = None  # an old sync name whose state this sync adopts

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view for ``validate --output json`` and debugging (external ID masked)."""
        return {
            "name": self.name,
            "model": self.model.name,
            "model_unique_id": self.model.unique_id,
            "relation": self.model.relation_name,
            "function": self.function.name,
            "function_name": self.function.function_name,
            "qualifier": self.function.qualifier,
            "primary_key": self.primary_key,
            "triggers": [t for t in TRIGGERS if t in self.triggers],
            "initial_sync": self.initial_sync,
            "columns": list(self.columns) if self.columns is not None else None,
            "batch_size": self.batch_size,
            "concurrency": self.concurrency,
            "rate_limit": (
                {"requests": self.rate_limit.requests, "per": self.rate_limit.per}
                if self.rate_limit
                else None
            ),
            "retries": {"mode": self.retries.mode, "attempts": self.retries.attempts},
            "include_previous": self.include_previous,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "timeout_seconds": self.timeout_seconds,
            "credentials": self.credentials.to_dict() if self.credentials else None,
            "renamed_from": self.renamed_from,
        }


# --- the schema --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = resources.files("dbt_lambda_sync").joinpath(_SCHEMA_RESOURCE).read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_schema())


def sync_definition_schema() -> dict[str, Any]:
    """The JSON Schema of one sync definition (a copy; loaded on first use, not at import)."""
    return copy.deepcopy(_schema())


# --- parsing -----------------------------------------------------------------------------------

Path = tuple[str | int, ...]


def parse_model_syncs(model: ModelRef) -> tuple[list[SyncDefinition], list[Problem]]:
    """Read ``model.meta['lambda_sync']``: a mapping, or a list of mappings.

    Absent, null or an empty list means no syncs (null lets a more specific config level switch
    off a sync inherited through meta merging). Returns the valid definitions and every problem;
    a definition with any problem is left out. Sync names repeated within the model are problems
    here; repeats across models are found by ``load_definitions``.
    """
    definitions, problems, _ = _parse_model(model)
    return definitions, problems


def load_definitions(models: Iterable[ModelRef]) -> list[SyncDefinition]:
    """Parse every model's syncs; raise ``DefinitionError`` with every problem found, if any.

    Besides each definition's own problems, a sync name declared on more than one model is a
    problem reported on each of those models. Returns the definitions sorted by name.
    """
    definitions: list[SyncDefinition] = []
    problems: list[Problem] = []
    owners: dict[str, list[ModelRef]] = {}
    for model in models:
        found, model_problems, names = _parse_model(model)
        definitions.extend(found)
        problems.extend(model_problems)
        for name in dict.fromkeys(names):
            owners.setdefault(name, []).append(model)

    for name, declared_on in owners.items():
        if len(declared_on) < 2:
            continue
        labels = _model_labels(declared_on)
        for i, model in enumerate(declared_on):
            others = ", ".join(f"'{label}'" for j, label in enumerate(labels) if j != i)
            problems.append(
                Problem(
                    model.name,
                    name,
                    "name",
                    f"is also declared on model {others}; sync names must be unique in the project",
                )
            )

    problems.extend(_rename_problems(definitions, owners))
    if problems:
        # Group by model, then sync; each sync's problems keep their field order (stable sort).
        problems.sort(key=lambda p: (p.model, p.sync or ""))
        raise DefinitionError(problems)
    return sorted(definitions, key=lambda d: d.name)


def _rename_problems(
    definitions: Sequence[SyncDefinition], owners: Mapping[str, Sequence[ModelRef]]
) -> list[Problem]:
    """renamed_from must name a sync that is no longer defined, and only one sync may adopt it."""
    problems = []
    adopters = Counter(d.renamed_from for d in definitions if d.renamed_from)
    for d in definitions:
        old = d.renamed_from
        if old is None:
            continue
        if old in owners:
            models = ", ".join(f"'{label}'" for label in _model_labels(owners[old]))
            problems.append(
                Problem(
                    d.model.name,
                    d.name,
                    "renamed_from",
                    f"names sync '{old}', which is still defined (on model {models}); a sync"
                    " can adopt only the state of a sync whose definition is gone",
                )
            )
        elif adopters[old] > 1:
            problems.append(
                Problem(
                    d.model.name,
                    d.name,
                    "renamed_from",
                    f"'{old}' is named by {adopters[old]} syncs; only one sync can adopt its state",
                )
            )
    return problems


def _model_labels(models: Sequence[ModelRef]) -> list[str]:
    # Two packages may each have a model of the same name: fall back to the unique id then.
    names = Counter(m.name for m in models)
    return [m.unique_id if names[m.name] > 1 else m.name for m in models]


def _parse_model(
    model: ModelRef,
) -> tuple[list[SyncDefinition], list[Problem], list[str]]:
    """Definitions, problems and the name of every declared sync (valid or not)."""
    raw = (model.meta or {}).get(META_KEY)
    if raw is None:
        return [], [], []
    if isinstance(raw, Mapping):
        items: list[tuple[str, object]] = [(META_KEY, raw)]
    elif isinstance(raw, (list, tuple)):
        items = [(f"{META_KEY}[{i}]", item) for i, item in enumerate(raw)]
    else:
        problem = Problem(
            model.name,
            None,
            META_KEY,
            "must be a sync definition (a mapping) or a list of them, not " + _kind(raw),
        )
        return [], [problem], []

    definitions: list[SyncDefinition] = []
    problems: list[Problem] = []
    names: list[str] = []
    for where, item in items:
        definition, item_problems, name = _parse_one(model, item, where)
        problems.extend(item_problems)
        if name is not None:
            names.append(name)
        if definition is not None:
            definitions.append(definition)

    repeated = {name: n for name, n in Counter(names).items() if n > 1}
    for name, n in repeated.items():
        problems.append(
            Problem(
                model.name,
                name,
                "name",
                f"is declared {n} times on this model; sync names must be unique in the project",
            )
        )
    definitions = [d for d in definitions if d.name not in repeated]
    return definitions, problems, names


def _parse_one(
    model: ModelRef, raw: object, where: str
) -> tuple[SyncDefinition | None, list[Problem], str | None]:
    if not isinstance(raw, Mapping):
        expected = "must be a mapping with name, function, primary_key and triggers"
        return None, [Problem(model.name, None, where, f"{expected}, not {_kind(raw)}")], None

    data = _plain(raw)
    name = _usable_name(data.get("name"))
    issues = _Issues()
    _find_secrets(data, (), issues)
    _schema_issues(data, issues)
    function = _semantic_issues(data, model, issues)

    if issues:
        # Without a sync name, anchor fields at meta (lambda_sync[2].function) so the reader
        # can tell which entry of a list is meant.
        def full(path: Path) -> str:
            rel = _field(path)
            if name is not None:
                return rel
            return f"{where}.{rel}" if rel else where

        problems = [Problem(model.name, name, full(path), msg) for path, msg in issues.sorted()]
        return None, problems, name

    if function is None:  # cannot happen: a definition without issues has a valid function
        raise AssertionError("sync definition validated without a parsed function")
    return _build(data, model, function), [], name


def _build(data: dict[str, Any], model: ModelRef, function: FunctionRef) -> SyncDefinition:
    primary_key: str = data["primary_key"]
    columns: tuple[str, ...] | None = None
    if "columns" in data:
        columns = tuple(data["columns"])
        if primary_key.lower() not in {c.lower() for c in columns}:
            columns = (primary_key, *columns)  # the primary key is always sent
    rate = data.get("rate_limit")
    retries = data.get("retries", {})
    creds = data.get("credentials")
    return SyncDefinition(
        name=data["name"],
        model=model,
        function=function,
        primary_key=primary_key,
        triggers=frozenset(data["triggers"]),
        initial_sync=data.get("initial_sync", "backfill"),
        columns=columns,
        # int(): the schema accepts 10.0 as an integer
        batch_size=int(data.get("batch_size", 1)),
        concurrency=int(data.get("concurrency", 5)),
        rate_limit=RateLimit(int(rate["requests"]), rate["per"]) if rate else None,
        retries=RetryConfig(
            mode=retries.get("mode", "immediate"), attempts=int(retries.get("attempts", 3))
        ),
        include_previous=data.get("include_previous", False),
        region=data.get("region") or function.region,
        endpoint_url=data.get("endpoint_url"),
        timeout_seconds=int(data.get("timeout_seconds", 900)),
        credentials=CredentialsConfig(**creds) if creds is not None else None,
        renamed_from=data.get("renamed_from"),
    )


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
        order = list(_schema()["properties"])

        def key(item: tuple[bool, Path, str]) -> tuple[int, int, str]:
            secret, path, _ = item
            top = order.index(path[0]) if path and path[0] in order else len(order)
            return (0 if secret else 1, top, _field(path))

        return [(path, msg) for _, path, msg in sorted(self._items, key=key)]


def _plain(value: object) -> Any:
    """Mappings to dicts with string keys, sequences to lists: what JSON Schema expects."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _usable_name(value: object) -> str | None:
    # Any string serves to name the sync in messages, even an invalid one, unless it is a key.
    if isinstance(value, str) and value and len(value) <= 200:
        if not _ACCESS_KEY_ID_RE.search(value):
            return value
    return None


def _field(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _schema_key(path: Path) -> str:
    """The field with list indexes erased: triggers[1] -> triggers[]."""
    return _field(tuple(-1 if isinstance(p, int) else p for p in path)).replace("[-1]", "[]")


# --- secrets -------------------------------------------------------------------------------------


def _snake(key: str) -> str:
    return _CAMEL_RE.sub("_", key).lower().replace("-", "_").strip()


def _looks_like_secret_key(value: str) -> bool:
    return (
        _SECRET_KEY_RE.fullmatch(value) is not None
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


def _find_secrets(value: object, path: Path, issues: _Issues) -> None:
    in_credentials = bool(path) and path[0] == "credentials"
    if isinstance(value, dict):
        for key, item in value.items():
            if _ACCESS_KEY_ID_RE.search(key):
                issues.hidden_keys.add((path, key))
                issues.add(
                    path,
                    "has a key that looks like an AWS access key ID; "
                    + LITERAL_CREDENTIALS_MESSAGE,
                    secret=True,
                )
            elif _snake(key) in _SECRET_KEYS:
                issues.add_secret((*path, key), LITERAL_CREDENTIALS_MESSAGE)
            else:
                _find_secrets(item, (*path, key), issues)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _find_secrets(item, (*path, i), issues)
    elif isinstance(value, str):
        if _ACCESS_KEY_ID_RE.search(value):
            issues.add_secret(
                path, "looks like an AWS access key ID; " + LITERAL_CREDENTIALS_MESSAGE
            )
        elif in_credentials and _looks_like_secret_key(value):
            issues.add_secret(
                path, "looks like an AWS secret access key; " + LITERAL_CREDENTIALS_MESSAGE
            )


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
    "credentials": f"a mapping with {_CREDENTIAL_CHOICES}",
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
    for error in _validator().iter_errors(data):
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
            for sub_path, message in _credentials_issues(error.instance):
                issues.add(sub_path, message)
        else:
            issues.add(path, _message(error, path))


def _unknown_key_message(key: str, known: list[str], path: Path) -> str:
    if not path:
        # A nested key written at the top level: say where it belongs.
        for parent, sub in _schema()["properties"].items():
            if key in sub.get("properties", {}):
                return f"unknown key here; '{key}' belongs under {parent}"
    match = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.6)
    if match:
        return f"unknown key; did you mean '{match[0]}'?"
    where = _field(path) or "a sync definition"
    return f"unknown key; {where} takes: {', '.join(known)}"


def _expected(schema: Mapping[str, Any], path: Path) -> str:
    custom = _EXPECTED.get(_schema_key(path))
    if custom:
        return custom
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"an integer between {low} and {high}"
        if low is not None:
            return f"an integer of at least {low}"
        return "an integer"
    if kind == "array" and "enum" in schema.get("items", {}):
        return "a list of one or more of " + ", ".join(schema["items"]["enum"])
    return _JSON_TYPES.get(str(kind), "a valid value")


def _message(error: ValidationError, path: Path) -> str:
    keyword = error.validator
    value = error.instance
    expected = _expected(error.schema, path)
    if keyword == "type":
        hint = ""
        if error.validator_value == "string" and isinstance(value, (bool, int, float)):
            hint = " (put it in quotes in YAML)"
        return f"must be {expected}, not {_kind(value)}{hint}"
    if keyword in ("pattern", "minLength", "maxLength"):
        check = _FORMAT_CHECKS.get(_schema_key(path))
        message = check(value) if check else None
        if message:
            return message
        if value == "":
            return "must not be empty"
        return f"must be {expected}"
    if keyword == "enum":
        return f"must be {expected}{_got(value, path)}{_did_you_mean(value, error.validator_value)}"
    if keyword in ("minimum", "maximum"):
        return f"must be {expected}{_got(value, path)}"
    if keyword == "minItems":
        return f"must not be empty; expected {expected}"
    if keyword == "uniqueItems":
        repeated = _repeated(value)
        shown = ", ".join(_show(v, path) or "an entry" for v in repeated)
        return f"lists {shown} more than once"
    return f"must be {expected}"


def _credentials_issues(creds: object) -> list[tuple[Path, str]]:
    """Explain a failed credentials oneOf by the keys given (never by their values)."""
    base: Path = ("credentials",)
    given = creds if isinstance(creds, dict) else {}
    groups = [g for g in _CREDENTIAL_GROUPS if any(k in given for k in g)]
    if not groups:
        return [
            (
                base,
                f"must give {_CREDENTIAL_CHOICES} (omit credentials for the AWS default "
                "credential chain)",
            )
        ]
    if len(groups) > 1:
        mixed = " and ".join("/".join(k for k in g if k in given) for g in groups)
        return [(base, f"mixes {mixed}; give only one of: {_CREDENTIAL_CHOICES}")]
    group = groups[0]
    present = [k for k in group if k in given]
    out: list[tuple[Path, str]] = []
    for key in group:
        if key not in given:
            out.append(((*base, key), f"is required with {' and '.join(present)}"))
    return out or [(base, f"must give exactly one of: {_CREDENTIAL_CHOICES}")]


def _kind(value: object) -> str:
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
        and not _ACCESS_KEY_ID_RE.search(value)
        and not _looks_like_secret_key(value)
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


def _semantic_issues(data: dict[str, Any], model: ModelRef, issues: _Issues) -> FunctionRef | None:
    """Checks a JSON Schema cannot express; only on fields the schema found nothing wrong with.

    Returns the parsed function when it is valid.
    """
    function: FunctionRef | None = None
    if "function" in data and not issues.covers(("function",)):
        try:
            function = parse_function(data["function"])
        except ValueError as exc:
            issues.add(("function",), str(exc))

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

    region = data.get("region")
    if function and function.region and region is not None and not issues.covers(("region",)):
        if region != function.region:
            issues.add(
                ("region",),
                f"is '{region}' but the function ARN is in '{function.region}'; make them agree "
                "or remove region",
            )

    renamed_from = data.get("renamed_from")
    if renamed_from is not None and renamed_from == data.get("name"):
        if not issues.covers(("renamed_from",)):
            issues.add(("renamed_from",), "is the sync's own name; give its previous name")

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

    return function


# --- after the relation is built -----------------------------------------------------------------


def resolve_column(name: str, actual_columns: Sequence[str]) -> str | None:
    """The relation's spelling of ``name``: an exact match, else the one case-insensitive match.

    None when there is no match or several (a relation with both "Id" and "id").
    """
    if name in actual_columns:
        return name
    matches = [c for c in actual_columns if c.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else None


def check_columns(defn: SyncDefinition, actual_columns: Sequence[str]) -> list[Problem]:
    """Problems with ``primary_key`` and ``columns`` against the built relation's columns.

    Names match case-insensitively (warehouses fold case differently); each message lists the
    available columns.
    """
    available = ", ".join(actual_columns) if actual_columns else "(none)"
    relation = defn.model.relation_name
    wanted: list[tuple[str, str]] = [("primary_key", defn.primary_key)]
    wanted += [("columns", c) for c in defn.columns or () if c.lower() != defn.primary_key.lower()]
    problems: list[Problem] = []
    for field_name, column in wanted:
        if resolve_column(column, actual_columns) is not None:
            continue
        several = [c for c in actual_columns if c.lower() == column.lower()]
        if several:
            message = (
                f"'{column}' matches several columns of {relation} that differ only in case "
                f"({', '.join(several)}); rename one of them"
            )
        else:
            message = f"'{column}' is not a column of {relation}; available columns: {available}"
        problems.append(Problem(defn.model.name, defn.name, field_name, message))
    return problems


def select_definitions(
    defs: Sequence[SyncDefinition], selectors: Sequence[str]
) -> list[SyncDefinition]:
    """The definitions whose sync name or model name is selected; all of them without selectors.

    Raises ``UsageError`` naming every selector that matches nothing.
    """
    if not selectors:
        return list(defs)
    check_selectors(selectors, names={d.name for d in defs}, models={d.model.name for d in defs})
    chosen = set(selectors)
    return [d for d in defs if d.name in chosen or d.model.name in chosen]


def check_selectors(selectors: Sequence[str], *, names: set[str], models: set[str]) -> None:
    """Raises ``UsageError`` naming every selector that is neither a sync nor a model name."""
    unknown = [s for s in selectors if s not in names and s not in models]
    if unknown:
        known = ", ".join(sorted(names)) or "none (no model declares meta.lambda_sync)"
        parts = []
        for selector in unknown:
            match = difflib.get_close_matches(selector, sorted(names | models), n=1)
            parts.append(f"'{selector}'" + (f" (did you mean '{match[0]}'?)" if match else ""))
        raise UsageError(f"no sync or model named {', '.join(parts)}; known syncs: {known}")
