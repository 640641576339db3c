"""Prints a check_destination answer (JSON on stdin) as a table: check, result, detail,
fix. Exits 1 when a check failed, 2 when the answer is not a check report, so a script
can gate on it."""
import json
import sys
import textwrap


def main():
    raw = sys.stdin.read()
    try:
        report = json.loads(raw)
    except ValueError:
        print(raw.strip() or "(no answer)", file=sys.stderr)
        return 2
    if "checks" not in report:
        print(json.dumps(report, indent=2), file=sys.stderr)
        return 2
    width = max(len(c["name"]) for c in report["checks"])
    for c in report["checks"]:
        mark = "ok  " if c["ok"] else "FAIL"
        print(f"{c['name']:<{width}}  {mark}  {c['detail']}")
        if c.get("fix"):
            for line in textwrap.wrap(f"fix: {c['fix']}", 100):
                print(f"{'':<{width}}        {line}")
    if report.get("test_issue"):
        print(f"test issue: {report['test_issue'].get('issue_url')}")
    failed = [c["name"] for c in report["checks"] if not c["ok"]]
    if failed:
        print(f"\nnot ready: {', '.join(failed)} (see the fix above)")
        return 1
    print(f"\nready: all {len(report['checks'])} checks passed")
    return 0


sys.exit(main())
