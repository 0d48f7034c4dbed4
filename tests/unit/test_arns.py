"""Function names and ARNs, role ARNs, external IDs and regions (pure, no AWS calls)."""

from __future__ import annotations

import re

import pytest

from dbt_lambda_sync.arns import (
    FUNCTION_PATTERN,
    ROLE_ARN_PATTERN,
    FunctionRef,
    check_external_id,
    check_region,
    check_role_arn,
    parse_function,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:crm-upsert"

VALID_FUNCTIONS = [
    ("crm-upsert", FunctionRef("crm-upsert", "crm-upsert")),
    ("crm_upsert_2", FunctionRef("crm_upsert_2", "crm_upsert_2")),
    ("crm-upsert:prod", FunctionRef("crm-upsert:prod", "crm-upsert", "prod")),
    ("crm-upsert:7", FunctionRef("crm-upsert:7", "crm-upsert", "7")),
    ("crm-upsert:$LATEST", FunctionRef("crm-upsert:$LATEST", "crm-upsert", "$LATEST")),
    (
        "123456789012:function:crm-upsert",
        FunctionRef("123456789012:function:crm-upsert", "crm-upsert", account="123456789012"),
    ),
    (
        "123456789012:function:crm-upsert:live",
        FunctionRef(
            "123456789012:function:crm-upsert:live", "crm-upsert", "live", None, "123456789012"
        ),
    ),
    (ARN, FunctionRef(ARN, "crm-upsert", None, "us-east-1", "123456789012")),
    (ARN + ":prod", FunctionRef(ARN + ":prod", "crm-upsert", "prod", "us-east-1", "123456789012")),
    (ARN + ":12", FunctionRef(ARN + ":12", "crm-upsert", "12", "us-east-1", "123456789012")),
    (
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:f",
        FunctionRef(
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:f",
            "f",
            None,
            "cn-north-1",
            "123456789012",
        ),
    ),
    (
        "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:$LATEST",
        FunctionRef(
            "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:$LATEST",
            "f",
            "$LATEST",
            "us-gov-west-1",
            "123456789012",
        ),
    ),
    ("f" * 64, FunctionRef("f" * 64, "f" * 64)),
]

INVALID_FUNCTIONS = [
    ("", "must not be empty"),
    (" crm", "must not contain spaces"),
    ("crm upsert", "must not contain spaces"),
    ("crm.upsert", "invalid function name"),
    ("crm/upsert", "invalid function name"),
    ("f" * 65, "longer than 64"),
    ("crm:", "no version or alias"),
    ("crm:pr.od", "invalid qualifier"),
    ("crm:a:b", "too many ':'"),
    ("12345678901:function:crm", "12 digits"),
    ("abc:function:crm", "12 digits"),
    ("123456789012:function:", "empty function name"),
    ("123456789012:function:a:b:c", "partial ARN"),
    ("arn:aws:lambda:us-east-1:123456789012:layer:crm", "not a Lambda function ARN"),
    ("arn:aws:s3:us-east-1:123456789012:function:crm", "another service"),
    ("arn:gcp:lambda:us-east-1:123456789012:function:crm", "partition"),
    ("arn:aws:lambda:useast1:123456789012:function:crm", "region"),
    ("arn:aws:lambda::123456789012:function:crm", "region"),
    ("arn:aws:lambda:us-east-1:1234:function:crm", "12 digits"),
    ("arn:aws:lambda:us-east-1:123456789012:function", "not a Lambda function ARN"),
    ("arn:aws:lambda:us-east-1:123456789012:function:crm:prod:x", "not a Lambda function ARN"),
    (ARN + ":" + "a" * 129, "at most 170"),
    ("arn:aws:lambda:us-east-1:123456789012:function:" + "f" * 65, "longer than 64"),
    ("crm:" + "q" * 129, "longer than 128"),
    ("crm\n", "spaces"),
    ("١٢٣٤٥٦٧٨٩٠١٢:function:crm", "12 digits"),  # Unicode digits are not AWS digits
]


@pytest.mark.parametrize(("value", "expected"), VALID_FUNCTIONS, ids=lambda v: str(v)[:40])
def test_parse_function_valid(value: str, expected: FunctionRef) -> None:
    assert parse_function(value) == expected
    assert re.search(FUNCTION_PATTERN, value)


@pytest.mark.parametrize(("value", "fragment"), INVALID_FUNCTIONS)
def test_parse_function_invalid(value: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_function(value)
    message = str(info.value)
    assert fragment in message
    assert "crm" not in message  # the caller names the field; the value is never echoed


@pytest.mark.parametrize("value", [None, 12, ["crm"]])
def test_parse_function_rejects_non_strings(value: object) -> None:
    with pytest.raises(ValueError, match="must be a string"):
        parse_function(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", [v for v, _ in VALID_FUNCTIONS] + [v for v, _ in INVALID_FUNCTIONS]
)
def test_schema_pattern_agrees_with_parser(value: str) -> None:
    """The JSON Schema's pattern and the parser accept the same strings (up to 170 chars)."""
    try:
        parse_function(value)
        parsed = True
    except ValueError:
        parsed = False
    by_pattern = len(value) <= 170 and re.fullmatch(FUNCTION_PATTERN, value) is not None
    assert parsed == by_pattern


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:iam::123456789012:role/lambda-sync",
        "arn:aws:iam::123456789012:role/service-role/team/lambda_sync+x=y,z.w@q-1",
        "arn:aws-cn:iam::123456789012:role/r",
        "arn:aws-us-gov:iam::123456789012:role/r",
    ],
)
def test_role_arn_valid(value: str) -> None:
    assert check_role_arn(value) is None
    assert re.fullmatch(ROLE_ARN_PATTERN, value)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("lambda-sync", "not an ARN"),
        ("arn:aws:iam::123456789012:user/bob", "not a role ARN"),
        ("arn:aws:sts::123456789012:role/r", "not an IAM ARN"),
        ("arn:aws:iam:us-east-1:123456789012:role/r", "must not name a region"),
        ("arn:aws:iam::12345678901:role/r", "12 digits"),
        ("arn:aws:iam::123456789012:role/", "no role name"),
        ("arn:aws:iam::123456789012:role/" + "r" * 65, "longer than 64"),
        ("arn:aws:iam::123456789012:role//r", "invalid role name or path"),
        ("arn:aws:iam::123456789012:role/has space", "invalid role name or path"),
        ("arn:xyz:iam::123456789012:role/r", "partition"),
        (123, "must be a string"),
    ],
)
def test_role_arn_invalid(value: object, fragment: str) -> None:
    message = check_role_arn(value)
    assert message is not None and fragment in message
    if isinstance(value, str):
        assert re.fullmatch(ROLE_ARN_PATTERN, value) is None


@pytest.mark.parametrize("value", ["ab", "6f1c2e-4b7a", "a" * 1224, "x_y+z=1,2.3@4:5/6-7"])
def test_external_id_valid(value: str) -> None:
    assert check_external_id(value) is None


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("a", "2 to 1224"),
        ("a" * 1225, "2 to 1224"),
        ("has space", "may only contain"),
        ("naïve-id", "may only contain"),
        (42, "must be a string"),
    ],
)
def test_external_id_invalid(value: object, fragment: str) -> None:
    message = check_external_id(value)
    assert message is not None and fragment in message
    if isinstance(value, str) and len(value) > 3:
        assert value not in message


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("us-east-1", True),
        ("eu-central-2", True),
        ("us-gov-west-1", True),
        ("us-iso-east-1", True),
        ("us-isob-east-1", True),
        ("cn-northwest-1", True),
        ("eusc-de-east-1", True),
        ("us-east", False),
        ("US-EAST-1", False),
        ("us_east_1", False),
        ("us-east-1a", False),
        ("", False),
        (None, False),
    ],
)
def test_check_region(value: object, ok: bool) -> None:
    assert (check_region(value) is None) is ok
