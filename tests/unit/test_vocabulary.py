"""Operations and run statuses have one home (dbt_lambda_sync.vocabulary); the places that must
spell them apart (the JSON Schemas, the stdlib-only handler kit) are checked against it.
"""

from __future__ import annotations

import json
from importlib import resources

from dbt_lambda_sync import handler, vocabulary
from dbt_lambda_sync.definition_schema import schema


def test_definition_triggers_are_the_operations() -> None:
    assert tuple(schema()["properties"]["triggers"]["items"]["enum"]) == vocabulary.OPERATIONS


def test_event_schema_operations() -> None:
    text = resources.files("dbt_lambda_sync").joinpath("schemas/event.schema.json").read_text()
    enum = json.loads(text)["properties"]["operation"]["enum"]
    assert tuple(enum) == vocabulary.OPERATIONS


def test_handler_kit_spells_the_same_operations() -> None:
    # The handler kit may be vendored as one file, so it keeps its own copy.
    assert handler.OPERATIONS == vocabulary.OPERATIONS


def test_run_statuses_are_distinct() -> None:
    assert len(set(vocabulary.RUN_STATUSES)) == len(vocabulary.RUN_STATUSES)
    assert vocabulary.RUNNING not in vocabulary.FINISHED_STATUSES


def test_definition_enums_are_the_schema_enums() -> None:
    from dbt_lambda_sync.definitions import INITIAL_SYNC_MODES, RATE_PERIODS, RETRY_MODES

    props = schema()["properties"]
    assert tuple(props["initial_sync"]["enum"]) == INITIAL_SYNC_MODES
    assert tuple(props["retries"]["properties"]["mode"]["enum"]) == RETRY_MODES
    assert tuple(props["rate_limit"]["properties"]["per"]["enum"]) == tuple(RATE_PERIODS)
