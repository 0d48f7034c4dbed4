"""Warehouse access through dbt's own project, profile and adapter.

We never hold connection settings of our own: the user's dbt profile and target decide where the
tables live, and the package's macros (loaded from the parsed manifest) hold the change-capture SQL.
dbt's connections are per thread: the thread that opened the warehouse has one, and another thread
(the runner's checkpoint writer) opens its own with ``thread_connection``.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from argparse import Namespace
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbt_lambda_sync.errors import UsageError, WarehouseError

PACKAGE_NAME = "dbt_lambda_sync"
CONNECTION_NAME = "dbt_lambda_sync"
# Parameters per multi-row INSERT: PostgreSQL takes at most 65,535.
INSERT_CHUNK_PARAMETERS = 30_000
# The adapters the package is tested on; macros/adapter/_unsupported_adapter.sql lists the same.
# Redshift would run the postgres__ macros through dbt's dispatch: not until it is tested.
SUPPORTED_ADAPTERS = ("duckdb", "postgres", "snowflake")
# Adapters on which dbt sends no BEGIN: Warehouse.transaction sends its own.
EXPLICIT_BEGIN_ADAPTERS = frozenset({"postgres", "snowflake"})
# Adapters whose driver binds parameters in the pyformat style (%s), not DuckDB's '?'.
PYFORMAT_ADAPTERS = frozenset({"postgres", "snowflake"})


@dataclass(frozen=True)
class ProjectArgs:
    """Where the dbt project is, found the way dbt finds it."""

    project_dir: str | None = None
    profiles_dir: str | None = None
    target: str | None = None
    vars: str | None = None  # YAML, as dbt's --vars

    def resolved(self) -> ProjectArgs:
        """These arguments with dbt's defaults (and environment variables) filled in."""
        # dbt.cli.resolvers imports all of dbt.cli (seconds): only when dbt's defaults are needed
        project_dir = self.project_dir or os.environ.get("DBT_PROJECT_DIR")
        if not project_dir:
            from dbt.cli.resolvers import default_project_dir

            project_dir = str(default_project_dir())
        if not Path(project_dir, "dbt_project.yml").is_file():
            raise UsageError(
                f"no dbt_project.yml in {project_dir}: run from a dbt project or pass --project-dir"
            )
        profiles_dir = self.profiles_dir or os.environ.get("DBT_PROFILES_DIR")
        if not profiles_dir and Path(project_dir, "profiles.yml").is_file():
            profiles_dir = project_dir
        if not profiles_dir:
            from dbt.cli.resolvers import default_profiles_dir

            profiles_dir = str(default_profiles_dir())
        return ProjectArgs(
            project_dir=str(Path(project_dir).resolve()),
            profiles_dir=str(Path(profiles_dir).resolve()),
            # dbt takes --target from DBT_TARGET too: our parse would see it on its own, the
            # warehouse we open would not. Same value either way in dbt's partial-parse check.
            target=self.target or os.environ.get("DBT_TARGET") or None,
            vars=self.vars,
        )

    def dbt_flags(self) -> list[str]:
        """The flags our parse gives dbt: only those the user gave, so dbt can reuse its parse."""
        # Only what the user gives dbt: dbt keeps its partial parse (target/partial_parse.msgpack,
        # left by the user's last dbt command) only while --vars, --profile and --target, as given
        # on the command line, are those it was written with; paths do not count.
        flags = [
            "--project-dir",
            self.project_dir or ".",
            "--profiles-dir",
            self.profiles_dir or ".",
        ]
        if self.target:
            flags += ["--target", self.target]
        if self.vars:
            flags += ["--vars", self.vars]
        return flags


