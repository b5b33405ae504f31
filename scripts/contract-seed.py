#!/usr/bin/env python3
"""Seed the local server for scripts/contract-check: for each run (a role schemathesis fuzzes
as), a certificant with a resource behind every path parameter of the spec, in the state its
operations can succeed in, and the run's schemathesis.toml pinning those ids.

Environment: BASE (the server), BIN (recert-local), DB (its SQLite file), TODAY (the server's
--today), WORK (where the tomls and tokens go), RUNS (space-separated run names: certificant,
staff, provider). Standard library only.
"""
import base64
import datetime
import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

BASE, BIN, DB, WORK = (os.environ[k] for k in ("BASE", "BIN", "DB", "WORK"))
TODAY = datetime.date.fromisoformat(os.environ["TODAY"])
RUNS = os.environ.get("RUNS", "certificant staff provider").split()


def token(role, sub):
    return subprocess.run([BIN, "token", "--role", role, "--sub", sub], check=True,
                          capture_output=True, text=True).stdout.strip()


ADMIN = token("admin", "contract-admin")


def call(tok, method, path, body=None, ctype="application/json", headers=None, raw=False):
    data = None
    hdrs = {"authorization": f"Bearer {tok}"} if tok else {}
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        hdrs["content-type"] = ctype
    hdrs.update(headers or {})
    url = path if path.startswith("http") else BASE + path
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req) as r:
            text = r.read().decode()
            if raw:
                return r
            return (json.loads(text) if text else None), r.headers
    except urllib.error.HTTPError as e:
        sys.exit(f"seed: {method} {path} -> {e.code} {e.read().decode()}")


def job(name, date, rules=None):
    cmd = [BIN, "job", name, "--date", date.isoformat(), "--db", DB]
    if rules:
        cmd += ["--rules", rules]
    subprocess.run(cmd, check=True, capture_output=True, text=True)


def rules_with_audit_share(percent):
    path = os.path.join(WORK, f"audit-{percent}.toml")
    src = os.path.join(os.path.dirname(__file__), "..", "shared/domain/rules/default.toml")
    with open(src) as f, open(path, "w") as out:
        for line in f:
            out.write(f"audit_sample_percent = {percent}\n"
                      if line.startswith("audit_sample_percent =") else line)
    return path


def entry(tok, cert, title, hours, category="society", ethics=0, provider="The Society",
          on="2025-06-12", canadian=False):
    body = {"title": title, "provider_name": provider, "provider_category": category,
            "completed_on": on, "hours_hundredths": hours, "ethics_hours_hundredths": ethics,
            "canadian_content": canadian}
    return call(tok, "POST", f"/certifications/{cert}/entries", body)[0]["id"]


def submit(tok, cert):
    return call(tok, "POST", f"/certifications/{cert}/submissions", {
        "attestation": True, "billing_address": {"name": "Contract Test", "line1": "1 Test St",
                                                 "city": "Toronto", "postal_code": "M5V 2T6",
                                                 "country": "CA"}})[0]


def pay(tok, cert, fee):
    sub = submit(tok, cert)
    subprocess.run([BIN, "pay", sub["order_number"], "--amount", str(fee), "--currency", "USD",
                    "--api", BASE], check=True, capture_output=True, text=True)
    return sub["id"]


