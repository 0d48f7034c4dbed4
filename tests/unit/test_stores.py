"""stores: the Protocols the runner is written against, and that the real classes fit them.

Checked by inspection, not by a type checker run: every member a Protocol declares exists on the
real class and accepts every call the Protocol allows (its parameters, in order, with the same
kinds and defaults; any extra parameter of the real one has a default).
"""

from __future__ import annotations

import inspect

import pytest

from dbt_lambda_sync.plan_store import PlanStore
from dbt_lambda_sync.state import SyncState
from dbt_lambda_sync.stores import PlanSource, SyncStore


def protocol_members(protocol: type) -> list[str]:
    return sorted(
        name
        for name, value in vars(protocol).items()
        if inspect.isfunction(value) and not name.startswith("_")
    )


def shape(function: object) -> list[tuple[str, object, bool]]:
    """Each parameter's name, kind and whether it has a default."""
    return [
        (p.name, p.kind, p.default is not inspect.Parameter.empty)
        for p in inspect.signature(function).parameters.values()  # type: ignore[arg-type]
    ]


PAIRS = [(SyncStore, SyncState), (PlanSource, PlanStore)]
CASES = [
    pytest.param(protocol, real, name, id=f"{real.__name__}.{name}")
    for protocol, real in PAIRS
    for name in protocol_members(protocol)
]


def test_protocols_declare_what_the_runner_uses() -> None:
    assert "write_checkpoint" in protocol_members(SyncStore)
    assert "acquire_lease" in protocol_members(SyncStore)
    assert "refresh" in protocol_members(PlanSource)
    assert len(CASES) == len(protocol_members(SyncStore)) + len(protocol_members(PlanSource))


@pytest.mark.parametrize(("protocol", "real", "name"), CASES)
def test_real_class_has_every_protocol_member_with_its_signature(
    protocol: type, real: type, name: str
) -> None:
    assert callable(getattr(real, name, None)), f"{real.__name__} lacks {name}"
    wanted = shape(getattr(protocol, name))
    ours = shape(getattr(real, name))
    assert ours[: len(wanted)] == wanted
    assert all(has_default for _, _, has_default in ours[len(wanted) :])


@pytest.mark.parametrize(("protocol", "real", "name"), CASES)
def test_real_defaults_are_the_protocol_defaults(protocol: type, real: type, name: str) -> None:
    ours = inspect.signature(getattr(real, name)).parameters
    theirs = inspect.signature(getattr(protocol, name)).parameters
    for param in theirs.values():
        if param.default is not inspect.Parameter.empty:
            assert ours[param.name].default == param.default
