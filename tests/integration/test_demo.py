"""The examples: the packaged example function in a real Lambda runtime, and `make demo` itself.

The demo test runs examples/demo/run_demo.py exactly as `make demo` does (with the interpreter of
this virtualenv) and is the proof that the one-command demo works on a clean checkout.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dbt_lambda_sync.events import Batch, EventContext, PlannedRow, parse_answer, render_event
from tests.support.ministack import MINISTACK_VERSION, ROLE_ARN, Ministack

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def package_the_documented_way(tmp_path: Path) -> bytes:
    """examples/DEPLOYING.md, step 1: the helper script."""
    output = tmp_path / "crm_upsert.zip"
    subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "package_function.py"),
            str(EXAMPLES / "handlers" / "crm_upsert.py"),
            "-o",
            str(output),
        ],
        check=True,
        capture_output=True,
    )
    return output.read_bytes()


# --- fast checks ----------------------------------------------------------------------------------


def test_the_demo_installs_the_ministack_the_tests_use() -> None:
    demo = _load(EXAMPLES / "demo" / "run_demo.py")
    assert demo.Ministack is Ministack
    assert sys.modules[Ministack.__module__].MINISTACK_VERSION == MINISTACK_VERSION


def test_the_package_holds_the_function_and_the_kit_only(tmp_path: Path) -> None:
    package = package_the_documented_way(tmp_path)
    with zipfile.ZipFile(tmp_path / "crm_upsert.zip") as archive:
        assert sorted(archive.namelist()) == [
            "crm_upsert.py",
            "dbt_lambda_sync/__init__.py",
            "dbt_lambda_sync/handler.py",
        ]
        assert archive.read("dbt_lambda_sync/__init__.py") == b""
        kit = (REPO / "dbt_lambda_sync" / "handler.py").read_bytes()
        assert archive.read("dbt_lambda_sync/handler.py") == kit
    assert package == package_the_documented_way(tmp_path)  # reproducible


# --- the example function in ministack ------------------------------------------------------------

CTX = EventContext(
    sync_name="crm_customers",
    model_name="customers",
    run_id="20261129T170000Z-3f9a1c",
    primary_key_column="customer_id",
    include_previous=True,
)


def event(operation: str, rows: list[dict[str, Any]], previous: list | None = None) -> bytes:
    planned = [
        PlannedRow(
            primary_key=str(row["customer_id"]),
            operation=operation,
            row_json=json.dumps(row),
            previous_json=json.dumps(previous[i]) if previous else None,
        )
        for i, row in enumerate(rows)
    ]
    batch = Batch(invocation_id=f"{CTX.run_id}:000001", operation=operation, rows=planned)
    return render_event(batch, CTX)


def test_the_example_function_deployed_as_documented(ministack: Ministack, tmp_path: Path) -> None:
    log = tmp_path / "received.jsonl"
    client = ministack.client()
    client.create_function(
        FunctionName="crm-upsert-example",
        Runtime="python3.12",
        Role=ROLE_ARN.format(account="000000000000"),
        Handler="crm_upsert.handler",
        Code={"ZipFile": package_the_documented_way(tmp_path)},
        Timeout=30,
        Environment={"Variables": {"CRM_UPSERT_LOG": str(log)}},
    )
    client.get_waiter("function_active").wait(
        FunctionName="crm-upsert-example", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )

    def invoke(payload: bytes) -> tuple[dict[str, Any], bytes]:
        response = client.invoke(FunctionName="crm-upsert-example", Payload=payload)
        body = response["Payload"].read()
        assert "FunctionError" not in response, body
        return response, body

    rows = [
        {"customer_id": 1, "email": "alice@example.com", "first_name": "Alice"},
        {"customer_id": 2, "email": None, "first_name": "Bob"},
        {"customer_id": 3, "email": "carol.example.com", "first_name": "Carol"},
    ]
    _, body = invoke(event("added", rows))
    assert json.loads(body) == {
        "errors": [
            {"primary_key_value": "2", "reason": "email is missing"},
            {
                "primary_key_value": "3",
                "reason": "email 'carol.example.com' is not a valid address",
            },
        ]
    }
    answer = parse_answer(body, ["1", "2", "3"])
    assert answer.invalid_reason is None and sorted(answer.rejected) == ["2", "3"]

    # changed rows come with their previous version; removed rows need no valid email
    changed = [{"customer_id": 1, "email": "alice@new.example.com", "first_name": "Alice"}]
    _, body = invoke(event("changed", changed, previous=rows[:1]))
    assert json.loads(body) == {"errors": []}
    _, body = invoke(event("removed", [rows[1]]))
    assert json.loads(body) == {"errors": []}

    received = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["operation"], r["key"], r["verdict"]) for r in received] == [
        ("added", "1", "upserted"),
        ("added", "2", "rejected"),
        ("added", "3", "rejected"),
        ("changed", "1", "upserted"),
        ("removed", "2", "deleted"),
    ]
    assert received[3]["previous"] == rows[0]
    assert received[0]["invocation_id"] == f"{CTX.run_id}:000001"

    # a payload that is not an event is a function error: the runner retries the whole batch
    response = client.invoke(FunctionName="crm-upsert-example", Payload=b'{"rows": []}')
    failure = json.loads(response["Payload"].read())
    assert response.get("FunctionError") == "Unhandled"
    assert "not a dbt-lambda-sync event" in failure["errorMessage"]


# --- make demo ------------------------------------------------------------------------------------


@pytest.mark.integration
def test_make_demo(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "demo" / "run_demo.py"), "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    output = result.stdout
    assert result.returncode == 0, f"{output[-8000:]}\n--- stderr\n{result.stderr[-8000:]}"
    for line in [
        "== 1/6  Start a local Lambda endpoint",
        "crm-upsert: runtime python3.12, handler crm_upsert.handler, Active",
        "$ dbt build  PASS=",
        "exit code 1: 2 rows were rejected, as expected",
        "from main_lambda_sync.lambda_sync_errors",
        "email is missing",
        "email 'quinn.garcia.example.com' is not a valid address",
        "exit code 1: customer 17's email is still invalid",
        "customer 9's error is resolved (its email was fixed); 17 is still open.",
        "Demo finished in",
    ]:
        assert line in output, f"missing {line!r} in:\n{output}"
    for operation in ("added", "changed", "removed"):
        assert f"\n     {operation}" in output
    assert (tmp_path / "demo.duckdb").exists()
