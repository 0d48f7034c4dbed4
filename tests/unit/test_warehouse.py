"""warehouse.py without a warehouse: ``ProjectArgs`` and the placeholder rewrite for psycopg2.

ProjectArgs: finding the project the way dbt does, and the flags our parse gives dbt (they decide
whether dbt can reuse the partial parse the user's `dbt build` left). No dbt start-up.

The '?' to '%s' rewrite for psycopg2 (warehouse.pyformat_placeholders): placeholders only
outside quotes and comments; every '%' doubled, since psycopg2 reads it anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from dbt_lambda_sync.errors import UsageError
from dbt_lambda_sync.warehouse import (
    SUPPORTED_ADAPTERS,
    ProjectArgs,
    Warehouse,
    check_adapter_supported,
    pyformat_placeholders,
)


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DBT_PROJECT_DIR", "DBT_PROFILES_DIR", "DBT_TARGET"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "dbt_project.yml").write_text("name: p\n")
    (tmp_path / "profiles.yml").write_text("p: {}\n")
    return tmp_path


def test_target_comes_from_dbt_target_like_dbt(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ProjectArgs(project_dir=str(project_dir))
    assert args.resolved().target is None
    monkeypatch.setenv("DBT_TARGET", "prod")
    # the warehouse we open must be the target dbt parses for (dbt reads DBT_TARGET itself)
    assert args.resolved().target == "prod"
    assert ProjectArgs(project_dir=str(project_dir), target="dev").resolved().target == "dev"
    monkeypatch.setenv("DBT_TARGET", "")
    assert args.resolved().target is None


def test_resolved_paths(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    resolved = ProjectArgs(project_dir=str(project_dir), vars="{a: 1}").resolved()
    assert (resolved.project_dir, resolved.profiles_dir) == (str(project_dir), str(project_dir))
    assert resolved.vars == "{a: 1}"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(project_dir / "elsewhere"))
    assert ProjectArgs(project_dir=str(project_dir)).resolved().profiles_dir == str(
        project_dir / "elsewhere"
    )
    with pytest.raises(UsageError, match="no dbt_project.yml"):
        ProjectArgs(project_dir=str(project_dir / "missing")).resolved()


def test_explicit_dirs_do_not_import_dbt(project_dir: Path) -> None:
    # in a fresh interpreter: other tests of this session may have imported dbt already
    code = (
        "import sys; from dbt_lambda_sync.warehouse import ProjectArgs;"
        f" ProjectArgs(project_dir={str(project_dir)!r}).resolved();"
        " print('dbt.cli' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "False"


def test_dbt_flags_pass_only_what_the_user_gave() -> None:
    # dbt's partial parse is keyed on --vars, --profile and --target as given: never add any
    assert ProjectArgs(project_dir="/p", profiles_dir="/q").dbt_flags() == [
        "--project-dir",
        "/p",
        "--profiles-dir",
        "/q",
    ]
    flags = ProjectArgs(project_dir="/p", profiles_dir="/q", target="t", vars="{a: 1}").dbt_flags()
    assert flags[4:] == ["--target", "t", "--vars", "{a: 1}"]


# --- pyformat_placeholders ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select ? , ?", "select %s , %s"),
        ('select * from "s?x"."t" where a = ?', 'select * from "s?x"."t" where a = %s'),
        ("select 'it''s ?' , ?", "select 'it''s ?' , %s"),
        ('select "a""?b" from t where c = ?', 'select "a""?b" from t where c = %s'),
        (
            "select 5 % 2, '%s', \"100%\" where a = ?",
            "select 5 %% 2, '%%s', \"100%%\" where a = %s",
        ),
        ("select 1 -- what? 50%\n, ?", "select 1 -- what? 50%%\n, %s"),
        ("select /* ? */ ?", "select /* ? */ %s"),
        ("select 'back\\slash?' , ?", "select 'back\\slash?' , %s"),
        ("select 'ünï?✓', \"é?\" , ?", "select 'ünï?✓', \"é?\" , %s"),
        ("select 'unterminated ?", "select 'unterminated ?"),
    ],
)
def test_rewrites_placeholders_only_outside_quotes(sql: str, expected: str) -> None:
    assert pyformat_placeholders(sql) == expected


def test_psycopg2_reads_back_what_was_written() -> None:
    """The rewritten statement, formatted by psycopg2's own rules, is the original with values."""
    ext = pytest.importorskip("psycopg2.extensions")

    sql = 'select \'50% ?\' as "a?%", ? from "sch?%".t where x = ?'
    rewritten = pyformat_placeholders(sql)
    # psycopg2's formatting without a connection: '%%' -> '%', '%s' -> the adapted value
    values = tuple(ext.adapt(v).getquoted().decode() for v in (1, "o'k"))
    assert rewritten % values == "select '50% ?' as \"a?%\", 1 from \"sch?%\".t where x = 'o''k'"


# --- the adapters the CLI works with ------------------------------------------------------------


@pytest.mark.parametrize("adapter_type", SUPPORTED_ADAPTERS)
def test_supported_adapters_pass(adapter_type: str) -> None:
    check_adapter_supported(adapter_type)


@pytest.mark.parametrize("adapter_type", ["bigquery", "redshift", "databricks"])
def test_other_adapters_are_a_usage_error(adapter_type: str) -> None:
    with pytest.raises(UsageError) as raised:
        check_adapter_supported(adapter_type)
    assert str(raised.value) == (
        f"dbt-lambda-sync does not support adapter '{adapter_type}' yet;"
        " supported: duckdb, postgres, snowflake"
    )
    assert raised.value.exit_code == 2


def test_open_refuses_an_unsupported_adapter_before_connecting(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbt.adapters import factory
    from dbt.config.runtime import RuntimeConfig

    def from_args(namespace: object) -> object:
        return SimpleNamespace(credentials=SimpleNamespace(type="redshift"))

    def register_adapter(*args: object) -> None:
        raise AssertionError("the adapter was registered")

    monkeypatch.setattr(RuntimeConfig, "from_args", staticmethod(from_args))
    monkeypatch.setattr(factory, "register_adapter", register_adapter)
    with pytest.raises(UsageError, match="does not support adapter 'redshift'"):
        Warehouse.open(ProjectArgs(project_dir=str(project_dir)), manifest=object())
