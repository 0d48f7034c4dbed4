"""bench's capture steps: each warehouse is a registered step, and the plan it checks is exact."""

from __future__ import annotations

import pytest

from bench.__main__ import ALL, step_command
from bench.capture import expected_plan


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres", "snowflake"])
def test_each_capture_step_runs_bench_capture_on_its_warehouse(warehouse: str) -> None:
    assert f"capture_{warehouse}" in ALL
    command = step_command(f"capture_{warehouse}")
    assert command[command.index("-m") + 1] == "bench.capture"
    assert command[command.index("--warehouse") + 1] == warehouse


def test_snowflake_rows_come_from_their_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_CAPTURE_ROWS", "1000000")
    monkeypatch.setenv("BENCH_SNOWFLAKE_ROWS", "1234")
    command = step_command("capture_snowflake")
    assert command[command.index("--rows") + 1] == "1234"


@pytest.mark.parametrize("n", [1, 99, 100, 101, 1000, 12345, 100000])
def test_expected_plan_counts_what_version_1_edits(n: int) -> None:
    top = n + n // 100
    version_0 = set(range(1, n + 1))
    version_1 = {i for i in range(1, top + 1) if i % 100 != 0}
    changed = {i for i in version_0 & version_1 if i % 20 == 1}
    assert expected_plan(n) == {
        "added": len(version_1 - version_0),
        "changed": len(changed),
        "removed": len(version_0 - version_1),
    }
