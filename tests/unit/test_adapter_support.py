"""The adapters the package supports, refused otherwise before any SQL runs.

The macros' check (check_adapter_supported, called first by the package's on-run-start and by the
capture_changes post-hook) is rendered with test_column_contract's jinja2 environment and a fake
``adapter.type()`` (the CLI's check is tested in test_warehouse). No dbt.
"""

from __future__ import annotations

import pytest

from dbt_lambda_sync.warehouse import SUPPORTED_ADAPTERS
from tests.unit.test_column_contract import CompilationError, macro
from tests.unit.test_macro_layout import PUBLIC_FILES, UNSUPPORTED, macros_in

UNSUPPORTED_ADAPTERS = ["bigquery", "redshift", "databricks", ""]


def test_macros_and_python_list_the_same_adapters() -> None:
    assert macro("_supported_adapters")() == list(SUPPORTED_ADAPTERS)


@pytest.mark.parametrize("adapter_type", SUPPORTED_ADAPTERS)
def test_macro_check_passes_supported_adapters(adapter_type: str) -> None:
    assert macro("check_adapter_supported", adapter_type=adapter_type)() == ""


@pytest.mark.parametrize("adapter_type", UNSUPPORTED_ADAPTERS)
def test_macro_check_refuses_other_adapters(adapter_type: str) -> None:
    with pytest.raises(CompilationError) as raised:
        macro("check_adapter_supported", adapter_type=adapter_type)()
    assert str(raised.value) == (
        f"dbt-lambda-sync does not support adapter '{adapter_type}' yet;"
        " supported: duckdb, postgres, snowflake"
    )


def test_redshift_is_refused_though_it_would_inherit_postgres() -> None:
    # dispatch on Redshift finds postgres__ implementations: only the check stops it
    assert macro("row_hash_context_query", adapter_type="redshift")() == (
        "select version(), current_setting('TimeZone')"
    )
    with pytest.raises(CompilationError, match="'redshift'"):
        macro("check_adapter_supported", adapter_type="redshift")()


def _dispatched_everywhere() -> list[tuple[str, int]]:
    """(name, arity) of the public macros each supported adapter implements itself."""
    return [
        (path.stem, len([a for a in m["args"].split(",") if a.strip()]))
        for path in PUBLIC_FILES
        for m in macros_in(path)
        if m["name"] == f"default__{path.stem}" and " ".join(m["body"].split()) == UNSUPPORTED
    ]


def test_some_macros_are_dispatched_everywhere() -> None:
    assert {"utc_now", "json_value", "compute_plan"} <= {
        name for name, _ in _dispatched_everywhere()
    }


@pytest.mark.parametrize(("name", "arity"), _dispatched_everywhere())
def test_default_implementations_raise_the_one_error(name: str, arity: int) -> None:
    with pytest.raises(
        CompilationError, match="^dbt-lambda-sync does not support adapter 'bigquery'"
    ):
        macro(name, adapter_type="bigquery")(*[None] * arity)
