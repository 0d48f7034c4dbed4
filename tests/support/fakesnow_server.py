"""Start fakesnow's Snowflake-protocol server with the workarounds a dbt project needs.

Run by ``tests.support.fakesnow`` with the Python of fakesnow's own virtualenv (fakesnow is not
installed in the project's), never imported by the tests:

    python -c 'import runpy; runpy.run_path("fakesnow_server.py", run_name="__main__")' \\
        --host 127.0.0.1 --port 8085

Each workaround below wraps one fakesnow function and is named after the fakesnow behaviour it
covers (seen with fakesnow 0.12.1, the version ``tests.support.fakesnow`` pins; a new version may
move these functions: bump it deliberately). None of this belongs in the package: real Snowflake
runs the SQL as dbt sends it. ``--no-workarounds`` starts stock fakesnow, to see the gaps again.
"""

from __future__ import annotations

import argparse
import re
import threading
from typing import Any

import fakesnow.arrow
import fakesnow.cursor
import fakesnow.info_schema
import fakesnow.server
import fakesnow.transforms
import fakesnow.variables
import pyarrow as pa
import pyarrow.compute as pc
import uvicorn
from sqlglot import exp
from starlette.responses import JSONResponse
from starlette.routing import Route

QUERY_PATH = "/queries/v1/query-request"
DEFAULT_TEXT_LENGTH = 16777216  # a varchar without a length, in Snowflake and in fakesnow


# --- 1 and 2: statements dbt-snowflake sends that fakesnow's SQL translation rejects -------------


def qualify_merge_insert_values(expression: exp.Expr) -> exp.Expr:
    """fakesnow gap: dbt's merge ``when not matched then insert (...) values ("ID", ...)`` fails
    with "Ambiguous reference to column name": fakesnow joins target and source, so a bare
    column in VALUES names both. Snowflake reads it as the source's: say so with its alias.
    """
    if not isinstance(expression, exp.Merge):
        return expression
    source = expression.args.get("using")
    alias = source.alias_or_name if source is not None else ""
    whens = expression.args.get("whens")
    if not alias or whens is None:
        return expression
    for when in whens.expressions:
        insert = when.args.get("then")
        values = insert.expression if isinstance(insert, exp.Insert) else None
        for column in values.find_all(exp.Column) if values is not None else ():
            if not column.table:
                column.set("table", exp.to_identifier(alias))
    return expression


def unqualify_temporary_tables(expression: exp.Expr, temporary: set[str]) -> exp.Expr:
    """fakesnow gap: ``create temporary table DB.SCHEMA.x`` fails with "TEMPORARY table names
    can only use the temp catalog" (DuckDB keeps temporary tables in a catalog of their own).
    Snowflake accepts the qualified name, and dbt then reads, describes and merges from it
    qualified: name the session's temporary tables bare (DuckDB looks in the temp catalog first).
    ``temporary`` is the session's set of them, kept up to date here.
    """
    if (
        isinstance(expression, exp.Create)
        and expression.args.get("kind") == "TABLE"
        and expression.find(exp.TemporaryProperty)
    ):
        created = (
            expression.this.this if isinstance(expression.this, exp.Schema) else expression.this
        )
        if isinstance(created, exp.Table):
            temporary.add(_table_key(created))
    for table in expression.find_all(exp.Table):
        if (table.args.get("catalog") or table.args.get("db")) and _table_key(table) in temporary:
            table.set("catalog", None)
            table.set("db", None)
    if isinstance(expression, exp.Drop) and isinstance(expression.this, exp.Table):
        temporary.discard(_table_key(expression.this))
    return expression


def _table_key(table: exp.Table) -> str:
    """A table's name as Snowflake resolves it: unquoted names fold to upper case."""
    identifier = table.this
    quoted = isinstance(identifier, exp.Identifier) and identifier.quoted
    return table.name if quoted else table.name.upper()


_session = threading.local()  # the connection whose statement this thread is parsing


def remember_session(execute: Any) -> Any:
    """Wrap the cursor's ``execute`` so the parser below knows the session (for workaround 2)."""

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        _session.connection = self._conn  # noqa: SLF001
        try:
            return execute(self, *args, **kwargs)
        finally:
            _session.connection = None

    return run