seeds = {}
# 1. Per run: a certificant and certifications, each for the operations that need it in one
#    state (an operation that ends a state, like approve, gets its own):
#    A (CPHIMS): a paid submission in review (approve, payments, certificate).
#    H (CPHIMS): another in review (return).
#    B (CAHIMS): a paid submission in audit, waiting for documents (audit, evidence; the
#                submission read).
#    C (CPDHTS): an open transcript (entries, eligibility, what-if, history, an open waiver
#                request to decide, a provider's completions and a probable duplicate of one).
#    D (CPHIMS-CA): window open, nothing else (exam passes).
#    G (CPDHTS): window open, nothing else (a new waiver request; not D, which an exam pass may
#                have moved to a new cycle by then).
#    E (CPDHTS): hours met, nothing submitted (submit).
#    F (CPDHTS): an unpaid submission (withdraw).
#    I (CPDHTS): an open waiver request to withdraw.
for i, run in enumerate(RUNS):
    s = seeds[run] = {}
    person = call(ADMIN, "POST", "/certificants", {"email": f"contract-{run}@example.org",
                                                  "full_name": f"Contract {run.title()}",
                                                  "membership": "member"})[0]["id"]
    s["person"] = person
    s["me"] = token("certificant", person)

    def issue(credential, letter, previous, expires):
        return call(ADMIN, "POST", "/certifications", {
            "certificant_id": person, "credential": credential,
            "certificate_number": f"CONTRACT-{run.upper()}-{letter}",
            "previous_expiration_date": previous, "expires_on": expires})[0]["id"]

    for letter, credential in (("A", "CPHIMS"), ("H", "CPHIMS"), ("B", "CAHIMS")):
        s[letter] = issue(credential, letter, "2024-03-31", "2027-03-31")
        s[f"entry{letter}"] = entry(s["me"], s[letter], "Society annual conference", 4500,
                                    ethics=200)
    for letter in "CEFGI":
        s[letter] = issue("CPDHTS", letter, "2025-03-31", "2027-03-31")
    s["D"] = issue("CPHIMS-CA", "D", "2024-03-31", "2027-03-31")
    for letter in "CEF":
        s[f"entry{letter}"] = entry(s["me"], s[letter], "Society annual conference", 3000)
    s["entry_put"] = entry(s["me"], s["C"], "To be replaced", 100, category="other",
                           provider="Uni")
    s["entry_del"] = entry(s["me"], s["C"], "To be deleted", 100, category="other",
                           provider="Uni")
    s["subB"] = pay(s["me"], s["B"], 10000)
    s["subF"] = submit(s["me"], s["F"])["id"]
# 2. The audit draw (everyone selected) takes every B; then the A submissions are paid and the
#    next day's draw (no one selected) sends them to review. A fresh ledger's first run (the day
#    before) commits the periods: a period's draws need a commitment from an earlier day.
job("audit-draw", TODAY - datetime.timedelta(days=1))
job("audit-draw", TODAY, rules_with_audit_share(100))
for run in RUNS:
    s = seeds[run]
    s["subA"] = pay(s["me"], s["A"], 12500)
    s["subH"] = pay(s["me"], s["H"], 12500)
job("audit-draw", TODAY + datetime.timedelta(days=1), rules_with_audit_share(0))

