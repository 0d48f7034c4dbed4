"""A jaffle-shop style project on every warehouse: seeds, staging views, a customers table built
from them with a sync; first run, edits, a rejection and its resolution. The same assertions hold
on DuckDB, PostgreSQL and Snowflake (fakesnow): a handler sees the same events everywhere.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import SyncProject

pytestmark = pytest.mark.integration

RAW_CUSTOMERS = [
    {"id": 1, "first_name": "Michael", "last_name": "P."},
    {"id": 2, "first_name": "Shawn", "last_name": "M."},
    {"id": 3, "first_name": "Kathleen", "last_name": "P."},
]
RAW_ORDERS = [
    {"id": 1, "user_id": 1, "order_date": "2018-01-01", "status": "completed", "amount": 1000},
    {"id": 2, "user_id": 3, "order_date": "2018-01-02", "status": "completed", "amount": 2000},
    {"id": 3, "user_id": 1, "order_date": "2018-01-04", "status": "returned", "amount": 500},
]
MODELS = {
    "stg_customers": (
        "{{ config(materialized='view') }}\n"
        "select id as customer_id, first_name, last_name from {{ ref('raw_customers') }}"
    ),
    "stg_orders": (
        "{{ config(materialized='view') }}\n"
        "select id as order_id, user_id as customer_id, cast(order_date as date) as order_date,"
        " status, amount from {{ ref('raw_orders') }}"
    ),
    "customers": """
        with orders as (
            select customer_id,
                   min(order_date) as first_order,
                   max(order_date) as most_recent_order,
                   count(order_id) as number_of_orders,
                   sum(amount) as lifetime_value_cents
            from {{ ref('stg_orders') }} where status <> 'returned'
            group by customer_id
        )
        select c.customer_id, c.first_name, c.last_name, o.first_order, o.most_recent_order,
               coalesce(o.number_of_orders, 0) as number_of_orders,
               coalesce(o.lifetime_value_cents, 0) as lifetime_value_cents
        from {{ ref('stg_customers') }} as c
        left join orders as o on o.customer_id = c.customer_id
    """,
}


def build(project: SyncProject, customers: list[dict], orders: list[dict]) -> None:
    project.seed("raw_customers", customers)
    project.seed("raw_orders", orders)
    project.build()


def apply(destination: dict[int, dict[str, Any]], project: SyncProject) -> None:
    """What a destination that applies every accepted event holds (the rules' rejects aside)."""
    rejected = set(project_rules(project).get("reject", []))
    for event in project.events():
        for row in event["rows"]:
            if str(row["customer_id"]) in rejected:
                continue
            if event["operation"] == "removed":
                destination.pop(row["customer_id"], None)
            else:
                destination[row["customer_id"]] = row
    project.clear_events()


def project_rules(project: SyncProject) -> dict[str, Any]:
    return json.loads(project.rules_file.read_text()) if project.rules_file.exists() else {}


COLUMNS = [
    "customer_id",
    "first_name",
    "last_name",
    "first_order",
    "most_recent_order",
    "number_of_orders",
    "lifetime_value_cents",
]


def model_rows(project: SyncProject) -> dict[int, dict[str, Any]]:
    """The customers model as a handler would receive it (dates ISO, counts as integers)."""
    rows = project.query(f"select {', '.join(COLUMNS)} from {{model_schema}}.customers")
    out = {}
    for row in rows:
        record = dict(zip(COLUMNS, row, strict=True))
        for day in ("first_order", "most_recent_order"):
            record[day] = None if record[day] is None else record[day].isoformat()
        for number in ("customer_id", "number_of_orders", "lifetime_value_cents"):
            record[number] = int(record[number])
        out[record["customer_id"]] = record
    return out


def test_jaffle_shop_first_run_edits_rejection_and_resolution(project: SyncProject) -> None:
    project.deploy()
    for name, sql in MODELS.items():
        (project.root / "models" / f"{name}.sql").write_text(sql)
    project.declare("customers", project.sync_config(name="crm_customers"))
    build(project, RAW_CUSTOMERS, RAW_ORDERS)
    destination: dict[int, dict[str, Any]] = {}

    # first run: every customer added, typed JSON
    run = project.run()["runs"][0]
    assert (run["status"], run["delivered_rows"]) == ("success", 3)
    assert {e["operation"] for e in project.events()} == {"added"}
    michael = {r["customer_id"]: r for r in project.delivered()}[1]
    assert michael == {
        "customer_id": 1,
        "first_name": "Michael",
        "last_name": "P.",
        "first_order": "2018-01-01",
        "most_recent_order": "2018-01-01",
        "number_of_orders": 1,
        "lifetime_value_cents": 1000,
    }
    apply(destination, project)
    assert destination == model_rows(project)

    # edits upstream: a new order for Shawn, Kathleen gone, a new customer; Shawn is rejected
    customers = [c for c in RAW_CUSTOMERS if c["id"] != 3] + [
        {"id": 4, "first_name": "Jimmy", "last_name": "C."}
    ]
    orders = RAW_ORDERS + [
        {"id": 4, "user_id": 2, "order_date": "2018-01-05", "status": "completed", "amount": 700}
    ]
    build(project, customers, orders)
    project.rules(reject=["2"], reason="CRM: account locked")
    run = project.run(expect=1)["runs"][0]
    assert (run["status"], run["delivered_rows"], run["rejected_rows"]) == ("partial", 2, 1)
    operations = {(e["operation"], r["customer_id"]) for e in project.events() for r in e["rows"]}
    assert operations == {("removed", 3), ("changed", 2), ("added", 4)}
    # sent twice: the first attempt and the one immediate retry of sync_config
    assert project.open_errors() == {"2": ("changed", "CRM: account locked", 2, None)}
    apply(destination, project)
    assert destination != model_rows(project)  # Shawn's new order is not there yet

    # the CRM accepts Shawn again: retried, resolved, destination identical to the model
    project.rules()
    run = project.run()["runs"][0]
    assert (run["status"], run["delivered_rows"]) == ("success", 1)
    apply(destination, project)
    assert destination == model_rows(project)
    assert project.open_errors() == {}
    resolved = project.query(
        "select resolved_run_id from {schema}.lambda_sync_errors where primary_key_value = '2'"
    )
    assert resolved and resolved[0][0] is not None
