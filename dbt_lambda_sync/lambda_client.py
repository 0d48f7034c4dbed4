"""The Lambda client a sync's definition asks for (region, endpoint, credentials, pool size)."""

from __future__ import annotations

from typing import Any

from dbt_lambda_sync.definitions import SyncDefinition
from dbt_lambda_sync.engine.sessions import build_lambda_client


def lambda_client_for(defn: SyncDefinition) -> Any:
    """The Lambda client ``defn`` asks for: its region, endpoint, credentials and pool size."""
    creds = defn.credentials
    return build_lambda_client(
        region=defn.region,
        endpoint_url=defn.endpoint_url,
        timeout_seconds=defn.timeout_seconds,
        max_pool_connections=defn.concurrency,
        role_arn=creds.role_arn if creds else None,
        external_id=creds.external_id if creds else None,
        profile=creds.profile if creds else None,
        access_key_id_env=creds.access_key_id_env if creds else None,
        secret_access_key_env=creds.secret_access_key_env if creds else None,
    )
