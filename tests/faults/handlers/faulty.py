"""A Lambda handler for the fault tests: the recorder's rules, plus time and delays.

Appends every event it receives, with the wall-clock time it arrived ("t"), to $RECORD_FILE (one
JSON document a line), then behaves as $RULES_FILE says at the time of the call:
  {"sleep": 0.02}                     sleep this long first (a slow function; past the timeout: a
                                      Sandbox.Timedout)
  {"reject": ["2"], "reason": "..."}  reject these keys
  {"raise": "boom"}                   raise an uncaught exception
  {"raise_on_attempt": 1}             raise an uncaught exception when sync.attempt is this
  {"answer": <any JSON>}              answer exactly this
  {"by_key": {"3": {<rules>}}}        rules for the batches whose first key is "3" (override)
When it answers (or raises), it appends {"invocation_id", "attempt", "operation", "t"} to
$RECORD_FILE.answers: the runner gets the answer after that time.
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
    arrived = time.time()
    rules = _rules()
    first = str(event["rows"][0][event["primary_key_column"]])
    rules = dict(rules, **rules.get("by_key", {}).get(first, {}))
    with open(os.environ["RECORD_FILE"], "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(dict(event, t=arrived)) + "\n")
    try:
        return _answer(event, rules)
    finally:
        with open(os.environ["RECORD_FILE"] + ".answers", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            sync = event["sync"]
            answered = {"invocation_id": sync["invocation_id"], "attempt": sync["attempt"]}
            f.write(json.dumps(dict(answered, operation=event["operation"], t=time.time())) + "\n")


def _answer(event, rules):
    if rules.get("sleep"):
        time.sleep(rules["sleep"])
    if "raise" in rules:
        raise RuntimeError(rules["raise"])
    if rules.get("raise_on_attempt") == event["sync"]["attempt"]:
        raise RuntimeError(f"failing attempt {event['sync']['attempt']}")
    if "answer" in rules:
        return rules["answer"]
    reject = set(rules.get("reject", []))
    key = event["primary_key_column"]
    return {
        "errors": [
            {"primary_key_value": str(row[key]), "reason": rules.get("reason", "rejected")}
            for row in event["rows"]
            if str(row[key]) in reject
        ]
    }
