"""Start-up after `dbt build`: the CLI's parse is dbt's partial parse of the state the build left
(no re-parse when nothing changed), and a sync definition edited since the build is still seen.
DuckDB only: parsing does not depend on the warehouse."""

from __future__ import annotations

import pytest

from tests.integration.conftest import SyncProject

pytestmark = pytest.mark.integration

MODEL_SQL = "select * from {{ ref('customers_seed') }}"
SCHEMA_FILE = "dbt_lambda_sync_integration_tests://models/schema.yml"


def cli_parse_log(project: SyncProject, *args: str) -> tuple[str, str]:
    """Runs the CLI; returns its stdout and what dbt logged (logs/dbt.log) during the run."""
    log = project.root / "logs" / "dbt.log"
    log.unlink(missing_ok=True)
    result = project.cli(*args)
    return result.stdout, log.read_text()


@pytest.mark.parametrize("project", ["duckdb"], indirect=True)
def test_cli_reuses_the_builds_parse_and_sees_edited_definitions(project: SyncProject) -> None:
    project.seed("customers_seed", [{"customer_id": 1, "email": "a@example.com"}])
    project.model("customers", MODEL_SQL, project.sync_config())
    project.build()

    # the flags our parse gives dbt keep the build's partial parse valid: nothing is re-parsed
    out, log = cli_parse_log(project, "validate")
    assert "crm_customers" in out
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled, no changes found, skipping parsing" in log

    # the definition under meta edited after the build: dbt re-parses that file, the CLI sees it
    project.model("customers", MODEL_SQL, project.sync_config(name="crm_customers_v2"))
    out, log = cli_parse_log(project, "validate")
    assert "crm_customers_v2" in out
    assert "crm_customers " not in out
    assert "Unable to do partial parsing" not in log
    assert f"Partial parsing: updated file: {SCHEMA_FILE}" in log
