"""Credentials in a sync definition: pasted secrets (keys and values that can only be AWS
credentials) and a ``credentials`` mapping that names no source or several.

dbt writes meta to target/manifest.json in plain text, so a definition holding a credential is
refused, and no message ever repeats the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "CREDENTIAL_CHOICES",
    "LITERAL_CREDENTIALS_MESSAGE",
    "SecretFound",
    "credentials_issues",
    "find_secrets",
    "looks_like_access_key",
    "looks_like_secret_key",
]

Path = tuple[str | int, ...]

LITERAL_CREDENTIALS_MESSAGE = (
    "literal AWS credentials are not allowed in YAML (dbt writes meta to target/manifest.json in "
    "plain text); use access_key_id_env and secret_access_key_env, a profile, or role_arn"
)

_CREDENTIAL_GROUPS = (
    ("role_arn", "external_id"),
    ("profile",),
    ("access_key_id_env", "secret_access_key_env"),
)
CREDENTIAL_CHOICES = (
    "role_arn with external_id, profile, or access_key_id_env with secret_access_key_env"
)


# Key names that can only mean someone pasted a credential (compared after snake_casing).
_SECRET_KEYS = frozenset(
    {
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_security_token",
        "aws_secret_key",
        "aws_access_key",
        "access_key_id",
        "access_key",
        "secret_access_key",
        "secret_key",
        "session_token",
        "security_token",
        "password",
        "token",
        "secret",
    }
)
_ACCESS_KEY_ID_RE = re.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}")
# A secret access key is 40 base64-ish characters. Requiring mixed case and a digit keeps a 40-char
# hex external ID (a SHA-1, say) from being mistaken for one.
_SECRET_KEY_RE = re.compile(r"[A-Za-z0-9/+]{40}")
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class SecretFound:
    """A credential at ``path``; ``hidden_key``: a mapping key that is one itself (never named)."""

    path: Path
    message: str
    hidden_key: str | None = None


def looks_like_access_key(value: str) -> bool:
    """Whether ``value`` holds an AWS access key ID."""
    return _ACCESS_KEY_ID_RE.search(value) is not None


def _snake(key: str) -> str:
    return _CAMEL_RE.sub("_", key).lower().replace("-", "_").strip()


def looks_like_secret_key(value: str) -> bool:
    """Whether ``value`` has the shape of an AWS secret access key."""
    return (
        _SECRET_KEY_RE.fullmatch(value) is not None
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


def find_secrets(value: object, path: Path = ()) -> Iterator[SecretFound]:
    """Every credential in a definition's plain data, by key name or by the value's shape."""
    in_credentials = bool(path) and path[0] == "credentials"
    if isinstance(value, dict):
        for key, item in value.items():
            if looks_like_access_key(key):
                message = "has a key that looks like an AWS access key ID; "
                yield SecretFound(path, message + LITERAL_CREDENTIALS_MESSAGE, hidden_key=key)
            elif _snake(key) in _SECRET_KEYS:
                yield SecretFound((*path, key), LITERAL_CREDENTIALS_MESSAGE)
            else:
                yield from find_secrets(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from find_secrets(item, (*path, i))
    elif isinstance(value, str):
        if looks_like_access_key(value):
            message = "looks like an AWS access key ID; "
            yield SecretFound(path, message + LITERAL_CREDENTIALS_MESSAGE)
        elif in_credentials and looks_like_secret_key(value):
            message = "looks like an AWS secret access key; "
            yield SecretFound(path, message + LITERAL_CREDENTIALS_MESSAGE)


def credentials_issues(creds: object) -> list[tuple[Path, str]]:
    """Explain a failed credentials oneOf by the keys given (never by their values)."""
    base: Path = ("credentials",)
    given = creds if isinstance(creds, dict) else {}
    groups = [g for g in _CREDENTIAL_GROUPS if any(k in given for k in g)]
    if not groups:
        return [
            (
                base,
                f"must give {CREDENTIAL_CHOICES} (omit credentials for the AWS default "
                "credential chain)",
            )
        ]
    if len(groups) > 1:
        mixed = " and ".join("/".join(k for k in g if k in given) for g in groups)
        return [(base, f"mixes {mixed}; give only one of: {CREDENTIAL_CHOICES}")]
    group = groups[0]
    present = [k for k in group if k in given]
    out: list[tuple[Path, str]] = []
    for key in group:
        if key not in given:
            out.append(((*base, key), f"is required with {' and '.join(present)}"))
    return out or [(base, f"must give exactly one of: {CREDENTIAL_CHOICES}")]
