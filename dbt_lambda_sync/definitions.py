"""Sync definitions (SPEC section 2): read from a model's ``config.meta.lambda_sync``, validated
against the JSON Schema shipped in ``schemas/sync_definition.schema.json``, and turned into frozen
dataclasses the rest of the package works with.

Pure Python: it knows nothing of dbt, the warehouse or boto3. The caller builds ``ModelRef`` objects
from the manifest and gets back ``SyncDefinition`` objects or every problem at once. The wording of
the problems is in ``definition_problems``; the schema (fields, limits, defaults) in
``definition_schema``. ``declared_entries`` is the one lenient reader of the meta, shared with the
commands that must work on a project whose definitions are being fixed.
"""

from __future__ import annotations

import difflib
import functools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbt_lambda_sync.arns import FunctionRef
from dbt_lambda_sync.definition_problems import (
    Path,
    definition_issues,
    field_name,
    kind,
    plain,
    usable_name,
)
from dbt_lambda_sync.definition_schema import schema, schema_default, with_defaults
from dbt_lambda_sync.errors import DefinitionError, Problem, UsageError
from dbt_lambda_sync.vocabulary import OPERATIONS

__all__ = [
    "INITIAL_SYNC_MODES",
    "META_KEY",
    "RATE_PERIODS",
    "RETRY_MODES",
    "CredentialsConfig",
    "ModelRef",
    "RateLimit",
    "RetryConfig",
    "SyncDefinition",
    "check_columns",
    "declared_entries",
    "named_entries",
    "load_definitions",
    "parse_model_syncs",
    "resolve_column",
    "select_definitions",
]

META_KEY = "lambda_sync"
# The choices come from the schema (its enums); only what they mean in seconds lives here.
INITIAL_SYNC_MODES: tuple[str, ...] = tuple(schema()["properties"]["initial_sync"]["enum"])
RETRY_MODES: tuple[str, ...] = tuple(
    schema()["properties"]["retries"]["properties"]["mode"]["enum"]
)
_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
RATE_PERIODS = {
    per: _SECONDS[per] for per in schema()["properties"]["rate_limit"]["properties"]["per"]["enum"]
}


def _default(*path: str) -> Callable[[], Any]:
    """A dataclass default factory reading the schema's default: the schema is its one source."""
    return functools.partial(schema_default, *path)


# --- the model of a definition -----------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` invocations per ``per`` (retries included)."""

    requests: int
    per: str  # 'second' | 'minute' | 'hour'

    @property
    def period_seconds(self) -> float:
        """The period in seconds."""
        return RATE_PERIODS[self.per]


@dataclass(frozen=True)
class RetryConfig:
    """How failed invocations and rejected rows are retried."""

    mode: str = field(default_factory=_default("retries", "mode"))  # 'immediate' | 'next_run'
    attempts: int = field(default_factory=_default("retries", "attempts"))


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
        """The fields that are set, external ID masked."""
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
    batch_size: int = field(default_factory=_default("batch_size"))
    concurrency: int = field(default_factory=_default("concurrency"))
    rate_limit: RateLimit | None = None
    retries: RetryConfig = field(default_factory=RetryConfig)
    include_previous: bool = field(default_factory=_default("include_previous"))
    region: str | None = None
    endpoint_url: str | None = None
    timeout_seconds: int = field(default_factory=_default("timeout_seconds"))
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
            "triggers": [t for t in OPERATIONS if t in self.triggers],
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


# --- parsing -----------------------------------------------------------------------------------


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


def declared_entries(meta: Mapping[str, Any] | None) -> list[tuple[str, object]]:
    """The raw sync entries of a model's meta, each with where it is (``lambda_sync[2]``).

    The one lenient reader: absent, null or an empty list is no entry; a mapping is one entry at
    ``lambda_sync``; a list gives its items, whatever they are; anything else is one entry at
    ``lambda_sync`` for the validator to reject. Nothing is checked here.
    """
    raw = (meta or {}).get(META_KEY)
    if raw is None:
        return []
    if isinstance(raw, (list, tuple)):
        return [(f"{META_KEY}[{i}]", item) for i, item in enumerate(raw)]
    return [(META_KEY, raw)]


def named_entries(meta: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The entries of a model's meta that are mappings with a string ``name``, unvalidated: for
    the commands that must work on a project whose definitions are being fixed.
    """
    return [
        entry
        for _, entry in declared_entries(meta)
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str)
    ]


def _parse_model(
    model: ModelRef,
) -> tuple[list[SyncDefinition], list[Problem], list[str]]:
    """Definitions, problems and the name of every declared sync (valid or not)."""
    definitions: list[SyncDefinition] = []
    problems: list[Problem] = []
    names: list[str] = []
    for where, item in declared_entries(model.meta):
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
        if where == META_KEY:
            expected = "must be a sync definition (a mapping) or a list of them"
        else:
            expected = "must be a mapping with name, function, primary_key and triggers"
        return None, [Problem(model.name, None, where, f"{expected}, not {kind(raw)}")], None

    data = plain(raw)
    name = usable_name(data.get("name"))
    issues, function = definition_issues(data)
    if issues:
        # Without a sync name, anchor fields at meta (lambda_sync[2].function) so the reader
        # can tell which entry of a list is meant.
        def full(path: Path) -> str:
            rel = field_name(path)
            if name is not None:
                return rel
            return f"{where}.{rel}" if rel else where

        problems = [Problem(model.name, name, full(path), msg) for path, msg in issues]
        return None, problems, name

    if function is None:  # cannot happen: a definition without issues has a valid function
        raise AssertionError("sync definition validated without a parsed function")
    return _build(with_defaults(data), model, function), [], name


def _build(data: dict[str, Any], model: ModelRef, function: FunctionRef) -> SyncDefinition:
    """The definition of valid ``data`` whose defaults the schema has filled in."""
    primary_key: str = data["primary_key"]
    columns: tuple[str, ...] | None = None
    if "columns" in data:
        columns = tuple(data["columns"])
        if primary_key.lower() not in {c.lower() for c in columns}:
            columns = (primary_key, *columns)  # the primary key is always sent
    rate = data.get("rate_limit")
    retries = data["retries"]
    creds = data.get("credentials")
    return SyncDefinition(
        name=data["name"],
        model=model,
        function=function,
        primary_key=primary_key,
        triggers=frozenset(data["triggers"]),
        initial_sync=data["initial_sync"],
        columns=columns,
        # int(): the schema accepts 10.0 as an integer
        batch_size=int(data["batch_size"]),
        concurrency=int(data["concurrency"]),
        rate_limit=RateLimit(int(rate["requests"]), rate["per"]) if rate else None,
        retries=RetryConfig(mode=retries["mode"], attempts=int(retries["attempts"])),
        include_previous=data["include_previous"],
        region=data.get("region") or function.region,
        endpoint_url=data.get("endpoint_url"),
        timeout_seconds=int(data["timeout_seconds"]),
        credentials=CredentialsConfig(**creds) if creds is not None else None,
        renamed_from=data.get("renamed_from"),
    )


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
    for where, column in wanted:
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
        problems.append(Problem(defn.model.name, defn.name, where, message))
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
