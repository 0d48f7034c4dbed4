"""Operations go out one after the other: every removed, then changed, then added (issue 9.3).

With concurrency > 1 a slow or retried batch of one operation must not let the next operation's
batches overtake it: a destination that upserts and deletes by key would otherwise end in a state
that depends on timing. The fault handler records when each call arrived and when it answered;
the runner dispatches after it got the answer, so every answer of an operation must come before
the first arrival of the next one.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.faults.conftest import Deliveries, check_invariant, deploy_faulty, engine_only
from tests.faults.test_crashes import rows_sql
from tests.integration.conftest import SyncProject

pytestmark = engine_only

ORDER = ("removed", "changed", "added")


def answers(project: SyncProject) -> list[dict]:
    path = Path(str(project.record_file) + ".answers")
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def test_removed_then_changed_then_added_each_finished_first(project: SyncProject) -> None:
    deploy_faulty(project)
    sync = project.sync_config(
        batch_size=2, concurrency=4, retries={"mode": "immediate", "attempts": 2}
    )
    project.model("customers", rows_sql(1, 30), sync)
    project.build()
    project.run()

    # 8 removed (1-8), 8 changed (9-16), 8 added (31-38): four batches of each.
    events_before, answers_before = len(project.events()), len(answers(project))
    project.model(
        "customers", rows_sql(9, 16, changed_every=1) + " union all " + rows_sql(17, 38), sync
    )
    project.build()
    plan = project.plan()["crm_customers"]
    assert (plan["removed"], plan["changed"], plan["added"]) == (8, 8, 8)
    # Batches are cut in key-text order: removed [1,2] is slow and [5,6] fails once (retried);
    # changed [12,13] is slow. Without the phases, the next operation would overtake them.
    project.rules(
        sleep=0.05,
        by_key={"1": {"sleep": 1.5}, "5": {"raise_on_attempt": 1}, "12": {"sleep": 1.0}},
    )
    result = project.run()["runs"][0]
    assert (result["delivered_rows"], result["rejected_rows"], result["retries"]) == (24, 0, 1)

    events = project.events()[events_before:]
    arrived = {op: [e["t"] for e in events if e["operation"] == op] for op in ORDER}
    answered = {
        op: [a["t"] for a in answers(project)[answers_before:] if a["operation"] == op]
        for op in ORDER
    }
    assert [len(arrived[op]) for op in ORDER] == [5, 4, 4]  # the removed retry included
    assert [e["sync"]["attempt"] for e in events if e["operation"] == "removed"].count(2) == 1
    for before, after in zip(ORDER, ORDER[1:], strict=False):
        last_answer, first_arrival = max(answered[before]), min(arrived[after])
        print(
            f"{project.warehouse}: last {before} answered {first_arrival - last_answer:.3f} s"
            f" before the first {after} arrived"
        )
        assert last_answer < first_arrival, (before, after, answered, arrived)
    deliveries = Deliveries.of(events)
    assert deliveries.keys("removed") == {str(i) for i in range(1, 9)}
    assert deliveries.keys("changed") == {str(i) for i in range(9, 17)}
    assert deliveries.keys("added") == {str(i) for i in range(31, 39)}
    check_invariant(project, Deliveries.of(project.events()))
