"""A destination that applies every event it accepts, as a user's function would: an upsert by key
for `added` and `changed` rows, a delete by key for `removed` rows. Its table is $DEST_FILE (a JSON
object, key text -> row), rewritten under a lock. Every event is also appended to $RECORD_FILE.

$RULES_FILE, read at each call:
  {"sleep": 0.2}          sleep this long first (a slow function)
  {"reject": ["7"]}       reject these keys (not applied; named in the answer)
  {"raise_on": ["9"]}     raise an uncaught exception when the batch holds one of these keys
                          (nothing of the batch is applied)
  {"sleep_after": 3}      apply the batch, then sleep this long (past the function's timeout:
                          applied, yet the call fails)
"""

import fcntl
import json
import os
import time


def _rules():
    try:
        with open(os.environ["RULES_FILE"]) as f:
            return json.load(f)
    except (KeyError, FileNotFoundError, ValueError):
        return {}


def handler(event, context):
    rules = _rules()
    key = event["primary_key_column"]
    keys = [str(row[key]) for row in event["rows"]]
    with open(os.environ["RECORD_FILE"], "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(dict(event, t=time.time())) + "\n")
    if rules.get("sleep"):
        time.sleep(rules["sleep"])
    if set(keys) & set(rules.get("raise_on", [])):
        raise RuntimeError("poison row in the batch")
    reject = set(rules.get("reject", []))
    path = os.environ["DEST_FILE"]
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path) as f:
                table = json.load(f)
        except FileNotFoundError:
            table = {}
        for k, row in zip(keys, event["rows"], strict=True):
            if k in reject:
                continue
            if event["operation"] == "removed":
                table.pop(k, None)
            else:
                table[k] = row
        with open(path + ".tmp", "w") as f:
            json.dump(table, f)
        os.replace(path + ".tmp", path)
    if rules.get("sleep_after"):
        time.sleep(rules["sleep_after"])
    return {"errors": [{"primary_key_value": k, "reason": "rejected"} for k in keys if k in reject]}
