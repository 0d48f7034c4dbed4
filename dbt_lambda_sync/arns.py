r"""AWS identifier formats: Lambda function names and ARNs, IAM role ARNs, external IDs, regions.

botocore does not check ``FunctionName`` against the service's pattern, so a typo would only surface
as a confusing 4xx in the middle of a run. These checks run before anything is sent. They follow
botocore's ``data/lambda/2015-03-31/service-2.json`` (shapes ``NamespacedFunctionName``, ``Alias``,
``NumericLatestPublishedOrAliasQualifier`` and ``RoleArn``) plus the documented length limits, with
two deliberate differences:

- ``[0-9]`` instead of ``\d`` and ASCII classes instead of ``\w``: Python's ``re`` matches any
  Unicode digit or letter with those, AWS does not.
- Function names do not take ``.`` (only ``NamespacedFunctionName`` allows it; ``CreateFunction``
  never creates such a name) and the region-only form ``us-east-1:123456789012:function:x`` is not
  accepted: the three documented forms are name, partial ARN and ARN.

Error messages never repeat the value: the caller names the field, and a mistyped value may be a
secret pasted into the wrong place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ENV_VAR_PATTERN",
    "EXTERNAL_ID_PATTERN",
    "FUNCTION_PATTERN",
    "REGION_PATTERN",
    "ROLE_ARN_PATTERN",
    "FunctionRef",
    "check_external_id",
    "check_region",
    "check_role_arn",
    "parse_function",
]

# Building blocks, shared with the JSON Schema (tests assert the schema uses these exact strings).
_PARTITION = r"aws(?:-[a-z]+)*"  # aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-eusc ...
_REGION = r"(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-[0-9]"
_ACCOUNT = r"[0-9]{12}"
_NAME_CHARS = r"[A-Za-z0-9_-]"
_QUALIFIER = r"(?:\$LATEST(?:\.PUBLISHED)?|[A-Za-z0-9_-]{1,128})"
_IAM_CHARS = r"[A-Za-z0-9_+=,.@-]"

MAX_FUNCTION_LENGTH = 170  # Invoke's documented limit for the full ARN with a qualifier
MAX_FUNCTION_NAME_LENGTH = 64
MAX_QUALIFIER_LENGTH = 128
MAX_ROLE_ARN_LENGTH = 2048
MAX_ROLE_NAME_LENGTH = 64
MAX_ROLE_PATH_LENGTH = 512

FUNCTION_PATTERN = (
    rf"^(?:arn:{_PARTITION}:lambda:{_REGION}:{_ACCOUNT}:function:|{_ACCOUNT}:function:)?"
    rf"{_NAME_CHARS}{{1,{MAX_FUNCTION_NAME_LENGTH}}}(?::{_QUALIFIER})?$"
)
ROLE_ARN_PATTERN = (
    rf"^arn:{_PARTITION}:iam::{_ACCOUNT}:role/(?:{_IAM_CHARS}+/)*"
    rf"{_IAM_CHARS}{{1,{MAX_ROLE_NAME_LENGTH}}}$"
)
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$"
REGION_PATTERN = rf"^{_REGION}$"
ENV_VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

_PARTITION_RE = re.compile(rf"^{_PARTITION}$")
_REGION_RE = re.compile(REGION_PATTERN)
_ACCOUNT_RE = re.compile(rf"^{_ACCOUNT}$")
_NAME_RE = re.compile(rf"^{_NAME_CHARS}+$")
_QUALIFIER_RE = re.compile(rf"^{_QUALIFIER}$")
_PARTIAL_ARN_RE = re.compile(rf"^{_ACCOUNT}:function:")
_IAM_CHARS_RE = re.compile(rf"^{_IAM_CHARS}+$")
_EXTERNAL_ID_RE = re.compile(EXTERNAL_ID_PATTERN)

_FORMS = (
    "expected a function name (my-function), a partial ARN (123456789012:function:my-function) "
    "or an ARN (arn:aws:lambda:us-east-1:123456789012:function:my-function), each optionally "
    "followed by :<version> or :<alias>"
)


@dataclass(frozen=True)
class FunctionRef:
    """A Lambda function as the user named it.

    ``name`` is the string exactly as given, qualifier included: pass it as ``FunctionName`` and do
    not pass ``Qualifier`` as well (Lambda rejects a qualifier given twice when they differ).
    """

    name: str
    function_name: str
    qualifier: str | None = None
    region: str | None = None
    account: str | None = None


def parse_function(value: str) -> FunctionRef:
    """Parse a function name, partial ARN or full ARN, qualified or not.

    Raises ``ValueError`` whose message says what is wrong, fit to show after the field's name.
    """
    if not isinstance(value, str):
        raise ValueError("must be a string: " + _FORMS)
    if not value:
        raise ValueError("must not be empty; " + _FORMS)
    if value != value.strip() or any(c.isspace() for c in value):
        raise ValueError("must not contain spaces or line breaks; " + _FORMS)
    if len(value) > MAX_FUNCTION_LENGTH:
        raise ValueError(f"must be at most {MAX_FUNCTION_LENGTH} characters long")

    parts = value.split(":")
    if value.startswith("arn:"):
        if len(parts) not in (7, 8) or parts[5] != "function":
            raise ValueError(
                "is not a Lambda function ARN: expected "
                "arn:<partition>:lambda:<region>:<account>:function:<name>[:<version or alias>]"
            )
        _, partition, service, region, account, _, name, *rest = parts
        if not _PARTITION_RE.fullmatch(partition):
            raise ValueError(
                "has an unknown partition in its ARN: expected aws, aws-cn, aws-us-gov or another "
                "AWS partition"
            )
        if service != "lambda":
            raise ValueError("is an ARN of another service: expected arn:<partition>:lambda:...")
        if not _REGION_RE.fullmatch(region):
            raise ValueError("has no valid AWS region in its ARN (such as us-east-1)")
        _check_account(account)
    elif _PARTIAL_ARN_RE.match(value) or (len(parts) > 2 and parts[1] == "function"):
        if len(parts) not in (3, 4):
            raise ValueError(
                "is not a partial ARN: expected <account>:function:<name>[:<version or alias>]"
            )
        account, _, name, *rest = parts
        region = None
        _check_account(account)
    else:
        if len(parts) > 2:
            raise ValueError("has too many ':' separators; " + _FORMS)
        name, *rest = parts
        region = account = None

    _check_function_name(name)
    qualifier = rest[0] if rest else None
    if qualifier is not None:
        _check_qualifier(qualifier)
    return FunctionRef(
        name=value, function_name=name, qualifier=qualifier, region=region, account=account
    )


def _check_account(account: str) -> None:
    if not _ACCOUNT_RE.fullmatch(account):
        raise ValueError("has an invalid AWS account ID: expected exactly 12 digits")


def _check_function_name(name: str) -> None:
    if not name:
        raise ValueError("has an empty function name; " + _FORMS)
    if not _NAME_RE.fullmatch(name):
        raise ValueError(
            "has an invalid function name: only letters, digits, hyphens and underscores are "
            "allowed"
        )
    if len(name) > MAX_FUNCTION_NAME_LENGTH:
        raise ValueError(f"has a function name longer than {MAX_FUNCTION_NAME_LENGTH} characters")


def _check_qualifier(qualifier: str) -> None:
    if not qualifier:
        raise ValueError("ends with ':' but no version or alias follows")
    if len(qualifier) > MAX_QUALIFIER_LENGTH:
        raise ValueError(f"has a qualifier longer than {MAX_QUALIFIER_LENGTH} characters")
    if not _QUALIFIER_RE.fullmatch(qualifier):
        raise ValueError(
            "has an invalid qualifier: expected $LATEST, a version number or an alias "
            "(letters, digits, hyphens and underscores)"
        )


def check_role_arn(value: object) -> str | None:
    """Return what is wrong with an IAM role ARN, or None when it is well formed."""
    expected = "expected an IAM role ARN such as arn:aws:iam::123456789012:role/lambda-sync"
    if not isinstance(value, str):
        return "must be a string: " + expected
    if len(value) > MAX_ROLE_ARN_LENGTH:
        return f"must be at most {MAX_ROLE_ARN_LENGTH} characters long"
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return "is not an ARN: " + expected
    _, partition, service, region, account, resource = parts
    if not _PARTITION_RE.fullmatch(partition):
        return "has an unknown partition: " + expected
    if service != "iam":
        return "is not an IAM ARN: " + expected
    if region:
        return "must not name a region (IAM ARNs have an empty region): " + expected
    if not _ACCOUNT_RE.fullmatch(account):
        return "has an invalid AWS account ID: expected exactly 12 digits"
    if not resource.startswith("role/"):
        return "is not a role ARN (the resource must start with role/): " + expected
    segments = resource[len("role/") :].split("/")
    name = segments[-1]
    if not name:
        return "has no role name after role/"
    if len(name) > MAX_ROLE_NAME_LENGTH:
        return f"has a role name longer than {MAX_ROLE_NAME_LENGTH} characters"
    if len(resource) - len("role") - len(name) > MAX_ROLE_PATH_LENGTH:
        return f"has a role path longer than {MAX_ROLE_PATH_LENGTH} characters"
    if not all(_IAM_CHARS_RE.fullmatch(s) for s in segments):
        return (
            "has an invalid role name or path: only letters, digits and + = , . @ _ - are allowed, "
            "path segments separated by single /"
        )
    return None


def check_external_id(value: object) -> str | None:
    """Return what is wrong with an STS external ID, or None when it is well formed."""
    if not isinstance(value, str):
        return "must be a string"
    if not 2 <= len(value) <= 1224:
        return "must be 2 to 1224 characters long"
    if not _EXTERNAL_ID_RE.fullmatch(value):
        return "may only contain letters, digits and the characters _ + = , . @ : / -"
    return None


def check_region(value: object) -> str | None:
    """Return what is wrong with an AWS region name, or None when it looks like one."""
    if not isinstance(value, str) or not _REGION_RE.fullmatch(value):
        return "must be an AWS region such as us-east-1 or eu-west-3"
    return None
