"""Warehouse.transaction() through dbt's own adapters: all or nothing, on every warehouse."""

from __future__ import annotations

import os

import pytest

from dbt_lambda_sync.warehouse import ProjectArgs, Warehouse
from tests.integration.conftest import SyncProject

pytestmark = pytest.mark.integration


def open_warehouse(project: SyncProject, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    for name, value in project.env.items():
        if name.startswith("DBT_") and name != "DBT_PROFILES_DIR":  # what profiles.yml reads
            monkeypatch.setenv(name, value)
    args = ProjectArgs(str(project.root), str(project.root), target=project.warehouse)
    return Warehouse.open(args)


def test_statements_in_a_transaction_commit_together_or_not_at_all(
    project: SyncProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.model("customers", "select 1 as customer_id", [])
    project.build()
    with open_warehouse(project, monkeypatch) as wh:
        table = f"{project.model_schema}.tx_probe"
        wh.execute(f"create table {table} (n integer)")
        # several transactions first: on PostgreSQL the bug was in the ones after dbt's COMMIT
        for n in (1, 2):
            with wh.transaction():
                wh.execute(f"insert into {table} values (?)", [n])
        with pytest.raises(RuntimeError):
            with wh.transaction():
                wh.execute(f"insert into {table} values (?)", [3])
                wh.execute(f"insert into {table} values (?)", [4])
                raise RuntimeError("a checkpoint fails half-way")
        assert wh.fetch_all(f"select n from {table} order by n") == [(1,), (2,)]
        if project.warehouse == "postgres":
            with wh.transaction():
                first = wh.fetch_all("select txid_current()")
                second = wh.fetch_all("select txid_current()")
            assert first == second, "each statement ran in a transaction of its own"
    assert os.path.exists(project.root)
