"""A real Lambda handler for the integration tests.

Appends every event it receives to $RECORD_FILE (one JSON document a line) and behaves as
$RULES_FILE says at the time of the call, so a test can change its answers between runs:
  {"reject": ["2", "5"], "reason": "Email not found"}   reject these keys
  {"raise": "boom"}                                      raise an uncaught exception
  {"answer": <any JSON>}                                 answer exactly this
"""

import fcntl
import json
import os


def _rules():
    try:
        with open(os.environ["RULES_FILE"]) as f:
            return json.load(f)
    except (KeyError, FileNotFoundError):
        return {}


def handler(event, context):
    with open(os.environ["RECORD_FILE"], "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(event) + "\n")
    rules = _rules()
    if "raise" in rules:
        raise RuntimeError(rules["raise"])
    if "answer" in rules:
        return rules["answer"]
    reject = set(rules.get("reject", []))
    key = event["primary_key_column"]
    return {
        "errors": [
            {"primary_key_value": str(row[key]), "reason": rules.get("reason", "rejected by test")}
            for row in event["rows"]
            if str(row[key]) in reject
        ]
    }
