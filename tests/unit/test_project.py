"""project.py: the models of a parsed manifest that declare syncs, and definitions from them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from dbt_lambda_sync.definitions import ModelRef
from dbt_lambda_sync.project import Project, model_refs


def node(name: str, meta: dict[str, Any] | None, **overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = dict(
        unique_id=f"model.shop.{name}",
        resource_type="model",
        name=name,
        database="analytics",
        schema="marts",
        alias=None,
        package_name="shop",
        config=SimpleNamespace(meta=meta),
        columns={"customer_id": object(), "email": object()},
    )
    values.update(overrides)
    return SimpleNamespace(**values)


SYNC = {
    "name": "crm_customers",
    "function": "crm-upsert",
    "primary_key": "customer_id",
    "triggers": ["added", "changed", "removed"],
}


def manifest(*nodes: SimpleNamespace) -> SimpleNamespace:
    return SimpleNamespace(nodes={n.unique_id: n for n in nodes})


def test_model_refs_are_the_models_that_declare_syncs() -> None:
    refs = model_refs(
        manifest(
            node("customers", {"lambda_sync": SYNC, "owner": "data"}, alias="dim_customers"),
            node("orders", {"owner": "data"}),
            node("no_meta", None),
            node("a_seed", {"lambda_sync": SYNC}, resource_type="seed"),
        )
    )
    assert refs == [
        ModelRef(
            unique_id="model.shop.customers",
            name="customers",
            database="analytics",
            schema="marts",
            identifier="dim_customers",
            package_name="shop",
            meta={"lambda_sync": SYNC, "owner": "data"},
            columns=("customer_id", "email"),
        )
    ]
    [plain] = model_refs(manifest(node("customers", {"lambda_sync": SYNC})))
    assert plain.identifier == "customers"  # no alias: the model's name


def test_definitions_are_validated_then_selected() -> None:
    second = {**SYNC, "name": "email_list"}
    project = Project(
        args=None,  # type: ignore[arg-type]  (not needed without dbt)
        manifest=manifest(node("customers", {"lambda_sync": [SYNC, second]})),
    )
    assert [d.name for d in project.definitions()] == ["crm_customers", "email_list"]
    assert [d.name for d in project.definitions(["email_list"])] == ["email_list"]
