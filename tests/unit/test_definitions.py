"""Sync definitions: schema, validation messages, secrets, defaults, selection (no dbt, no AWS)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from dbt_lambda_sync import arns
from dbt_lambda_sync.definition_schema import sync_definition_schema
from dbt_lambda_sync.definition_secrets import LITERAL_CREDENTIALS_MESSAGE
from dbt_lambda_sync.definitions import (
    CredentialsConfig,
    ModelRef,
    RateLimit,
    RetryConfig,
    SyncDefinition,
    check_columns,
    load_definitions,
    parse_model_syncs,
    resolve_column,
    select_definitions,
)
from dbt_lambda_sync.errors import DefinitionError, Problem, UsageError

ARN = "arn:aws:lambda:us-east-1:123456789012:function:crm-upsert"
ROLE = "arn:aws:iam::123456789012:role/lambda-sync"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SECRET_KEY_NO_SLASH = "wJalrXUtnFEMI1K7MDENGxbPxRfiCYEXAMPLEKEY"
EXTERNAL_ID = "6f1c2e-very-private-external-id"
DROP = object()


def model(meta_value: Any = DROP, *, name: str = "customers", columns: tuple[str, ...] = ()):
    meta = {} if meta_value is DROP else {"lambda_sync": meta_value}
    return ModelRef(
        unique_id=f"model.shop.{name}",
        name=name,
        database="db",
        schema="main",
        identifier=name,
        package_name="shop",
        meta=meta,
        columns=columns,
    )


def sync(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "crm_customers",
        "function": ARN,
        "primary_key": "customer_id",
        "triggers": ["added", "changed"],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


def problems_for(definition: Any, **model_kw: Any) -> list[Problem]:
    definitions, problems = parse_model_syncs(model(definition, **model_kw))
    assert not (definitions and problems) or isinstance(definition, list)
    return problems


# --- invalid definitions -------------------------------------------------------------------------

# (id, definition, [(field, fragment of the message), ...]) -- exactly these problems, in any order.
INVALID = [
    ("missing-name", sync(name=DROP), [("lambda_sync.name", "is required")]),
    ("missing-function", sync(function=DROP), [("function", "is required")]),
    ("missing-primary-key", sync(primary_key=DROP), [("primary_key", "is required")]),
    (
        "missing-triggers",
        sync(triggers=DROP),
        [("triggers", "is required; expected a list of one or more of added, changed, removed")],
    ),
    (
        "misspelled-key",
        sync(batch_sise=10),
        [("batch_sise", "unknown key; did you mean 'batch_size'?")],
    ),
    (
        "misspelled-primary-key",
        sync(**{"primary-key": "x"}),
        [
            ("primary-key", "did you mean 'primary_key'?"),
        ],
    ),
    ("unknown-key", sync(flavour="blue"), [("flavour", "unknown key; a sync definition takes:")]),
    (
        "nested-key-at-top",
        sync(external_id="abc123"),
        [("external_id", "belongs under credentials")],
    ),
    ("bad-name", sync(name="CRM Customers"), [("name", "must be a name that starts with")]),
    ("name-too-long", sync(name="a" * 64), [("name", "at most 63 characters")]),
    ("name-not-string", sync(name=12), [("lambda_sync.name", "not an integer")]),
    (
        "bad-trigger",
        sync(triggers=["added", "updated"]),
        [("triggers[1]", "must be one of added, changed, removed (got 'updated')")],
    ),
    ("empty-triggers", sync(triggers=[]), [("triggers", "must not be empty")]),
    ("triggers-string", sync(triggers="added"), [("triggers", "not a string")]),
    (
        "duplicate-trigger",
        sync(triggers=["added", "added"]),
        [("triggers", "lists 'added' more than once")],
    ),
    (
        "initial-sync-enum",
        sync(initial_sync="full"),
        [("initial_sync", "must be one of backfill, skip")],
    ),
    (
        "batch-size-zero",
        sync(batch_size=0),
        [("batch_size", "must be an integer between 1 and 1000 (got 0)")],
    ),
    (
        "batch-size-too-big",
        sync(batch_size=1001),
        [("batch_size", "must be an integer between 1 and 1000 (got 1001)")],
    ),
    (
        "batch-size-string",
        sync(batch_size="10"),
        [("batch_size", "must be an integer between 1 and 1000, not a string")],
    ),
    ("batch-size-bool", sync(batch_size=True), [("batch_size", "not true/false")]),
    ("batch-size-fraction", sync(batch_size=2.5), [("batch_size", "fraction")]),
    ("concurrency-range", sync(concurrency=0), [("concurrency", "between 1 and 1000")]),
    ("timeout-range", sync(timeout_seconds=901), [("timeout_seconds", "between 1 and 900")]),
    (
        "rate-limit-bad",
        sync(rate_limit={"requests": 0, "per": "minutes"}),
        [
            ("rate_limit.requests", "must be an integer of at least 1 (got 0)"),
            (
                "rate_limit.per",
                "must be one of second, minute, hour (got 'minutes'); did you mean 'minute'?",
            ),
        ],
    ),
    (
        "rate-limit-missing-per",
        sync(rate_limit={"requests": 5}),
        [
            ("rate_limit.per", "is required; expected one of second, minute, hour"),
        ],
    ),
    ("rate-limit-number", sync(rate_limit=100), [("rate_limit", "must be a mapping")]),
    (
        "retries-bad",
        sync(retries={"mode": "later", "attempts": 11, "backoff": 2}),
        [
            ("retries.mode", "must be one of immediate, next_run"),
            ("retries.attempts", "between 0 and 10 (got 11)"),
            ("retries.backoff", "unknown key"),
        ],
    ),
    (
        "include-previous-string",
        sync(include_previous="yes"),
        [
            ("include_previous", "must be true or false, not a string"),
        ],
    ),
    ("columns-empty", sync(columns=[]), [("columns", "must not be empty")]),
    ("columns-item-type", sync(columns=["email", 3]), [("columns[1]", "a column name")]),
    ("columns-duplicate", sync(columns=["email", "email"]), [("columns", "'email' more than")]),
    (
        "columns-case-duplicate",
        sync(columns=["email", "EMAIL"]),
        [
            ("columns", "compared case-insensitively"),
        ],
    ),
    ("primary-key-number", sync(primary_key=7), [("primary_key", "put it in quotes in YAML")]),
    (
        "function-bad-account",
        sync(function="arn:aws:lambda:us-east-1:1234:function:f"),
        [
            ("function", "12 digits"),
        ],
    ),
    (
        "function-layer-arn",
        sync(function="arn:aws:lambda:us-east-1:123456789012:layer:f"),
        [
            ("function", "not a Lambda function ARN"),
        ],
    ),
    ("function-bad-name", sync(function="crm upsert"), [("function", "spaces")]),
    ("function-empty", sync(function=""), [("function", "must not be empty")]),
    ("function-too-long-name", sync(function="f" * 65), [("function", "longer than 64")]),
    ("function-bad-qualifier", sync(function=ARN + ":v1.0"), [("function", "qualifier")]),
    ("region-bad", sync(region="us-east"), [("region", "must be an AWS region")]),
    (
        "region-disagrees",
        sync(region="eu-west-1"),
        [("region", "is 'eu-west-1' but the function ARN is in 'us-east-1'")],
    ),
    ("endpoint-scheme", sync(endpoint_url="ftp://localhost:21"), [("endpoint_url", "http://")]),
    ("endpoint-port", sync(endpoint_url="http://localhost:99999"), [("endpoint_url", "port")]),
    (
        "endpoint-userinfo",
        sync(endpoint_url="http://user:hunter22@localhost:4566"),
        [("endpoint_url", "user name or password")],
    ),
    (
        "endpoint-query",
        sync(endpoint_url="http://localhost:4566/?token=abc"),
        [("endpoint_url", "query string")],
    ),
    (
        "role-without-external-id",
        sync(credentials={"role_arn": ROLE}),
        [("credentials.external_id", "is required with role_arn")],
    ),
    (
        "external-id-without-role",
        sync(credentials={"external_id": EXTERNAL_ID}),
        [("credentials.role_arn", "is required with external_id")],
    ),
    (
        "bad-role-arn",
        sync(
            credentials={
                "role_arn": "arn:aws:iam::123456789012:user/bob",
                "external_id": EXTERNAL_ID,
            }
        ),
        [("credentials.role_arn", "not a role ARN")],
    ),
    (
        "bad-external-id",
        sync(credentials={"role_arn": ROLE, "external_id": "x"}),
        [("credentials.external_id", "2 to 1224 characters")],
    ),
    (
        "mixed-credentials",
        sync(credentials={"profile": "prod", "role_arn": ROLE, "external_id": EXTERNAL_ID}),
        [("credentials", "mixes role_arn/external_id and profile")],
    ),
    ("empty-credentials", sync(credentials={}), [("credentials", "must give role_arn")]),
    ("credentials-string", sync(credentials="prod"), [("credentials", "must be a mapping")]),
    (
        "env-half",
        sync(credentials={"access_key_id_env": "SYNC_KEY"}),
        [("credentials.secret_access_key_env", "is required with access_key_id_env")],
    ),
    (
        "env-bad-name",
        sync(credentials={"access_key_id_env": "1KEY", "secret_access_key_env": "MY-SECRET"}),
        [
            ("credentials.access_key_id_env", "name of an environment variable"),
            ("credentials.secret_access_key_env", "name of an environment variable"),
        ],
    ),
    (
        "credentials-unknown-key",
        sync(credentials={"profile": "prod", "profle": "x"}),
        [("credentials.profle", "did you mean 'profile'?")],
    ),
    (
        "several-at-once",
        sync(name=DROP, function=DROP, batch_size=0, triggers=["nope"]),
        [
            ("lambda_sync.name", "is required"),
            ("lambda_sync.function", "is required"),
            ("lambda_sync.batch_size", "between 1 and 1000"),
            ("lambda_sync.triggers[0]", "must be one of"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("definition", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_definition(definition: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    problems = problems_for(definition)
    got = [(p.field, p.message) for p in problems]
    assert len(problems) == len(expected), got
    for field, fragment in expected:
        assert any(f == field and fragment in m for f, m in got), (field, fragment, got)
    for p in problems:
        assert p.model == "customers"
        name = definition.get("name")
        assert p.sync == (name if isinstance(name, str) else None)
        assert "hunter22" not in p.message


def test_invalid_cases_are_many() -> None:
    assert len(INVALID) >= 25


# --- secrets ----------------------------------------------------------------------------------


SECRET_CASES = [
    (
        "literal-keys",
        sync(credentials={"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY}),
        ["credentials.aws_access_key_id", "credentials.aws_secret_access_key"],
    ),
    ("top-level-password", sync(password="hunter2hunter2"), ["password"]),
    (
        "camel-case-key",
        sync(credentials={"SecretAccessKey": SECRET_KEY, "profile": "p"}),
        ["credentials.SecretAccessKey"],
    ),
    (
        "session-token",
        sync(credentials={"profile": "p", "session_token": "FwoGZXIvYXdzEJr"}),
        ["credentials.session_token"],
    ),
    ("nested-token", sync(retries={"token": "abcdef123456"}), ["retries.token"]),
    (
        "key-in-env-field",
        sync(
            credentials={
                "access_key_id_env": ACCESS_KEY,
                "secret_access_key_env": SECRET_KEY_NO_SLASH,
            }
        ),
        ["credentials.access_key_id_env", "credentials.secret_access_key_env"],
    ),
    ("key-as-profile", sync(credentials={"profile": ACCESS_KEY}), ["credentials.profile"]),
    (
        "secret-as-external-id",
        sync(credentials={"role_arn": ROLE, "external_id": SECRET_KEY_NO_SLASH}),
        ["credentials.external_id"],
    ),
    ("key-in-columns", sync(columns=["customer_id", ACCESS_KEY]), ["columns[1]"]),
    ("key-as-function", sync(function=ACCESS_KEY), ["function"]),
    ("key-as-name", sync(name=ACCESS_KEY), ["lambda_sync.name"]),
    ("key-as-key", sync(**{ACCESS_KEY: SECRET_KEY}), [""]),
]


@pytest.mark.parametrize(
    ("definition", "fields"), [c[1:] for c in SECRET_CASES], ids=[c[0] for c in SECRET_CASES]
)
def test_literal_secrets_are_refused_and_never_echoed(
    definition: dict[str, Any], fields: list[str]
) -> None:
    meta = model(definition)
    definitions, problems = parse_model_syncs(meta)
    assert definitions == []
    secret_fields = [p.field for p in problems if LITERAL_CREDENTIALS_MESSAGE in p.message]
    for field in fields:
        assert field in secret_fields or (field == "" and "lambda_sync" in secret_fields)
    with pytest.raises(DefinitionError) as info:
        load_definitions([meta])
    text = str(info.value) + repr(info.value.problems)
    for secret in (
        ACCESS_KEY,
        SECRET_KEY,
        SECRET_KEY_NO_SLASH,
        "hunter2",
        "FwoGZXIvYXdzEJr",
        "abcdef123456",
        EXTERNAL_ID,
    ):
        assert secret not in text


def test_no_duplicate_noise_for_literal_credentials() -> None:
    problems = problems_for(
        sync(credentials={"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY})
    )
    # No "unknown key" and no "must give one of" on top of the literal-credentials message.
    assert [p.field for p in problems] == [
        "credentials.aws_access_key_id",
        "credentials.aws_secret_access_key",
    ]


def test_hex_external_id_is_not_mistaken_for_a_secret() -> None:
    definitions, problems = parse_model_syncs(
        model(sync(credentials={"role_arn": ROLE, "external_id": "a3f" * 13 + "b"}))
    )
    assert problems == [] and len(definitions) == 1


def test_credential_values_are_never_echoed_in_format_errors() -> None:
    problems = problems_for(
        sync(
            credentials={
                "role_arn": "arn:aws:iam::123456789012:role/bad name",
                "external_id": "bad value!",
            }
        )
    )
    assert {p.field for p in problems} == {"credentials.role_arn", "credentials.external_id"}
    text = " ".join(str(p) for p in problems)
    assert "bad name" not in text and "bad value" not in text


def test_external_id_is_masked_in_repr_and_to_dict() -> None:
    definitions, _ = parse_model_syncs(
        model(sync(credentials={"role_arn": ROLE, "external_id": EXTERNAL_ID}))
    )
    (definition,) = definitions
    assert definition.credentials == CredentialsConfig(role_arn=ROLE, external_id=EXTERNAL_ID)
    assert EXTERNAL_ID not in repr(definition)  # the model's meta is not in repr either
    assert EXTERNAL_ID not in json.dumps(definition.to_dict())
    assert definition.to_dict()["credentials"] == {"role_arn": ROLE, "external_id": "***"}
    assert "external_id='***'" in repr(definition.credentials)


# --- lists, several models, duplicates -----------------------------------------------------------


def test_list_with_several_bad_syncs_reports_all() -> None:
    definitions, problems = parse_model_syncs(
        model(
            [
                sync(name="first", batch_size=0),
                "not a mapping",
                sync(name=DROP, function="bad fn"),
                sync(name="fourth", triggers=["removed", "gone"]),
                sync(name="fine"),
            ]
        )
    )
    assert [d.name for d in definitions] == ["fine"]
    assert {(p.sync, p.field) for p in problems} == {
        ("first", "batch_size"),
        (None, "lambda_sync[1]"),
        (None, "lambda_sync[2].name"),
        (None, "lambda_sync[2].function"),
        ("fourth", "triggers[1]"),
    }


def test_duplicate_sync_names_in_one_model() -> None:
    definitions, problems = parse_model_syncs(model([sync(), sync(function="other")]))
    assert definitions == []
    assert [(p.sync, p.field) for p in problems] == [("crm_customers", "name")]
    assert "declared 2 times" in problems[0].message


def test_duplicate_sync_names_across_models_name_both_models() -> None:
    with pytest.raises(DefinitionError) as info:
        load_definitions([model(sync(), name="customers"), model(sync(), name="accounts")])
    problems = info.value.problems
    assert {(p.model, p.sync, p.field) for p in problems} == {
        ("customers", "crm_customers", "name"),
        ("accounts", "crm_customers", "name"),
    }
    text = str(info.value)
    assert "'accounts'" in text and "'customers'" in text and "unique in the project" in text
    assert info.value.exit_code == 2


def test_duplicate_invalid_sync_names_are_still_reported() -> None:
    with pytest.raises(DefinitionError) as info:
        load_definitions([model(sync(batch_size=0), name="a"), model(sync(triggers=[]), name="b")])
    fields = sorted((p.model, p.field) for p in info.value.problems)
    assert fields == [("a", "batch_size"), ("a", "name"), ("b", "name"), ("b", "triggers")]


def test_load_definitions_collects_every_model() -> None:
    with pytest.raises(DefinitionError) as info:
        load_definitions(
            [
                model(sync(name="one", concurrency=0), name="a"),
                model(name="no_syncs"),
                model(sync(name="two", initial_sync="later"), name="b"),
                model(sync(name="three"), name="c"),
            ]
        )
    assert [(p.model, p.field) for p in info.value.problems] == [
        ("a", "concurrency"),
        ("b", "initial_sync"),
    ]


def test_meta_not_a_mapping_or_list() -> None:
    problems = problems_for("crm_customers")
    assert [(p.sync, p.field) for p in problems] == [(None, "lambda_sync")]
    assert "mapping" in problems[0].message


@pytest.mark.parametrize("value", [DROP, None, []])
def test_no_syncs(value: Any) -> None:
    assert parse_model_syncs(model(value)) == ([], [])


def test_problem_str_names_model_sync_and_field() -> None:
    (problem,) = problems_for(sync(batch_size=0))
    assert str(problem) == (
        "model 'customers', sync 'crm_customers', field 'batch_size': "
        "must be an integer between 1 and 1000 (got 0)"
    )


# --- valid definitions ---------------------------------------------------------------------------


def test_defaults() -> None:
    definitions, problems = parse_model_syncs(model(sync()))
    assert problems == []
    (d,) = definitions
    assert d == SyncDefinition(
        name="crm_customers",
        model=model(sync()),
        function=arns.FunctionRef(ARN, "crm-upsert", None, "us-east-1", "123456789012"),
        primary_key="customer_id",
        triggers=frozenset({"added", "changed"}),
        initial_sync="backfill",
        columns=None,
        region="us-east-1",  # from the ARN
    )
    assert (d.batch_size, d.concurrency, d.timeout_seconds) == (1, 5, 900)
    assert d.retries == RetryConfig("immediate", 3)
    assert d.rate_limit is None and d.credentials is None and d.endpoint_url is None
    assert d.include_previous is False
    assert d.region == "us-east-1"  # from the ARN
    hash(d)  # usable as a dict key


def test_schema_defaults_match_dataclass_defaults() -> None:
    props = sync_definition_schema()["properties"]
    fields = {f.name: f for f in dataclasses.fields(SyncDefinition)}
    for key in ("batch_size", "concurrency", "include_previous", "timeout_seconds"):
        # the dataclass reads its default from the schema (a factory), not from a second literal
        assert fields[key].default is dataclasses.MISSING
        assert props[key]["default"] == fields[key].default_factory()  # type: ignore[misc]
    assert props["initial_sync"]["default"] == "backfill"
    assert props["retries"]["default"] == dataclasses.asdict(RetryConfig())
    assert props["retries"]["properties"]["mode"]["default"] == RetryConfig().mode
    assert props["retries"]["properties"]["attempts"]["default"] == RetryConfig().attempts


def test_every_option() -> None:
    definition = sync(
        function="123456789012:function:crm-upsert:7",
        triggers=["removed", "added", "changed"],
        initial_sync="skip",
        columns=["email", "first_name"],
        batch_size=100,
        concurrency=10,
        rate_limit={"requests": 100, "per": "minute"},
        retries={"mode": "next_run"},
        include_previous=True,
        region="eu-west-1",
        endpoint_url="http://127.0.0.1:4566",
        timeout_seconds=30,
        credentials={
            "access_key_id_env": "SYNC_AWS_KEY_ID",
            "secret_access_key_env": "SYNC_AWS_SECRET",
        },
    )
    definitions, problems = parse_model_syncs(model(definition))
    assert problems == []
    (d,) = definitions
    assert d.function.qualifier == "7" and d.function.account == "123456789012"
    assert d.function.region is None and d.region == "eu-west-1"
    assert d.columns == ("customer_id", "email", "first_name")  # primary key added in front
    assert d.triggers == frozenset({"added", "changed", "removed"})
    assert d.rate_limit == RateLimit(100, "minute") and d.rate_limit.period_seconds == 60.0
    assert d.retries == RetryConfig("next_run", 3)
    assert d.credentials is not None and d.credentials.source == "env"
    out = d.to_dict()
    assert json.loads(json.dumps(out)) == out
    assert out["triggers"] == ["added", "changed", "removed"]
    assert out["columns"] == ["customer_id", "email", "first_name"]
    assert out["credentials"] == {
        "access_key_id_env": "SYNC_AWS_KEY_ID",
        "secret_access_key_env": "SYNC_AWS_SECRET",
    }


@pytest.mark.parametrize(
    ("function", "name", "qualifier", "region"),
    [
        ("crm-upsert", "crm-upsert", None, None),
        ("crm-upsert:prod", "crm-upsert", "prod", None),
        ("123456789012:function:crm-upsert", "crm-upsert", None, None),
        (ARN + ":prod", "crm-upsert", "prod", "us-east-1"),
        (ARN + ":$LATEST", "crm-upsert", "$LATEST", "us-east-1"),
        ("arn:aws-cn:lambda:cn-north-1:123456789012:function:f:3", "f", "3", "cn-north-1"),
    ],
)
def test_function_forms(function: str, name: str, qualifier: str | None, region: str | None):
    (d,), problems = parse_model_syncs(model(sync(function=function)))
    assert problems == []
    assert d.function.name == function  # passed to Invoke as given
    assert (d.function.function_name, d.function.qualifier, d.region) == (name, qualifier, region)


def test_mapping_and_list_forms() -> None:
    single, _ = parse_model_syncs(model(sync()))
    listed, _ = parse_model_syncs(model([sync(), sync(name="crm_removed", triggers=["removed"])]))
    assert [d.name for d in single] == ["crm_customers"]
    assert [d.name for d in listed] == ["crm_customers", "crm_removed"]


def test_columns_keep_primary_key_position_when_listed() -> None:
    (d,), _ = parse_model_syncs(model(sync(columns=["email", "Customer_ID"])))
    assert d.columns == ("email", "Customer_ID")


@pytest.mark.parametrize(
    "credentials",
    [
        {"role_arn": ROLE, "external_id": EXTERNAL_ID},
        {"profile": "my-aws-profile"},
        {"access_key_id_env": "SYNC_AWS_KEY_ID", "secret_access_key_env": "_SECRET"},
    ],
)
def test_credentials_forms(credentials: dict[str, str]) -> None:
    (d,), problems = parse_model_syncs(model(sync(credentials=credentials)))
    assert problems == []
    assert d.credentials == CredentialsConfig(**credentials)


def test_region_agreeing_with_arn_is_fine() -> None:
    (d,), problems = parse_model_syncs(model(sync(region="us-east-1")))
    assert problems == [] and d.region == "us-east-1"


def test_load_definitions_sorted_by_name() -> None:
    defs = load_definitions(
        [
            model([sync(name="zeta"), sync(name="alpha")], name="a"),
            model(sync(name="mid"), name="b"),
            model(name="plain"),
        ]
    )
    assert [d.name for d in defs] == ["alpha", "mid", "zeta"]


# --- check_columns -------------------------------------------------------------------------------


def _one(**changes: Any) -> SyncDefinition:
    (d,), problems = parse_model_syncs(model(sync(**changes)))
    assert problems == []
    return d


def test_check_columns_case_insensitive() -> None:
    d = _one(columns=["email"])
    assert check_columns(d, ["CUSTOMER_ID", "EMAIL", "NAME"]) == []
    assert resolve_column("email", ["CUSTOMER_ID", "EMAIL"]) == "EMAIL"


def test_check_columns_reports_every_missing_column_with_available_ones() -> None:
    d = _one(columns=["email", "phone"])
    problems = check_columns(d, ["id", "email"])
    assert [(p.field, p.sync, p.model) for p in problems] == [
        ("primary_key", "crm_customers", "customers"),
        ("columns", "crm_customers", "customers"),
    ]
    assert "'customer_id' is not a column of db.main.customers" in problems[0].message
    assert "available columns: id, email" in problems[0].message
    assert "'phone'" in problems[1].message


def test_check_columns_ambiguous_case() -> None:
    d = _one()
    (problem,) = check_columns(d, ["Customer_Id", "CUSTOMER_ID"])
    assert "differ only in case" in problem.message
    assert resolve_column("customer_id", ["Customer_Id", "CUSTOMER_ID"]) is None
    assert resolve_column("CUSTOMER_ID", ["Customer_Id", "CUSTOMER_ID"]) == "CUSTOMER_ID"


# --- select_definitions --------------------------------------------------------------------------


def _defs() -> list[SyncDefinition]:
    return load_definitions(
        [
            model([sync(name="crm_customers"), sync(name="crm_removed")], name="customers"),
            model(sync(name="billing"), name="accounts"),
        ]
    )


def test_select_all_without_selectors() -> None:
    assert [d.name for d in select_definitions(_defs(), [])] == [
        "billing",
        "crm_customers",
        "crm_removed",
    ]


def test_select_by_sync_or_model_name() -> None:
    assert [d.name for d in select_definitions(_defs(), ["billing"])] == ["billing"]
    assert [d.name for d in select_definitions(_defs(), ["customers"])] == [
        "crm_customers",
        "crm_removed",
    ]
    assert [d.name for d in select_definitions(_defs(), ["crm_removed", "accounts"])] == [
        "billing",
        "crm_removed",
    ]


def test_select_unknown_names_every_unknown_and_lists_known_syncs() -> None:
    with pytest.raises(UsageError) as info:
        select_definitions(_defs(), ["billng", "nothing_like_it", "billing"])
    message = str(info.value)
    assert "'billng' (did you mean 'billing'?)" in message
    assert "'nothing_like_it'" in message
    assert "known syncs: billing, crm_customers, crm_removed" in message
    assert info.value.exit_code == 2


# --- the one lenient reader -----------------------------------------------------------------------


def test_declared_entries_reads_every_shape_without_judging() -> None:
    from dbt_lambda_sync.definitions import declared_entries, named_entries

    one = {"name": "crm"}
    assert declared_entries({}) == []
    assert declared_entries(None) == []
    assert declared_entries({"lambda_sync": None}) == []
    assert declared_entries({"lambda_sync": []}) == []
    assert declared_entries({"lambda_sync": one}) == [("lambda_sync", one)]
    assert declared_entries({"lambda_sync": [one, 7]}) == [
        ("lambda_sync[0]", one),
        ("lambda_sync[1]", 7),
    ]
    assert declared_entries({"lambda_sync": "crm"}) == [("lambda_sync", "crm")]
    meta = {"lambda_sync": [one, {"name": 7}, {"function": "f"}, "x", {"name": "erp"}]}
    assert named_entries(meta) == [one, {"name": "erp"}]
