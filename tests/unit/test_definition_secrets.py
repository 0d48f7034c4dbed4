"""definition_secrets: pasted credentials found by key name or by shape, and the credentials
mapping explained by the keys given. (How the parser reports them is in test_definitions.py.)
"""

from __future__ import annotations

import pytest

from dbt_lambda_sync.definition_secrets import (
    CREDENTIAL_CHOICES,
    LITERAL_CREDENTIALS_MESSAGE,
    SecretFound,
    credentials_issues,
    find_secrets,
    looks_like_access_key,
    looks_like_secret_key,
)

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ACCESS_KEY, True),
        ("ASIAIOSFODNN7EXAMPLE", True),
        (f"prefix-{ACCESS_KEY}-suffix", True),
        ("AKIAshort", False),
        ("akiaiosfodnn7example", False),
        ("crm-upsert", False),
    ],
)
def test_looks_like_access_key(value: str, expected: bool) -> None:
    assert looks_like_access_key(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SECRET_KEY, True),
        ("a" * 40, False),  # one case, no digit
        ("0123456789abcdef0123456789abcdef01234567", False),  # a hex SHA-1: no upper case
        (SECRET_KEY[:-1], False),  # 39 characters
        (SECRET_KEY + "A", False),  # 41 characters
    ],
)
def test_looks_like_secret_key(value: str, expected: bool) -> None:
    assert looks_like_secret_key(value) is expected


@pytest.mark.parametrize(
    "key", ["aws_secret_access_key", "AwsSecretAccessKey", "secret-key", "password", "token"]
)
def test_secret_key_names_are_found_whatever_their_case(key: str) -> None:
    found = list(find_secrets({"credentials": {key: "x"}}))
    assert found == [SecretFound(("credentials", key), LITERAL_CREDENTIALS_MESSAGE)]


def test_an_access_key_value_is_found_anywhere_with_its_path() -> None:
    data = {"name": "crm", "columns": ["id", ACCESS_KEY]}
    (found,) = find_secrets(data)
    assert found.path == ("columns", 1)
    assert found.message.startswith("looks like an AWS access key ID; ")
    assert ACCESS_KEY not in found.message
    assert found.hidden_key is None


def test_a_key_that_is_an_access_key_is_hidden_not_named() -> None:
    (found,) = find_secrets({"credentials": {ACCESS_KEY: SECRET_KEY}})
    assert found.path == ("credentials",)
    assert found.hidden_key == ACCESS_KEY
    assert ACCESS_KEY not in found.message


def test_a_secret_shaped_value_counts_only_under_credentials() -> None:
    assert list(find_secrets({"function": SECRET_KEY})) == []
    (found,) = find_secrets({"credentials": {"external_id": SECRET_KEY}})
    assert found.path == ("credentials", "external_id")
    assert found.message.startswith("looks like an AWS secret access key; ")


def test_clean_definition_has_no_secrets() -> None:
    data = {"name": "crm", "credentials": {"access_key_id_env": "CRM_KEY", "profile": "p"}}
    assert list(find_secrets(data)) == []


def test_no_credentials_source_names_every_choice() -> None:
    assert credentials_issues({}) == [
        (
            ("credentials",),
            f"must give {CREDENTIAL_CHOICES} (omit credentials for the AWS default "
            "credential chain)",
        )
    ]
    assert credentials_issues("not a mapping") == credentials_issues({})


def test_mixed_sources_name_the_keys_given() -> None:
    ((path, message),) = credentials_issues({"profile": "p", "role_arn": "arn", "x": 1})
    assert path == ("credentials",)
    assert message == f"mixes role_arn and profile; give only one of: {CREDENTIAL_CHOICES}"


def test_half_a_key_pair_names_the_missing_half() -> None:
    assert credentials_issues({"secret_access_key_env": "S"}) == [
        (("credentials", "access_key_id_env"), "is required with secret_access_key_env")
    ]


def test_external_id_alone_asks_for_a_role() -> None:
    assert credentials_issues({"external_id": "e"}) == [
        (("credentials", "role_arn"), "is required with external_id")
    ]


def test_a_complete_group_is_still_explained() -> None:
    # credentials_issues explains a failed oneOf: a complete group means another key was wrong
    assert credentials_issues({"profile": "p"}) == [
        (("credentials",), f"must give exactly one of: {CREDENTIAL_CHOICES}")
    ]
