"""A warehouse for unit tests: records every statement and answers queries from a script.

It stands in for ``warehouse.Warehouse`` where a module's SQL text, parameters and decisions
are the subject; what the SQL does on a real warehouse is the integration tests' business.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

Rows = list[tuple[Any, ...]]
Answer = Rows | Callable[[str, list[Any]], Rows]


class RecordingWarehouse:
    """Records ``execute``, ``fetch_all``, ``insert_rows`` and ``call_macro`` calls in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Any]] = []  # (kind, sql or macro or table, params)
        self.macro_results: dict[str, Any] = {}
        self.tables: dict[str, list[str]] = {}  # relation -> its columns (absent: no table)
        self._answers: list[tuple[str, Answer]] = []

    def answer(self, contains: str, rows: Answer) -> None:
        """Queries whose SQL contains ``contains`` return ``rows`` (the latest rule wins)."""
        self._answers.insert(0, (contains, rows))

    def relation(self, identifier: str) -> str:
        return f"db.main.{identifier}"

    def columns_of(self, relation: Any) -> list[str]:
        return list(self.tables.get(str(relation), []))

    def call_macro(self, name: str, **kwargs: Any) -> Any:
        self.calls.append(("macro", name, kwargs))
        return self.macro_results.get(name)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.calls.append(("execute", sql, list(params)))

    def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        self.calls.append(("fetch", sql, list(params)))
        for contains, rows in self._answers:
            if contains in sql:
                return rows(sql, list(params)) if callable(rows) else list(rows)
        return []

    def insert_rows(self, relation: Any, columns: Sequence[str], rows: Sequence[Any]) -> None:
        self.calls.append(("insert", str(relation), (list(columns), [tuple(r) for r in rows])))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.calls.append(("begin", None, None))
        yield
        self.calls.append(("commit", None, None))

    @contextlib.contextmanager
    def thread_connection(self, name: str) -> Iterator[None]:
        yield

    def of(self, kind: str) -> list[tuple[str, Any, Any]]:
        """The recorded calls of one kind."""
        return [call for call in self.calls if call[0] == kind]
