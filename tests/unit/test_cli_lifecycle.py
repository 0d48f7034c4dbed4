"""The lifecycle commands without a warehouse: errors --skip parsing, run/build --fail-on, prune,
orphaned syncs in status/errors/reset, and renamed_from validation."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from dbt_lambda_sync.cli import build as build_module
from dbt_lambda_sync.cli import failures, prune, reset, status
from dbt_lambda_sync.cli.run import SyncOutcome
from dbt_lambda_sync.definitions import load_definitions, parse_model_syncs
from dbt_lambda_sync.errors import DefinitionError, LeaseHeldError, Problem
from dbt_lambda_sync.history import DeclaredSync, ResetResult
from dbt_lambda_sync.lifecycle import PruneResult, SkipResult
from dbt_lambda_sync.reporting import RunSummary
from tests.unit.test_cli import FakeHistory, invoke_assert_code, run_summary, use_fake_runner
from tests.unit.test_cli import project as project  # noqa: F401  (the fixture)
from tests.unit.test_definitions import model, sync

DECLARED = [
    DeclaredSync("crm_customers", "customers"),
    DeclaredSync("emails", "emails", renamed_from="email_list"),
]
ORPHANS = [
    DeclaredSync("email_list", "emails", orphaned=True, renamed_to="emails"),
    DeclaredSync("old_sync", "customers", orphaned=True),
]


@pytest.fixture
def syncs(project, monkeypatch) -> None:  # noqa: F811
    for module in (status, failures, reset):
        monkeypatch.setattr(module, "declared_syncs", lambda manifest: DECLARED)
        monkeypatch.setattr(
            module,
            "all_syncs",
            lambda warehouse, declared: sorted([*declared, *ORPHANS], key=lambda s: s.name),
        )
    monkeypatch.setattr(status, "History", FakeHistory)
    monkeypatch.setattr(failures, "History", FakeHistory)


# --- errors --skip --------------------------------------------------------------------------------


@pytest.fixture
def skips(syncs, monkeypatch) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = []

    def fake_skip(warehouse: Any, target: DeclaredSync, keys: Any, *, now: datetime) -> SkipResult:
        calls.append((target.name, keys))
        return SkipResult(target, tuple(keys or ["7", "8"]))

    monkeypatch.setattr(failures, "skip_failures", fake_skip)
    return calls


def test_skip_names_keys(skips) -> None:
    text = invoke_assert_code(0, ["errors", "crm_customers", "--skip", "17", "42"]).stdout
    assert text.startswith("Skipped 2 row(s) of crm_customers: 17, 42.")
    document = json.loads(
        invoke_assert_code(0, ["errors", "customers", "--skip", "-o", "json", "--", "-5"]).stdout
    )
    assert document == {"sync": "crm_customers", "model": "customers", "skipped": ["-5"]}
    assert skips == [("crm_customers", ["17", "42"]), ("crm_customers", ["-5"])]


def test_skip_all(skips) -> None:
    document = json.loads(
        invoke_assert_code(0, ["errors", "emails", "--skip-all", "-o", "json"]).stdout
    )
    assert document["skipped"] == ["7", "8"] and skips == [("emails", None)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--skip"], "--skip needs at least one KEY"),
        (["--skip-all", "3"], "--skip-all takes no KEY"),
        (["--skip", "--skip-all", "3"], "not both"),
        (["3"], "KEYs go with --skip"),
    ],
)
def test_skip_usage_errors_are_exit_2_before_anything(skips, args, message) -> None:
    result = invoke_assert_code(2, ["errors", "crm_customers", *args])
    assert message in result.stderr and skips == []


# --- orphaned syncs in status, errors, reset ------------------------------------------------------


def test_status_lists_orphaned_syncs(syncs) -> None:
    document = json.loads(invoke_assert_code(0, ["status", "-o", "json"]).stdout)
    by_name = {s["name"]: s for s in document["syncs"]}
    assert (by_name["old_sync"]["orphaned"], by_name["old_sync"]["renamed_to"]) == (True, None)
    assert by_name["email_list"]["renamed_to"] == "emails"
    assert by_name["crm_customers"]["orphaned"] is False
    text = invoke_assert_code(0, ["status"]).stdout
    [line] = [line for line in text.splitlines() if line.startswith("old_sync")]
    assert "orphaned" in line and "dbt-lambda-sync prune removes its state" in line
    [line] = [line for line in text.splitlines() if line.startswith("email_list")]
    assert "renamed to emails" in line
    only = json.loads(invoke_assert_code(0, ["status", "-s", "old_sync", "-o", "json"]).stdout)
    assert [s["name"] for s in only["syncs"]] == ["old_sync"]


def test_errors_and_reset_accept_an_orphaned_sync(syncs, monkeypatch) -> None:
    document = json.loads(invoke_assert_code(0, ["errors", "old_sync", "-o", "json"]).stdout)
    assert (document["sync"], document["open_errors"]) == ("old_sync", 0)
    monkeypatch.setattr(
        reset, "reset_sync", lambda warehouse, target, *, now: ResetResult(target, 12, 1)
    )
    text = invoke_assert_code(0, ["reset", "old_sync"]).stdout
    assert text.startswith("Reset old_sync: forgot the snapshot of 12 delivered row(s)")
    assert "dbt-lambda-sync prune removes the rest" in text


# --- prune ----------------------------------------------------------------------------------------


@pytest.fixture
def pruning(project, monkeypatch) -> dict[str, Any]:  # noqa: F811
    seen: dict[str, Any] = {}
    monkeypatch.setattr(prune, "load_project", lambda args: project)
    monkeypatch.setattr(prune, "declared_syncs", lambda manifest: DECLARED)

    def fake_prune(warehouse: Any, declared: Any, *, dry_run: bool, now: datetime) -> list:
        seen.update(declared=[s.name for s in declared], dry_run=dry_run)
        return seen.get("results", [])

    monkeypatch.setattr(prune, "prune", fake_prune)
    return seen


def test_prune_dry_run_and_json(pruning) -> None:
    old = DeclaredSync("old_sync", "customers", orphaned=True)
    pruning["results"] = [PruneResult(old, snapshot_rows=1200, open_errors=3)]
    text = invoke_assert_code(0, ["prune", "--dry-run"]).stdout
    assert "would prune" in text and "1 orphaned sync(s)" in text and pruning["dry_run"] is True
    document = json.loads(invoke_assert_code(0, ["prune", "-o", "json"]).stdout)
    assert document == {
        "dry_run": False,
        "syncs": [
            {
                "name": "old_sync",
                "model": "customers",
                "snapshot_rows": 1200,
                "open_errors": 3,
                "pruned": True,
                "error": None,
            }
        ],
    }
    assert pruning["declared"] == ["crm_customers", "emails"]


def test_prune_with_nothing_orphaned(pruning) -> None:
    assert "No orphaned syncs" in invoke_assert_code(0, ["prune"]).stdout


def test_prune_of_a_leased_sync_is_exit_3(pruning) -> None:
    old = DeclaredSync("old_sync", "customers", orphaned=True)
    held = LeaseHeldError("old_sync", "run-1 (pid 7 on box)", "2026-01-02 03:06:05")
    pruning["results"] = [PruneResult(old, 5, 0, held)]
    result = invoke_assert_code(3, ["prune"])
    assert "not pruned" in result.stdout and "is being run by run-1" in result.stderr


def test_prune_refuses_invalid_definitions(pruning, project, monkeypatch) -> None:  # noqa: F811
    def invalid(selectors: Any = ()) -> Any:
        raise DefinitionError([Problem("customers", "crm_customers", "triggers", "bad")])

    monkeypatch.setattr(project, "definitions", invalid)
    invoke_assert_code(2, ["prune"])
    assert "dry_run" not in pruning  # nothing was looked at, let alone pruned


# --- --fail-on ------------------------------------------------------------------------------------


def summary_with(new_failures: int | None, *, rejected: int = 2) -> RunSummary:
    base = run_summary("crm_customers", rejected=rejected)
    return RunSummary(**{**base.__dict__, "new_failures": new_failures})


@pytest.mark.parametrize(
    ("fail_on", "rejected", "new", "code"),
    [
        ("any", 2, 0, 1),
        ("any", 2, 2, 1),
        ("new", 2, 0, 0),
        ("new", 2, 1, 1),
        ("new", 0, 0, 0),
        ("any", 0, 0, 0),
    ],
)
def test_exit_code_by_fail_on(fail_on: str, rejected: int, new: int, code: int) -> None:
    outcome = SyncOutcome(
        "crm_customers", "customers", summary_with(new, rejected=rejected), fail_on=fail_on
    )
    assert outcome.exit_code == code


def test_fail_on_does_not_hide_a_sync_that_could_not_run() -> None:
    error = LeaseHeldError("crm_customers", "someone", "later")
    assert SyncOutcome("crm_customers", "customers", None, error, "new").exit_code == 3


def test_run_fail_on_new(project, monkeypatch) -> None:  # noqa: F811
    use_fake_runner(monkeypatch, {"crm_customers": summary_with(0)})
    document = json.loads(
        invoke_assert_code(
            0, ["run", "-s", "crm_customers", "--fail-on", "new", "-o", "json"]
        ).stdout
    )
    assert (document["runs"][0]["rejected_rows"], document["runs"][0]["new_failures"]) == (2, 0)
    invoke_assert_code(1, ["run", "-s", "crm_customers"])
    invoke_assert_code(1, ["run", "-s", "crm_customers", "--fail-on", "any"])
    assert "'never'" in invoke_assert_code(2, ["run", "--fail-on", "never"]).stderr


def test_build_fail_on_new_is_not_passed_to_dbt(project, monkeypatch) -> None:  # noqa: F811
    seen = {}

    def fake_build(proj: Any, dbt_args: Any) -> Any:
        seen["args"] = list(dbt_args)
        return build_module.BuildReport(True, frozenset({"model.p.customers"}))

    project._definitions = [project._definitions[1]]  # crm_customers
    monkeypatch.setattr(build_module, "run_dbt_build", fake_build)
    use_fake_runner(monkeypatch, {"crm_customers": summary_with(0)})
    invoke_assert_code(0, ["build", "--fail-on", "new", "--select", "customers"])
    assert seen["args"] == ["--select", "customers"]
    invoke_assert_code(1, ["build", "--select", "customers"])


# --- renamed_from ---------------------------------------------------------------------------------


def test_renamed_from_is_kept_on_the_definition() -> None:
    [definition] = load_definitions([model(sync(renamed_from="crm_contacts"))])
    assert definition.renamed_from == "crm_contacts"
    assert definition.to_dict()["renamed_from"] == "crm_contacts"
    [plain] = load_definitions([model(sync())])
    assert plain.renamed_from is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Old-Name", "must be the sync's previous name"),
        (7, "not an integer (put it in quotes in YAML)"),
        ("crm_customers", "is the sync's own name"),
    ],
)
def test_renamed_from_is_validated(value: Any, message: str) -> None:
    _, problems = parse_model_syncs(model(sync(renamed_from=value)))
    [problem] = problems
    assert (problem.model, problem.sync, problem.field) == (
        "customers",
        "crm_customers",
        "renamed_from",
    )
    assert message in problem.message


def test_renamed_from_must_not_name_a_defined_sync() -> None:
    models = [
        model(sync(renamed_from="crm_contacts")),
        model(sync(name="crm_contacts"), name="contacts"),
    ]
    with pytest.raises(DefinitionError) as raised:
        load_definitions(models)
    [problem] = raised.value.problems
    assert (problem.model, problem.sync, problem.field) == (
        "customers",
        "crm_customers",
        "renamed_from",
    )
    assert "names sync 'crm_contacts', which is still defined (on model 'contacts')" in str(problem)


def test_two_syncs_cannot_adopt_the_same_old_name() -> None:
    models = [
        model(sync(renamed_from="crm_old")),
        model(sync(name="crm_other", renamed_from="crm_old"), name="others"),
    ]
    with pytest.raises(DefinitionError) as raised:
        load_definitions(models)
    assert [p.sync for p in raised.value.problems] == ["crm_customers", "crm_other"]
    assert all("named by 2 syncs" in p.message for p in raised.value.problems)


def test_unknown_key_near_renamed_from_gets_a_hint() -> None:
    _, problems = parse_model_syncs(model(sync(renamed_form="crm_old")))
    assert [p.message for p in problems] == ["unknown key; did you mean 'renamed_from'?"]
