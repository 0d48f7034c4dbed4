"""A catalogue of invalid sync definitions, each run through the real `validate` and `run`
commands (SPEC §2 rules, §8 exit codes).

Only dbt's parse is faked: ``load_project`` (the seam tests/unit/test_cli.py uses) returns a real
``Project`` whose manifest yields the ``ModelRef`` objects built here, so ``Project.definitions``
runs the real definition code (schema, format checks, secrets, duplicate names). The warehouse
opener and ``SyncRunner`` are recorders: an invalid definition must stop the command before
either is touched. Every case checks exit 2, a problem line naming the model, the sync and the
field, no traceback, and that no secret value reaches stdout or stderr.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result

import dbt_lambda_sync.project as project_module
from dbt_lambda_sync.cli import main
from dbt_lambda_sync.cli import run as run_module
from dbt_lambda_sync.cli import validate as validate_module
from dbt_lambda_sync.definitions import ModelRef
from dbt_lambda_sync.errors import WarehouseError
from dbt_lambda_sync.project import Project
from tests.unit.test_definitions import model as model_of

ARN = "arn:aws:lambda:us-east-1:123456789012:function:crm-upsert:prod"
ROLE = "arn:aws:iam::123456789012:role/lambda-sync"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example secret
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key ID
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLEsessionTOKENvalue0123456789"
PASSWORD = "hunter2-Pa55w0rd"
EXTERNAL_ID = "ext-6f1c2e"

SYNC = "crm_customers"
MODEL = "customers"

# A problem line reads: model 'customers', sync 'crm_customers', field 'batch_size': must be ...
UNNAMED = None


def sync(**changes: Any) -> dict[str, Any]:
    """A valid definition with ``changes``; a change to ``DROP`` removes the key."""
    definition: dict[str, Any] = {
        "name": SYNC,
        "function": ARN,
        "primary_key": "customer_id",
        "triggers": ["added", "changed"],
    }
    for key, value in changes.items():
        if value is DROP:
            definition.pop(key, None)
        else:
            definition[key] = value
    return definition


DROP = object()


@dataclass(frozen=True)
class Expect:
    """One problem the output must report: on one line, the model, the sync and the field."""

    field: str
    message: str = ""  # a fragment of what is expected, when worth pinning
    sync: str | None = SYNC
    model: str = MODEL

    def line_start(self) -> str:
        named = f"sync '{self.sync}'" if self.sync else "sync <unnamed>"
        return f"model '{self.model}', {named}, field '{self.field}': "


@dataclass(frozen=True)
class Case:
    id: str
    models: Mapping[str, Any]  # model name -> its meta.lambda_sync
    expect: Sequence[Expect]
    secrets: Sequence[str] = field(default=())  # values that must never be printed


def one(definition: Any, *expect: Expect, secrets: Sequence[str] = ()) -> dict[str, Any]:
    return {"models": {MODEL: definition}, "expect": expect, "secrets": secrets}


CATALOGUE: dict[str, dict[str, Any]] = {
    # --- required keys ------------------------------------------------------------------------
    "missing-name": one(sync(name=DROP), Expect("lambda_sync.name", "is required", sync=UNNAMED)),
    "missing-function": one(sync(function=DROP), Expect("function", "is required")),
    "missing-primary-key": one(sync(primary_key=DROP), Expect("primary_key", "is required")),
    "missing-triggers": one(sync(triggers=DROP), Expect("triggers", "is required")),
    "missing-everything-but-name": one(
        {"name": SYNC},
        Expect("function", "is required"),
        Expect("primary_key", "is required"),
        Expect("triggers", "is required"),
    ),
    # --- misspelled keys ----------------------------------------------------------------------
    "misspelled-triggers": one(
        {**sync(triggers=DROP), "trigers": ["added"]},
        Expect("trigers", "did you mean 'triggers'"),
        Expect("triggers", "is required"),
    ),
    "misspelled-batch-size": one(
        {**sync(), "batchsize": 10}, Expect("batchsize", "did you mean 'batch_size'")
    ),
    "misspelled-nested-rate-limit-key": one(
        sync(rate_limit={"requets": 10, "per": "second"}),
        Expect("rate_limit.requets", "did you mean 'requests'"),
        Expect("rate_limit.requests", "is required"),
    ),
    "nested-key-at-top-level": one(
        {**sync(), "attempts": 3}, Expect("attempts", "belongs under retries")
    ),
    # --- wrong types --------------------------------------------------------------------------
    "batch-size-as-string": one(sync(batch_size="10"), Expect("batch_size", "an integer")),
    "concurrency-fractional": one(sync(concurrency=2.5), Expect("concurrency", "an integer")),
    "include-previous-not-boolean": one(
        sync(include_previous="yes"), Expect("include_previous", "true or false")
    ),
    "triggers-as-string": one(sync(triggers="added"), Expect("triggers", "a list")),
    "name-not-a-string": one(sync(name=42), Expect("lambda_sync.name", sync=UNNAMED)),
    "lambda-sync-not-a-mapping": one("crm_customers", Expect("lambda_sync", sync=UNNAMED)),
    "list-entry-not-a-mapping": one([sync(), "oops"], Expect("lambda_sync[1]", sync=UNNAMED)),
    "retries-not-a-mapping": one(sync(retries=3), Expect("retries", "a mapping")),
    # --- out of range -------------------------------------------------------------------------
    "batch-size-zero": one(sync(batch_size=0), Expect("batch_size", "between 1 and 1000")),
    "batch-size-too-big": one(sync(batch_size=1001), Expect("batch_size", "between 1 and 1000")),
    "concurrency-zero": one(sync(concurrency=0), Expect("concurrency", "between 1 and 1000")),
    "concurrency-too-big": one(sync(concurrency=5000), Expect("concurrency", "between 1 and 1000")),
    "attempts-negative": one(
        sync(retries={"attempts": -1}), Expect("retries.attempts", "between 0 and 10")
    ),
    "attempts-too-many": one(
        sync(retries={"mode": "immediate", "attempts": 11}),
        Expect("retries.attempts", "between 0 and 10"),
    ),
    "retry-mode-unknown": one(
        sync(retries={"mode": "later"}), Expect("retries.mode", "immediate, next_run")
    ),
    "timeout-zero": one(sync(timeout_seconds=0), Expect("timeout_seconds", "between 1 and 900")),
    "timeout-over-lambda-max": one(
        sync(timeout_seconds=901), Expect("timeout_seconds", "between 1 and 900")
    ),
    "rate-limit-zero-requests": one(
        sync(rate_limit={"requests": 0, "per": "second"}), Expect("rate_limit.requests")
    ),
    "rate-limit-per-day": one(
        sync(rate_limit={"requests": 10, "per": "day"}),
        Expect("rate_limit.per", "second, minute, hour"),
    ),
    "rate-limit-without-per": one(
        sync(rate_limit={"requests": 10}), Expect("rate_limit.per", "is required")
    ),
    # --- triggers and initial_sync ------------------------------------------------------------
    "trigger-unknown": one(
        sync(triggers=["added", "deleted"]), Expect("triggers[1]", "added, changed, removed")
    ),
    "triggers-empty": one(sync(triggers=[]), Expect("triggers", "must not be empty")),
    "trigger-repeated": one(
        sync(triggers=["added", "added"]), Expect("triggers", "more than once")
    ),
    "initial-sync-unknown": one(
        sync(initial_sync="full"), Expect("initial_sync", "backfill, skip")
    ),
    # --- the function -------------------------------------------------------------------------
    "function-arn-short-account": one(
        sync(function="arn:aws:lambda:us-east-1:12345:function:crm-upsert"), Expect("function")
    ),
    "function-arn-of-a-layer": one(
        sync(function="arn:aws:lambda:us-east-1:123456789012:layer:deps:3"), Expect("function")
    ),
    "function-arn-of-another-service": one(
        sync(function="arn:aws:s3:::my-bucket"), Expect("function")
    ),
    "function-with-spaces": one(
        sync(function="crm upsert"), Expect("function", "must not contain spaces")
    ),
    "function-name-too-long": one(sync(function="f" * 65), Expect("function")),
    "function-empty": one(sync(function=""), Expect("function")),
    # --- credentials --------------------------------------------------------------------------
    "role-without-external-id": one(
        sync(credentials={"role_arn": ROLE}),
        Expect("credentials.external_id", "is required with role_arn"),
    ),
    "external-id-without-role": one(
        sync(credentials={"external_id": EXTERNAL_ID}),
        Expect("credentials.role_arn", "is required with external_id"),
        secrets=[EXTERNAL_ID],
    ),
    "external-id-too-short": one(
        sync(credentials={"role_arn": ROLE, "external_id": "q"}),
        Expect("credentials.external_id", "2 to 1224 characters"),
    ),
    "external-id-bad-characters": one(
        sync(credentials={"role_arn": ROLE, "external_id": "ext id with spaces!"}),
        Expect("credentials.external_id"),
        secrets=["ext id with spaces!"],
    ),
    "role-arn-of-a-user": one(
        sync(credentials={"role_arn": "arn:aws:iam::123456789012:user/bob", "external_id": "e1"}),
        Expect("credentials.role_arn"),
    ),
    "role-arn-short-account": one(
        sync(credentials={"role_arn": "arn:aws:iam::1234:role/sync", "external_id": "e1"}),
        Expect("credentials.role_arn"),
    ),
    "credentials-mix-role-and-profile": one(
        sync(credentials={"role_arn": ROLE, "external_id": EXTERNAL_ID, "profile": "prod"}),
        Expect("credentials", "mixes"),
        secrets=[EXTERNAL_ID],
    ),
    "credentials-mix-profile-and-env": one(
        sync(credentials={"profile": "prod", "access_key_id_env": "SYNC_AWS_KEY_ID"}),
        Expect("credentials", "mixes"),
    ),
    "credentials-env-pair-incomplete": one(
        sync(credentials={"access_key_id_env": "SYNC_AWS_KEY_ID"}),
        Expect("credentials.secret_access_key_env", "is required with access_key_id_env"),
    ),
    "credentials-empty": one(sync(credentials={}), Expect("credentials")),
    # --- literal secrets ----------------------------------------------------------------------
    "literal-secret-access-key": one(
        sync(credentials={"aws_secret_access_key": SECRET_KEY}),
        Expect("credentials.aws_secret_access_key", "literal AWS credentials"),
        secrets=[SECRET_KEY],
    ),
    "literal-keys-at-top-level": one(
        {**sync(), "aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY},
        Expect("aws_access_key_id", "literal AWS credentials"),
        Expect("aws_secret_access_key", "literal AWS credentials"),
        secrets=[ACCESS_KEY, SECRET_KEY],
    ),
    "literal-session-token-camel-case": one(
        sync(credentials={"role_arn": ROLE, "external_id": EXTERNAL_ID, "SessionToken": "x"}),
        Expect("credentials.SessionToken", "literal AWS credentials"),
        secrets=[EXTERNAL_ID],
    ),
    "access-key-pasted-into-env-field": one(
        sync(
            credentials={
                "access_key_id_env": ACCESS_KEY,
                "secret_access_key_env": "SYNC_AWS_SECRET",
            }
        ),
        Expect("credentials.access_key_id_env", "looks like an AWS access key ID"),
        secrets=[ACCESS_KEY],
    ),
    "secret-pasted-into-env-field": one(
        sync(
            credentials={
                "access_key_id_env": "SYNC_AWS_KEY_ID",
                "secret_access_key_env": SECRET_KEY,
            }
        ),
        Expect("credentials.secret_access_key_env", "looks like an AWS secret access key"),
        secrets=[SECRET_KEY],
    ),
    "access-key-in-the-profile": one(
        sync(credentials={"profile": ACCESS_KEY}),
        Expect("credentials.profile", "looks like an AWS access key ID"),
        secrets=[ACCESS_KEY],
    ),
    "access-key-as-a-column-name": one(
        sync(columns=["customer_id", ACCESS_KEY]),
        Expect("columns[1]", "looks like an AWS access key ID"),
        secrets=[ACCESS_KEY],
    ),
    "token-under-rate-limit": one(
        sync(rate_limit={"requests": 1, "per": "second", "token": SESSION_TOKEN}),
        Expect("rate_limit.token", "literal AWS credentials"),
        secrets=[SESSION_TOKEN],
    ),
    # --- names --------------------------------------------------------------------------------
    "duplicate-name-across-models": {
        "models": {MODEL: sync(), "leads": sync(function="crm-leads")},
        "expect": [
            Expect("name", "is also declared on model 'leads'"),
            Expect("name", "is also declared on model 'customers'", model="leads"),
        ],
    },
    "duplicate-name-in-one-model": one(
        [sync(), sync(primary_key="email")], Expect("name", "is declared 2 times")
    ),
    "name-with-capitals-and-dash": one(
        sync(name="CRM-Customers"), Expect("name", "lowercase", sync="CRM-Customers")
    ),
    "name-starting-with-digit": one(sync(name="1sync"), Expect("name", sync="1sync")),
    "name-too-long": one(sync(name="s" * 64), Expect("name", sync="s" * 64)),
    "name-empty": one(sync(name=""), Expect("lambda_sync.name", sync=UNNAMED)),
    # --- endpoint and region ------------------------------------------------------------------
    "endpoint-without-scheme": one(
        sync(endpoint_url="127.0.0.1:4566"), Expect("endpoint_url", "http://")
    ),
    "endpoint-ftp": one(sync(endpoint_url="ftp://127.0.0.1:4566"), Expect("endpoint_url")),
    "endpoint-with-password": one(
        sync(endpoint_url=f"http://admin:{PASSWORD}@127.0.0.1:4566"),
        Expect("endpoint_url"),
        secrets=[PASSWORD],
    ),
    "endpoint-with-query": one(
        sync(endpoint_url="http://127.0.0.1:4566/?x=1"), Expect("endpoint_url")
    ),
    "endpoint-bad-port": one(
        sync(endpoint_url="http://127.0.0.1:99999"), Expect("endpoint_url", "port")
    ),
    "region-disagrees-with-arn": one(
        sync(region="eu-west-1"), Expect("region", "the function ARN is in 'us-east-1'")
    ),
    "region-malformed": one(sync(region="us-east"), Expect("region", "an AWS region")),
    # --- several problems at once -------------------------------------------------------------
    "every-problem-of-a-definition-at-once": one(
        sync(batch_size=0, concurrency="5", initial_sync="never", region="EU"),
        Expect("batch_size"),
        Expect("concurrency"),
        Expect("initial_sync"),
        Expect("region"),
    ),
}

CASES = [Case(id=name, **spec) for name, spec in CATALOGUE.items()]


# --- the fakes --------------------------------------------------------------------------------


class Calls:
    """What the command touched beyond parsing: must stay empty for an invalid definition."""

    def __init__(self) -> None:
        self.warehouses: list[Any] = []
        self.runners: list[Any] = []


def model_ref(name: str, lambda_sync: Any) -> ModelRef:
    ref = model_of(lambda_sync, name=name, columns=("customer_id", "email"))
    return replace(ref, meta={**ref.meta, "owner": "data-team"})  # other meta keys


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def use_models(monkeypatch: pytest.MonkeyPatch, calls: Calls) -> Any:
    """Make every command see a real ``Project`` whose models are the given ``ModelRef``s."""
    refs: list[ModelRef] = []
    manifest = SimpleNamespace(nodes={})

    def load_project(args: Any) -> Project:
        return Project(args, manifest)  # what Project.load returns, minus dbt's parse

    def model_refs(seen: Any) -> list[ModelRef]:
        assert seen is manifest
        return list(refs)

    class RecordingWarehouse:
        @classmethod
        def open(cls, *args: Any, **kwargs: Any) -> Any:
            calls.warehouses.append((args, kwargs))
            raise WarehouseError("recording warehouse: not opened in these tests")

    class RecordingRunner:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            calls.runners.append((args, kwargs))
            raise AssertionError("a runner was built for an invalid definition")

    for module in (validate_module, run_module):
        monkeypatch.setattr(module, "load_project", load_project)
    monkeypatch.setattr(project_module, "model_refs", model_refs)
    monkeypatch.setattr(project_module, "Warehouse", RecordingWarehouse)
    monkeypatch.setattr(run_module, "SyncRunner", RecordingRunner)

    def use(models: Mapping[str, Any]) -> None:
        refs[:] = [model_ref(name, lambda_sync) for name, lambda_sync in models.items()]

    return use


COMMANDS = {
    "validate": ["validate"],
    "run": ["run"],
    "run-json": ["run", "--output", "json"],
    "run-dry-run": ["run", "--dry-run"],
}


def invoke(args: Sequence[str]) -> Result:
    return CliRunner().invoke(main, [*args, "--project-dir", "/nonexistent/dbt/project"])


# --- the tests --------------------------------------------------------------------------------


def test_the_catalogue_is_big_enough() -> None:
    assert len(CASES) >= 20
    assert len({case.id for case in CASES}) == len(CASES)


def test_a_valid_definition_passes_the_same_path(use_models: Any, calls: Calls) -> None:
    # The harness itself: the base definition is valid, so the commands go on to the warehouse
    # (which the recorder refuses): the catalogue's exit 2 comes from the definitions alone.
    use_models({MODEL: sync(), "leads": sync(name="crm_leads", function="crm-leads")})
    result = invoke(["validate"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "ok  crm_customers" in result.stdout and "ok  crm_leads" in result.stdout
    assert "columns not checked" in result.stderr
    result = invoke(["run"])
    assert result.exit_code == 3, (result.stdout, result.stderr)
    assert "recording warehouse" in result.stderr
    assert len(calls.warehouses) == 2 and calls.runners == []


@pytest.mark.parametrize("command", list(COMMANDS.values()), ids=list(COMMANDS))
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_invalid_definition_stops_the_command(
    case: Case, command: list[str], use_models: Any, calls: Calls
) -> None:
    use_models(case.models)
    result = invoke(command)
    output = result.stdout + result.stderr

    assert result.exit_code == 2, (output, result.exception)
    assert "Traceback" not in output
    assert "unexpected" not in output
    lines = result.stderr.splitlines()
    assert any(line.startswith("Error: ") and "invalid sync definition" in line for line in lines)
    for expect in case.expect:
        start = expect.line_start()
        matching = [line for line in lines if start in line]
        assert matching, f"no line starting {start!r} in:\n{result.stderr}"
        if expect.message:
            assert any(expect.message in line for line in matching), (expect, matching)
    for secret in case.secrets:
        assert secret not in output, f"secret printed:\n{output}"
    assert calls.warehouses == [] and calls.runners == []
    if "json" in command:
        document = json.loads(result.stdout)
        assert document["exit_code"] == 2
        assert all(e.line_start() in document["error"] for e in case.expect)


def test_all_invalid_definitions_are_reported_at_once(use_models: Any, calls: Calls) -> None:
    # Every case of the catalogue in one project (models and sync names made distinct):
    # one run of each command names every problem, not only the first.
    models: dict[str, Any] = {}
    expected: list[Expect] = []
    secrets: list[str] = []
    for i, case in enumerate(CASES):

        def rename(name: str, i: int = i) -> str:
            return f"m{i}_{name}"

        def resync(value: Any, i: int = i) -> Any:
            if isinstance(value, dict):
                return {k: (f"s{i}" if k == "name" and v == SYNC else v) for k, v in value.items()}
            if isinstance(value, list):
                return [resync(v) for v in value]
            return value

        for model, lambda_sync in case.models.items():
            models[rename(model)] = resync(lambda_sync)
        for e in case.expect:
            sync_name = f"s{i}" if e.sync == SYNC else e.sync
            message = e.message if "declared on model" not in e.message else ""
            expected.append(Expect(e.field, message, sync=sync_name, model=rename(e.model)))
        secrets += case.secrets
    use_models(models)

    for command in (["validate"], ["run"]):
        result = invoke(command)
        assert result.exit_code == 2, (result.stdout, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
        missing = [e.line_start() for e in expected if e.line_start() not in result.stderr]
        assert missing == [], result.stderr
        for secret in secrets:
            assert secret not in result.stdout + result.stderr
    assert calls.warehouses == [] and calls.runners == []


@pytest.mark.parametrize(
    "definition",
    [
        pytest.param(sync(initial_sync=SECRET_KEY), id="initial_sync"),
        pytest.param(sync(triggers=[SECRET_KEY]), id="triggers"),
        pytest.param(sync(retries={"mode": SECRET_KEY}), id="retries.mode"),
    ],
)
def test_a_pasted_secret_key_is_never_echoed(definition: Any, use_models: Any) -> None:
    use_models({MODEL: definition})
    result = invoke(["validate"])
    assert result.exit_code == 2
    assert SECRET_KEY not in result.stdout + result.stderr
