"""The botocore client an invocation goes through: session, credentials, configuration.

The client never retries on its own (``total_max_attempts=1``): a retried read timeout would run
the function a second time unseen, so every retry is the runner's, counted and logged.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import botocore.exceptions as bx
import botocore.loaders
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
)

from dbt_lambda_sync.engine.invoker import ANSWER_MARGIN_SECONDS, scrub
from dbt_lambda_sync.errors import CredentialsError

# Assumed-role sessions last an hour: with less than botocore's refresh window (15 minutes, plus
# the 10-minute mandatory window) every request would call STS again.
ASSUME_ROLE_DURATION_SECONDS = 3600


class _FixedCredentialProvider(CredentialProvider):
    """Hands a session credentials we built ourselves (the assumed-role ones)."""

    METHOD = "dbt-lambda-sync-assume-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials


def build_lambda_client(
    *,
    region: str | None,
    endpoint_url: str | None,
    timeout_seconds: int,
    max_pool_connections: int,
    role_arn: str | None = None,
    external_id: str | None = None,
    profile: str | None = None,
    access_key_id_env: str | None = None,
    secret_access_key_env: str | None = None,
    session_name: str = "dbt-lambda-sync",
) -> BaseClient:
    """A Lambda client that never retries by itself, with one of four credential forms.

    - nothing: the AWS default credential chain;
    - ``profile``: a named profile from the AWS config/credentials files;
    - ``access_key_id_env`` + ``secret_access_key_env``: keys read from those environment
      variables now (a missing variable raises ``CredentialsError`` naming it, never a value);
    - ``role_arn`` (+ ``external_id``): a role assumed with whichever of the above is the source,
      refreshed automatically before it expires. STS is first called on the first invoke, so a
      refused AssumeRole comes back from ``invoke`` as a fatal ``client_error``.

    The result is thread-safe: one client serves every worker of a sync.
    """
    session, region = _configured_session(profile, region)

    if access_key_id_env or secret_access_key_env:
        if not (access_key_id_env and secret_access_key_env):
            raise CredentialsError(
                "access_key_id_env and secret_access_key_env must be given together"
            )
        session.set_credentials(
            _read_env(access_key_id_env, "access_key_id_env"),
            _read_env(secret_access_key_env, "secret_access_key_env"),
        )

    client_session = session
    if role_arn:
        client_session = _assumed_role_session(
            session,
            region=region,
            profile=profile,
            role_arn=role_arn,
            external_id=external_id,
            session_name=session_name,
        )

    # botocore's create_client is what boto3.client() calls; going through boto3.Session would
    # append a search path to the shared loader on every build.
    return client_session.create_client(
        "lambda",
        region_name=region,
        endpoint_url=endpoint_url,
        config=_client_config(timeout_seconds, max_pool_connections),
    )


def _configured_session(
    profile: str | None, region: str | None
) -> tuple[botocore.session.Session, str]:
    """A session for ``profile`` and the region to use (the given one, else the profile's)."""
    try:
        session = _new_session(profile)
        # Touching the profile's config now turns a missing profile into a clear error here
        # rather than a failure on the first invoke.
        session.get_scoped_config()
        region = region or session.get_config_variable("region")
    except bx.ProfileNotFound as exc:
        raise CredentialsError(
            f"AWS profile '{exc.kwargs.get('profile', profile)}' not found"
        ) from exc
    except bx.BotoCoreError as exc:
        raise CredentialsError(f"AWS configuration could not be read: {scrub(str(exc))}") from exc
    if not region:
        raise CredentialsError("no AWS region: set region in the sync or AWS_DEFAULT_REGION")
    session.set_config_variable("region", region)
    return session, region


def _client_config(timeout_seconds: int, max_pool_connections: int) -> Config:
    """The client's configuration: no retries of its own, a read timeout past the function's."""
    return Config(
        # One attempt: every retry is the runner's (see the module docstring).
        retries={"mode": "standard", "total_max_attempts": 1},
        # Lambda holds the connection for the whole run of the function; give it a margin.
        read_timeout=timeout_seconds + ANSWER_MARGIN_SECONDS,
        connect_timeout=10,
        max_pool_connections=max_pool_connections,
        # Invocations can last 15 minutes in silence; keepalives stop NAT gateways and
        # firewalls from dropping the idle connection (AWS's advice for long sync invokes).
        tcp_keepalive=True,
        user_agent_extra="dbt-lambda-sync",
    )


@functools.cache
def _shared_loader(data_path: str | None) -> botocore.loaders.Loader:
    return botocore.loaders.create_loader(data_path)


def _new_session(profile: str | None) -> botocore.session.Session:
    """A botocore session sharing one model loader with every other one we build.

    Each session otherwise parses the service models again (~0.1 s and a few MB per sync).
    """
    session = botocore.session.Session(profile=profile)
    session.register_component(
        "data_loader", _shared_loader(session.get_config_variable("data_path"))
    )
    return session


def _read_env(name: str, field: str) -> str:
    value = os.environ.get(name)
    if not value:
        # Name the variable only: its value is a secret.
        raise CredentialsError(
            f"environment variable {name} (credentials.{field}) is not set or is empty"
        )
    return value


def _assumed_role_session(
    base: botocore.session.Session,
    *,
    region: str,
    profile: str | None,
    role_arn: str,
    external_id: str | None,
    session_name: str,
) -> botocore.session.Session:
    try:
        source = base.get_credentials()
    except bx.BotoCoreError as exc:
        raise CredentialsError(
            f"could not load the credentials to assume {role_arn} with: {scrub(str(exc))}"
        ) from exc
    if source is None:
        raise CredentialsError(
            f"no AWS credentials found to assume {role_arn} with (default chain, profile or "
            "environment variables)"
        )
    extra_args: dict[str, Any] = {
        "RoleSessionName": session_name,
        "DurationSeconds": ASSUME_ROLE_DURATION_SECONDS,
    }
    if external_id:
        extra_args["ExternalId"] = external_id
    fetcher = AssumeRoleCredentialFetcher(
        # The STS client comes from the base session, so it honours AWS_ENDPOINT_URL_STS and the
        # profile's settings; pinned to the function's region for a regional STS endpoint.
        client_creator=functools.partial(base.create_client, region_name=region),
        source_credentials=source,
        role_arn=role_arn,
        extra_args=extra_args,
    )
    credentials = DeferredRefreshableCredentials(
        refresh_using=fetcher.fetch_credentials, method=_FixedCredentialProvider.METHOD
    )
    assumed = _new_session(profile)
    assumed.set_config_variable("region", region)
    assumed.register_component(
        "credential_provider", CredentialResolver([_FixedCredentialProvider(credentials)])
    )
    return assumed
