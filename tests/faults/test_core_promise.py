"""The core promise, as a test: a destination that applies every event it accepts (an upsert by
key on `added` and `changed`, a delete by key on `removed`) ends identical to the model.

Randomized rounds (seeded, per warehouse) of what happens to a real sync: edits of the model
(adds, changes, deletes of rows just added, changes back to a version delivered earlier),
rejected rows, rows that make the function raise, runners killed with SIGKILL mid-delivery,
changes of the sync's `columns`, and a rename with `renamed_from`. Once the faults stop, runs
settle and the destination's table must equal the model's rows, column for column.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from tests.faults.conftest import run_until_settled, start_cli
from tests.integration.conftest import SyncProject

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DESTINATION_HANDLER = (Path(__file__).parent / "handlers" / "destination.py").read_text()
ROUNDS = 8
COLUMN_CHOICES = (None, ["customer_id", "name", "score"], ["score", "tier"])
LEASE_ENV = {"DBT_LAMBDA_SYNC_LEASE_SECONDS": "3"}
RENAME_ROUND = 5  # after a killed run (round 4): the adopted state has unsettled rows


class Model:
    """The model's rows (a seed), edited at random; remembers each key's earlier versions."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.rows: dict[int, dict[str, Any]] = {}
        self.past: dict[int, list[dict[str, Any]]] = {}
        self.recently_added: list[int] = []
        self.next_id = 1
        self.add(120)

    def add(self, count: int) -> None:
        self.recently_added = []
        for _ in range(count):
            key, self.next_id = self.next_id, self.next_id + 1
            self.rows[key] = {
                "customer_id": key,
                "name": f"n{key}",
                "tier": self.rng.choice("abc"),
                "score": self.rng.randint(0, 9),
            }
            self.recently_added.append(key)

    def edit(self) -> None:
        keys = sorted(self.rows)
        for key in self.rng.sample(keys, len(keys) // 8):
            self.past.setdefault(key, []).append(dict(self.rows[key]))
            if len(self.past[key]) > 1 and self.rng.random() < 0.4:
                self.rows[key] = dict(self.rng.choice(self.past[key][:-1]))  # back to an old one
            else:
                self.rows[key]["score"] = self.rng.randint(0, 99)
                self.rows[key]["tier"] = self.rng.choice("abcd")
        doomed = self.rng.sample(keys, 4) + self.rng.sample(
            self.recently_added, min(3, len(self.recently_added))
        )
        for key in doomed:
            self.rows.pop(key, None)
        self.add(self.rng.randint(2, 8))

    def seed_rows(self) -> list[dict[str, Any]]:
        return [self.rows[key] for key in sorted(self.rows)]

    def expected(self, columns: list[str] | None) -> dict[str, dict[str, Any]]:
        names = ["customer_id", *(c for c in columns if c != "customer_id")] if columns else None
        return {str(key): {c: row[c] for c in (names or row)} for key, row in self.rows.items()}


def kill_mid_run(project: SyncProject, rng: random.Random) -> None:
    """Starts a run and kills it with SIGKILL after a random number of calls arrived."""
    before = len(project.events())
    target = before + rng.randint(2, 12)
    process = start_cli(project, "run", env=LEASE_ENV)
    try:
        while len(project.events()) < target and process.poll() is None:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.5))
    finally:
        process.kill()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


def run_once(project: SyncProject) -> int:
    """One run; waits out a killed runner's lease. Rejections exit 1."""
    for _ in range(20):
        result = project.cli("run", expect=None)
        if result.returncode == 3 and "is being run by" in result.stderr:
            time.sleep(1)
            continue
        assert result.returncode in (0, 1), result.stderr[-3000:]
        return result.returncode
    raise AssertionError("the lease never expired")


def deploy_destination(project: SyncProject, *, timeout: int = 30) -> Path:
    """The destination handler under the project's function name; returns its table's file."""
    destination = project.root / "destination.json"
    project.ministack.deploy(
        project.function,
        DESTINATION_HANDLER,
        timeout=timeout,
        env={
            "RECORD_FILE": str(project.record_file),
            "RULES_FILE": str(project.rules_file),
            "DEST_FILE": str(destination),
        },
    )
    return destination


