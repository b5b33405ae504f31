#!/usr/bin/env python3
"""Per operation of the spec, how many of schemathesis's requests reached a 2xx, per run (from
each run's HAR report); fails when an operation a run's role may call never did, unless
NEVER_2XX below says why it cannot.

usage: contract-coverage.py openapi.json RUN=run.har [RUN=run.har...]
"""
import json
import re
import sys
import urllib.parse

# Operations that cannot reach a 2xx in a run, with the reason. Everything else a run's role may
# call must succeed at least once.
STAFF_ONLY = "staff only: a certificant's token is refused (403)"
PROVIDER_ONLY = "the provider's own system only (403 for anyone else)"
PROVIDER_OR_STAFF = "the provider itself or staff (403 for a certificant)"
NEVER_2XX = {
    "*": {
        "POST /webhooks/payments": "signed by the payment processor: a fuzzed body never carries "
                                   "a valid signature (the tour and the API tests pay for real)",
    },
    "certificant": {
        **{op: STAFF_ONLY for op in (
            "GET /audit-queue", "POST /certificants", "POST /certifications",
            "POST /certifications/{certification_id}/audit/decisions",
            "POST /certifications/{certification_id}/exam-passes",
            "POST /certifications/{certification_id}/submissions/{submission_id}/approve",
            "POST /certifications/{certification_id}/submissions/{submission_id}/payments",
            "POST /certifications/{certification_id}/submissions/{submission_id}/return",
            "POST /certifications/{certification_id}/waiver-requests/{request_id}/decision",
            "GET /providers", "POST /providers", "PATCH /providers/{provider_id}",
            "POST /providers/{provider_id}/postings/{completion_id}/reconciliation",
            "GET /reconciliation-queue", "GET /review-queue", "GET /waiver-queue")},
        **{op: PROVIDER_OR_STAFF for op in (
            "GET /providers/{provider_id}", "GET /providers/{provider_id}/postings",
            "GET /providers/{provider_id}/postings/{completion_id}")},
        **{op: PROVIDER_ONLY for op in (
            "POST /providers/{provider_id}/completions",
            "POST /providers/{provider_id}/postings/{completion_id}/void")},
    },
    "staff": {
        "POST /certifications": "the body must name an enrolled certificant (a fuzzed uuid is "
                                "none) and dates that fit the credential's cycle; the seed "
                                "issues every certification through it",
        "POST /certifications/{certification_id}/audit/decisions":
            "the body must name the audit's entries by id (a fuzzed uuid is never one) once the "
            "certificant has responded; the API tests decide audits",
        **{op: PROVIDER_ONLY for op in (
            "POST /providers/{provider_id}/completions",
            "POST /providers/{provider_id}/postings/{completion_id}/void")},
    },
    "provider": {},
}


def operations(spec):
    ops = []
    for path, item in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        for method in item:
            if method in ("get", "put", "post", "delete", "patch"):
                ops.append((method.upper(), path, pattern))
    return ops


def main():
    spec = json.load(open(sys.argv[1]))
    ops = operations(spec)
    runs = [a.split("=", 1) for a in sys.argv[2:]]
    counts = {}  # (run, op) -> [total, 2xx]
    for run, har in runs:
        for e in json.load(open(har))["log"]["entries"]:
            method = e["request"]["method"]
            path = urllib.parse.urlsplit(e["request"]["url"]).path
            status = e["response"]["status"]
            for m, p, rx in ops:
                if m == method and rx.match(path):
                    c = counts.setdefault((run, f"{m} {p}"), [0, 0])
                    c[0] += 1
                    c[1] += 200 <= status < 300
                    break
    names = [r for r, _ in runs]
    width = max(len(f"{m} {p}") for m, p, _ in ops)
    print(f"{'operation':<{width}}  " + "  ".join(f"{n + ' 2xx/all':>18}" for n in names))
    missing = []
    for m, p, _ in ops:
        op = f"{m} {p}"
        cells = []
        for run in names:
            total, ok = counts.get((run, op), [0, 0])
            why = NEVER_2XX["*"].get(op) or NEVER_2XX.get(run, {}).get(op)
            mark = " " if ok or why or total == 0 else "!"
            if ok == 0 and not why and total > 0:
                missing.append((run, op))
            cells.append(f"{ok:>8}/{total:<8}{mark}" if total else f"{'-':>18}")
        print(f"{op:<{width}}  " + "  ".join(cells))
    if missing:
        print("\nFAIL: never a 2xx, and NEVER_2XX gives no reason:")
        for run, op in missing:
            print(f"  {run}: {op}")
        sys.exit(1)


main()
