#!/usr/bin/env python3
"""Check Recert's audit draws of one period with the public consistent-sampler package, against
what you recorded earlier. Needs Python 3.11+ and `pip install consistent-sampler==1.0.10`;
nothing of Recert's.

    # Before the period starts: record its commitment (and keep the document).
    python3 verify-audit-draw.py fetch https://<api>/audit-periods/2026-12 > 2026-12.before.json
    # While it runs, now and then: keep copies.
    python3 verify-audit-draw.py fetch https://<api>/audit-periods/2026-12 > 2026-12.day15.json
    # After the reveal (the second day of the next month):
    python3 verify-audit-draw.py fetch https://<api>/audit-periods/2026-12 > 2026-12.json
    python3 verify-audit-draw.py check 2026-12.json \\
        --earlier 2026-12.before.json --earlier 2026-12.day15.json \\
        [--commitment <hex you wrote down>] [--rules <the programme's published rules.toml>]

`fetch` follows every page of the period's public document and prints it as one JSON document.
`check` exits 0 when the log holds, 1 when it does not (each problem on a `MISMATCH` line), 2 on a
usage error. It checks that:

- the revealed seed hashes to the commitment: sha256("recert-audit-commitment:" + seed);
- the commitment is the one you recorded, and was published before the period started (or the
  period says it was committed late: the programme's first period, or one rotated);
- the revealed log extends every earlier copy unchanged: the same commitment, the same draws with
  the same candidates, tickets and selections;
- the log is a hash chain from the period's genesis, without a gap, and ends in the head the
  period publishes;
- every draw ran inside its period, on or the day after its day, after the commitment's day and
  before the reveal, with the share of the rules in force that day;
- no candidate appears in two draws;
- every draw's selection is exactly the candidates whose consistent_sampler.first_fraction(id,
  seed) is below share_percent/100, with the same tickets.

A document without a seed (the period still running) gets every check but the last two and
reports that the seed is not revealed yet.
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import sys
import tomllib
import urllib.parse
import urllib.request
from decimal import Decimal

COMMITMENT_PREFIX = "recert-audit-commitment:"
LEGACY_SCHEME = 1
SCHEME = 2
DEFAULT_RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared", "domain", "rules", "default.toml")


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def commitment_of(seed, scheme):
    return sha256_hex(seed) if scheme == LEGACY_SCHEME else sha256_hex(COMMITMENT_PREFIX + seed)


def instant(text):
    """An instant as the log's hashes write it: 2026-12-01T02:15:00Z."""
    text = re.sub(r"\.\d+", "", text).replace("Z", "+00:00")
    moment = datetime.datetime.fromisoformat(text).astimezone(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def day(text):
    return datetime.date.fromisoformat(text)


def moment(text):
    return datetime.datetime.fromisoformat(re.sub(r"\.\d+", "", text).replace("Z", "+00:00"))


def period_days(period):
    year, month = (int(x) for x in period.split("-"))
    first = datetime.date(year, month, 1)
    following = datetime.date(year + month // 12, month % 12 + 1, 1)
    return first, following - datetime.timedelta(days=1)


def genesis(p):
    late = "true" if p.get("late_commitment") else "false"
    return sha256_hex(
        f"recert-audit-log/2\nperiod {p['period']}\ncommitment {p['commitment']}\n"
        f"committed_at {instant(p['committed_at'])}\nlate_commitment {late}"
    )


def entry_text(d):
    lines = [
        "recert-audit-draw/2",
        f"period {d['period']}",
        f"seq {d['seq']}",
        f"run_on {d['run_on']}",
        f"ran_at {instant(d['ran_at'])}",
        f"previous {d['previous']}",
        f"commitment {d['seed_commitment']}",
        f"share_percent {d['share_percent']}",
        f"candidates_sha256 {d['candidates_sha256']}",
    ]
    lines += [f"selected {s['id']} {s['ticket']}" for s in d["selected"]]
    return "\n".join(lines)


def rules_shares(path):
    """[(effective_from, share_percent)] of the rules file, oldest first."""
    with open(path, "rb") as f:
        rules = tomllib.load(f)
    versions = []
    for v in rules["version"]:
        effective = v["effective_from"]
        if isinstance(effective, str):
            effective = day(effective)
        versions.append((effective, int(v["deadlines"]["audit_sample_percent"])))
    versions.sort()
    return versions


def share_on(versions, when):
    """The share of the version in force on `when` (the first version for earlier days)."""
    in_force = [share for effective, share in versions if effective <= when]
    return in_force[-1] if in_force else versions[0][1]


def selection(seed, share_percent, candidates):
    from consistent_sampler import first_fraction

    share = Decimal(share_percent) / 100
    tickets = {c: first_fraction(c, seed) for c in candidates}
    chosen = [c for c in candidates if Decimal(tickets[c]) < share]
    chosen.sort(key=lambda c: (Decimal(tickets[c]), c))
    return [{"id": c, "ticket": tickets[c]} for c in chosen]


def check_draw(d, p, seed, versions, problems):
    run_on = day(d["run_on"])
    first, last = period_days(p["period"])
    if d["period"] != p["period"] or not first <= run_on <= last:
        problems.append(f"draw {run_on}: it is not a day of {p['period']}")
    ran_on = moment(d["ran_at"]).date()
    if ran_on < run_on or ran_on > run_on + datetime.timedelta(days=1):
        problems.append(f"draw {run_on}: it ran at {d['ran_at']}, not on its day or the day after")
    if p.get("revealed_at") and moment(d["ran_at"]) >= moment(p["revealed_at"]):
        problems.append(f"draw {run_on}: it ran after the seed was revealed")
    if d["seed_commitment"] != p["commitment"]:
        problems.append(f"draw {run_on}: it names another commitment than its period's")
    in_force = share_on(versions, run_on)
    if d["share_percent"] != in_force:
        problems.append(
            f"draw {run_on}: its share is {d['share_percent']} %, but the rules in force that day say {in_force} %"
        )
    candidates = d["candidates"]
    if sorted(set(candidates)) != candidates or sha256_hex("\n".join(candidates)) != d["candidates_sha256"]:
        problems.append(f"draw {run_on}: the candidate digest does not match its candidates (sorted, each once)")
    if seed is not None:
        expected = selection(seed, d["share_percent"], candidates)
        if expected != [{"id": s["id"], "ticket": s["ticket"]} for s in d["selected"]]:
            problems.append(
                f"draw {run_on}: re-running it with the revealed seed selects "
                f"{[s['id'] for s in expected]}, not {[s['id'] for s in d['selected']]}"
            )


def check_log(doc, seed, versions, problems, notes):
    p = doc["period"]
    first, _ = period_days(p["period"])
    committed_on = moment(p["committed_at"]).date()
    if committed_on >= first:
        if p.get("late_commitment"):
            notes.append(
                f"the commitment of {p['period']} was published on {committed_on}, inside the period "
                "(the programme's first period, or a rotated one): compare it with your own record"
            )
        else:
            problems.append(
                f"the commitment was published on {committed_on}, after the period started, and the period does not say so"
            )
    previous = genesis(p)
    seen = {}
    before = None
    for i, d in enumerate(doc["draws"]):
        run_on = day(d["run_on"])
        if d.get("seq") != i + 1:
            problems.append(
                f"draw {run_on}: it is record {d.get('seq')} of the log, where record {i + 1} should be (a record was removed or inserted)"
            )
        if d.get("previous") != previous:
            problems.append(f"draw {run_on}: its `previous` is not the hash of the record before it (the log was changed)")
        if sha256_hex(entry_text(d)) != d.get("entry_sha256"):
            problems.append(f"draw {run_on}: its `entry_sha256` is not the hash of its content")
        previous = d.get("entry_sha256")
        if before is not None and run_on <= before:
            problems.append(f"draw {run_on}: it comes after the draw of {before}, a later or the same day")
        before = run_on
        if run_on <= committed_on:
            problems.append(f"draw {run_on}: it ran on or before the day the commitment was published ({committed_on})")
        for c in d["candidates"]:
            if c in seen:
                problems.append(f"{c} is a candidate of two draws: {seen[c]} and {run_on}")
            else:
                seen[c] = run_on
        check_draw(d, p, seed, versions, problems)
    if p.get("draws") != len(doc["draws"]) or p.get("head") != previous:
        problems.append(
            f"the period says its log holds {p.get('draws')} draws ending in {p.get('head')}, but the log holds {len(doc['draws'])}"
        )


def compare(doc, earlier, problems):
    p, e = doc["period"], earlier["period"]
    if e["period"] != p["period"]:
        problems.append(f"your earlier copy is of {e['period']}, not {p['period']}")
        return
    keys = ("commitment", "committed_at", "late_commitment", "scheme")
    if any(e.get(k) != p.get(k) for k in keys if k != "committed_at") or instant(e["committed_at"]) != instant(p["committed_at"]):
        problems.append("your earlier copy has another commitment, publication time or late flag than this document")
    if e.get("seed") is not None and e.get("seed") != p.get("seed"):
        problems.append("your earlier copy shows another seed")
    if len(earlier["draws"]) > len(doc["draws"]):
        problems.append(
            f"your earlier copy holds {len(earlier['draws'])} draws, this document only {len(doc['draws'])} (records were removed)"
        )
    for i, d in enumerate(earlier["draws"]):
        if i >= len(doc["draws"]) or doc["draws"][i] != d:
            problems.append(f"draw {d['run_on']} differs from your earlier copy")


def verify(doc, earlier, commitment, versions):
    """(problems, notes) of the document."""
    p = doc["period"]
    problems, notes = [], []
    if commitment is not None and commitment != p["commitment"]:
        problems.append(f"the published commitment {p['commitment']} is not the one you recorded ({commitment})")
    scheme = p.get("scheme", LEGACY_SCHEME)
    seed = p.get("seed")
    if seed is None:
        problems.append(f"the seed of {p['period']} is not revealed yet: the selections cannot be re-run")
    elif commitment_of(seed, scheme) != p["commitment"]:
        problems.append("the revealed seed does not hash to the published commitment")
        seed = None
    elif p.get("revealed_at") and not p.get("rotated_at") and moment(p["revealed_at"]).date() <= period_days(p["period"])[1]:
        problems.append(f"the seed was revealed on {moment(p['revealed_at']).date()}, before the period ended")
    if scheme == SCHEME:
        check_log(doc, seed, versions, problems, notes)
    elif scheme == LEGACY_SCHEME:
        notes.append(
            f"{p['period']} was committed under scheme 1 (its commitment was the sampler's key) and retired; "
            "its draws are checked one by one, without a log chain"
        )
        for d in doc["draws"]:
            check_draw(d, p, seed, versions, problems)
    else:
        problems.append(f"unknown scheme {scheme}")
    for e in earlier:
        compare(doc, e, problems)
    return problems, notes


def load(path):
    source = sys.stdin if path == "-" else open(path, encoding="utf-8")
    with source:
        doc = json.load(source)
    return {"period": doc["period"], "draws": doc["draws"]}


def fetch(url):
    """Every page of the period's document at `url`, as one document."""
    draws, page_url, page = [], url, None
    while True:
        with urllib.request.urlopen(page_url, timeout=30) as response:
            page = json.load(response)
        draws.extend(page["draws"])
        cursor = page.get("next_cursor")
        if not cursor:
            return {"period": page["period"], "draws": draws}
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.urlencode({"limit": 10, "cursor": cursor})
        page_url = urllib.parse.urlunsplit(parts._replace(query=query))


def main(argv):
    if len(argv) > 1 and argv[1] not in ("check", "fetch", "-h", "--help"):
        argv = [argv[0], "check"] + argv[1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("fetch", help="print every page of a period's document as one document")
    get.add_argument("url", help="https://<api>/audit-periods/<YYYY-MM>")
    check = commands.add_parser("check", help="check a revealed document against what you recorded")
    check.add_argument("document", help="the period's document (a file, or - for stdin)")
    check.add_argument("--earlier", action="append", default=[], help="a copy saved earlier (repeatable)")
    check.add_argument("--commitment", help="the commitment you recorded before the period started")
    check.add_argument("--rules", default=DEFAULT_RULES, help="the programme's published rules (TOML)")
    try:
        args = parser.parse_args(argv[1:])
    except SystemExit as exit:
        return 2 if exit.code else 0
    if args.command == "fetch":
        print(json.dumps(fetch(args.url), indent=1))
        return 0
    doc = load(args.document)
    earlier = [load(path) for path in args.earlier]
    problems, notes = verify(doc, earlier, args.commitment, rules_shares(args.rules))
    draws = doc["draws"]
    candidates = sum(len(d["candidates"]) for d in draws)
    selected = sum(len(d["selected"]) for d in draws)
    print(f"{doc['period']['period']}: {len(draws)} draws, {candidates} candidates, {selected} selected")
    if args.commitment is None and not earlier:
        print("note: nothing recorded earlier was given (--commitment, --earlier): a forger who rewrote "
              "the whole log and its commitment would pass the other checks")
    for note in notes:
        print(f"note: {note}")
    for problem in problems:
        print(f"MISMATCH {problem}")
    if problems:
        return 1
    print("verified with consistent-sampler: the log extends what you recorded, and every selection re-runs from the revealed seed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