def parse_manifest(args: ProjectArgs) -> Any:
    """Parses the project with dbt and returns the manifest.

    After the user's `dbt build` this is dbt's partial parse: it loads target/partial_parse.msgpack
    and re-parses only the files changed since (SQL by checksum; YAML re-read when its modification
    time differs at all, then by checksum), so an edited sync definition is seen, exactly as by the
    user's next dbt command. Whether it stays valid is up to dbt (see ``dbt_flags``).
    """
    from dbt.cli.main import dbtRunner

    # --no-write-json: our parse leaves target/manifest.json as the user's last dbt command left it
    # (it has no say in partial parsing). dbt still refreshes partial_parse.msgpack when it had to
    # re-parse something, as every dbt command does.
    # --no-send-anonymous-usage-stats: this parse is ours, not the user's dbt command; without a
    # network dbt's telemetry POST waits up to 5 s at the end of it.
    ours = ["--quiet", "--no-write-json", "--no-send-anonymous-usage-stats"]
    result = dbtRunner().invoke(["parse", *ours, *args.dbt_flags()])
    if not result.success or result.result is None:
        detail = f": {result.exception}" if result.exception else ""
        raise UsageError(f"dbt could not parse the project in {args.project_dir}{detail}")
    return result.result


def check_adapter_supported(adapter_type: str) -> None:
    """Raises ``UsageError`` for an adapter the package does not support (before any SQL)."""
    if adapter_type not in SUPPORTED_ADAPTERS:
        raise UsageError(
            f"dbt-lambda-sync does not support adapter '{adapter_type}' yet;"
            f" supported: {', '.join(SUPPORTED_ADAPTERS)}"
        )


