"""Contract: the runner (Python) and the post-hook (Jinja) resolve a sync's key and columns the
same way, and compute the same definition key, for the same inputs.

The macros are pure apart from ``adapter.get_columns_in_relation``, so they are rendered with a
minimal jinja2 environment (``do``, dbt's ``return`` and ``exceptions``) and a fake adapter that
dispatches as dbt does (DuckDB unless told): no dbt, no warehouse.
The macros are found by name under macros/, wherever their file is.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import pytest

from dbt_lambda_sync.arns import parse_function
from dbt_lambda_sync.definitions import (
    ModelRef,
    SyncDefinition,
    check_columns,
    parse_model_syncs,
    resolve_column,
)

MACROS = Path(__file__).resolve().parents[2] / "macros"


class _Return(Exception):  # noqa: N818 - dbt's `return` is a jump, not an error
    def __init__(self, value: Any) -> None:
        self.value = value


def _return(value: Any) -> None:
    raise _Return(value)


class CompilationError(Exception):
    """What ``exceptions.raise_compiler_error`` raises here (dbt's own is a CompilationError)."""


def _raise_compiler_error(message: str) -> None:
    raise CompilationError(message)


@dataclass(frozen=True)
class Column:
    """What adapter.get_columns_in_relation gives the macro (only the name is used)."""

    name: str


# dbt's dispatch tries an adapter's parents after it (dbt-redshift declares dbt-postgres).
ADAPTER_PARENTS = {"redshift": ("postgres",)}


class FakeAdapter:
    def __init__(self, columns: Sequence[str], macros: dict[str, Any]) -> None:
        self.columns = [Column(c) for c in columns]
        self.macros = macros
        self.adapter_type = "duckdb"

    def type(self) -> str:
        """The adapter's name, as dbt's ``adapter.type()``."""
        return self.adapter_type

    def get_columns_in_relation(self, relation: Any) -> list[Column]:
        return self.columns

    def dispatch(self, name: str, macro_namespace: str | None = None) -> Any:
        """dbt's dispatch: the adapter's own macro, its parents', else the ``default__`` one."""
        for prefix in (self.adapter_type, *ADAPTER_PARENTS.get(self.adapter_type, ()), "default"):
            found = self.macros.get(f"{prefix}__{name}")
            if found is not None:
                return found
        raise AssertionError(f"no implementation of {name}")


def _returning(jinja_macro: Any) -> Callable[..., Any]:
    """A macro called as dbt calls it: the value of its ``return``, else its rendered text."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return jinja_macro(*args, **kwargs)
        except _Return as done:
            return done.value

    return call


class _Package:
    """The ``dbt_lambda_sync`` namespace macros call each other through."""

    def __init__(self, macros: dict[str, Any]) -> None:
        self._macros = macros

    def __getattr__(self, name: str) -> Any:
        return self._macros[name]


@functools.cache
def _package_macros() -> tuple[FakeAdapter, dict[str, Any]]:
    """Every macro file loaded into one namespace, as dbt does, so a public macro finds its
    dispatched implementation and the private helpers it calls (``dbt_lambda_sync.<name>``),
    wherever their files are. Compiled once: the adapter's columns are set per call.
    """
    env = jinja2.Environment(extensions=["jinja2.ext.do"], undefined=jinja2.StrictUndefined)
    macros: dict[str, Any] = {}
    adapter = FakeAdapter((), macros)
    env.globals.update(
        {
            "return": _return,
            "execute": True,
            "adapter": adapter,
            "modules": SimpleNamespace(re=re),
            "exceptions": SimpleNamespace(raise_compiler_error=_raise_compiler_error),
            # looked up when called: the macros of files loaded later are there by then
            "dbt_lambda_sync": _Package(macros),
        }
    )
    for path in sorted(MACROS.rglob("*.sql")):
        # rendered for its definitions: a module would export only the public ones
        template = env.from_string(path.read_text("utf-8"))
        context = template.new_context()
        for _ in template.root_render_func(context):
            pass
        macros.update(
            {
                key: _returning(value)
                for key, value in context.vars.items()
                if isinstance(value, jinja2.runtime.Macro)
            }
        )
    return adapter, macros


def macro(
    name: str, columns: Sequence[str] = (), adapter_type: str = "duckdb"
) -> Callable[..., Any]:
    """The named macro of the package, rendered on this adapter against a relation with these
    columns (the macros tested here have no override: DuckDB's is every adapter's)."""
    adapter, macros = _package_macros()
    adapter.columns = [Column(c) for c in columns]
    adapter.adapter_type = adapter_type
    return macros[name]


def jinja_resolution(primary_key: str, columns: list[str] | None, actual: Sequence[str]):
    """(selected column names, problem field) as the post-hook resolves them."""
    result = macro("resolve_sync_columns", actual)("analytics.customers", primary_key, columns)
    if result["problem"]:
        field = re.match(r"field '(\w+)'", result["problem"])
        return None, field.group(1) if field else result["problem"]
    return [c.name for c in result["selected"]], None


def definition(primary_key: str, columns: list[str] | None) -> SyncDefinition:
    model = ModelRef("model.p.customers", "customers", None, "analytics", "customers", "p", {})
    with_key = None
    if columns is not None:
        with_key = tuple(columns)
        if primary_key.lower() not in {c.lower() for c in columns}:
            with_key = (primary_key, *columns)  # as the parser builds it
    return SyncDefinition(
        name="crm",
        model=model,
        function=parse_function("crm-upsert"),
        primary_key=primary_key,
        triggers=frozenset({"added"}),
        initial_sync="backfill",
        columns=with_key,
    )


def python_resolution(primary_key: str, columns: list[str] | None, actual: Sequence[str]):
    """(selected column names, problem field) as the runner resolves them."""
    defn = definition(primary_key, columns)
    problems = check_columns(defn, actual)
    if problems:
        return None, problems[0].field
    wanted = [primary_key] + [
        c for c in (defn.columns or actual) if c.lower() != primary_key.lower()
    ]
    return [resolve_column(c, actual) for c in wanted], None


def python_definition_key() -> Callable[[SyncDefinition], str]:
    # runner.py is being split: the plan (and this function) move to plan_store.
    for module in ("dbt_lambda_sync.plan_store", "dbt_lambda_sync.runner"):
        with contextlib.suppress(ImportError, AttributeError):
            found: Callable[[SyncDefinition], str] = importlib.import_module(module).definition_key
            return found
    raise AssertionError("no definition_key in the package")


AGREED = [
    # (primary_key, columns, the relation's columns)
    ("id", None, ["id", "name", "email"]),
    ("id", ["id", "name"], ["id", "name", "email"]),
    ("id", ["name"], ["id", "name", "email"]),  # the key is added in front
    ("ID", ["Name"], ["id", "name"]),  # case differs from the relation
    ("id", ["NAME", "Email"], ["ID", "Name", "EMAIL"]),
    ("Order Id", ["Order Date"], ["order id", "order date"]),  # spaces, case
    ('the "id"', None, ['the "id"', "x"]),  # quotes are part of the name
    ('"id"', None, ["id", "name"]),  # quoting in YAML is not stripped: missing
    ("missing", None, ["id", "name"]),  # missing key
    ("id", ["name", "missing"], ["id", "name"]),  # missing column
    ("id", ["Missing"], ["id"]),
    ("Zoë", ["Straße"], ["zoë", "STRASSE", "straße"]),  # non-ASCII case folding
    ("id", ["id"], ["Id", "id"]),  # an exact match among names differing in case
]


@pytest.mark.parametrize(("primary_key", "columns", "actual"), AGREED)
def test_python_and_jinja_resolve_the_same_columns(primary_key, columns, actual) -> None:
    assert python_resolution(primary_key, columns, actual) == jinja_resolution(
        primary_key, columns, actual
    )


AMBIGUOUS = [
    ("ID", None, ["Id", "id"]),  # no exact match, two case-insensitive ones
    ("id", ["NAME"], ["id", "Name", "name"]),
    ("id", None, ["id", "Id"]),  # exact match listed first
]


@pytest.mark.parametrize(("primary_key", "columns", "actual"), AMBIGUOUS)
def test_columns_differing_only_in_case(primary_key, columns, actual) -> None:
    assert python_resolution(primary_key, columns, actual) == jinja_resolution(
        primary_key, columns, actual
    )


@pytest.mark.parametrize(
    ("primary_key", "columns"),
    [
        ("id", None),
        ("id", ["id", "name"]),
        ("id", ["name", "email"]),
        ("ID", ["id", "name"]),
        ("Id", ["NAME", "id"]),
        ('the "id"', ["Order Date"]),
    ],
)
def test_python_and_jinja_compute_the_same_definition_key(primary_key, columns) -> None:
    defn = definition(primary_key, columns)
    assert python_definition_key()(defn) == macro("definition_key")(primary_key, columns)


# --- the post-hook's pre-check (macro definition_problem) against the validator -----------------

VALID = {"name": "crm", "function": "crm-upsert", "primary_key": "id", "triggers": ["added"]}


def jinja_definition_problem(sync: object) -> str | None:
    problem: str | None = macro("definition_problem")(sync)
    return problem


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({}, None),
        ({"columns": ["id", "name"]}, None),
        ({"columns": ["Name", "email"], "primary_key": "ID"}, None),
        ({"name": "Crm"}, "name"),
        ({"name": "1crm"}, "name"),
        ({"name": "c" * 64}, "name"),
        ({"name": 7}, "name"),
        ({"primary_key": ""}, "primary_key"),
        ({"primary_key": 7}, "primary_key"),
        ({"columns": []}, "columns"),
        ({"columns": "id"}, "columns"),
        ({"columns": ["id", ""]}, "columns"),
        ({"columns": ["id", 3]}, "columns"),
        ({"columns": ["name", "NAME"]}, "columns"),
    ],
)
def test_post_hook_check_agrees_with_the_validator(change: dict, field: str | None) -> None:
    raw = {**VALID, **change}
    model = ModelRef("model.p.c", "c", None, "s", "c", "p", {"lambda_sync": raw})
    _, problems = parse_model_syncs(model)
    # without a usable name, fields are anchored at the meta key (lambda_sync.name)
    fields = {p.field.removeprefix("lambda_sync.").split("[")[0] for p in problems}
    problem = jinja_definition_problem(raw)
    if field is None:
        assert problems == [] and problem is None
    else:
        assert field in fields, problems
        assert problem is not None and f"'{field}'" in problem


def test_post_hook_check_refuses_what_is_not_a_mapping() -> None:
    assert jinja_definition_problem(["crm"]) == "a lambda_sync definition is not a mapping"
