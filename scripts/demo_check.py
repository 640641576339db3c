"""Prints one demo result and checks it against scripts/demo-expected.json."""
import json
import os
import sys
import urllib.request

EXPECTED = json.load(open("scripts/demo-expected.json"))
# Issue keys answered so far (a redelivery must answer the same one).
SEEN_FILE = os.environ.get("DEMO_SEEN", "/tmp/detection-jira-demo-seen.json")
try:
    SEEN = json.load(open(SEEN_FILE))
except (OSError, ValueError):
    SEEN = {}


def failure_reasons(log):
    """message id -> "class: error" of its failure, from the function's JSON log."""
    reasons = {}
    for line in open(log):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        fields, span = entry.get("fields", {}), entry.get("span", {})
        if fields.get("status") == "failed" and span.get("message_id"):
            reasons[span["message_id"]] = f"{fields.get('class')}: {fields.get('error', fields.get('message'))}"
    return reasons


def last_delivery_requests(log):
    """Jira requests of the last delivered alert, from the function's JSON log."""
    requests = None
    for line in open(log):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        fields = entry.get("fields", entry)
        if fields.get("message") == "alert delivered":
            requests = fields.get("requests")
    return requests


def issues(base):
    with urllib.request.urlopen(base + "/_fake/issues", timeout=5) as r:
        return {i["key"]: i for i in json.load(r)}


def main():
    if sys.argv[1] == "--totals":
        cloud, server = issues(sys.argv[2]), issues(sys.argv[3])
        # SEC-1 and SEC-42 are there from the start.
        got = {"cloud": len(cloud) - 2, "server": len(server) - 2}
        want = EXPECTED["_issues"]
        print(f"\nstand-in received: {got['cloud']} Cloud issues, {got['server']} Server/DC issues")
        if got != want:
            print(f"  expected {want}", file=sys.stderr)
            return 1
        return 0
    name, answer, cloud, server, log = sys.argv[1:6]
    answer = json.loads(answer)
    if "issue_key" in answer:
        SEEN[name] = answer["issue_key"]
        json.dump(SEEN, open(SEEN_FILE, "w"))
    want = EXPECTED.get(name)
    print(f"{name}:")
    if "error" in answer:
        print(f"  error: {answer['error']}")
    elif "checks" in answer:
        for c in answer["checks"]:
            mark = "ok  " if c["ok"] else "FAIL"
            fix = f"  -> {c['fix']}" if c.get("fix") else ""
            print(f"  {mark} {c['name']}: {c['detail']}{fix}")
    elif "batchItemFailures" in answer:
        failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
        print(f"  batchItemFailures: {failed or 'none'}")
        reasons = failure_reasons(log)
        for message_id in failed:
            print(f"    {message_id}: {reasons.get(message_id, 'see the function log')}")
    else:
        key = answer.get("issue_key")
        summary = state = ""
        if key:
            base = cloud if answer["issue_url"].startswith(cloud) else server
            issue = issues(base)[key]
            summary = issue["fields"]["summary"]
            resolution = f", resolution {issue['resolution']}" if issue.get("resolution") else ""
            state = f"  [status {issue.get('status')}{resolution}, {issue.get('comments', 0)} comments]"
        print(f"  {answer.get('status')}: {key or ''} {summary}  {answer.get('issue_url', answer.get('reason', ''))}{state}")
    if want is None:
        print("  (no expectation recorded for this event)", file=sys.stderr)
        return 1
    if "ok" in want and answer.get("ok") != want["ok"]:
        print(f"  expected ok={want['ok']}", file=sys.stderr)
        return 1
    if "status" in want and answer.get("status") != want["status"]:
        print(f"  expected status {want['status']}", file=sys.stderr)
        return 1
    if "same_as" in want and answer.get("issue_key") != SEEN.get(want["same_as"]):
        print(f"  expected the issue of {want['same_as']}: {SEEN.get(want['same_as'])}", file=sys.stderr)
        return 1
    if "fields" in want:
        # The fields the issue carries, as the stand-in stored them (converted to each
        # field's type); a note in the answer would mean one was left out.
        base = cloud if answer["issue_url"].startswith(cloud) else server
        stored = issues(base)[answer["issue_key"]]["fields"]
        for f in want["fields"]:
            print(f"    {f}: {json.dumps(stored.get(f))}")
        missing = [f for f in want["fields"] if stored.get(f) is None]
        if missing or answer.get("notes"):
            print(f"  expected the fields {missing} set, and no notes: {answer.get('notes')}", file=sys.stderr)
            return 1
    if "jira_requests" in want:
        got = last_delivery_requests(log)
        print(f"  Jira requests for this delivery: {got}")
        if got != want["jira_requests"]:
            print(f"  expected {want['jira_requests']}", file=sys.stderr)
            return 1
    if "batchItemFailures" in want:
        failed = [f["itemIdentifier"] for f in answer.get("batchItemFailures", [])]
        if "batchItemFailures" not in answer or failed != want["batchItemFailures"]:
            print(f"  expected batchItemFailures {want['batchItemFailures']}", file=sys.stderr)
            return 1
    return 0


sys.exit(main())
