"""Change capture compares rows by a cheap hash of their typed columns, and by their JSON only
where the hashes differ: a snapshot hashed otherwise (an older version of the package, another
engine version) is no change, and is rehashed; a real change in any typed column is one."""

from __future__ import annotations

import pytest

from tests.integration.conftest import SyncProject, execute

pytestmark = pytest.mark.integration

# version 0 and version 1 of each row: (key, note, amount, seen_at)
ROWS = [
    # unchanged; its snapshot hash is made stale below
    ((1, "'same'", "1.10", "2024-01-01 00:00:00"), (1, "'same'", "1.10", "2024-01-01 00:00:00")),
    # NULL -> ''
    ((2, "null", "2.00", "2024-01-02 00:00:00"), (2, "''", "2.00", "2024-01-02 00:00:00")),
    # numeric 1.10 -> 1.20, with a stale snapshot hash too
    ((3, "'c'", "1.10", "2024-01-03 00:00:00"), (3, "'c'", "1.20", "2024-01-03 00:00:00")),
    # timestamp one microsecond later
    ((4, "'d'", "4.00", "2024-01-04 00:00:00"), (4, "'d'", "4.00", "2024-01-04 00:00:00.000001")),
    # NULL stays NULL and '' stays ''
    ((5, "null", "5.00", "2024-01-05 00:00:00"), (5, "null", "5.00", "2024-01-05 00:00:00")),
    ((6, "''", "6.00", "2024-01-06 00:00:00"), (6, "''", "6.00", "2024-01-06 00:00:00")),
]


def model_sql() -> str:
    selects = []
    for versions in ROWS:
        cases = [
            f"case when {{{{ var('v', 0) }}}} = 0 then {old} else {new} end"
            for old, new in zip(
                (
                    f"cast({versions[0][1]} as varchar)",
                    f"cast({versions[0][2]} as numeric(12, 2))",
                    f"cast('{versions[0][3]}' as timestamp)",
                ),
                (
                    f"cast({versions[1][1]} as varchar)",
                    f"cast({versions[1][2]} as numeric(12, 2))",
                    f"cast('{versions[1][3]}' as timestamp)",
                ),
                strict=True,
            )
        ]
        selects.append(
            f"select cast({versions[0][0]} as integer) as customer_id, {cases[0]} as note,"
            f" {cases[1]} as amount, {cases[2]} as seen_at"
        )
    return "\nunion all\n".join(selects)


def plan_rows(project: SyncProject) -> dict[str, tuple]:
    rows = project.query(
        "select primary_key, operation, row_hash from {schema}.lambda_sync_plans"
        " where sync_name = 'crm_customers'"
    )
    return {key: (operation, row_hash) for key, operation, row_hash in rows}


def snapshot_hashes(project: SyncProject) -> dict[str, str]:
    rows = project.query(
        "select primary_key, row_hash from {schema}.lambda_sync_snapshots"
        " where sync_name = 'crm_customers'"
    )
    return dict(rows)


def test_stale_hash_is_no_change_and_typed_changes_are_detected(project: SyncProject) -> None:
    project.deploy()
    project.model("customers", model_sql(), project.sync_config())
    project.build()
    assert project.run()["runs"][0]["delivered_rows"] == len(ROWS)
    delivered = snapshot_hashes(project)
    assert set(delivered) == {str(key) for key in range(1, 7)}
    assert "legacy" not in delivered.values()

    # a foreign hash (as an older version of the package or another engine would have stored)
    execute(
        project,
        "update {schema}.lambda_sync_snapshots set row_hash = 'legacy'"
        " where sync_name = 'crm_customers' and primary_key in ('1', '3')",
    )
    project.clear_events()
    project.dbt("build", "--vars", "{v: 1}")

    plan = plan_rows(project)
    assert {key: op for key, (op, _) in plan.items()} == {
        "2": "changed",  # NULL -> ''
        "3": "changed",  # 1.10 -> 1.20 (and a stale hash)
        "4": "changed",  # timestamp
    }
    hashes = snapshot_hashes(project)
    # same content under a foreign hash: rehashed in place by the capture, not planned
    assert hashes["1"] not in ("legacy", None)
    assert hashes["1"] == delivered["1"]
    assert hashes["3"] == "legacy"  # changed rows keep theirs until delivered
    assert plan["3"][1] not in ("legacy", None)

    result = project.run()["runs"][0]
    assert result["delivered_rows"] == 3
    rows = {row["customer_id"]: row for row in project.delivered("changed")}
    assert set(rows) == {2, 3, 4}
    assert rows[2]["note"] == ""
    assert float(rows[3]["amount"]) == 1.2
    assert rows[4]["seen_at"].startswith("2024-01-04T00:00:00.000001")
    assert snapshot_hashes(project)["3"] == plan["3"][1]

    # nothing changed since: an empty plan, every snapshot hash current
    project.clear_events()
    project.dbt("build", "--vars", "{v: 1}")
    assert plan_rows(project) == {}
    assert "legacy" not in snapshot_hashes(project).values()
