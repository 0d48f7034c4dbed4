"""Can each sync's function be invoked? An Invoke with InvocationType=DryRun per sync: Lambda
checks that the function (version, alias) exists and that the caller may invoke it, and runs
nothing. The client is the one a run would use (credentials, region, endpoint_url), so a check
that passes means a run's invocations are not refused for those reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbt_lambda_sync.definitions import SyncDefinition
from dbt_lambda_sync.engine.clock import Clock, SystemClock
from dbt_lambda_sync.engine.invoker import InvocationResult, invoke
from dbt_lambda_sync.errors import SyncError
from dbt_lambda_sync.lambda_client import lambda_client_for


@dataclass(frozen=True)
class FunctionCheck:
    """One sync's check: ``kind`` is ``ok``, ``not_found``, ``access_denied``, ``credentials``,
    ``unreachable``, ``throttled`` or ``error``; ``error`` says what Lambda or the client said.
    """

    sync: str
    model: str
    function: str
    kind: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The function can be invoked."""
        return self.kind == "ok"

    def to_json(self) -> dict[str, Any]:
        """The check for scripts (``validate --output json``)."""
        return {"ok": self.ok, "kind": self.kind, "error": self.error}


def check_function(
    defn: SyncDefinition,
    *,
    client_factory: Callable[[SyncDefinition], Any] = lambda_client_for,
    clock: Clock | None = None,
) -> FunctionCheck:
    """Dry-run invokes the sync's function once; never raises for what AWS or the network does."""

    def result(kind: str, error: str | None = None) -> FunctionCheck:
        return FunctionCheck(defn.name, defn.model.name, defn.function.name, kind, error)

    try:
        client = client_factory(defn)
    except SyncError as exc:  # CredentialsError: no region, a missing profile or variable
        return result("credentials", str(exc))
    answer = invoke(
        client,
        function_name=defn.function.name,
        payload=b"",
        clock=clock or SystemClock(),
        invocation_type="DryRun",
    )
    if answer.outcome == "delivered":
        return result("ok")
    return result(problem_kind(answer), answer.failure_reason)


def problem_kind(answer: InvocationResult) -> str:
    """For people, from what the invoker classified: a 403 is access denied when its code says
    so (AccessDeniedException), otherwise a refused identity (unknown key, bad signature, expired
    token); the invoker marks failures of the credential source itself with "AWS credentials".
    """
    code = answer.error_code or ""
    if answer.status_code == 404 or code == "ResourceNotFoundException":
        return "not_found"
    if (answer.error_message or "").startswith("AWS credentials"):
        return "credentials"
    if answer.status_code == 403 and "AccessDenied" in code:
        return "access_denied"
    if answer.status_code in (401, 403):
        return "credentials"
    return {"network_error": "unreachable", "throttled": "throttled"}.get(answer.outcome, "error")
