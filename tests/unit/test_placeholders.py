"""The '?' to '%s' rewrite for psycopg2 (warehouse.pyformat_placeholders): placeholders only
outside quotes and comments; every '%' doubled, since psycopg2 reads it anywhere."""

from __future__ import annotations

import pytest

from dbt_lambda_sync.warehouse import pyformat_placeholders


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