def rewrite_before_translation(parse_one: Any) -> Any:
    """Wrap fakesnow's parser so workarounds 1 and 2 see each statement before fakesnow does."""

    def parse(sql: str, *args: Any, **kwargs: Any) -> exp.Expr:
        expression = qualify_merge_insert_values(parse_one(sql, *args, **kwargs))
        connection = getattr(_session, "connection", None)
        if connection is None:
            return expression
        temporary = connection.__dict__.setdefault("temporary_tables_of_workaround", set())
        return unqualify_temporary_tables(expression, temporary)

    return parse


# --- 3 and 6: table metadata recorded in a second database -----------------------------------


def drop_empty_table_comment(extract_comment_on_table: Any) -> Any:
    """fakesnow gap: every ``create table`` with properties records its comment, None included,
    in fakesnow's own metadata database; inside ``begin`` ... ``commit`` that is a second attached
    database and DuckDB says "a single transaction can only write to a single attached database".
    A None comment is nothing to record: leave it out.
    """

    def extract(expression: exp.Expr) -> exp.Expr:
        result = extract_comment_on_table(expression)
        comment = result.args.get("table_comment")
        if comment is not None and comment[1] is None:
            del result.args["table_comment"]
        return result

    return extract


def drop_default_text_lengths(extract_text_length: Any) -> Any:
    """fakesnow gap: ``create table`` (or ``alter table add column``) with a ``varchar`` column
    records the column's length in the metadata database, so inside a transaction it fails like
    workaround 3 (seen as an "Unhandled exception"). A bare ``varchar`` has Snowflake's default
    length, which fakesnow's ``describe`` reports anyway: record only explicit lengths. (An
    explicit ``varchar(n)`` created inside a transaction still fails.)
    """

    def extract(expression: exp.Expr) -> exp.Expr:
        result = extract_text_length(expression)
        lengths = result.args.get("text_lengths")
        if lengths:
            explicit = [(name, size) for name, size in lengths if size != DEFAULT_TEXT_LENGTH]
            if explicit:
                result.args["text_lengths"] = explicit
            else:
                del result.args["text_lengths"]
        return result

    return extract


# --- 4: SQL fakesnow cannot run -----------------------------------------------------------------


def query_error_not_http_500(query_request: Any) -> Any:
    """fakesnow gap: SQL fakesnow cannot translate or run answers HTTP 500, which the Snowflake
    connector retries for minutes, so dbt hangs. Answer it as a failed query (HTTP 200,
    ``success: false``), which the connector raises at once as a ProgrammingError.
    """

    async def request(req: Any) -> Any:
        try:
            response = await query_request(req)
        except Exception as exc:  # e.g. ArrowInvalid converting a result: raised, not answered
            return failed_query(f"{type(exc).__name__}: {exc}")
        if response.status_code < 500:
            return response
        return failed_query(response.body.decode(errors="replace"))

    return request


def failed_query(reason: str) -> JSONResponse:
    """A query error as Snowflake answers one: the connector raises it, no retry."""
    return JSONResponse(
        {
            "data": {"errorCode": "002003", "sqlState": "42000"},
            "code": "002003",
            "message": f"fakesnow cannot run this statement: {reason[:2000]}",
            "success": False,
        }
    )


# --- 5: NULL timestamps in server mode -----------------------------------------------------------


def keep_null_timestamps(timestamp_to_sf_struct: Any) -> Any:
    """fakesnow gap: in server mode a NULL timestamp arrives as 1970-01-01: fakesnow turns
    timestamps into Snowflake's (epoch, fraction) structs without a validity mask. Add one.
    """

    def to_struct(ts: Any) -> Any:
        struct = timestamp_to_sf_struct(ts)
        if isinstance(ts, pa.ChunkedArray):
            ts = ts.combine_chunks()
        if ts.null_count == 0:
            return struct
        fields = [struct.type.field(i) for i in range(struct.type.num_fields)]
        children = [pc.fill_null(struct.field(i), 0) for i in range(len(fields))]
        return pa.StructArray.from_arrays(children, fields=fields, mask=pc.is_null(ts))

    return to_struct


# --- 7: "$word" inside a string literal taken for a session variable ------------------------------

STRING_LITERAL = re.compile(r"'(?:[^'\\]|''|\\.)*'")
SESSION_VARIABLE = re.compile(r"(?<![$\w])\$(?!\d+)\w+")