for run in RUNS:
    s = seeds[run]
    me = s["me"]
    # Evidence declared for B's entry (uploaded, so the certificant can respond).
    content = b"%PDF-1.7 contract evidence"
    ev = call(me, "POST", f"/certifications/{s['B']}/audit/entries/{s['entryB']}/evidence", {
        "file_name": "evidence.pdf", "content_type": "application/pdf",
        "size_bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()})[0]["id"]
    s["evidence"] = ev
    url = call(me, "POST", f"/certifications/{s['B']}/audit/evidence/{ev}/upload")[0]["url"]
    call(None, "PUT", url if url.startswith("http") else BASE + url, content.decode(),
         ctype="application/pdf",
         headers={"x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(content).digest())
                  .decode()})
    # Waiver requests on C (to decide) and I (to withdraw).
    for letter in "CI":
        s[f"request{letter}"] = call(me, "POST", f"/certifications/{s[letter]}/waiver-requests", {
            "relief": {"type": "extension", "until": "2027-06-30"},
            "reason": "Contract check"})[0]["id"]
    # A provider, its completions: one matched on C (duplicating an entry the certificant
    # logged), one unmatched (for reconciliation), one to void.
    provider = f"contract-{run}"
    s["provider"] = provider
    call(ADMIN, "POST", "/providers", {
        "id": provider, "name": f"Contract Provider {run}", "category": "approved_provider",
        "approval": {"from": "2025-01-01", "until": "2027-12-31"},
        "contact": {"name": "Registrar", "email": "registrar@provider.example"}})
    s["provider_etag"] = call(ADMIN, "GET", f"/providers/{provider}")[1]["etag"]
    s["entry_dup"] = entry(me, s["C"], "Duplicate webinar", 150, category="approved_provider",
                           provider=f"Contract Provider {run}", on="2025-11-14")
    ptok = token("provider", provider)
    s["ptok"] = ptok
    number = f"CONTRACT-{run.upper()}-C"
    rows = [
        {"completion_id": "DUP-1", "certificate_number": number, "activity_id": "W-1",
         "title": "Duplicate webinar", "completed_on": "2025-11-14", "hours_hundredths": 150},
        {"completion_id": "VOID-1", "certificate_number": number, "activity_id": "W-2",
         "title": "To be voided", "completed_on": "2025-11-15", "hours_hundredths": 100},
        {"completion_id": "LOST-1", "certificate_number": "CONTRACT-NOBODY", "activity_id": "W-3",
         "title": "Unmatched", "completed_on": "2025-11-16", "hours_hundredths": 100},
    ]
    call(ptok, "POST", f"/providers/{provider}/completions", {"completions": rows})
    # A calendar feed.
    feed = call(me, "POST", f"/certificants/{s['person']}/calendar-feed")[0]["url"]
    s["calendar"] = feed.rsplit("/", 1)[1]
    for k in ("entry_put", "entry_del"):
        s[k + "_etag"] = call(me, "GET", f"/certifications/{s['C']}/entries/{s[k]}")[1]["etag"]


def toml_value(v):
    return json.dumps(v)


for run in RUNS:
    s = seeds[run]
    tok = {"certificant": s["me"], "staff": ADMIN, "provider": s["ptok"]}[run]
    with open(os.path.join(WORK, f"{run}.token"), "w") as f:
        f.write(tok)
    cert = "/certifications/{certification_id}"
    # Global pins, then per operation (later [[operations]] entries win).
    params = {
        "path.certificant_id": s["person"], "path.certification_id": s["C"],
        "path.entry_id": s["entryC"], "path.submission_id": s["subB"],
        "path.evidence_id": s["evidence"], "path.request_id": s["requestC"],
        "path.provider_id": s["provider"], "path.completion_id": "DUP-1",
        "path.token": s["calendar"], "path.period": TODAY.strftime("%Y-%m"),
    }
    # Per operation (by operationId): the certification (and entry...) in the state it needs.
    on_a = {"path.certification_id": s["A"], "path.submission_id": s["subA"]}
    on_b = {"path.certification_id": s["B"], "path.entry_id": s["entryB"]}
    ops = {
        # A: the submission in review; H: another, to return.
        **{op: on_a for op in ("record_payment", "approve", "get_certificate",
                               "certificate_page")},
        "return_submission": {"path.certification_id": s["H"], "path.submission_id": s["subH"]},
        # B: the audit, and its submission (read).
        **{op: on_b for op in ("get_audit", "decide", "declare_evidence", "get_evidence",
                               "upload_url", "respond", "get_submission")},
        # D: exam passes; G: a new waiver request.
        "record_exam_pass": {"path.certification_id": s["D"]},
        "create_request": {"path.certification_id": s["G"]},
        # E: submit; F: withdraw its unpaid submission; I: withdraw its waiver request.
        "submit": {"path.certification_id": s["E"]},
        "list_submissions": {"path.certification_id": s["E"]},
        "withdraw": {"path.certification_id": s["F"], "path.submission_id": s["subF"]},
        "withdraw_request": {"path.certification_id": s["I"], "path.request_id": s["requestI"]},
        # C: the entry to replace and the one to delete, each with its current ETag.
        "replace_entry": {"path.entry_id": s["entry_put"], "header.If-Match": s["entry_put_etag"]},
        "delete_entry": {"path.entry_id": s["entry_del"], "header.If-Match": s["entry_del_etag"]},
        "confirm_distinct": {"path.entry_id": s["entry_dup"]},
        "update_provider": {"header.If-Match": s["provider_etag"]},
        "reconcile_posting": {"path.completion_id": "LOST-1"},
        "void_posting": {"path.completion_id": "VOID-1"},
    }
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "contract-schemathesis.toml")) as f:
        shared = f.read()
    with open(os.path.join(WORK, f"{run}.toml"), "w") as f:
        # Top-level keys first (TOML puts anything after a table header inside that table).
        f.write("[parameters]\n")
        for k, v in params.items():
            f.write(f"{toml_value(k)} = {toml_value(v)}\n")
        f.write(f"\n[auth.openapi.bearer]\nbearer = {toml_value(tok)}\n")
        f.write("\n" + shared)
        for op, p in ops.items():
            f.write(f"\n[[operations]]\ninclude-operation-id = {toml_value(op)}\n")
            f.write("parameters = { " + ", ".join(f"{toml_value(k)} = {toml_value(v)}"
                                                   for k, v in p.items()) + " }\n")
    print(f"{run}: certificant {s['person']}, certifications "
          + ", ".join(f"{k} {s[k]}" for k in "ABCDEFGHI") + f", provider {s['provider']}")
