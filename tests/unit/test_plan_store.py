"""PlanStore without a warehouse: a stored plan is reused only when the state says it is fresh,
and recomputed (macro compute_plan) otherwise."""

from __future__ import annotations

import contextlib
from dataclasses import astuple, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from dbt_lambda_sync.plan_store import PlanStore, definition_key
from dbt_lambda_sync.state import StateRow

DEFN: Any = SimpleNamespace(
    name="crm_customers",
    model=SimpleNamespace(
        name="customers", unique_id="model.p.customers", database="db", schema="s", identifier="c"
    ),
    primary_key="id",
    columns=None,
    renamed_from=None,
)

NOW = datetime(2026, 1, 1)
FRESH = StateRow(
    initialized=True,
    snapshot_version=3,
    plan_snapshot_version=3,
    plan_version=7,
    plan_invocation_id="dbt-invocation-1",
    plan_definition=definition_key(DEFN),
    plan_invalid_rows=0,
    lease_holder=None,
    lease_expires_at=None,
)


class FakeWarehouse:
    """Answers the state row's SELECT, names the latest dbt build, records macro calls."""

    def __init__(self, state: StateRow, latest_build: str = "dbt-invocation-1") -> None:
        self.state, self.latest_build = state, latest_build
        self.macros: list[str] = []

    def model_relation(self, *parts: str) -> str:
        return ".".join(parts)

    def relation(self, name: str) -> str:
        return name

    def fetch_all(self, sql: str, params: Any = ()) -> list[tuple]:
        assert "from lambda_sync_state" in sql, sql
        return [astuple(self.state)]

    def latest_build_of(self, unique_id: str) -> str:
        return self.latest_build

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def call_macro(self, name: str, **kwargs: Any) -> Any:
        self.macros.append(name)
        if name == "compute_plan":  # the plan now matches the snapshot and this definition
            self.state = replace(self.state, plan_version=(self.state.plan_version or 0) + 1)


def test_a_fresh_plan_is_reused() -> None:
    warehouse = FakeWarehouse(FRESH)
    state = PlanStore(warehouse, DEFN).refresh(now=NOW)  # type: ignore[arg-type]
    assert warehouse.macros == [] and state.plan_version == 7


@pytest.mark.parametrize(
    ("why", "state", "latest_build"),
    [
        ("another dbt command since", FRESH, "dbt-invocation-2"),
        ("computed against an older snapshot", replace(FRESH, plan_snapshot_version=2), None),
        ("for another definition", replace(FRESH, plan_definition="email|*"), None),
        ("never computed by a post-hook", replace(FRESH, plan_invocation_id=None), None),
    ],
)
def test_a_stale_plan_is_computed_again(why: str, state: StateRow, latest_build: str | None):
    warehouse = FakeWarehouse(state, latest_build or "dbt-invocation-1")
    store = PlanStore(warehouse, DEFN)  # type: ignore[arg-type]
    assert not store.is_fresh(state), why
    refreshed = store.refresh(now=NOW)
    assert warehouse.macros == ["compute_plan"], why
    assert refreshed.plan_version == 8


def test_force_computes_even_a_fresh_plan() -> None:
    warehouse = FakeWarehouse(FRESH)
    PlanStore(warehouse, DEFN).refresh(now=NOW, force=True)  # type: ignore[arg-type]
    assert warehouse.macros == ["compute_plan"]
