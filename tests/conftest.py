"""Shared pytest fixtures. One place for fixtures (STYLE.md); sections per owner.

Lambda fixtures:

- ``ministack`` (session): a ``tests.support.ministack.Ministack`` started on first request and
  stopped at the end of the session. Fixtures are lazy, so a run that uses no test needing it never
  starts (or installs) ministack. Every test that uses it, directly or through another fixture,
  is marked ``integration`` automatically, so ``-m "not integration"`` skips them all.
- ``scripted_endpoint`` (function): a started ``tests.support.scripted_endpoint.ScriptedEndpoint``
  answering ``null`` by default; script it with ``.script(Reply...)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.ministack import Ministack
from tests.support.scripted_endpoint import ScriptedEndpoint


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "ministack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


# --- Lambda fixtures (engine) ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def ministack() -> Iterator[Ministack]:
    server = Ministack()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def scripted_endpoint() -> Iterator[ScriptedEndpoint]:
    with ScriptedEndpoint() as endpoint:
        yield endpoint


# --- warehouse fixtures (lead) ---
