"""``python -m bench.baseline ROWS_FILE URL BATCH CONCURRENCY``: the bare boto3 thread pool.

Reads the plan rows (one JSON line each: [operation, row_json]), renders every event up front
with the same frame the runner uses (dbt_lambda_sync.events.render_event), then times only the
sending: CONCURRENCY threads pulling from a shared iterator, each ``client.invoke`` + payload read,
one botocore client built like dbt_lambda_sync.engine.sessions.build_lambda_client (no retries).
Prints one JSON line: {"invocations", "rows", "seconds", "cpu_seconds"} (process CPU, all threads,
over the timed part).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import botocore.session
from botocore.config import Config

from dbt_lambda_sync.events import Batch, EventContext, PlannedRow, render_event


def main() -> None:
    rows_file, url, batch_size, concurrency = (
        sys.argv[1],
        sys.argv[2],
        int(sys.argv[3]),
        int(sys.argv[4]),
    )
    ctx = EventContext("bench_sync", "bench_rows", "20260101T000000Z-bench0", "id", False)
    payloads: list[bytes] = []
    pending: list[PlannedRow] = []
    op = None
    count = 0

    def close() -> None:
        nonlocal pending
        payloads.append(
            render_event(
                Batch(invocation_id=f"bench:{len(payloads) + 1:06d}", operation=op, rows=pending),
                ctx,
            )
        )
        pending = []

    with open(rows_file) as f:
        for line in f:
            operation, row_json = json.loads(line)
            if pending and operation != op:
                close()
            op = operation
            pending.append(PlannedRow(str(count), operation, row_json))
            count += 1
            if len(pending) >= batch_size:
                close()
    if pending:
        close()

    session = botocore.session.Session()
    session.set_credentials("bench", "bench")
    client = session.create_client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=url,
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            read_timeout=905,
            connect_timeout=10,
            max_pool_connections=concurrency,
            tcp_keepalive=True,
        ),
    )
    it = iter(payloads)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                payload = next(it, None)
            if payload is None:
                return
            resp = client.invoke(
                FunctionName="bench-fn", InvocationType="RequestResponse", Payload=payload
            )
            resp["Payload"].read()

    started, cpu_started = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(worker) for _ in range(concurrency)]
    for future in futures:
        future.result()  # a failed invoke fails the benchmark
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        json.dumps(
            {
                "invocations": len(payloads),
                "rows": count,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
