"""``python -m bench.profile_report RAW [--within FUNC]``: summarise a py-spy raw (collapsed)
profile: inclusive share of the package's and dbt's functions, and the hottest leaf frames, over
the stacks that pass through FUNC (default: the runner's SyncRunner.run and its worker threads)."""

from __future__ import annotations

import collections
import json
import re
import sys


def summarise(
    path: str, within: tuple[str, ...] = ("SyncRunner.run", "SyncRunner._invoke"), top: int = 25
) -> dict:
    inclusive: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")
            if not any(any(w in fr for w in within) for fr in frames):
                continue
            n = int(count)
            total += n
            seen = set()
            for fr in frames:
                name = re.sub(r":\d+\)", ")", fr)  # merge lines of one function
                if name not in seen:
                    seen.add(name)
                    inclusive[name] += n
            leaves[re.sub(r":\d+\)", ")", frames[-1])] += n
    pct = lambda c: round(100.0 * c / total, 1) if total else 0.0  # noqa: E731
    interesting = [
        (k, v)
        for k, v in inclusive.most_common()
        if "dbt_lambda_sync/" in k
        or "botocore/" in k
        or "duckdb" in k.lower()
        or "dbt/" in k
        or "concurrent/" in k
        or "threading" in k
    ]
    return {
        "samples": total,
        "inclusive_pct": [[k, pct(v)] for k, v in interesting[:top]],
        "leaf_pct": [[k, pct(v)] for k, v in leaves.most_common(top)],
    }


if __name__ == "__main__":
    within = (
        tuple(sys.argv[2].split(","))
        if len(sys.argv) > 2
        else ("SyncRunner.run", "SyncRunner._invoke")
    )
    print(json.dumps(summarise(sys.argv[1], within), indent=1))
