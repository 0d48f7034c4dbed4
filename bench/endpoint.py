"""``python -m bench.endpoint [--delay S]``: the fast local Invoke endpoint of
tests/scripted_endpoint in a process of its own, plus per-request arrival times. Prints its URL
on the first line; on SIGTERM prints one JSON line:
{"requests", "peak_in_flight", "arrivals": [seconds since first]}.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.scripted_endpoint import Reply, ScriptedEndpoint, _InvokeHandler, _Server


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    arrivals: list[float] = []

    def stamp(_request: object) -> None:
        arrivals.append(time.monotonic())  # list.append is atomic under the GIL
        return None  # the default reply

    endpoint = ScriptedEndpoint(default=Reply(delay=args.delay), responder=stamp, record=False)
    server = _Server(("127.0.0.1", 0), _InvokeHandler)
    server.endpoint = endpoint
    endpoint._server = server
    print(endpoint.endpoint_url, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()
        first = arrivals[0] if arrivals else 0.0
        print(
            json.dumps(
                {
                    "requests": endpoint.request_count,
                    "peak_in_flight": endpoint.peak_in_flight,
                    "arrivals": [round(t - first, 4) for t in arrivals],
                }
            ),
            flush=True,
        )


class EndpointProcess:
    """Starts ``python -m bench.endpoint`` and collects its stats on stop()."""

    def __init__(self, delay: float = 0.0):
        repo = Path(__file__).resolve().parents[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.endpoint", "--delay", str(delay)],
            cwd=repo,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError(f"endpoint did not start: {self.url!r}")

    def stop(self) -> dict:
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        return json.loads(out.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