def test_unconfirmed_sends_are_settled_even_when_the_model_goes_back(
    project: SyncProject,
) -> None:
    """A call that applied its rows and then timed out is not confirmed; the model then goes back
    to the delivered version (row 2) or drops a row that was never confirmed (row 4). The plain
    diff against the snapshot sees no change for either: the destination must still end equal."""
    destination = deploy_destination(project, timeout=1)
    sync = project.sync_config(retries={"mode": "next_run"}, batch_size=10)
    rows = [{"customer_id": i, "name": f"v1 {i}"} for i in (1, 2, 3)]
    sql = "select * from {{ ref('customers_seed') }}"

    def build(current: list[dict[str, Any]]) -> None:
        project.seed("customers_seed", current)
        project.model("customers", sql, sync)
        project.build()

    build(rows)
    project.run()
    build(
        [*rows[:1], {"customer_id": 2, "name": "v2 2"}, rows[2], {"customer_id": 4, "name": "v1 4"}]
    )
    project.rules(sleep_after=3)
    project.run(expect=1)  # applied at the destination, then timed out: not confirmed
    assert json.loads(destination.read_text())["2"]["name"] == "v2 2"

    project.rules()
    build(rows)
    project.clear_events()
    project.run()
    sent = {(e["operation"], str(r["customer_id"])) for e in project.events() for r in e["rows"]}
    assert sent == {("changed", "2"), ("removed", "4")}, sent
    assert json.loads(destination.read_text()) == {str(r["customer_id"]): r for r in rows}
    assert project.query(
        "select count(*) from {schema}.lambda_sync_unsettled where sync_name = 'crm_customers'"
    ) == [(0,)]
    project.clear_events()
    project.run()
    assert project.events() == []


def test_destination_ends_identical_to_the_model(project: SyncProject) -> None:
    rng = random.Random(f"core-promise-{project.warehouse}")
    destination = deploy_destination(project)
    project.env.update(LEASE_ENV)
    model = Model(rng)
    columns: list[str] | None = None
    renamed: dict[str, str] = {}
    kills = 0
    for round_number in range(ROUNDS):
        if round_number:
            model.edit()
        if round_number and rng.random() < 0.3:
            columns = rng.choice([c for c in COLUMN_CHOICES if c != columns])
        if round_number == RENAME_ROUND:  # adopts the old name's snapshot, unsettled rows, errors
            renamed = {"name": "crm_people", "renamed_from": "crm_customers"}
        sync = project.sync_config(
            **renamed,
            batch_size=5,
            concurrency=4,
            retries={"mode": "immediate", "attempts": 1},
            **({"columns": columns} if columns else {}),
        )
        project.seed("customers_seed", model.seed_rows())
        project.model("customers", "select * from {{ ref('customers_seed') }}", sync)
        project.build()
        keys = [str(k) for k in model.rows]
        project.rules(reject=rng.sample(keys, 3), raise_on=rng.sample(keys, 1))
        if round_number % 3 == 1 or rng.random() < 0.3:
            project.rules(reject=rng.sample(keys, 2), raise_on=rng.sample(keys, 1), sleep=0.15)
            kill_mid_run(project, rng)
            kills += 1
        else:
            run_once(project)

    project.rules()
    run_until_settled(project)
    table = json.loads(destination.read_text())
    expected = model.expected(columns)
    wrong = {k for k in set(table) | set(expected) if table.get(k) != expected.get(k)}
    assert not wrong, (
        f"{len(wrong)} keys differ after {ROUNDS} rounds ({kills} kills), e.g. "
        + "; ".join(
            f"{k}: destination {table.get(k)} model {expected.get(k)}" for k in sorted(wrong)[:5]
        )
    )
    assert project.query("select distinct sync_name from {schema}.lambda_sync_snapshots") == [
        ("crm_people",)
    ]
    print(f"{project.warehouse}: {ROUNDS} rounds, {kills} kills, {len(expected)} rows identical")
