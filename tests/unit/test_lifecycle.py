"""lifecycle.py without a warehouse: which keys may be skipped, and disabled models' syncs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dbt_lambda_sync.errors import UsageError
from dbt_lambda_sync.history import DeclaredSync
from dbt_lambda_sync.lifecycle import _check_skippable, disabled_sync_names


def test_skip_checks_keys_against_the_current_failures() -> None:
    target = DeclaredSync("crm_customers", "customers")
    _check_skippable(target, ["1", "2"], {"1": "added", "2": "changed", "3": "duplicate"})
    with pytest.raises(UsageError) as unknown:
        _check_skippable(target, ["1", "9"], {"1": "added"})
    assert "1 key(s) are not current failures of crm_customers: '9'" in str(unknown.value)
    with pytest.raises(UsageError) as duplicate:
        _check_skippable(target, ["3"], {"3": "duplicate"})
    assert "duplicate key(s) cannot be skipped" in str(duplicate.value)
    assert "nothing was skipped" in str(duplicate.value)


def test_disabled_models_keep_their_syncs() -> None:
    node = SimpleNamespace(config=SimpleNamespace(meta={"lambda_sync": [{"name": "paused"}]}))
    manifest = SimpleNamespace(disabled={"model.p.paused": [node]})
    assert disabled_sync_names(manifest) == {"paused"}
    assert disabled_sync_names(SimpleNamespace(disabled=None)) == set()
