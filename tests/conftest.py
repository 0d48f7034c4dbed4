"""Shared pytest fixtures. One place for fixtures (STYLE.md); sections per owner.

Lambda fixtures:

- ``ministack`` (session): a ``tests.support.ministack.Ministack`` started on first request and
  stopped at the end of the session. Fixtures are lazy, so a run that uses no test needing it never
  starts (or installs) ministack. Every test that uses it, directly or through another fixture,
  is marked ``integration`` automatically, so ``-m "not integration"`` skips them all.
- ``scripted_endpoint`` (function): a started ``tests.support.scripted_endpoint.ScriptedEndpoint``
  answering ``null`` by default; script it with ``.script(Reply...)``.
- ``isolated_aws_env`` (function): no AWS settings of the developer's, no metadata service.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fakesnow import FakesnowServer
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


@pytest.fixture
def isolated_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's AWS settings, and none reaches a metadata service."""
    for name in list(os.environ):
        if name.startswith("AWS_") and name != "AWS_CA_BUNDLE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


# --- warehouse fixtures (lead) ---


@pytest.fixture(scope="session")
def fakesnow() -> Iterator[FakesnowServer]:
    """One fakesnow server for the session (each project has schemas of its own)."""
    with FakesnowServer() as server:
        yield server