def variables_outside_literals(inline_variables: Any) -> Any:
    """fakesnow gap: a statement holding '$LATEST' (a Lambda version) in a string literal fails
    with "Session variable '$LATEST' does not exist": fakesnow looks for $name anywhere in the
    text. Snowflake reads variables outside literals only; with none set and none outside a
    literal, the statement is left as it is.
    """

    def inline(self: Any, sql: str) -> str:
        if not self._variables and not SESSION_VARIABLE.search(STRING_LITERAL.sub("''", sql)):
            return sql
        return inline_variables(self, sql)

    return inline


# --- 8: an array column described without a type ------------------------------------------------

DATA_TYPE_CASE = "case when starts_with(columns.data_type, 'DECIMAL')"


def arrays_described_as_array(columns_view_sql: str) -> str:
    """fakesnow gap: a column made by ``array_construct(1.5, 2.5)`` (a DuckDB ``DECIMAL(2,1)[]``)
    is listed as NUMBER with no precision, so ``describe table`` gives it no type at all and
    dbt-snowflake's get_columns_in_relation fails ("'NoneType' object has no attribute
    'lower'"). Snowflake calls every such column ARRAY: say so before any other mapping.
    """
    if DATA_TYPE_CASE not in columns_view_sql:
        raise RuntimeError("fakesnow's information_schema.columns view changed: see workaround 8")
    return columns_view_sql.replace(
        DATA_TYPE_CASE,
        "case when ends_with(columns.data_type, '[]') then 'ARRAY'\n     when"
        " starts_with(columns.data_type, 'DECIMAL')",
        1,
    )


# --- 9: a quote in a name whose varchar length is recorded ---------------------------------------


def quoted_names_in_text_lengths(insert_text_lengths_sql: Any) -> Any:
    """fakesnow gap: a ``varchar(n)`` column named ``"it's id"`` fails its ``create table`` with
    a parser error: fakesnow records the length in an INSERT that puts the names into string
    literals without doubling their quotes. Double them.
    """

    def insert(catalog: str, schema: str, table: str, text_lengths: list) -> str:
        def text(name: str) -> str:
            return name.replace("'", "''")

        lengths = [(text(name), size) for name, size in text_lengths]
        return insert_text_lengths_sql(text(catalog), text(schema), text(table), lengths)

    return insert


def apply_workarounds() -> None:
    """Install every workaround above into the imported fakesnow."""
    info_schema = fakesnow.info_schema
    columns_view = arrays_described_as_array(
        info_schema.SQL_CREATE_GLOBAL_INFORMATION_SCHEMA_COLUMNS_VIEW
    )
    info_schema.SQL_CREATE_GLOBAL_INFORMATION_SCHEMA_COLUMNS_VIEW = columns_view
    # the server's shared instance made the view on import: make it again
    fakesnow.server.shared_fs.duck_conn.execute(
        columns_view.replace("create view if not exists", "create or replace view", 1)
    )
    info_schema.insert_text_lengths_sql = quoted_names_in_text_lengths(
        info_schema.insert_text_lengths_sql
    )
    fakesnow.cursor.parse_one = rewrite_before_translation(fakesnow.cursor.parse_one)
    cursor = fakesnow.cursor.FakeSnowflakeCursor
    cursor.execute = remember_session(cursor.execute)  # type: ignore[method-assign]
    fakesnow.transforms.extract_comment_on_table = drop_empty_table_comment(
        fakesnow.transforms.extract_comment_on_table
    )
    fakesnow.transforms.extract_text_length = drop_default_text_lengths(
        fakesnow.transforms.extract_text_length
    )
    fakesnow.arrow.timestamp_to_sf_struct = keep_null_timestamps(
        fakesnow.arrow.timestamp_to_sf_struct
    )
    variables = fakesnow.variables.Variables
    variables.inline_variables = variables_outside_literals(  # type: ignore[method-assign]
        variables.inline_variables
    )
    routes = fakesnow.server.app.router.routes
    for index, route in enumerate(routes):
        if isinstance(route, Route) and route.path == QUERY_PATH:
            wrapped = query_error_not_http_500(fakesnow.server.query_request)
            routes[index] = Route(QUERY_PATH, wrapped, methods=["POST"])


def main() -> None:
    """Serve until SIGTERM or SIGINT (uvicorn's own handlers end it cleanly)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-workarounds", action="store_true")
    args = parser.parse_args()
    if not args.no_workarounds:
        apply_workarounds()
    config = uvicorn.Config(fakesnow.server.app, host=args.host, port=args.port, log_level="info")
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
