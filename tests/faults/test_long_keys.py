"""A primary key of 10,000 characters (issue 10 item 10). On PostgreSQL a btree index entry holds
at most ~2,700 bytes: an index on the raw key made every insert of such a key into the snapshot,
the plan or the errors fail, which blocked the model's capture and the whole sync. Keys are
indexed by their md5 instead; the key itself round-trips unchanged, on both warehouses.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator

import pytest

from tests.integration.conftest import SyncProject
from tests.support.scripted_endpoint import RecordedRequest, Reply, ScriptedEndpoint

pytestmark = pytest.mark.integration


def incompressible(length: int, seed: int) -> str:
    """Random letters (some non-ASCII): PostgreSQL compresses index entries, so a repetitive key
    would fit in a btree entry whatever its length."""
    alphabet = string.ascii_letters + string.digits + "üéßøåñ"
    chosen = random.Random(seed)
    return "".join(chosen.choice(alphabet) for _ in range(length))


LONG = incompressible(10_000, 1)  # 10,000 characters, about 10,900 bytes in UTF-8
OTHER = incompressible(9_000, 2)


@pytest.fixture
def endpoint() -> Iterator[ScriptedEndpoint]:
    with ScriptedEndpoint() as scripted:
        yield scripted


def model_sql(rows: list[tuple[str, str]]) -> str:
    return "\nunion all\n".join(
        f"select cast('{key}' as varchar(20000)) as customer_id, '{email}' as email"
        for key, email in rows
    )


def received(endpoint: ScriptedEndpoint) -> list[tuple[str, str, str]]:
    return [
        (body["operation"], row["customer_id"], row["email"])
        for body in endpoint.json_bodies()
        for row in body["rows"]
    ]


def test_ten_thousand_character_keys_end_to_end(
    project: SyncProject, endpoint: ScriptedEndpoint
) -> None:
    assert len(LONG) == 10_000
    sync = project.sync_config(
        endpoint_url=endpoint.endpoint_url, function="scripted-fn", batch_size=2
    )

    def reject_long(request: RecordedRequest) -> Reply:
        rows = request.json()["rows"]
        errors = [
            {"primary_key_value": row["customer_id"], "reason": "too long for us"}
            for row in rows
            if row["customer_id"] == LONG
        ]
        return Reply.ok({"errors": errors})

    project.model("customers", model_sql([(LONG, "a"), (OTHER, "b"), ("short", "c")]), sync)
    project.build()
    assert project.plan()["crm_customers"]["added"] == 3

    endpoint.responder = reject_long
    result = project.run(expect=1)["runs"][0]
    assert (result["delivered_rows"], result["rejected_rows"]) == (2, 1), result
    assert set(project.open_errors()) == {LONG}
    assert set(project.snapshot()) == {OTHER, "short"}

    # rejected again: the error row of the long key is updated (2 attempts a run), not duplicated
    project.run(expect=1)
    assert project.query(
        "select attempts from {schema}.lambda_sync_errors where sync_name = 'crm_customers'"
    ) == [(4,)]

    endpoint.responder = None
    endpoint.reset()
    project.run()
    assert received(endpoint) == [("added", LONG, "a")]
    assert project.open_errors() == {}
    assert set(project.snapshot()) == {LONG, OTHER, "short"}

    # changed, then removed
    endpoint.reset()
    project.model("customers", model_sql([(LONG, "a2"), (OTHER, "b"), ("short", "c")]), sync)
    project.build()
    project.run()
    assert received(endpoint) == [("changed", LONG, "a2")]
    endpoint.reset()
    project.model("customers", model_sql([(OTHER, "b"), ("short", "c")]), sync)
    project.build()
    project.run()
    assert received(endpoint) == [("removed", LONG, "a2")]
    assert set(project.snapshot()) == {OTHER, "short"}
