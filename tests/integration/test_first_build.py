"""The first `dbt build` of a project with several synced models, with threads: 4 (issue 9 item 5).

Synced models building in parallel used to race to create the lambda sync schema and tables
(PostgreSQL: duplicate key in pg_namespace / pg_type; DuckDB: a catalog write-write conflict). The
package's on-run-start creates them once, before any model runs; on PostgreSQL under an advisory
lock, so concurrent dbt invocations are safe too. A model built on the package's sources works
in a fresh environment for the same reason.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.integration.conftest import SyncProject
from tests.support.dbt_project import BIN

pytestmark = pytest.mark.integration

MODELS = 6


def synced_models(project: SyncProject) -> None:
    for i in range(MODELS):
        project.model(
            f"customers_{i}",
            f"select {i} * 10 + 1 as customer_id, 'a' as email union all select {i} * 10 + 2, 'b'",
            project.sync_config(name=f"crm_{i}"),
        )
    # a model on the package's own source, built in the same invocation. The source's schema
    # is the var as written: give it the schema itself (the integration project's var holds
    # Jinja, which a source's YAML does not render a second time)
    project_file = project.root / "dbt_project.yml"
    config = yaml.safe_load(project_file.read_text())
    config["vars"]["lambda_sync_schema"] = project.sync_schema
    project_file.write_text(yaml.safe_dump(config, sort_keys=False))
    (project.root / "models" / "open_errors.sql").write_text(
        "select count(*) as open_errors"
        " from {{ source('dbt_lambda_sync', 'lambda_sync_errors') }} where resolved_at is null"
    )


def test_first_build_with_four_threads(project: SyncProject) -> None:
    profile = yaml.safe_load((project.root / "profiles.yml").read_text())
    outputs = profile["dbt_lambda_sync_integration_tests"]["outputs"]
    assert outputs[project.warehouse]["threads"] == 4
    synced_models(project)
    project.deploy()
    build = project.dbt("build", expect=None)
    assert build.returncode == 0, build.stdout[-5000:]
    assert "Concurrency: 4 threads" in build.stdout
    plan = project.plan()
    assert {name: s["added"] for name, s in plan.items()} == {f"crm_{i}": 2 for i in range(MODELS)}
    project.run()
    assert len(project.delivered("added")) == 2 * MODELS
    # idempotent: a second build finds everything in place
    project.build()


@pytest.mark.postgres
def test_concurrent_first_builds_share_the_sync_schema(
    project: SyncProject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two dbt invocations (two projects) create the same, new lambda sync schema at once."""
    if project.warehouse == "duckdb":
        pytest.skip("DuckDB allows one writer process: two invocations cannot overlap")
    if project.warehouse == "snowflake":
        pytest.skip(
            "fakesnow fails concurrent DDL at once (a DuckDB catalog write-write conflict on"
            " 'create schema if not exists'), where Snowflake's is atomic: not provable here"
        )
    other = SyncProject(tmp_path_factory.mktemp("other") / "project", "postgres", project.ministack)
    other.env["DBT_LAMBDA_SYNC_SCHEMA"] = project.sync_schema
    try:
        for p, offset in ((project, 0), (other, 100)):
            for i in range(3):
                p.model(
                    f"customers_{i}",
                    f"select {offset + i} as customer_id, 'a' as email",
                    p.sync_config(name=f"crm_{offset + i}"),
                )
        started = [
            subprocess.Popen(
                [
                    str(BIN / "dbt"),
                    "build",
                    "--project-dir",
                    str(p.root),
                    "--profiles-dir",
                    str(p.root),
                    "--target",
                    "postgres",
                ],
                cwd=p.root,
                env=p.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for p in (project, other)
        ]
        outputs = [process.communicate(timeout=600)[0] for process in started]
        for process, output in zip(started, outputs, strict=True):
            assert process.returncode == 0, output[-5000:]
        states = project.query("select sync_name from {schema}.lambda_sync_state")
        assert {name for (name,) in states} == {f"crm_{n}" for n in (0, 1, 2, 100, 101, 102)}
    finally:
        other.drop()
