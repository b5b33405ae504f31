#!/usr/bin/env python3
"""Re-run Recert's audit draws of one period with the public consistent-sampler package.

    pip install consistent-sampler==1.0.10
    curl -s https://<api>/audit-periods/2026-11 > period.json
    python3 verify-audit-draw.py period.json      # or: ... | python3 verify-audit-draw.py -

Needs only the package and the period's published document (after the month ended, when its seed
is revealed). For every draw it checks that sha256(seed) is the commitment published before the
month began, that the candidate digest matches the candidate list, and that the selected
submissions are exactly those whose consistent-sampler ticket is below the share. Exits 0 when
every draw verifies, 1 otherwise.
"""
import hashlib
import json
import sys
from decimal import Decimal

from consistent_sampler import first_fraction


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify(document):
    period = document["period"]
    seed = period.get("seed")
    if seed is None:
        return [f"{period['period']}: the seed is not revealed yet (the month has not ended)"]
    problems = []
    if sha256_hex(seed) != period["commitment"]:
        problems.append("sha256(seed) is not the published commitment")
    for draw in document["draws"]:
        day = draw["run_on"]
        if draw["seed_commitment"] != period["commitment"]:
            problems.append(f"{day}: the draw names another commitment")
        candidates = draw["candidates"]
        if sorted(candidates) != candidates:
            problems.append(f"{day}: the candidates are not sorted")
        if sha256_hex("\n".join(candidates)) != draw["candidates_sha256"]:
            problems.append(f"{day}: the candidate digest does not match")
        share = Decimal(draw["share_percent"]) / 100
        tickets = {c: first_fraction(c, seed) for c in candidates}
        expected = sorted(
            (c for c, t in tickets.items() if Decimal(t) < share),
            key=lambda c: (Decimal(tickets[c]), c),
        )
        recorded = [s["id"] for s in draw["selected"]]
        if recorded != expected:
            problems.append(f"{day}: recorded selection {recorded} but the package selects {expected}")
        for s in draw["selected"]:
            if tickets.get(s["id"]) != s["ticket"]:
                problems.append(f"{day}: the ticket of {s['id']} differs from the package's")
    return problems


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source = sys.stdin if argv[1] == "-" else open(argv[1], encoding="utf-8")
    with source:
        document = json.load(source)
    problems = verify(document)
    draws = document["draws"]
    candidates = sum(len(d["candidates"]) for d in draws)
    selected = sum(len(d["selected"]) for d in draws)
    print(f"{document['period']['period']}: {len(draws)} draws, {candidates} candidates, {selected} selected")
    for p in problems:
        print(f"MISMATCH {p}")
    if problems:
        return 1
    print("verified with consistent-sampler: every selection re-runs from the revealed seed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