class Warehouse:
    """One open connection to the target's warehouse, with the package's macros callable.

    Build it with ``Warehouse.open``; close it with ``close`` (or use it as a context manager).
    """

    def __init__(self, adapter: Any, manifest: Any, config: Any):
        self._adapter = adapter
        self.manifest = manifest
        self.config = config
        self._local = threading.local()  # transaction depth, per thread like the connections

    # --- opening and closing ------------------------------------------------------------------

    @classmethod
    def open(cls, args: ProjectArgs, manifest: Any | None = None) -> Warehouse:
        """Open a connection through the project's adapter (parsing the manifest if not given)."""
        args = args.resolved()
        if manifest is None:
            manifest = parse_manifest(args)
        try:
            from dbt.adapters.factory import get_adapter, register_adapter, reset_adapters
            from dbt.config.runtime import RuntimeConfig
            from dbt.context.providers import generate_runtime_macro_context
            from dbt.flags import set_from_args
            from dbt.mp_context import get_mp_context

            namespace = Namespace(
                project_dir=args.project_dir,
                profiles_dir=args.profiles_dir,
                target=args.target,
                profile=None,
                threads=None,
                vars=_parse_vars(args.vars),
            )
            set_from_args(namespace, {})
            config = RuntimeConfig.from_args(namespace)
            check_adapter_supported(config.credentials.type)
            # dbt's invoke() resets adapters on exit: register ours again after any dbt call.
            reset_adapters()
            register_adapter(config, get_mp_context())
            adapter = get_adapter(config)
            adapter.set_macro_resolver(manifest)
            adapter.set_macro_context_generator(generate_runtime_macro_context)
            adapter.acquire_connection(CONNECTION_NAME)
        except UsageError:
            raise
        except Exception as exc:  # dbt raises many unrelated types for a bad profile or server
            raise WarehouseError(f"could not open the warehouse: {_short(exc)}") from exc
        warehouse = cls(adapter, manifest, config)
        try:
            warehouse.fetch_all("select 1")
        except WarehouseError:
            warehouse.close()
            raise
        return warehouse

    def close(self) -> None:
        """Roll back anything open and release the adapter's connections."""
        with contextlib.suppress(Exception):
            self._adapter.connections.rollback_if_open()
        with contextlib.suppress(Exception):
            self._adapter.cleanup_connections()

    @contextlib.contextmanager
    def thread_connection(self, name: str) -> Iterator[None]:
        """Gives the calling (non-opening) thread a connection of its own while inside."""
        try:
            self._adapter.acquire_connection(name)
        except Exception as exc:
            raise WarehouseError(f"could not open a second connection: {_short(exc)}") from exc
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                self._adapter.connections.rollback_if_open()
            with contextlib.suppress(Exception):
                self._adapter.release_connection()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- facts ---------------------------------------------------------------------------------

    @property
    def adapter_type(self) -> str:
        """The adapter's name: ``duckdb``, ``postgres``..."""
        return str(self._adapter.type())

    @property
    def project_name(self) -> str:
        """The dbt project's name."""
        return str(self.config.project_name)

    def latest_build_of(self, unique_id: str) -> str | None:
        """The invocation_id of target/run_results.json when it built this node successfully."""
        path = Path(self.config.project_root, self.config.target_path, "run_results.json")
        try:
            results = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        built = any(
            r.get("unique_id") == unique_id and r.get("status") == "success"
            for r in results.get("results", [])
        )
        return results.get("metadata", {}).get("invocation_id") if built else None

    def relation(self, identifier: str) -> Any:
        """The relation of one of the package's tables, in the lambda sync schema."""
        return self.call_macro("lambda_sync_relation", identifier=identifier)

    def model_relation(self, database: str | None, schema: str, identifier: str) -> Any:
        """The relation of a model, quoted the adapter's way."""
        return self._adapter.Relation.create(
            database=database, schema=schema, identifier=identifier
        )

    def columns_of(self, relation: Any) -> list[str]:
        """The columns of ``relation``, in order."""
        try:
            with self.transaction():
                return [c.name for c in self._adapter.get_columns_in_relation(relation)]
        except Exception as exc:
            raise WarehouseError(
                f"could not read the columns of {relation}: {_short(exc)}"
            ) from exc

    # --- running SQL ---------------------------------------------------------------------------

    def call_macro(self, name: str, **kwargs: Any) -> Any:
        """Runs one of the package's macros (the SQL of change capture lives there)."""
        with self.transaction():
            try:
                return self._adapter.execute_macro(
                    name, project=PACKAGE_NAME, kwargs=kwargs, macro_resolver=self.manifest
                )
            except Exception as exc:
                raise _as_warehouse_error(exc, f"macro {PACKAGE_NAME}.{name}") from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement in a transaction of its own (unless one is open)."""
        with self.transaction():
            self._run(sql, params)

    def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one query and return all its rows."""
        # Fetch before the commit: committing discards a DuckDB cursor's pending result.
        with self.transaction():
            cursor = self._run(sql, params)
            try:
                return [tuple(row) for row in cursor.fetchall()]
            except Exception as exc:
                raise _as_warehouse_error(exc, "fetch") from exc

    def fetch_pages(self, sql: str, *, rows_per_page: int) -> Iterator[list[tuple]]:
        """The rows of one SELECT, a page at a time, never the whole result in memory: through a
        server-side cursor on PostgreSQL (psycopg2 reads a whole result at execute), the driver's
        own streaming elsewhere. Nothing else may run on this thread's connection meanwhile.
        """
        server_side = self.adapter_type == "postgres"
        with self.transaction():
            if server_side:
                self._run(f"declare dls_pages no scroll cursor for {sql}", ())
            else:
                cursor = self._run(sql, ())
            try:
                while True:
                    try:
                        if server_side:
                            fetch = f"fetch forward {rows_per_page} from dls_pages"
                            rows = self._run(fetch, ()).fetchall()
                        else:
                            rows = cursor.fetchmany(rows_per_page)
                    except WarehouseError:
                        raise
                    except Exception as exc:
                        raise _as_warehouse_error(exc, "fetch") from exc
                    if not rows:
                        return
                    yield [tuple(row) for row in rows]
            finally:
                if server_side:  # also when the reader stops early inside an outer transaction
                    with contextlib.suppress(Exception):
                        self._run("close dls_pages", ())

    def insert_rows(
        self, table: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Inserts many rows with bound parameters."""
        if not rows:
            return
        head = f"insert into {table} ({', '.join(columns)}) "
        with self.transaction():
            if self.adapter_type == "duckdb":
                # DuckDB binds each scalar parameter slowly (~70 us); one list per column binds in
                # C: 18x faster for a checkpoint's few thousand rows (bench/README.md).
                values = [list(column) for column in zip(*rows, strict=True)]
                self._run(head + "select " + ", ".join("unnest(?)" for _ in columns), values)
                return
            # Multi-row VALUES, bounded by PostgreSQL's 65,535 bind parameters per statement.
            group = "(" + ", ".join("?" for _ in columns) + ")"
            per_statement = max(1, INSERT_CHUNK_PARAMETERS // len(columns))
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                params = [value for row in chunk for value in row]
                self._run(head + "values " + ", ".join(group for _ in chunk), params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all (nesting joins the outer one).

        On PostgreSQL the BEGIN and COMMIT are ours: dbt-postgres sends no BEGIN (it relies on
        psycopg2 opening a transaction implicitly), and once dbt has sent a COMMIT as SQL
        psycopg2 believes a transaction is still open and never opens another, so without an
        explicit BEGIN every statement would commit on its own. dbt-snowflake runs every
        statement in autocommit and sends no BEGIN at all. (On Snowflake a DDL statement commits
        the open transaction: the package's DDL runs outside the ones that must hold.)
        """
        local = self._local
        if getattr(local, "depth", 0):
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        connections = self._adapter.connections
        explicit = self.adapter_type in EXPLICIT_BEGIN_ADAPTERS
        try:
            if connections.get_thread_connection().transaction_open:
                # dbt's own helpers may have auto-begun one; it holds nothing of ours.
                connections.commit()
            connections.begin()
            if explicit:
                self._run("begin", ())
        except Exception as exc:
            raise _as_warehouse_error(exc, "begin") from exc
        local.depth = 1
        try:
            yield
        except BaseException:
            local.depth = 0
            with contextlib.suppress(Exception):
                if explicit:
                    self._run("rollback", ())
            with contextlib.suppress(Exception):
                connections.rollback_if_open()
            raise
        local.depth = 0
        try:
            if explicit:
                self._run("commit", ())
                connections.get_thread_connection().transaction_open = False
            # dbt's create_schema commits on its own; then there is nothing left to commit.
            elif connections.get_thread_connection().transaction_open:
                connections.commit()
        except Exception as exc:
            with contextlib.suppress(Exception):
                connections.rollback_if_open()
            raise _as_warehouse_error(exc, "commit") from exc

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        connections = self._adapter.connections
        if self.adapter_type in PYFORMAT_ADAPTERS and params:
            sql = pyformat_placeholders(sql)
        try:
            _, cursor = connections.add_query(sql, auto_begin=False, bindings=list(params) or None)
        except Exception as exc:
            raise _as_warehouse_error(exc, "query") from exc
        return cursor


def pyformat_placeholders(sql: str) -> str:
    """Our SQL, written with '?' placeholders (DuckDB's style), in psycopg2's style: each '?'
    outside quotes and comments becomes '%s', and every '%' becomes '%%' (psycopg2 reads '%'
    anywhere in a statement it binds, quoted or not). Quoted identifiers and string literals
    ('...' with '' inside, "..." with "" inside) keep their '?': a schema or column name may hold
    one. Statements without parameters go to the driver as written (psycopg2 then reads no '%').
    """
    out: list[str] = []
    i, length = 0, len(sql)
    while i < length:
        char = sql[i]
        if char in "'\"":
            end = i + 1
            while end < length:
                if sql[end] == char:
                    if end + 1 < length and sql[end + 1] == char:  # a doubled quote inside
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("--", i) or sql.startswith("/*", i):
            end = sql.find("\n" if char == "-" else "*/", i + 2)
            end = length if end < 0 else end + (1 if char == "-" else 2)
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif char == "?":
            out.append("%s")
            i += 1
        elif char == "%":
            out.append("%%")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _parse_vars(raw: str | None) -> Mapping[str, Any]:
    if not raw:
        return {}
    import yaml

    loaded = yaml.safe_load(raw)
    if not isinstance(loaded, dict):
        raise UsageError('--vars must be a YAML mapping, like "{lambda_sync_schema: syncs}"')
    return loaded


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:500] or type(exc).__name__


def _as_warehouse_error(exc: BaseException, what: str) -> WarehouseError:
    return WarehouseError(f"the warehouse refused a {what}: {_short(exc)}")
