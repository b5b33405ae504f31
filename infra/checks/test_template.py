"""Invariants of infra/template.yaml that linters cannot know: they tie the template to the code.

Run by scripts/check-template (pytest, in .tools/venv). Each test reads the SAM template and,
where the SAM layer could hide something, the CloudFormation that SAM translates it to.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from translate import ROOT, load_sam, translate

FUNCTIONS_DIR = ROOT / "functions"
SHARED_DIR = ROOT / "shared"
TABLE_JSON = ROOT / "infra" / "table.json"
OPENAPI_JSON = ROOT / "openapi" / "openapi.json"

AUTHORIZER = "JwtAuthorizer"

# What each deployed binary's code calls on DynamoDB (shared/store/src/dynamodb/,
# docs/dynamodb.md), as IAM actions per resource. A TransactWriteItems is authorized per action
# inside it: Put -> PutItem, Delete -> DeleteItem, ConditionCheck -> ConditionCheckItem, Update ->
# UpdateItem (there is no IAM action named TransactWriteItems).
#   transcripts:    load a certification = GetItem (root item) + Query (the current cycle's working
#                   set); an older cycle's entries = Query; commit = TransactWriteItems of Puts
#                   (root, entry, history, idempotency record) and Deletes (a deleted entry).
#   eligibility:    GetItem (root) + Query (working set); never writes (what-if stores nothing).
#   certifications: GetItem (certificant profile, certification root, certificate-number guard);
#                   Query (a certification's working set and history); Query on gsi1 (a
#                   certificant's certifications); enrol / issue = TransactWriteItems of conditional
#                   Puts (profile, email guard, root, history, certificate-number guard; issue also
#                   the deadline items and the welcome outbox message, in CERT#<id>); a
#                   certificant's calendar feed (CERTIFICANT#<id> / CALENDAR_FEED): GetItem, an
#                   unconditional PutItem (create, rotate), DeleteItem (revoke).
#   notifier:       (the table's stream, read by Lambda with the function's role) GetItem of the
#                   outbox message; conditional PutItem to claim it and to record the outcome.
#   outbox-sweeper: Query on gsi2 (the outbox queue, QUEUE#outbox); GetItem + conditional PutItem
#                   of each message, as the notifier.
#   jobs:           Query on gsi3 (what is due on a date, DUE#<date>: window-opens deadlines, and
#                   for lifecycle the roots' closing dates); GetItem of a certification root and of
#                   its certificant's profile (the recipient); load = GetItem + Query; commit =
#                   TransactWriteItems of Puts only (root, history, deadline, renewal withdrawn on a
#                   lapse, outbox message).
#   submissions:    GetItem of a certification root and of its certificant's profile (the holder,
#                   the recipient); load = GetItem + Query; commit = TransactWriteItems of Puts only
#                   (root, history, renewal, deadline, outbox message, idempotency record); Query on
#                   gsi2 (the review queue, QUEUE#renewal_review). Sends no email (the outbox does).
#   audits:         GetItem of a certification root and of its certificant's profile (a decision's
#                   recipient); load = GetItem + Query; commit = TransactWriteItems of Puts only
#                   (root, history, renewal, audit, deadline, outbox message, idempotency record);
#                   Query on gsi2 (the auditors' queue, QUEUE#audit_decision); the audit ledger
#                   read-only: GetItem of a period, Query of its draw records (AUDIT#<yyyy-mm>).
#                   S3: EXPECTED_S3. Sends no email.
#   audit-jobs:     Query on gsi2 (the draw queue, QUEUE#audit_draw) and gsi3 (audit deadlines due on
#                   a date, DUE#<date>); GetItem of a root and of a profile (the recipient); load and
#                   commit as above; the audit ledger read and written: GetItem of a period, PutItem
#                   of a new period (attribute_not_exists) and of a reveal or a rotation (conditional
#                   on the body read), TransactWriteItems of two Puts (the day's draw record,
#                   attribute_not_exists, and the period's new head, conditional on the body read),
#                   Query of a period's draw records (AUDIT#<yyyy-mm>), Query on gsi1 of every
#                   period (AUDIT_PERIODS, to reveal each that ended). KMS: SEALING_BINARIES. No S3,
#                   no email.
#   waivers:        GetItem of a certification root and of its certificant's profile (a decision's
#                   recipient); load = GetItem + Query; commit = TransactWriteItems of Puts only
#                   (root, history, waiver request, outbox message, idempotency record); Query on
#                   gsi2 (the committee's queue, QUEUE#waiver_decision). No S3, no email.
#   providers:      the providers' partitions (PROVIDER#<id>): GetItem of a provider (META) and of a
#                   posting (POSTING#<completion id>), BatchGetItem of a batch's postings, PutItem of
#                   a provider (attribute_not_exists / version condition) and of a posting
#                   (put-if-absent, or a swap conditional on the one read); a certification: GetItem
#                   of its root and of a certificate-number guard (CERTNO#); load = GetItem + Query; commit = TransactWriteItems of Puts and Deletes
#                   (an entry removed by a void) in CERT#<id>, with the postings' conditional Puts
#                   (PROVIDER#<id>); Query on gsi1 (the providers, PROVIDERS; a provider's postings,
#                   POSTINGS#<provider id>; a certificant's certifications, CERTIFICANT#<id>) and
#                   gsi2 (the reconciliation queue, QUEUE#reconciliation). No S3, no email.
# Keyed by the deployed binary (Metadata.BuildProperties.Binary; a crate's default binary has the
# crate's name), so two binaries of one crate can have different roles. Resources: TABLE, an index
# name ("gsi1"), or STREAM (the table's stream, for a stream-event consumer).
# Change this table, EXPECTED_LEADING_KEYS and the role together when the adapter starts using
# another call.
TABLE = "table"
STREAM = "stream"
EXPECTED_DYNAMODB: dict[str, dict[str, set[str]]] = {
    "transcripts": {TABLE: {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"}},
    "eligibility": {TABLE: {"dynamodb:GetItem", "dynamodb:Query"}},
    "certifications": {
        TABLE: {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"},
        "gsi1": {"dynamodb:Query"},
    },
    "notifier": {
        TABLE: {"dynamodb:GetItem", "dynamodb:PutItem"},
        STREAM: {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"},
    },
    "outbox-sweeper": {
        TABLE: {"dynamodb:GetItem", "dynamodb:PutItem"},
        "gsi2": {"dynamodb:Query"},
    },
    "jobs": {
        TABLE: {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"},
        "gsi3": {"dynamodb:Query"},
    },
    "submissions": {
        TABLE: {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"},
        "gsi2": {"dynamodb:Query"},
    },
    "audits": {
        TABLE: {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"},
        "gsi2": {"dynamodb:Query"},
    },
    "audit-jobs": {
        TABLE: {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"},
        "gsi1": {"dynamodb:Query"},
        "gsi2": {"dynamodb:Query"},
        "gsi3": {"dynamodb:Query"},
    },
    "waivers": {
        TABLE: {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"},
        "gsi2": {"dynamodb:Query"},
    },
    "providers": {
        TABLE: {
            "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
            "dynamodb:DeleteItem",
        },
        "gsi1": {"dynamodb:Query"},
        "gsi2": {"dynamodb:Query"},
    },
}

# The partition keys each grant on the table or an index is confined to: every such statement
# carries Condition ForAllValues:StringLike dynamodb:LeadingKeys (the request's partition key
# values; for a Query on an index, the index's partition key). Per binary, resource and action:
# the union of the prefixes of the statements granting that action there (IAM allows a request
# if any statement does), so a widened or added prefix fails the check. Key layout: docs/dynamodb.md.
CERT, CERTIFICANT, EMAIL, CERTNO = "CERT#*", "CERTIFICANT#*", "EMAIL#*", "CERTNO#*"
DUE = "DUE#*"
# The audit ledger: a month's period (commitment, sealed seed, its log's head) and its daily draw
# records, AUDIT#<yyyy-mm>; on gsi1 the listing of every period (one exact partition, AUDIT_PERIODS).
AUDIT, AUDIT_PERIODS_LISTING = "AUDIT#*", "AUDIT_PERIODS"
# A queue is one exact partition: a role may read only the queue it works.
OUTBOX_QUEUE, REVIEW_QUEUE = "QUEUE#outbox", "QUEUE#renewal_review"
AUDIT_DRAW_QUEUE, AUDIT_DECISION_QUEUE = "QUEUE#audit_draw", "QUEUE#audit_decision"
WAIVER_DECISION_QUEUE = "QUEUE#waiver_decision"
# Partner providers: a provider's record and its postings (PROVIDER#<id>); on gsi1 the listing of
# all providers (one exact partition, PROVIDERS) and each provider's postings (POSTINGS#<id>).
PROVIDER, PROVIDERS_LISTING, POSTINGS = "PROVIDER#*", "PROVIDERS", "POSTINGS#*"
RECONCILIATION_QUEUE = "QUEUE#reconciliation"
EXPECTED_LEADING_KEYS: dict[str, dict[str, dict[str, set[str]]]] = {
    # Every item it reads or writes is in a certification's partition.
    "transcripts": {
        TABLE: {
            "dynamodb:GetItem": {CERT},
            "dynamodb:Query": {CERT},
            "dynamodb:PutItem": {CERT},
            "dynamodb:DeleteItem": {CERT},
        },
    },
    "eligibility": {TABLE: {"dynamodb:GetItem": {CERT}, "dynamodb:Query": {CERT}}},
    "certifications": {
        TABLE: {
            # profile and calendar feed, certification root, certificate-number guard
            "dynamodb:GetItem": {CERTIFICANT, CERT, CERTNO},
            # a certification's working set and history
            "dynamodb:Query": {CERT},
            # profile, email guard, root and history, certificate-number guard, calendar feed
            "dynamodb:PutItem": {CERTIFICANT, EMAIL, CERT, CERTNO},
            # a calendar feed, revoked
            "dynamodb:DeleteItem": {CERTIFICANT},
        },
        # gsi1pk = CERTIFICANT#<id> on a certification root
        "gsi1": {"dynamodb:Query": {CERTIFICANT}},
    },
    # An outbox message is in its certification's partition (CERT#<id> / OUTBOX#<id>).
    "notifier": {TABLE: {"dynamodb:GetItem": {CERT}, "dynamodb:PutItem": {CERT}}},
    "outbox-sweeper": {
        TABLE: {"dynamodb:GetItem": {CERT}, "dynamodb:PutItem": {CERT}},
        # gsi2pk = QUEUE#outbox on a pending message
        "gsi2": {"dynamodb:Query": {OUTBOX_QUEUE}},
    },
    "jobs": {
        TABLE: {
            # certification root, certificant profile (the recipient)
            "dynamodb:GetItem": {CERT, CERTIFICANT},
            # a certification's working set
            "dynamodb:Query": {CERT},
            # root, history, deadline, renewal (withdrawn on a lapse), outbox message
            "dynamodb:PutItem": {CERT},
        },
        # gsi3pk = DUE#<yyyy-mm-dd> on a deadline (or a root while active)
        "gsi3": {"dynamodb:Query": {DUE}},
    },
    "submissions": {
        TABLE: {
            # certification root, certificant profile (the holder, the recipient)
            "dynamodb:GetItem": {CERT, CERTIFICANT},
            # a certification's working set
            "dynamodb:Query": {CERT},
            # root, history, renewal, deadline, outbox message, idempotency record
            "dynamodb:PutItem": {CERT},
        },
        # gsi2pk = QUEUE#renewal_review on a renewal waiting for review (not the outbox queue,
        # whose messages carry recipients' addresses)
        "gsi2": {"dynamodb:Query": {REVIEW_QUEUE}},
    },
    "audits": {
        TABLE: {
            # certification root, certificant profile (a decision's recipient); a ledger period
            "dynamodb:GetItem": {CERT, CERTIFICANT, AUDIT},
            # a certification's working set; a period's draw records
            "dynamodb:Query": {CERT, AUDIT},
            # root, history, renewal, audit, deadline, outbox message, idempotency record: never
            # the ledger (the draw job alone writes it)
            "dynamodb:PutItem": {CERT},
        },
        # gsi2pk = QUEUE#audit_decision on an audit waiting for an auditor (not the draw queue)
        "gsi2": {"dynamodb:Query": {AUDIT_DECISION_QUEUE}},
    },
    "audit-jobs": {
        TABLE: {
            # certification root, certificant profile (the recipient), a ledger period
            "dynamodb:GetItem": {CERT, CERTIFICANT, AUDIT},
            # a certification's working set; a period's draw records
            "dynamodb:Query": {CERT, AUDIT},
            # the commits (CERT#<id>); a new period, a reveal or rotation, and the append's two
            # Puts, a day's draw record and the period's head (AUDIT#<yyyy-mm>)
            "dynamodb:PutItem": {CERT, AUDIT},
        },
        # gsi1pk = AUDIT_PERIODS on every period (the reveals)
        "gsi1": {"dynamodb:Query": {AUDIT_PERIODS_LISTING}},
        # gsi2pk = QUEUE#audit_draw on a paid submission waiting for the draw
        "gsi2": {"dynamodb:Query": {AUDIT_DRAW_QUEUE}},
        # gsi3pk = DUE#<yyyy-mm-dd> on an audit deadline
        "gsi3": {"dynamodb:Query": {DUE}},
    },
    "waivers": {
        TABLE: {
            # certification root, certificant profile (a decision's recipient)
            "dynamodb:GetItem": {CERT, CERTIFICANT},
            # a certification's working set
            "dynamodb:Query": {CERT},
            # root, history, waiver request, outbox message, idempotency record
            "dynamodb:PutItem": {CERT},
        },
        # gsi2pk = QUEUE#waiver_decision on an open request waiting for the committee (not the
        # outbox queue, whose messages carry recipients' addresses)
        "gsi2": {"dynamodb:Query": {WAIVER_DECISION_QUEUE}},
    },
    "providers": {
        TABLE: {
            # a provider, a posting; a certification root, a certificate-number guard (a row's
            # certificate number)
            "dynamodb:GetItem": {PROVIDER, CERT, CERTNO},
            # a batch's postings
            "dynamodb:BatchGetItem": {PROVIDER},
            # a certification's working set
            "dynamodb:Query": {CERT},
            # a provider, a posting; root, history, entry, outbox message, idempotency record
            "dynamodb:PutItem": {PROVIDER, CERT},
            # an entry a void removes
            "dynamodb:DeleteItem": {CERT},
        },
        # gsi1pk = PROVIDERS on a provider record, POSTINGS#<provider id> on a posting,
        # CERTIFICANT#<id> on a certification root
        "gsi1": {"dynamodb:Query": {PROVIDERS_LISTING, POSTINGS, CERTIFICANT}},
        # gsi2pk = QUEUE#reconciliation on a posting waiting for staff (not another queue)
        "gsi2": {"dynamodb:Query": {RECONCILIATION_QUEUE}},
    },
}
# A fixed "PREFIX#" and then anything, one exact queue partition ("QUEUE#<name>"), or one exact
# fixed partition with no variable part ("PROVIDERS", the listing of every provider).
LEADING_KEY_PATTERN = re.compile(r"[A-Z][A-Z0-9_]*#\*|QUEUE#[a-z_]+|[A-Z][A-Z0-9_]*")

# Actions that support no resource-level permissions: the only ones allowed on Resource "*".
RESOURCE_STAR_ALLOWED = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

# Spec operations deliberately not routed through API Gateway, and why. The test below requires
# this, plus the routes of UNAUTHENTICATED_ROUTES, to be exactly the spec's operations that have
# no security requirement.
UNROUTED = {
    ("GET", "/health"): "liveness of the local server; API Gateway routes require a JWT (but the "
    "reviewed routes of UNAUTHENTICATED_ROUTES), and Lambda health is watched by the "
    "Errors/Throttles alarms, not by polling",
}

# ---- allow-lists: the reviewed exceptions, each with its reason ------------------------------
# An entry that no longer matches the template fails the checks too: the lists stay exact.

# HttpApi routes that skip the JWT authorizer (event Auth: {Authorizer: NONE}), by (function
# crate, METHOD, path). Only of three kinds (OPEN_ROUTE_KINDS): a signed webhook (POST under
# /webhooks/), for a caller that cannot carry our JWT and whose request the handler authenticates
# itself, by verifying a signature over the raw body before acting on it; a public read (GET) of
# what is published by design, with no personal data; or a capability URL (GET under /calendar/):
# a read for a client that cannot carry our JWT (a calendar app), authenticated by the
# unguessable secret in its path, which the handler checks before reading anything else. Each
# must be in openapi/openapi.json with an explicit `security: []`.
UNAUTHENTICATED_ROUTES: dict[tuple[str, str, str], str] = {
    ("submissions", "POST", "/webhooks/payments"): "the payment processor's webhook: the processor "
    "cannot carry our JWT; the handler verifies its HMAC signature (Stripe-Signature, or Standard "
    "Webhooks' webhook-id/-timestamp/-signature) over the raw body with PAYMENT_WEBHOOK_SECRET, "
    "refuses a stale timestamp, and only then reads the event (shared/webhooks)",
    ("audits", "GET", "/audit-periods/{period}"): "the random audit's public record, read-only: "
    "anyone may check a month's draw (the seed's commitment, the seed once the period has ended and "
    "the draw job revealed it, each day's candidates and selections by submission id and ticket; "
    "no names or addresses) and re-run it with the public package; the handler takes no principal",
    ("certifications", "GET", "/calendar/{token}"): "the certificant's private calendar feed: "
    "calendar apps cannot carry our JWT; the token in the path (<certificant id>.<32 random bytes>) "
    "is the credential, its secret's SHA-256 compared in constant time with the stored one before "
    "anything else is read; a malformed, unknown, rotated-out or revoked token is the same 404; "
    "read-only (the certificant's renewal dates, no name, email or certificate number); the "
    "access log records the route key, never the path",
}
# What an open route may be: (METHOD, path prefix) -> the kind.
OPEN_ROUTE_KINDS: dict[tuple[str, str], str] = {
    ("POST", "/webhooks/"): "a signed webhook",
    ("GET", "/calendar/"): "a capability URL (the secret token in the path)",
    ("GET", "/"): "a public read-only record",
}

# Function events other than HttpApi, by (function crate, event name): (event type, reason). The
# type must be one of EVENT_CHECKS (ScheduleV2 = EventBridge Scheduler, DynamoDB = the table's
# stream), and the event must pass that type's check.
NON_HTTP_EVENTS: dict[tuple[str, str], tuple[str, str]] = {
    ("notifier", "OutboxInserts"): (
        "DynamoDB",
        "sends each outbox message as soon as its insert shows in the table's stream (filtered to "
        "INSERTs of OUTBOX# items); the code only reads the record's keys",
    ),
    ("notifier", "Every5Minutes"): (
        "ScheduleV2",
        "the outbox sweeper: sends what is still due (retries after a failed send, records the "
        "stream gave up on); the backstop of the stream",
    ),
    ("jobs", "WindowOpensDaily"): (
        "ScheduleV2",
        "the window-opens job, daily at 13:00 UTC: emails (through the outbox) each certificant "
        "whose renewal window opens that UTC day; idempotent per date",
    ),
    ("jobs", "LifecycleDaily"): (
        "ScheduleV2",
        "the lifecycle job, daily at 03:00 UTC: lapses each certification whose closing date was "
        "the day before without a paid submission, and reminds those closing in 90, 30 or 7 days "
        "of what is missing; idempotent per date",
    ),
    ("audits", "AuditDrawDaily"): (
        "ScheduleV2",
        "the audit-draw job (audit-jobs binary), daily at 02:15 UTC: commits this and next month's "
        "periods (a seed sealed under the audit seed key, its commitment published a month ahead), "
        "reveals every period that ended, appends the day's record to the period's log once and "
        "judges the paid submissions waiting for it; idempotent per date, and a date other than "
        "the clock's day or the day before is refused",
    ),
    ("audits", "AuditDeadlinesDaily"): (
        "ScheduleV2",
        "the audit-deadlines job (audit-jobs binary), daily at 02:30 UTC: reminders before an "
        "audit's documentation is due, and the audit failed the day after; idempotent per date",
    ),
}

# Binaries deployed as a function other than their crate's default one (the package name, built
# from src/main.rs), by (crate, binary). The binary must be a [[bin]] of the crate's Cargo.toml.
EXTRA_BINARIES: dict[tuple[str, str], str] = {
    ("notifier", "outbox-sweeper"): "the sweeper is the notifier's backstop: the same delivery code "
    "(recert_app::outbox::Courier), another trigger (a schedule, not the stream) and role (the "
    "outbox queue index, no stream, no dead-letter queue)",
    ("audits", "audit-jobs"): "the audit's scheduled draw and deadlines share the audits crate's "
    "domain code; another trigger (schedules, no routes) and role (writes the audit ledger, reads "
    "the draw queue and due-date index, seals and opens the seeds with the audit seed key; no S3, "
    "no JWT settings)",
}

# Binaries that send email (SES v2 SendEmail): they read SES_SENDER, SES_CONFIGURATION_SET and
# RECERT_LINK_BASE, and theirs are the only roles that may hold an SES action, ses:SendEmail on
# SES_RESOURCES only. Everything else that notifies writes an outbox message instead.
MAIL_BINARIES: dict[str, str] = {
    "notifier": "sends outbox messages as the stream shows them",
    "outbox-sweeper": "sends the outbox messages still due",
}

# Binaries that verify the payment processor's webhook signatures (shared/webhooks,
# Verifier::from_lookup over recert_app::secrets): they read PAYMENT_WEBHOOK_SCHEME and the ARNs of
# the signing secrets, PAYMENT_WEBHOOK_SECRET_ARN and PAYMENT_WEBHOOK_SECRET_PREVIOUS_ARN
# (PAYMENT_SETTINGS), and no other function gets a PAYMENT_ setting.
PAYMENT_WEBHOOK_BINARIES: dict[str, str] = {
    "submissions": "serves POST /webhooks/payments (UNAUTHENTICATED_ROUTES) and refuses to start "
    "without a valid signing secret",
}

# Binaries that keep audit evidence in the evidence bucket (recert_evidence::s3): they read
# EVIDENCE_BUCKET and EVIDENCE_MAX_BYTES (EVIDENCE_SETTINGS), no other function gets an EVIDENCE_
# setting, and theirs are the only roles with S3 actions: exactly EXPECTED_S3.
EVIDENCE_BINARIES: dict[str, str] = {
    "audits": "declares evidence, presigns each upload with its role (PutObject) and checks the "
    "uploaded files with HeadObject when the certificant responds; refuses to start without a bucket",
}

# Binaries that seal secrets under a KMS key (recert_keys::kms): they read AUDIT_SEED_KEY_ID
# (SEALING_SETTINGS), no other function gets an AUDIT_SEED_ setting, and theirs are the only roles
# the audit seed key's policy lets Encrypt and Decrypt (with the seeds' encryption context only).
SEALING_BINARIES: dict[str, str] = {
    "audit-jobs": "seals each new period's random seed (Encrypt) and opens it to draw and, once the "
    "period has ended, to reveal it (Decrypt); refuses to start without the key",
}

# Binaries that run scheduled jobs (recert_app::jobs::run_scheduled): each runs the jobs of its
# crate's `pub const JOBS: [Job; N] = [...]` (src/lib.rs), and its schedules name exactly those.
JOB_BINARIES: dict[str, str] = {
    "jobs": "runs the certification jobs of functions/jobs (window-opens, lifecycle)",
    "audit-jobs": "runs the random audit's jobs of functions/audits (audit-draw, audit-deadlines)",
}


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sam() -> dict[str, Any]:
    return load_sam()


@pytest.fixture(scope="session")
def cfn(sam: dict[str, Any]) -> dict[str, Any]:
    return translate(sam)


def resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == type_}


def functions(sam: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(sam, "AWS::Serverless::Function")


def crate_of(fn: dict[str, Any]) -> str:
    uri = fn["Properties"]["CodeUri"]
    m = re.fullmatch(r"\.\./functions/([a-z0-9][a-z0-9-]*)/?", uri)
    assert m, f"CodeUri {uri!r} is not ../functions/<crate> (relative to infra/)"
    return m.group(1)


def listify(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]


def http_events(fn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    events = fn["Properties"].get("Events", {})
    return {k: e for k, e in events.items() if e.get("Type") == "HttpApi"}


def other_events(fn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    events = fn["Properties"].get("Events", {})
    return {k: e for k, e in events.items() if e.get("Type") != "HttpApi"}


def binary_of(fn: dict[str, Any]) -> str:
    """The binary cargo-lambda builds for the function (it must be named: a crate may have several)."""
    binary = fn.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
    assert isinstance(binary, str) and binary, "Metadata.BuildProperties.Binary must name the binary"
    return binary


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy document in a (translated) template: role policies, managed policies,
    resource policies (topic, key, secret, table...)."""
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        for i, p in enumerate(props.get("Policies", []) or []):
            if isinstance(p, dict) and "PolicyDocument" in p:
                yield f"{name}.Policies[{i}]", p["PolicyDocument"]
        for key in ("PolicyDocument", "KeyPolicy", "ResourcePolicy"):
            if isinstance(props.get(key), dict):
                yield f"{name}.{key}", props[key]
        if isinstance(props.get("AssumeRolePolicyDocument"), dict):
            yield f"{name}.AssumeRolePolicyDocument", props["AssumeRolePolicyDocument"]


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of a policy document; a statement present only under a condition
    (`Fn::If: [cond, statement, AWS::NoValue]`) counts as the statement of each branch it may be."""
    found = []
    for st in listify(doc.get("Statement", [])):
        if isinstance(st, dict) and list(st) == ["Fn::If"]:
            found.extend(b for b in st["Fn::If"][1:] if b != {"Ref": "AWS::NoValue"})
        else:
            found.append(st)
    return found


def is_account_root_key_admin(where: str, template: dict[str, Any], st: dict[str, Any]) -> bool:
    """The AWS default key policy statement (account root, kms:*) on a KMS key: it delegates the
    key's administration to the account's IAM policies; it grants nothing to a workload. (Not on
    the audit seed key, whose policy lets the account administer it but not use it: see
    test_only_the_sealing_roles_may_use_the_audit_seed_key.)"""
    name = where.split(".")[0]
    if template["Resources"][name]["Type"] != "AWS::KMS::Key" or not where.endswith("KeyPolicy"):
        return False
    principal = st.get("Principal", {})
    root = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    return listify(st.get("Action")) == ["kms:*"] and principal == {"AWS": root}


def is_tls_only_deny(where: str, template: dict[str, Any], st: dict[str, Any]) -> bool:
    """A bucket policy's TLS-only statement: Deny every S3 action (a wildcard that takes away, never
    grants) to everyone on the bucket and its objects when the request is not over TLS."""
    name = where.split(".")[0]
    if template["Resources"][name]["Type"] != "AWS::S3::BucketPolicy" or not where.endswith("PolicyDocument"):
        return False
    return (
        st.get("Effect") == "Deny"
        and st.get("Principal") == "*"
        and listify(st.get("Action")) == ["s3:*"]
        and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    )


# ---- the API: every route authorized (but the allow-listed open routes) -----------------------


def test_the_api_has_a_jwt_authorizer_on_the_issuer_and_audience_parameters_as_default(sam):
    apis = resources(sam, "AWS::Serverless::HttpApi")
    assert list(apis) == ["HttpApi"], "exactly one HTTP API"
    auth = apis["HttpApi"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == AUTHORIZER
    jwt = auth["Authorizers"][AUTHORIZER]
    assert jwt["JwtConfiguration"] == {
        "issuer": {"Ref": "JwtIssuer"},
        "audience": [{"Ref": "JwtAudience"}],
    }
    assert jwt["IdentitySource"] == "$request.header.Authorization"
    assert not resources(sam, "AWS::Serverless::Api"), "no REST API beside the HTTP API"


def test_every_route_requires_the_jwt_authorizer_unless_allow_listed(sam):
    for crate, method, path in UNAUTHENTICATED_ROUTES:
        kinds = [k for (m, prefix), k in OPEN_ROUTE_KINDS.items() if m == method and path.startswith(prefix)]
        assert kinds, (
            f"UNAUTHENTICATED_ROUTES ({crate}, {method}, {path}): an open route is a signed webhook "
            f"(POST /webhooks/...) or a public read (GET) only"
        )
    opened = set()
    for fname, fn in functions(sam).items():
        for ename, event in http_events(fn).items():
            props = event["Properties"]
            assert props.get("ApiId") == {"Ref": "HttpApi"}, f"{fname}.{ename}: not on HttpApi"
            assert props.get("PayloadFormatVersion") == "2.0", f"{fname}.{ename}: payload v2"
            # No Auth at all: the default (JWT) applies. Auth: {Authorizer: NONE} opens the route.
            if "Auth" not in props:
                continue
            key = (crate_of(fn), props["Method"].upper(), props["Path"])
            assert props["Auth"] == {"Authorizer": "NONE"}, (
                f"{fname}.{ename} sets Auth: {props['Auth']} (without Auth the JWT authorizer "
                "applies; the only override is Authorizer: NONE on an UNAUTHENTICATED_ROUTES route)"
            )
            assert key in UNAUTHENTICATED_ROUTES, (
                f"{fname}.{ename}: {key} has no JWT authorizer and is not in UNAUTHENTICATED_ROUTES"
            )
            opened.add(key)
    stale = set(UNAUTHENTICATED_ROUTES) - opened
    assert not stale, f"UNAUTHENTICATED_ROUTES entries that are not Authorizer: NONE routes: {sorted(stale)}"


def test_every_translated_route_requires_the_jwt_authorizer_unless_allow_listed(cfn):
    (api,) = resources(cfn, "AWS::ApiGatewayV2::Api").values()
    paths = api["Properties"]["Body"]["paths"]
    assert paths, "no routes"
    opened = {(method, path) for _, method, path in UNAUTHENTICATED_ROUTES}
    for path, ops in paths.items():
        for method, op in ops.items():
            # SAM writes Authorizer: NONE as the security requirement {NONE: []}.
            want = [{"NONE": []}] if (method.upper(), path) in opened else [{AUTHORIZER: []}]
            assert op.get("security") == want, f"{method.upper()} {path}: {op.get('security')}"
    assert not resources(cfn, "AWS::ApiGatewayV2::Route"), "routes outside the API body"
    assert not resources(cfn, "AWS::Lambda::Url"), "function URLs bypass the authorizer"


def test_the_stage_throttles_and_writes_access_logs_to_a_retained_log_group(cfn):
    (stage,) = resources(cfn, "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"]
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"]
    dest = props["AccessLogSettings"]["DestinationArn"]
    group = cfn["Resources"][dest["Fn::GetAtt"][0]]
    assert group["Type"] == "AWS::Logs::LogGroup" and group["Properties"]["RetentionInDays"]
    assert "$context.routeKey" in props["AccessLogSettings"]["Format"]


# ---- events other than routes: allow-listed, each type with its safeguards ------------------


SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def check_schedule_v2(where: str, props: dict[str, Any]) -> None:
    """An EventBridge Scheduler schedule: the job's input carries the time it was scheduled for
    (so a late or retried run does the work of its own slot, not of "now")."""
    assert props.get("ScheduleExpression"), f"{where}: no ScheduleExpression"
    text = props.get("Input")
    assert isinstance(text, str), f"{where}: a ScheduleV2 event needs an Input (the job input)"
    assert SCHEDULED_TIME in text, f"{where}: the Input must carry {SCHEDULED_TIME}: {text!r}"
    assert isinstance(json.loads(text), dict), f"{where}: the Input must be a JSON object"
    # SAM then generates a role that may only invoke this function (checked with the roles).
    assert "RoleArn" not in props, f"{where}: RoleArn: let SAM generate the invoke-only role"
    # A schedule's name is unique per account, region and group; SAM names it after the logical
    # id, which every stack of this template shares: the second environment would not deploy.
    assert props.get("OmitName") is True or "${Environment}" in json.dumps(props.get("Name")), (
        f"{where}: a Name with ${{Environment}} in it (or OmitName: true), not SAM's default"
    )


def check_dynamodb_stream(where: str, props: dict[str, Any]) -> None:
    """A stream consumer of the table: it filters the records it is invoked for, reports the
    failed records of a batch (not the whole batch) and sends what it gave up on somewhere."""
    assert props.get("Stream") == {"Fn::GetAtt": ["Table", "StreamArn"]}, f"{where}: not the table's stream"
    filters = (props.get("FilterCriteria") or {}).get("Filters")
    assert filters, f"{where}: a stream event needs FilterCriteria.Filters"
    for f in filters:
        pattern = f.get("Pattern")
        assert isinstance(pattern, str) and isinstance(json.loads(pattern), dict), f"{where}: filter {f}"
    on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure")) or {}
    assert on_failure.get("Destination"), f"{where}: a stream event needs DestinationConfig.OnFailure"
    assert props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], (
        f"{where}: FunctionResponseTypes must be [ReportBatchItemFailures]"
    )
    retries = props.get("MaximumRetryAttempts")
    assert isinstance(retries, int) and 0 <= retries <= 10000, (
        f"{where}: MaximumRetryAttempts must be set (the default retries a failing batch until its "
        f"records expire, blocking the shard meanwhile): {retries!r}"
    )


# The event types NON_HTTP_EVENTS may list, and the check each event of that type must pass.
EVENT_CHECKS: dict[str, Callable[[str, dict[str, Any]], None]] = {
    "ScheduleV2": check_schedule_v2,
    "DynamoDB": check_dynamodb_stream,
}


def test_every_other_event_is_allow_listed(sam):
    for key, (type_, reason) in NON_HTTP_EVENTS.items():
        assert type_ in EVENT_CHECKS, f"NON_HTTP_EVENTS{key}: {type_}, only {sorted(EVENT_CHECKS)}"
        assert reason.strip(), f"NON_HTTP_EVENTS{key}: no reason"
    seen = set()
    for fname, fn in functions(sam).items():
        for ename, event in other_events(fn).items():
            key = (crate_of(fn), ename)
            assert key not in seen, f"{fname}.{ename}: {key} names two events"
            seen.add(key)
            assert key in NON_HTTP_EVENTS, (
                f"{fname}.{ename}: a {event.get('Type')} event, not in NON_HTTP_EVENTS"
            )
            listed = NON_HTTP_EVENTS[key][0]
            assert event.get("Type") == listed, f"{fname}.{ename}: a {event.get('Type')} event, listed as {listed}"
    stale = set(NON_HTTP_EVENTS) - seen
    assert not stale, f"NON_HTTP_EVENTS entries with no such event: {sorted(stale)}"


def test_scheduled_and_stream_events_have_their_safeguards(sam):
    for fname, fn in functions(sam).items():
        for ename, event in other_events(fn).items():
            check = EVENT_CHECKS.get(event.get("Type"))
            assert check, f"{fname}.{ename}: a {event.get('Type')} event"
            check(f"{fname}.{ename}", event.get("Properties") or {})


def test_nothing_invokes_a_function_but_its_reviewed_events(sam, cfn):
    # Each HttpApi event becomes a permission for API Gateway on that API; each other event, the
    # resource SAM names <function><event>. Anything else would be an unreviewed way in.
    sources = {
        fname + ename
        for fname, fn in functions(sam).items()
        for ename in other_events(fn)
    }
    got = set(resources(cfn, "AWS::Lambda::EventSourceMapping")) | set(resources(cfn, "AWS::Scheduler::Schedule"))
    assert got == sources, f"event sources {sorted(got)} != the functions' events {sorted(sources)}"
    for type_ in ("AWS::Events::Rule", "AWS::Lambda::Url", "AWS::Pipes::Pipe", "AWS::Scheduler::ScheduleGroup"):
        assert not resources(cfn, type_), f"{type_}: not a reviewed event source"
    for name, perm in resources(cfn, "AWS::Lambda::Permission").items():
        props = perm["Properties"]
        assert props["Principal"] == "apigateway.amazonaws.com", f"{name}: {props['Principal']}"
        assert '{"Ref": "HttpApi"}' in json.dumps(props.get("SourceArn")), f"{name}: not from HttpApi"


def stream_events(sam) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(function, event, its properties) of every DynamoDB stream event."""
    for fname, fn in functions(sam).items():
        for ename, event in other_events(fn).items():
            if event.get("Type") == "DynamoDB":
                yield fname, ename, event.get("Properties") or {}


def rust_str_const(path: Path, name: str) -> str:
    """The value of `pub const NAME: &str = "...";` in a Rust source file."""
    m = re.search(rf'pub const {name}: &str = "([^"]*)";', path.read_text())
    assert m, f"{path}: no string constant {name}"
    return m.group(1)


def test_the_notifier_is_invoked_for_outbox_inserts_only(sam):
    # The notifier acts on INSERTs of OUTBOX# items and skips anything else; the filter keeps the
    # rest of the table's writes from invoking it at all. Keys only: what a KEYS_ONLY record has.
    prefix = rust_str_const(SHARED_DIR / "store" / "src" / "codec.rs", "OUTBOX_PREFIX")
    want = {"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": prefix}]}}}}
    notifiers = [fn for fn in functions(sam).values() if binary_of(fn) == "notifier"]
    assert len(notifiers) == 1, "one notifier function"
    events = {k: e for k, e in other_events(notifiers[0]).items() if e.get("Type") == "DynamoDB"}
    assert len(events) == 1, f"the notifier reads the table's stream once: {sorted(events)}"
    (props,) = [e["Properties"] for e in events.values()]
    patterns = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert patterns == [want], f"the notifier's filter: {patterns}, want [{want}]"


IMAGE_VIEWS = {"NewImage": {"NEW_IMAGE", "NEW_AND_OLD_IMAGES"}, "OldImage": {"OLD_IMAGE", "NEW_AND_OLD_IMAGES"}}


def test_the_table_streams_only_when_read_and_with_what_the_filters_read(sam):
    # The stream specification lives in the template alone (not in infra/table.json: the code
    # never reads the stream itself, Lambda polls it). A stream nobody reads only copies data.
    spec = sam["Resources"]["Table"]["Properties"].get("StreamSpecification")
    consumers = list(stream_events(sam))
    if not consumers:
        assert spec is None, f"a table stream and no consumer: {spec}"
        return
    assert spec and spec.get("StreamViewType"), "a stream event, and the table has no stream"
    view = spec["StreamViewType"]
    for fname, ename, props in consumers:
        for f in props["FilterCriteria"]["Filters"]:
            dynamodb = json.loads(f["Pattern"]).get("dynamodb", {})
            for image, views in IMAGE_VIEWS.items():
                if image in dynamodb:
                    assert view in views, f"{fname}.{ename} filters on {image}, the stream has {view}"


def test_stream_failures_go_to_an_encrypted_retained_queue_only_its_consumer_may_write(sam):
    senders: dict[str, str] = {}
    for fname, ename, props in stream_events(sam):
        on_failure = props["DestinationConfig"]["OnFailure"]
        dest = on_failure["Destination"]
        assert on_failure.get("Type") == "SQS", f"{fname}.{ename}: OnFailure {on_failure}"
        assert isinstance(dest, dict) and list(dest) == ["Fn::GetAtt"] and dest["Fn::GetAtt"][1] == "Arn", (
            f"{fname}.{ename}: the destination must be a queue of this stack: {dest}"
        )
        queue = sam["Resources"][dest["Fn::GetAtt"][0]]
        assert queue["Type"] == "AWS::SQS::Queue", f"{fname}.{ename}: {queue['Type']}"
        q = queue["Properties"]
        assert q.get("KmsMasterKeyId"), f"{fname}.{ename}: the queue must be KMS-encrypted"
        assert q.get("MessageRetentionPeriod") == 1209600, f"{fname}.{ename}: keep failures 14 days"
        senders[dest["Fn::GetAtt"][0]] = sam["Resources"][fname]["Properties"]["Role"]["Fn::GetAtt"][0]
    # sqs: actions only in a consumer's role, only SendMessage, only on its destination.
    for rname, role in resources(sam, "AWS::IAM::Role").items():
        for p in role["Properties"].get("Policies", []):
            for st in statements(p["PolicyDocument"]):
                if not any(a.lower().startswith("sqs:") for a in listify(st["Action"])):
                    continue
                assert listify(st["Action"]) == ["sqs:SendMessage"], f"{rname}: {st['Action']}"
                for r in listify(st["Resource"]):
                    assert isinstance(r, dict) and list(r) == ["Fn::GetAtt"], f"{rname}: sqs on {r}"
                    assert senders.get(r["Fn::GetAtt"][0]) == rname, f"{rname}: sqs:SendMessage on {r}"


def job_variants() -> dict[str, str]:
    """The jobs there are, variant -> name (`Job::X => "name"` in shared/app/src/jobs.rs)."""
    src = (SHARED_DIR / "app" / "src" / "jobs.rs").read_text()
    variants = dict(re.findall(r'Job::(\w+)\s*=>\s*"([a-z0-9-]+)"', src))
    assert variants, "no job names found in shared/app/src/jobs.rs"
    return variants


def job_names() -> set[str]:
    """The job names a job function accepts."""
    return set(job_variants().values())


def crate_jobs(crate: str) -> set[str]:
    """The names of the jobs functions/<crate> runs: its `pub const JOBS: [Job; N] = [Job::X, ...]`."""
    src = (FUNCTIONS_DIR / crate / "src" / "lib.rs").read_text()
    m = re.search(r"pub const JOBS: \[Job; (\d+)\] = \[([^\]]*)\]", src)
    assert m, f"functions/{crate}/src/lib.rs: no `pub const JOBS: [Job; N] = [...]`"
    variants = re.findall(r"Job::(\w+)", m.group(2))
    assert len(variants) == int(m.group(1)), f"functions/{crate}: JOBS {m.group(0)!r}"
    known = job_variants()
    unknown = [v for v in variants if v not in known]
    assert not unknown, f"functions/{crate}: JOBS names {unknown}, not jobs of shared/app/src/jobs.rs"
    return {known[v] for v in variants}


def test_every_job_is_scheduled_with_exactly_the_input_its_function_reads(sam):
    # A job function refuses unknown fields, unknown job names and the jobs of another function
    # (run_scheduled): a schedule that sends anything else fails every run. Each job is scheduled,
    # on the function that runs it, and on one function only.
    scheduled: dict[str, str] = {}
    deployed = set()
    for fname, fn in functions(sam).items():
        binary = binary_of(fn)
        for ename, event in other_events(fn).items():
            text = (event.get("Properties") or {}).get("Input")
            body = json.loads(text) if isinstance(text, str) else {}
            if binary not in JOB_BINARIES:
                assert "job" not in body, f"{fname}.{ename}: a job input on {binary}, not in JOB_BINARIES"
                continue
            assert event.get("Type") == "ScheduleV2", f"{fname}.{ename}: jobs run on schedules only"
            assert set(body) == {"job", "scheduled_time"}, f"{fname}.{ename}: input fields {sorted(body)}"
            assert body["scheduled_time"] == SCHEDULED_TIME, f"{fname}.{ename}: {body['scheduled_time']!r}"
            runs = crate_jobs(crate_of(fn))
            assert body["job"] in runs, (
                f"{fname}.{ename}: job {body['job']!r}, but {binary} runs {sorted(runs)} "
                f"(all jobs: {sorted(job_names())})"
            )
            assert body["job"] not in scheduled, f"{fname}.{ename}: {body['job']!r} scheduled twice"
            scheduled[body["job"]] = binary
        if binary in JOB_BINARIES:
            deployed.add(binary)
            mine = {j for j, b in scheduled.items() if b == binary}
            assert mine == crate_jobs(crate_of(fn)), (
                f"{fname}: runs {sorted(crate_jobs(crate_of(fn)))}, scheduled {sorted(mine)}"
            )
    assert deployed == set(JOB_BINARIES), f"JOB_BINARIES not deployed: {sorted(set(JOB_BINARIES) - deployed)}"
    assert set(scheduled) == job_names(), f"jobs without a schedule: {sorted(job_names() - set(scheduled))}"


# ---- the API ⇔ the OpenAPI document ⇔ the code -------------------------------------------


def template_routes(sam) -> dict[tuple[str, str], str]:
    routes: dict[tuple[str, str], str] = {}
    for fname, fn in functions(sam).items():
        for event in http_events(fn).values():
            key = (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
            assert key not in routes, f"{key} routed twice"
            routes[key] = crate_of(fn)
    return routes


def openapi_operations() -> dict[tuple[str, str], dict[str, Any]]:
    """Each operation, its `security` resolved: its own, else the document's default."""
    spec = json.loads(OPENAPI_JSON.read_text())
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    default = spec.get("security", [])
    return {
        (m.upper(), path): {"security": default, **op}
        for path, ops in spec["paths"].items()
        for m, op in ops.items()
        if m in methods
    }


def test_openapi_operations_and_http_api_events_are_the_same_set(sam):
    ops = openapi_operations()
    opened = {(method, path) for _, method, path in UNAUTHENTICATED_ROUTES}
    assert not opened & set(UNROUTED), "a route both unrouted and routed without the authorizer"
    public = {k for k, op in ops.items() if not op.get("security", [])}
    assert public == set(UNROUTED) | opened, (
        "operations with no security requirement in the spec must be exactly the reviewed "
        f"UNROUTED and UNAUTHENTICATED_ROUTES lists: spec has {sorted(public)}"
    )
    for key in sorted(opened):
        # Explicitly public in the spec (not merely missing a requirement).
        assert ops[key].get("security") == [], f"{key}: the spec must say `security: []`"
    spec = set(ops) - set(UNROUTED)
    routed = set(template_routes(sam))
    assert routed == spec, (
        f"in the spec, not routed: {sorted(spec - routed)}; "
        f"routed, not in the spec: {sorted(routed - spec)}"
    )


@functools.cache
def declared_routes() -> dict[str, set[tuple[str, str]]]:
    """(METHOD, path) of each function crate's routes, as its router serves them: the routes each
    handler's `#[utoipa::path]` declares (`recert-local routes`, the same list the router and the
    OpenAPI document are built from). A crate without routes (scheduled or stream events only)
    is not listed."""
    out = subprocess.run(
        ["cargo", "run", "-q", "--locked", "-p", "recert-local", "--", "routes"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return {crate: {tuple(r) for r in routes} for crate, routes in json.loads(out).items()}


def router_routes(crate: str) -> set[tuple[str, str]]:
    return declared_routes().get(crate, set())


def test_each_route_goes_to_the_function_whose_router_serves_it(sam):
    routes = template_routes(sam)
    for crate in {crate_of(fn) for fn in functions(sam).values()}:
        mine = {k for k, c in routes.items() if c == crate}
        assert mine == router_routes(crate), (
            f"{crate}: template routes {sorted(mine)} != router {sorted(router_routes(crate))}"
        )


# ---- functions: crates, build, roles ----------------------------------------------------------


def lambda_crates() -> set[str]:
    """Crates under functions/ that are Lambdas (they depend on lambda_http or lambda_runtime)."""
    crates = set()
    for manifest in FUNCTIONS_DIR.glob("*/Cargo.toml"):
        deps = tomllib.loads(manifest.read_text()).get("dependencies", {})
        if "lambda_http" in deps or "lambda_runtime" in deps:
            crates.add(manifest.parent.name)
    return crates


def crate_binaries(crate: str) -> set[str]:
    """The binaries of functions/<crate>: each [[bin]] of its Cargo.toml (its source present), and
    the default one (the package name, from src/main.rs) unless a [[bin]] takes src/main.rs or
    autobins is off. Binaries under src/bin/ must be declared: none is inferred here."""
    root = FUNCTIONS_DIR / crate
    manifest = tomllib.loads((root / "Cargo.toml").read_text())
    package = manifest["package"]["name"]
    found, paths = set(), set()
    for b in manifest.get("bin", []):
        name = b["name"]
        candidates = [b["path"]] if "path" in b else [f"src/bin/{name}.rs", f"src/bin/{name}/main.rs"] + (
            ["src/main.rs"] if name == package else []
        )
        path = next((c for c in candidates if (root / c).is_file()), None)
        assert path, f"functions/{crate}: [[bin]] {name}: no source at {candidates}"
        found.add(name)
        paths.add(Path(path).as_posix())
    autobins = manifest["package"].get("autobins", True)
    if autobins and (root / "src" / "main.rs").is_file() and "src/main.rs" not in paths:
        found.add(package)
    return found


def test_every_function_is_a_crate_whose_package_name_is_its_directory(sam):
    for fname, fn in functions(sam).items():
        crate = crate_of(fn)
        manifest = FUNCTIONS_DIR / crate / "Cargo.toml"
        assert manifest.is_file(), f"{fname}: {manifest} missing"
        package = tomllib.loads(manifest.read_text())["package"]["name"]
        assert package == crate, f"{fname}: package {package!r} in functions/{crate}"
        assert fn.get("Metadata", {}).get("BuildMethod") == "rust-cargolambda", fname


def test_every_function_deploys_a_binary_of_its_crate_its_default_or_allow_listed(sam):
    listed = set()
    for fname, fn in functions(sam).items():
        crate, binary = crate_of(fn), binary_of(fn)
        binaries = crate_binaries(crate)
        assert binary in binaries, f"{fname}: {binary!r} is not a binary of functions/{crate} {sorted(binaries)}"
        if binary != crate:
            assert (crate, binary) in EXTRA_BINARIES, (
                f"{fname}: deploys {binary!r}, not the default binary of {crate}, and "
                f"({crate!r}, {binary!r}) is not in EXTRA_BINARIES"
            )
            listed.add((crate, binary))
    stale = set(EXTRA_BINARIES) - listed
    assert not stale, f"EXTRA_BINARIES entries not deployed: {sorted(stale)}"


def test_every_lambda_crate_is_deployed_and_no_binary_twice(sam):
    binaries = [binary_of(fn) for fn in functions(sam).values()]
    twice = sorted({b for b in binaries if binaries.count(b) > 1})
    assert not twice, f"deployed twice: {twice}"
    crates = {crate_of(fn) for fn in functions(sam).values()}
    assert crates == lambda_crates(), (
        f"template {sorted(crates)} != Lambda crates (lambda_http/lambda_runtime) {sorted(lambda_crates())}"
    )


def test_functions_run_on_arm64_al2023_with_the_bootstrap_handler(cfn):
    for name, fn in resources(cfn, "AWS::Lambda::Function").items():
        p = fn["Properties"]
        assert p["Runtime"] == "provided.al2023", name
        assert p["Architectures"] == ["arm64"], name
        assert p["Handler"] == "bootstrap", name


# What each kind of function reads (shared/app/src/config.rs, shared/api/src/config.rs,
# shared/notify): every function the table and the log filter; a function with routes the token
# and cursor settings; a mail binary the SES settings and the links' base. A function gets only
# the settings of its kinds (no JWT keys or cursor key where no request is served, no sender where
# nothing is sent), and never a setting of the local server.
COMMON_SETTINGS = {"TABLE_NAME": {"Ref": "Table"}, "RUST_LOG": {"Ref": "RustLog"}}
HTTP_SETTINGS = {
    "JWT_ISSUER": {"Ref": "JwtIssuer"},
    "JWT_AUDIENCE": {"Ref": "JwtAudience"},
    "JWT_JWKS": {"Ref": "JwksJson"},
    # Where a key rotation's new keys are fetched (shared/api/src/jwks.rs): the issuer's own
    # discovery document, the one API Gateway's authorizer reads.
    "JWT_DISCOVERY_URL": {"Fn::Sub": "${JwtIssuer}/.well-known/openid-configuration"},
    # Where a standard issuer's tokens carry the certificant id and the roles (a Cognito user
    # pool: custom:certificant_id and cognito:groups).
    "JWT_CERTIFICANT_CLAIM": {"Ref": "JwtCertificantClaim"},
    "JWT_GROUPS_CLAIM": {"Ref": "JwtGroupsClaim"},
    # Where a provider's token carries its provider id: every HTTP function authenticates provider
    # tokens (shared/api/src/auth.rs), so all must read the same claim.
    "JWT_PROVIDER_CLAIM": {"Ref": "JwtProviderClaim"},
}
MAIL_SETTINGS = {
    "SES_SENDER": {"Ref": "SesSenderIdentity"},
    "SES_CONFIGURATION_SET": {"Ref": "SesConfigurationSet"},
    "RECERT_LINK_BASE": {"Ref": "LinkBase"},
}
# The signing secrets are issued by the processor and kept in secrets the operator creates (the
# parameters are their ARNs, never their values); the function gets the ARNs and reads the values
# at cold start. The previous one only while a rotation is under way: an empty ARN is none.
PAYMENT_SETTINGS = {
    "PAYMENT_WEBHOOK_SCHEME": {"Ref": "PaymentWebhookScheme"},
    "PAYMENT_WEBHOOK_SECRET_ARN": {"Ref": "PaymentWebhookSecretArn"},
    "PAYMENT_WEBHOOK_SECRET_PREVIOUS_ARN": {"Ref": "PaymentWebhookPreviousSecretArn"},
}
# Where the evidence goes and the largest file taken (recert_evidence::s3::BUCKET_ENV,
# audits::MAX_BYTES_ENV): the bucket of this stack, the size cap a parameter.
EVIDENCE_SETTINGS = {
    "EVIDENCE_BUCKET": {"Ref": "EvidenceBucket"},
    "EVIDENCE_MAX_BYTES": {"Ref": "EvidenceMaxBytes"},
}
# The key the audit seeds are sealed under (recert_keys::kms::KEY_ID_ENV): the key of this stack by
# its ARN, exactly (a sealed seed names the key id it was sealed with and opens only with the same).
SEALING_SETTINGS = {"AUDIT_SEED_KEY_ID": {"Fn::GetAtt": ["AuditSeedKey", "Arn"]}}
LOCAL_ONLY = {"JWT_HS256_SECRET", "RECERT_DB_PATH", "RECERT_MAILBOX_DIR", "RECERT_DATA_DIR"}


def is_http_setting(name: str) -> bool:
    return name.startswith("JWT_") or name in ("CURSOR_SECRET", "CURSOR_SECRET_ARN")


def is_mail_setting(name: str) -> bool:
    return name.startswith("SES_") or name == "RECERT_LINK_BASE"


def is_payment_setting(name: str) -> bool:
    return name.startswith("PAYMENT_")


def is_evidence_setting(name: str) -> bool:
    return name.startswith("EVIDENCE_")


def is_sealing_setting(name: str) -> bool:
    return name.startswith("AUDIT_SEED_")


def test_functions_get_the_configuration_the_code_reads(sam, cfn):
    assert set(MAIL_BINARIES) <= {binary_of(fn) for fn in functions(sam).values()}, "MAIL_BINARIES not deployed"
    for fname, fn in functions(sam).items():
        env = cfn["Resources"][fname]["Properties"]["Environment"]["Variables"]
        local = LOCAL_ONLY & set(env)
        assert not local, f"{fname}: settings of the local server in production: {sorted(local)}"
        for key, value in COMMON_SETTINGS.items():
            assert env.get(key) == value, f"{fname}: {key} = {env.get(key)!r}, want {value}"
        if http_events(fn):
            for key, value in HTTP_SETTINGS.items():
                assert env.get(key) == value, f"{fname} serves routes: {key} = {env.get(key)!r}, want {value}"
            cursor = env.get("CURSOR_SECRET_ARN")
            assert cursor == {"Ref": "CursorSecret"}, f"{fname}: CURSOR_SECRET_ARN {cursor!r}"
        else:
            jwt = sorted(k for k in env if is_http_setting(k))
            assert not jwt, f"{fname} serves no route, yet gets {jwt}"
        if binary_of(fn) in MAIL_BINARIES:
            for key, value in MAIL_SETTINGS.items():
                assert env.get(key) == value, f"{fname} sends email: {key} = {env.get(key)!r}, want {value}"
        else:
            mail = sorted(k for k in env if is_mail_setting(k))
            assert not mail, f"{fname} sends no email, yet gets {mail}"
        if binary_of(fn) in PAYMENT_WEBHOOK_BINARIES:
            got = {k: v for k, v in env.items() if is_payment_setting(k)}
            assert got == PAYMENT_SETTINGS, f"{fname} verifies webhooks: {got}, want {PAYMENT_SETTINGS}"
        else:
            payment = sorted(k for k in env if is_payment_setting(k))
            assert not payment, f"{fname} verifies no webhook, yet gets {payment}"
        if binary_of(fn) in EVIDENCE_BINARIES:
            got = {k: v for k, v in env.items() if is_evidence_setting(k)}
            assert got == EVIDENCE_SETTINGS, f"{fname} keeps evidence: {got}, want {EVIDENCE_SETTINGS}"
        else:
            evidence = sorted(k for k in env if is_evidence_setting(k))
            assert not evidence, f"{fname} keeps no evidence, yet gets {evidence}"
        if binary_of(fn) in SEALING_BINARIES:
            got = {k: v for k, v in env.items() if is_sealing_setting(k)}
            assert got == SEALING_SETTINGS, f"{fname} seals seeds: {got}, want {SEALING_SETTINGS}"
        else:
            sealing = sorted(k for k in env if is_sealing_setting(k))
            assert not sealing, f"{fname} seals nothing, yet gets {sealing}"
    assert set(EVIDENCE_BINARIES) <= {binary_of(fn) for fn in functions(sam).values()}, (
        "EVIDENCE_BINARIES not deployed"
    )
    assert set(SEALING_BINARIES) <= {binary_of(fn) for fn in functions(sam).values()}, (
        "SEALING_BINARIES not deployed"
    )
    assert set(SEALING_SETTINGS) == {rust_str_const(SHARED_DIR / "keys" / "src" / "kms.rs", "KEY_ID_ENV")}
    # The names are the code's (the settings would otherwise be set and never read).
    assert rust_str_const(SHARED_DIR / "evidence" / "src" / "s3.rs", "BUCKET_ENV") in EVIDENCE_SETTINGS
    assert rust_str_const(FUNCTIONS_DIR / "audits" / "src" / "lib.rs", "MAX_BYTES_ENV") in EVIDENCE_SETTINGS
    assert set(PAYMENT_WEBHOOK_BINARIES) <= {binary_of(fn) for fn in functions(sam).values()}, (
        "PAYMENT_WEBHOOK_BINARIES not deployed"
    )
    secret = resources(cfn, "AWS::SecretsManager::Secret")["CursorSecret"]["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32


# Every secret a function reads comes from Secrets Manager at cold start (recert_app::secrets):
# its environment holds only the secret's ARN, in `<NAME>_ARN`, one of the variables the code
# resolves (SECRET_VARS in shared/app/src/secrets.rs). The ARN is a secret of this stack
# (generated, e.g. CursorSecret: its Ref is the ARN) or the secret an operator created, named by a
# parameter that only admits a Secrets Manager ARN. Never a value: not typed into a parameter (it
# would sit in samconfig.toml, shell history and the stack's parameters), not into the template,
# and not resolved by CloudFormation into the environment (a dynamic reference puts the plaintext
# in the function's configuration, which lambda:GetFunctionConfiguration shows).
SECRET_SETTING = re.compile(r"[A-Z0-9_]*SECRET[A-Z0-9_]*")
SECRETS_RS = SHARED_DIR / "app" / "src" / "secrets.rs"
SECRET_ARN_SAMPLE = "arn:aws:secretsmanager:us-east-1:123456789012:secret:recert/prod/payment-webhook-AbC123"
NOT_SECRET_ARNS = [
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # a Stripe signing secret
    "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",  # a Standard Webhooks signing secret
    "recert/prod/payment-webhook",  # a secret's name: resolvable, but not pinned to an account
    "arn:aws:ssm:us-east-1:123456789012:parameter/recert/webhook",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:x}}{{resolve:ssm:y",
]


def secret_arn_vars() -> dict[str, str]:
    """The code's `<NAME>_ARN` variables (recert_app::secrets::SECRET_VARS) → `<NAME>`."""
    text = SECRETS_RS.read_text()
    pairs = re.findall(r'name:\s*"([A-Z0-9_]+)",\s*arn_var:\s*"([A-Z0-9_]+)"', text)
    assert pairs, f"no SecretVar in {SECRETS_RS}: the pattern is stale"
    for name, arn_var in pairs:
        assert arn_var == f"{name}_ARN", f"{arn_var}: not {name}_ARN"
    return {arn_var: name for name, arn_var in pairs}


def secret_source(cfn: dict[str, Any], where: str, value: Any) -> str:
    """The logical id of the secret of this stack or the parameter a `<NAME>_ARN` setting names:
    exactly a Ref (the ARN), nothing resolved."""
    ref = value.get("Ref") if isinstance(value, dict) and list(value) == ["Ref"] else None
    assert isinstance(ref, str), f"{where}: not the Ref of a secret's ARN (a value?): {value!r}"
    return ref


def function_secrets(sam: dict[str, Any], cfn: dict[str, Any]) -> dict[str, set[str]]:
    """For each function, the secrets (logical ids) its `<NAME>_ARN` settings name."""
    arn_vars = secret_arn_vars()
    found: dict[str, set[str]] = {}
    for fname in functions(sam):
        env = cfn["Resources"][fname]["Properties"]["Environment"]["Variables"]
        found[fname] = set()
        for key, value in env.items():
            if not SECRET_SETTING.fullmatch(key):
                continue
            assert key in arn_vars, (
                f"{fname}.{key}: a secret in the environment; give its ARN as one of {sorted(arn_vars)}"
            )
            found[fname].add(secret_source(cfn, f"{fname}.{key}", value))
    return found


def test_every_secret_setting_is_an_arn_read_at_cold_start(sam, cfn):
    # No dynamic reference anywhere in a function's environment (or the globals): CloudFormation
    # would put the resolved plaintext into the function's configuration.
    for fname in functions(sam):
        env = cfn["Resources"][fname]["Properties"]["Environment"]["Variables"]
        assert "{{resolve:" not in json.dumps(env), f"{fname}: a dynamic reference in the environment"
    assert "{{resolve:" not in json.dumps(sam.get("Globals", {})), "a dynamic reference in the globals"
    sources: dict[str, bool] = {}
    for fname, names in function_secrets(sam, cfn).items():
        for name in names:
            sources[name] = True
    assert sources, "no secret settings found: the pattern is stale"
    for name in sorted(sources):
        if name in cfn["Resources"]:
            assert cfn["Resources"][name]["Type"] == "AWS::SecretsManager::Secret", f"{name}: not a secret"
            assert "Condition" not in cfn["Resources"][name], f"{name}: a secret of this stack always exists"
            continue
        param = sam["Parameters"].get(name)
        assert param, f"{name}: neither a secret of this stack nor a parameter"
        pattern = param.get("AllowedPattern")
        assert param["Type"] == "String" and pattern, f"{name}: a secret's ARN needs an AllowedPattern"
        assert re.fullmatch(pattern, SECRET_ARN_SAMPLE), f"{name}: {pattern!r} refuses a secret's ARN"
        for value in NOT_SECRET_ARNS:
            assert not re.fullmatch(pattern, value), f"{name}: {pattern!r} admits {value!r}"
        optional = "Default" in param
        assert not optional or param["Default"] == "", f"{name}: the default of a secret's ARN is empty (none)"
        assert bool(re.fullmatch(pattern, "")) == optional, f"{name}: empty admitted iff optional"
    # No parameter carries a secret's value: a secret is named by its ARN.
    for name, param in sam["Parameters"].items():
        assert not param.get("NoEcho"), f"{name}: a NoEcho parameter is a secret value passed in plain"
        assert "secret" not in name.lower() or name.endswith("SecretArn"), f"{name}: a secret parameter"


def secret_grant(sam: dict[str, Any], name: str) -> Any:
    """The Resource entry granting GetSecretValue on the secret `name`: its ARN (the Ref), and for
    an optional parameter (default empty: none) only when it is set, under the condition that
    says so."""
    param = sam["Parameters"].get(name)
    if param is None or "Default" not in param:
        return {"Ref": name}
    conds = [c for c, v in sam["Conditions"].items() if v == {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, ""]}]}]
    assert len(conds) == 1, f"{name}: optional, so granted under one condition `{name} is set`: {conds}"
    return {"Fn::If": [conds[0], {"Ref": name}, {"Ref": "AWS::NoValue"}]}


def test_each_role_reads_exactly_the_secrets_its_function_is_given(sam, cfn):
    wanted = {
        fn["Properties"]["Role"]["Fn::GetAtt"][0]: sorted(
            (secret_grant(sam, name) for name in function_secrets(sam, cfn)[fname]), key=json.dumps
        )
        for fname, fn in functions(sam).items()
    }
    granted: dict[str, list[Any]] = {}
    for where, doc in policy_documents(cfn):
        for st in statements(doc):
            actions = [a for a in listify(st.get("Action", [])) if isinstance(a, str)]
            if not any(a.lower().startswith("secretsmanager:") for a in actions):
                continue
            role = where.split(".")[0]
            assert role in wanted and ".Policies[" in where, f"{where}: Secrets Manager actions outside the roles"
            assert actions == ["secretsmanager:GetSecretValue"], f"{where}: {actions}, only GetSecretValue"
            assert st["Effect"] == "Allow" and "Condition" not in st, f"{where}: {st}"
            assert role not in granted, f"{where}: one statement per role"
            granted[role] = sorted(listify(st["Resource"]), key=json.dumps)
    for role, resources_ in wanted.items():
        assert granted.get(role, []) == resources_, (
            f"{role}: GetSecretValue on {granted.get(role, [])}, its function reads {resources_}"
        )


def test_every_function_has_its_own_role_and_log_group(sam, cfn):
    roles, groups = [], []
    for fname, fn in functions(sam).items():
        p = fn["Properties"]
        assert "Policies" not in p, f"{fname}: Policies would make SAM generate a shared-style role"
        role = p["Role"]
        assert isinstance(role, dict) and role.get("Fn::GetAtt", [None, None])[1] == "Arn", fname
        assert sam["Resources"][role["Fn::GetAtt"][0]]["Type"] == "AWS::IAM::Role", fname
        roles.append(role["Fn::GetAtt"][0])
        group = p["LoggingConfig"]["LogGroup"]["Ref"]
        assert sam["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
        assert sam["Resources"][group]["Properties"]["RetentionInDays"]
        groups.append(group)
    assert len(set(roles)) == len(roles), f"a role shared: {roles}"
    assert len(set(groups)) == len(groups), f"a log group shared: {groups}"
    # No role SAM made on its own, no role without a function; but the one SAM generates for a
    # ScheduleV2 event (EventBridge Scheduler assumes it), allowed only to invoke that function.
    scheduler_roles = {
        f"{fname}{ename}Role": fname
        for fname, fn in functions(sam).items()
        for ename, event in other_events(fn).items()
        if event.get("Type") == "ScheduleV2"
    }
    assert set(resources(cfn, "AWS::IAM::Role")) == set(roles) | set(scheduler_roles)
    for name, fname in scheduler_roles.items():
        props = cfn["Resources"][name]["Properties"]
        principals = [s["Principal"] for s in statements(props["AssumeRolePolicyDocument"])]
        assert principals == [{"Service": ["scheduler.amazonaws.com"]}], f"{name}: {principals}"
        assert "ManagedPolicyArns" not in props, f"{name}: managed policies"
        granted = [s for p in props["Policies"] for s in statements(p["PolicyDocument"])]
        assert granted == [
            {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": {"Fn::GetAtt": [fname, "Arn"]}}
        ], f"{name}: {granted}"
    for fname, fn in functions(sam).items():
        role = cfn["Resources"][fn["Properties"]["Role"]["Fn::GetAtt"][0]]
        doc = role["Properties"]["AssumeRolePolicyDocument"]
        assert [s["Principal"] for s in statements(doc)] == [{"Service": "lambda.amazonaws.com"}]
        assert "ManagedPolicyArns" not in role["Properties"], f"{fname}: managed policies"
        logs = [
            s for p in role["Properties"]["Policies"] for s in statements(p["PolicyDocument"])
            if any(a.startswith("logs:") for a in listify(s["Action"]))
        ]
        group = fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert logs and all(s["Resource"] == {"Fn::GetAtt": [group, "Arn"]} for s in logs), fname


# ---- policies: least privilege ---------------------------------------------------------------


def test_no_wildcard_actions_in_any_policy(cfn):
    for where, doc in policy_documents(cfn):
        for st in statements(doc):
            assert "NotAction" not in st and "NotResource" not in st, f"{where}: Not* statement"
            if is_account_root_key_admin(where, cfn, st) or is_tls_only_deny(where, cfn, st):
                continue
            for action in listify(st.get("Action", [])):
                assert isinstance(action, str) and "*" not in action, f"{where}: action {action!r}"


def test_no_scan_and_no_sam_policy_templates(sam, cfn):
    text = json.dumps(cfn)
    for forbidden in ("dynamodb:Scan", "dynamodb:PartiQL", "dynamodb:BatchWriteItem", "dynamodb:*"):
        assert forbidden not in text, f"{forbidden} in the translated template"
    for fname, fn in functions(sam).items():
        assert "Policies" not in fn["Properties"], f"{fname}: SAM policy templates (CrudPolicy has Scan)"


def test_resource_star_only_for_actions_without_resource_level_permissions(cfn):
    for name, role in resources(cfn, "AWS::IAM::Role").items():
        for p in role["Properties"]["Policies"]:
            for st in statements(p["PolicyDocument"]):
                assert st["Effect"] == "Allow", f"{name}: {st}"
                if st["Resource"] == "*" or "*" in listify(st["Resource"]):
                    extra = set(listify(st["Action"])) - RESOURCE_STAR_ALLOWED
                    assert not extra, f"{name}: {sorted(extra)} on Resource '*'"


SES_ARN = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
# Where a mail role may call ses:SendEmail: the sender's address identity, its domain's identity
# (SES authorizes against the identity that is verified, either one), and the configuration set
# when there is one. Nothing else; no other SES action.
SES_RESOURCES = [
    {"Fn::Sub": SES_ARN + ":identity/${SesSenderIdentity}"},
    {
        "Fn::Sub": [
            SES_ARN + ":identity/${SenderDomain}",
            {"SenderDomain": {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "SesSenderIdentity"}]}]}},
        ]
    },
    {
        "Fn::If": [
            "HasSesConfigurationSet",
            {"Fn::Sub": SES_ARN + ":configuration-set/${SesConfigurationSet}"},
            {"Ref": "AWS::NoValue"},
        ]
    },
]


def test_only_the_mail_roles_send_email_and_only_as_the_sender(sam, cfn):
    mail_roles = {
        fn["Properties"]["Role"]["Fn::GetAtt"][0]: binary_of(fn)
        for fn in functions(sam).values()
        if binary_of(fn) in MAIL_BINARIES
    }
    granted = set()
    for where, doc in policy_documents(cfn):
        for st in statements(doc):
            actions = [a for a in listify(st.get("Action", [])) if isinstance(a, str)]
            if not any(a.lower().startswith("ses:") for a in actions):
                continue
            role = where.split(".")[0]
            assert role in mail_roles and ".Policies[" in where, f"{where}: SES actions outside the mail roles"
            assert actions == ["ses:SendEmail"], f"{where}: SES actions {actions}, only ses:SendEmail"
            assert st["Effect"] == "Allow" and "Condition" not in st, f"{where}: {st}"
            assert st["Resource"] == SES_RESOURCES, f"{where}: ses:SendEmail on {st['Resource']}"
            granted.add(role)
    assert granted == set(mail_roles), f"mail roles without ses:SendEmail: {sorted(set(mail_roles) - granted)}"
    assert cfn["Conditions"]["HasSesConfigurationSet"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SesConfigurationSet"}, ""]}]
    }


def dynamodb_resource(r: Any) -> str:
    """TABLE, an index name, or STREAM; anything else is refused."""
    if r == {"Fn::GetAtt": ["Table", "Arn"]}:
        return TABLE
    if r == {"Fn::GetAtt": ["Table", "StreamArn"]}:
        return STREAM
    if isinstance(r, dict) and "Fn::Sub" in r:
        m = re.fullmatch(r"\$\{Table\.Arn\}/index/(gsi[0-9]+)", r["Fn::Sub"])
        assert m, f"unexpected DynamoDB resource {r}"
        return m.group(1)
    raise AssertionError(f"DynamoDB actions on {r!r}: only the table, its indexes and its stream")


def dynamodb_statements(role: dict[str, Any]) -> Iterator[tuple[dict[str, Any], set[str], list[str]]]:
    """(statement, its dynamodb: actions, the DynamoDB resources it names) of a role."""
    for p in role["Properties"]["Policies"]:
        for st in statements(p["PolicyDocument"]):
            actions = {a for a in listify(st["Action"]) if a.startswith("dynamodb:")}
            if actions:
                yield st, actions, [dynamodb_resource(r) for r in listify(st["Resource"])]


def dynamodb_grants(role: dict[str, Any]) -> dict[str, set[str]]:
    grants: dict[str, set[str]] = {}
    for _, actions, targets in dynamodb_statements(role):
        for key in targets:
            grants.setdefault(key, set()).update(actions)
    return grants


def leading_keys(role: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    """Per resource (table or index) and action, the partition-key patterns the role may touch."""
    allowed: dict[str, dict[str, set[str]]] = {}
    for st, actions, targets in dynamodb_statements(role):
        items = [t for t in targets if t != STREAM]  # stream reads have no partition key
        if not items:
            continue
        where = st.get("Sid") or sorted(actions)
        cond = st.get("Condition")
        assert isinstance(cond, dict) and list(cond) == ["ForAllValues:StringLike"], (
            f"{where}: on {items} without Condition ForAllValues:StringLike dynamodb:LeadingKeys: {cond}"
        )
        assert list(cond["ForAllValues:StringLike"]) == ["dynamodb:LeadingKeys"], f"{where}: {cond}"
        patterns = listify(cond["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
        assert patterns, f"{where}: no LeadingKeys pattern"
        for pattern in patterns:
            assert isinstance(pattern, str) and LEADING_KEY_PATTERN.fullmatch(pattern), (
                f"{where}: LeadingKeys pattern {pattern!r} is neither a fixed PREFIX# then * nor one queue"
            )
        for item in items:
            for action in actions:
                allowed.setdefault(item, {}).setdefault(action, set()).update(patterns)
    return allowed


def function_roles(sam, cfn) -> Iterator[tuple[str, dict[str, Any]]]:
    """(deployed binary, its translated role) of every function."""
    for fn in functions(sam).values():
        yield binary_of(fn), cfn["Resources"][fn["Properties"]["Role"]["Fn::GetAtt"][0]]


def test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes(sam, cfn):
    seen = set()
    for binary, role in function_roles(sam, cfn):
        assert binary in EXPECTED_DYNAMODB, f"{binary}: not in EXPECTED_DYNAMODB"
        assert dynamodb_grants(role) == EXPECTED_DYNAMODB[binary], f"{binary}: {dynamodb_grants(role)}"
        seen.add(binary)
    assert seen == set(EXPECTED_DYNAMODB)


def test_the_expected_leading_keys_cover_exactly_the_expected_table_and_index_grants():
    assert set(EXPECTED_LEADING_KEYS) == set(EXPECTED_DYNAMODB)
    for binary, grants in EXPECTED_DYNAMODB.items():
        want = {r: actions for r, actions in grants.items() if r != STREAM}
        got = {r: set(by_action) for r, by_action in EXPECTED_LEADING_KEYS[binary].items()}
        assert got == want, f"{binary}: EXPECTED_LEADING_KEYS {got} != EXPECTED_DYNAMODB {want}"


def test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses(sam, cfn):
    seen = set()
    for binary, role in function_roles(sam, cfn):
        got = leading_keys(role)
        assert got == EXPECTED_LEADING_KEYS[binary], f"{binary}: LeadingKeys {got}"
        seen.add(binary)
    assert seen == set(EXPECTED_LEADING_KEYS)


# ---- the table equals infra/table.json ---------------------------------------------------------


def _gsis(gsis: list[dict[str, Any]]) -> dict[str, Any]:
    return {g["IndexName"]: {k: v for k, v in g.items() if k != "IndexName"} for g in gsis}


def test_the_table_matches_infra_table_json(sam):
    want = json.loads(TABLE_JSON.read_text())
    tables = resources(sam, "AWS::DynamoDB::Table")
    assert list(tables) == ["Table"], "one table (single-table design)"
    got = tables["Table"]["Properties"]
    assert got["KeySchema"] == want["KeySchema"]
    key = lambda a: a["AttributeName"]  # noqa: E731
    assert sorted(got["AttributeDefinitions"], key=key) == sorted(want["AttributeDefinitions"], key=key)
    assert _gsis(got.get("GlobalSecondaryIndexes", [])) == _gsis(want.get("GlobalSecondaryIndexes", []))
    assert got.get("LocalSecondaryIndexes") == want.get("LocalSecondaryIndexes")
    assert got["BillingMode"] == want["BillingMode"]
    assert got["TimeToLiveSpecification"] == want["TimeToLiveSpecification"]
    extra = set(want) - {
        "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes",
        "BillingMode", "TimeToLiveSpecification",
    }
    for k in extra:  # anything table.json gains later must be in the template too
        assert got.get(k) == want[k], f"{k}: template {got.get(k)!r} != table.json {want[k]!r}"


def test_the_table_is_protected(sam):
    table = sam["Resources"]["Table"]
    assert table.get("DeletionPolicy") == "Retain", "the table must outlive the stack"
    assert table.get("UpdateReplacePolicy") == "Retain", "a replacement must not drop the data"
    p = table["Properties"]
    assert p.get("DeletionProtectionEnabled") is True
    assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert p["SSESpecification"]["SSEEnabled"] is True
    assert "TableName" not in p, "a fixed name would block a re-deploy next to a retained table"


# ---- alarms and outputs ----------------------------------------------------------------------


def referenced(value: Any) -> str | None:
    """The logical id a Ref or GetAtt names, else None."""
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return None


def alarm_index(sam) -> set[tuple[str, str, str, str | None]]:
    """(namespace, metric, statistic, the resource of its first dimension) of every alarm (the
    namespace as JSON: it may be a Sub); and every alarm notifies the encrypted topic."""
    topic = resources(sam, "AWS::SNS::Topic")
    assert list(topic) == ["AlarmTopic"]
    assert topic["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    covered = set()
    for a in resources(sam, "AWS::CloudWatch::Alarm").values():
        p = a["Properties"]
        assert p["AlarmActions"] == [{"Ref": "AlarmTopic"}], p["AlarmName"]
        assert p.get("OKActions") == [{"Ref": "AlarmTopic"}], p["AlarmName"]
        dims = p.get("Dimensions") or []
        target = referenced(dims[0]["Value"]) if dims else None
        stat = p.get("ExtendedStatistic") or p["Statistic"]
        covered.add((json.dumps(p["Namespace"], sort_keys=True), p["MetricName"], stat, target))
    return covered


def test_alarms_cover_every_function_queue_and_log_metric_and_the_api(sam):
    covered = alarm_index(sam)
    ns = lambda n: json.dumps(n, sort_keys=True)  # noqa: E731
    for fname in functions(sam):
        for metric, stat in (("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "p99")):
            assert (ns("AWS/Lambda"), metric, stat, fname) in covered, f"{fname}: no {metric} alarm"
    for metric, stat in (("5xx", "Sum"), ("Latency", "p99")):
        assert (ns("AWS/ApiGateway"), metric, stat, "HttpApi") in covered, f"API: no {metric} alarm"
    # A queue holds what something gave up on: one message in it is worth a look.
    for qname in resources(sam, "AWS::SQS::Queue"):
        assert (ns("AWS/SQS"), "ApproximateNumberOfMessagesVisible", "Maximum", qname) in covered, (
            f"{qname}: no ApproximateNumberOfMessagesVisible (Maximum) alarm"
        )
    # A metric made from logs exists to be alarmed on.
    for fname, f in resources(sam, "AWS::Logs::MetricFilter").items():
        for m in f["Properties"]["MetricTransformations"]:
            assert (ns(m["MetricNamespace"]), m["MetricName"], "Sum", None) in covered, (
                f"{fname}: no Sum alarm on its metric {m['MetricName']}"
            )


# The line the outbox logs (at ERROR) when it gives a message up (shared/app/src/outbox.rs).
PARKED_LOG_LINE = "outbox message parked"
PARKED_METRIC = "OutboxMessagesParked"


def test_parked_outbox_messages_are_counted_in_every_mail_function_and_alarmed_at_one(sam):
    src = (SHARED_DIR / "app" / "src" / "outbox.rs").read_text()
    assert re.search(r'tracing::error!\([^;]*"' + PARKED_LOG_LINE + r'"\s*\)', src), (
        f"shared/app/src/outbox.rs no longer logs {PARKED_LOG_LINE!r} at ERROR: change the filters"
    )
    by_group: dict[str, list[dict[str, Any]]] = {}
    for f in resources(sam, "AWS::Logs::MetricFilter").values():
        by_group.setdefault(referenced(f["Properties"]["LogGroupName"]), []).append(f["Properties"])
    namespaces = set()
    for fname, fn in functions(sam).items():
        if binary_of(fn) not in MAIL_BINARIES:
            continue
        group = fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        counted = [
            m
            for f in by_group.get(group, [])
            if f["FilterPattern"] == f'"{PARKED_LOG_LINE}"'
            for m in f["MetricTransformations"]
            if m["MetricName"] == PARKED_METRIC and m["MetricValue"] == "1"
        ]
        assert counted, f"{fname}: no metric filter counting {PARKED_LOG_LINE!r} in {group}"
        namespaces.update(json.dumps(m["MetricNamespace"], sort_keys=True) for m in counted)
    assert len(namespaces) == 1, f"the parked counts go to one metric: {namespaces}"
    (namespace,) = namespaces
    alarms = [
        a["Properties"]
        for a in resources(sam, "AWS::CloudWatch::Alarm").values()
        if json.dumps(a["Properties"]["Namespace"], sort_keys=True) == namespace
        and a["Properties"]["MetricName"] == PARKED_METRIC
    ]
    assert alarms, f"no alarm on {PARKED_METRIC}"
    for p in alarms:
        assert (p.get("Statistic"), p["Period"], p["Threshold"], p["ComparisonOperator"]) == (
            "Sum", 300, 1, "GreaterThanOrEqualToThreshold"
        ), f"{p['AlarmName']}: one parked message in 5 minutes must alarm"


def test_outputs(sam):
    assert {"ApiUrl", "TableName"} <= set(sam["Outputs"])
    assert sam["Outputs"]["TableName"]["Value"] == {"Ref": "Table"}


def test_parameters(sam):
    params = sam["Parameters"]
    for p in ("Environment", "JwtIssuer", "JwtAudience", "JwksJson", "SesSenderIdentity", "SesConfigurationSet", "LinkBase"):
        assert p in params, p
    # The mail functions refuse to start without a sender or with a link base that is not a URL.
    for p in ("SesSenderIdentity", "LinkBase"):
        assert "Default" not in params[p] and params[p].get("AllowedPattern"), f"{p}: required and checked"
    assert re.fullmatch(params["SesSenderIdentity"]["AllowedPattern"], "no-reply@example.org")
    assert not re.fullmatch(params["SesSenderIdentity"]["AllowedPattern"], "example.org")
    assert re.fullmatch(params["LinkBase"]["AllowedPattern"], "https://recert.example.org")
    assert not re.fullmatch(params["LinkBase"]["AllowedPattern"], "http://recert.example.org")
    assert params["SesConfigurationSet"].get("Default") == ""
    # The webhook's current signing secret is required (the submissions function refuses to start
    # without it); the previous one is optional; the schemes are exactly those the code parses.
    assert "Default" not in params["PaymentWebhookSecretArn"], "PaymentWebhookSecretArn: required"
    assert params["PaymentWebhookPreviousSecretArn"].get("Default") == ""
    scheme = params["PaymentWebhookScheme"]
    assert sorted(scheme["AllowedValues"]) == sorted(webhook_schemes()), (
        f"PaymentWebhookScheme: {scheme['AllowedValues']}, the code parses {sorted(webhook_schemes())}"
    )
    assert scheme.get("Default") in webhook_schemes(), f"PaymentWebhookScheme: default {scheme.get('Default')!r}"
    # CORS: https origins only, none by default (the local server reads the same list).
    cors = re.compile(params["CorsAllowedOrigins"]["AllowedPattern"])
    assert params["CorsAllowedOrigins"].get("Default") == ""
    assert cors.fullmatch("https://app.example.org,https://staff.example.org:8443")
    for bad in ("*", "http://app.example.org", "https://app.example.org/path", "https://a.org, https://b.org"):
        assert not cors.fullmatch(bad), bad
    # The evidence size cap: the code's default, at most what one presigned PUT can carry.
    cap = params["EvidenceMaxBytes"]
    assert cap["Type"] == "Number" and cap.get("MinValue") == 1, f"EvidenceMaxBytes: {cap}"
    assert cap.get("Default") == rust_u64_const(FUNCTIONS_DIR / "audits" / "src" / "lib.rs", "DEFAULT_MAX_BYTES")
    assert cap.get("MaxValue") == rust_u64_const(SHARED_DIR / "evidence" / "src" / "lib.rs", "MAX_SIZE")


def rust_u64_const(path: Path, name: str) -> int:
    """The value of `pub const NAME: u64 = 10 * 1024 * 1024;` (a product of integers)."""
    m = re.search(rf"pub const {name}: u64 = ([0-9_]+(?:\s*\*\s*[0-9_]+)*);", path.read_text())
    assert m, f"{path}: no u64 constant {name} (a product of integers)"
    value = 1
    for factor in m.group(1).split("*"):
        value *= int(factor.strip().replace("_", ""))
    return value


def test_cors_is_answered_by_api_gateway_with_the_headers_the_clients_use(sam):
    api = resources(sam, "AWS::Serverless::HttpApi")["HttpApi"]["Properties"]
    cors = api["CorsConfiguration"]
    assert cors["Fn::If"][0] == "HasCorsOrigins" and cors["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    config = cors["Fn::If"][1]
    assert config["AllowOrigins"] == {"Fn::Split": [",", {"Ref": "CorsAllowedOrigins"}]}
    assert {"authorization", "if-match", "idempotency-key"} <= set(config["AllowHeaders"])
    assert {"location", "etag"} <= set(config["ExposeHeaders"])
    # A browser may send every method the API routes (a preflight for any other fails).
    routed = {method for method, _ in template_routes(sam)}
    assert routed <= set(config["AllowMethods"]), f"routed methods {sorted(routed - set(config['AllowMethods']))} not allowed by CORS"
    assert "AllowCredentials" not in config, "bearer tokens, not cookies"
    serve = (FUNCTIONS_DIR / "local" / "src" / "serve.rs").read_text()
    assert "CORS_ALLOWED_ORIGINS" in serve, "the local server honours the same list"


def webhook_schemes() -> set[str]:
    """The scheme names the webhook verifier accepts (`Scheme::X => "name"` in shared/webhooks)."""
    src = (SHARED_DIR / "webhooks" / "src" / "lib.rs").read_text()
    names = set(re.findall(r'Scheme::\w+\s*=>\s*"([a-z0-9-]+)"', src))
    assert names, "no scheme names found in shared/webhooks/src/lib.rs"
    return names


# ---- S3: the evidence bucket and its access logs ------------------------------------------------

EVIDENCE_BUCKET = "EvidenceBucket"
ACCESS_LOG_BUCKET = "EvidenceAccessLogBucket"
# The S3 logging service: the only principal a bucket policy may allow (to deliver access logs).
S3_LOGGING = {"Service": "logging.s3.amazonaws.com"}
# The S3 calls each EVIDENCE_BINARIES binary's code makes, as IAM actions per resource: BUCKET (the
# evidence bucket itself) or an object-key pattern in it. PutObject: the upload URL is presigned
# with the role, so the browser's PUT is the role's PutObject. GetObject: HeadObject of each file
# (authorized by s3:GetObject). ListBucket: without it S3 answers HeadObject of a key never
# uploaded with 403, not 404 (recert_evidence::s3 reads only a 404 as "not there"). Keys:
# evidence/<certification id>/<entry id>/<evidence id> (functions/audits/src/lib.rs, evidence_key).
BUCKET = "bucket"
EVIDENCE_KEYS = "evidence/*"
EXPECTED_S3: dict[str, dict[str, set[str]]] = {
    "audits": {EVIDENCE_KEYS: {"s3:PutObject", "s3:GetObject"}, BUCKET: {"s3:ListBucket"}},
}
S3_OBJECT_ACTIONS_THAT_WRITE = {"s3:PutObject"}
SSE_ALGORITHMS = {"AES256", "aws:kms", "aws:kms:dsse"}


def buckets(sam) -> dict[str, dict[str, Any]]:
    return resources(sam, "AWS::S3::Bucket")


def bucket_policy(sam, bucket: str) -> list[dict[str, Any]]:
    """The statements of the one bucket policy of `bucket`."""
    policies = [
        p["Properties"]["PolicyDocument"]
        for p in resources(sam, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    assert len(policies) == 1, f"{bucket}: {len(policies)} bucket policies, want one"
    return statements(policies[0])


def bucket_arns(bucket: str) -> list[dict[str, Any]]:
    """The bucket and every object in it."""
    return [{"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::Sub": "${" + bucket + ".Arn}/*"}]


def test_every_bucket_is_private_encrypted_versioned_tls_only_and_retained(sam):
    assert set(buckets(sam)) == {EVIDENCE_BUCKET, ACCESS_LOG_BUCKET}, f"buckets: {sorted(buckets(sam))}"
    for name, bucket in buckets(sam).items():
        assert bucket.get("DeletionPolicy") == "Retain", f"{name}: evidence and its logs outlive the stack"
        assert bucket.get("UpdateReplacePolicy") == "Retain", f"{name}: a replacement must not drop them"
        p = bucket["Properties"]
        assert "BucketName" not in p, f"{name}: a fixed name would block a re-deploy next to a retained bucket"
        assert p.get("PublicAccessBlockConfiguration") == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
        }, f"{name}: {p.get('PublicAccessBlockConfiguration')}"
        assert p.get("OwnershipControls") == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}, (
            f"{name}: ACLs must be off (BucketOwnerEnforced)"
        )
        for key in ("AccessControl", "WebsiteConfiguration", "AccelerateConfiguration", "NotificationConfiguration"):
            assert key not in p, f"{name}: {key}"
        rules = (p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        assert rules and all(
            r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in SSE_ALGORITHMS for r in rules
        ), f"{name}: default encryption {rules}"
        assert p.get("VersioningConfiguration") == {"Status": "Enabled"}, f"{name}: versioning"
        lifecycle = [r for r in p["LifecycleConfiguration"]["Rules"] if r["Status"] == "Enabled"]
        assert any(r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1 for r in lifecycle), (
            f"{name}: abort incomplete multipart uploads after a day"
        )
        assert any(r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") for r in lifecycle), (
            f"{name}: expire noncurrent versions (else every replaced object is kept and billed forever)"
        )
        # TLS only: Deny s3:* to everyone, on the bucket and its objects, without SecureTransport.
        policy = bucket_policy(sam, name)
        tls = [
            s for s in policy
            if s["Effect"] == "Deny" and s.get("Principal") == "*" and listify(s["Action"]) == ["s3:*"]
            and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert tls and listify(tls[0]["Resource"]) == bucket_arns(name), f"{name}: no TLS-only Deny on it all"
        # Nobody is allowed in by the bucket policy but the S3 logging service (next test).
        for s in policy:
            if s["Effect"] == "Allow":
                assert s.get("Principal") == S3_LOGGING, f"{name}: the bucket policy allows {s.get('Principal')}"


def test_every_bucket_but_the_access_log_bucket_logs_to_it(sam):
    logs = buckets(sam)[ACCESS_LOG_BUCKET]["Properties"]
    assert "LoggingConfiguration" not in logs, "the access-log bucket would log its own deliveries"
    # S3 delivers access logs to SSE-S3 buckets only; kept as long as the function logs.
    algorithms = {r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in logs["BucketEncryption"]["ServerSideEncryptionConfiguration"]}
    assert algorithms == {"AES256"}, f"{ACCESS_LOG_BUCKET}: log delivery needs SSE-S3, not {algorithms}"
    expiry = [r.get("ExpirationInDays") for r in logs["LifecycleConfiguration"]["Rules"] if r["Status"] == "Enabled"]
    assert {"Ref": "LogRetentionInDays"} in expiry, f"{ACCESS_LOG_BUCKET}: logs kept LogRetentionInDays: {expiry}"
    sources: dict[str, str] = {}
    for name, bucket in buckets(sam).items():
        if name == ACCESS_LOG_BUCKET:
            continue
        cfg = bucket["Properties"].get("LoggingConfiguration") or {}
        assert cfg.get("DestinationBucketName") == {"Ref": ACCESS_LOG_BUCKET}, f"{name}: access logs {cfg}"
        prefix = cfg.get("LogFilePrefix")
        assert isinstance(prefix, str) and prefix.endswith("/") and len(prefix) > 1, f"{name}: LogFilePrefix {prefix!r}"
        sources[name] = prefix
    # Each source may deliver under its prefix only, for this account only.
    allowed = [s for s in bucket_policy(sam, ACCESS_LOG_BUCKET) if s["Effect"] == "Allow"]
    assert len(allowed) == len(sources), f"{ACCESS_LOG_BUCKET}: {len(allowed)} Allow statements for {sorted(sources)}"
    for s in allowed:
        assert s["Principal"] == S3_LOGGING and listify(s["Action"]) == ["s3:PutObject"], s
        cond = s.get("Condition") or {}
        assert sorted(cond) == ["ArnLike", "StringEquals"], f"logs only from this account's sources: {cond}"
        assert cond["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}, f"SourceAccount: {cond}"
        source = cond["ArnLike"]
        assert list(source) == ["aws:SourceArn"] and isinstance(source["aws:SourceArn"], dict), cond
        name = source["aws:SourceArn"].get("Fn::GetAtt", [None])[0]
        assert source["aws:SourceArn"] == {"Fn::GetAtt": [name, "Arn"]} and name in sources, f"logs of {source}"
        want = {"Fn::Sub": "${" + ACCESS_LOG_BUCKET + ".Arn}/" + sources[name] + "*"}
        assert s["Resource"] == want, f"logs of {name}: on {s['Resource']}, want {want}"


def s3_resource(r: Any) -> str:
    """BUCKET or an object-key pattern of the evidence bucket; anything else is refused."""
    if r == {"Fn::GetAtt": [EVIDENCE_BUCKET, "Arn"]}:
        return BUCKET
    sub = r.get("Fn::Sub") if isinstance(r, dict) else None
    m = re.fullmatch(r"\$\{" + EVIDENCE_BUCKET + r"\.Arn\}/(.+)", sub) if isinstance(sub, str) else None
    assert m, f"S3 actions on {r!r}: only the evidence bucket and its keys"
    return m.group(1)


def test_only_the_evidence_binaries_hold_s3_actions_and_only_their_calls(sam, cfn):
    assert set(EXPECTED_S3) == set(EVIDENCE_BINARIES)
    role_binary = {fn["Properties"]["Role"]["Fn::GetAtt"][0]: binary_of(fn) for fn in functions(sam).values()}
    granted: dict[str, dict[str, set[str]]] = {}
    for where, doc in policy_documents(cfn):
        if cfn["Resources"][where.split(".")[0]]["Type"] == "AWS::S3::BucketPolicy":
            continue  # the bucket policies: the previous tests and the next
        for st in statements(doc):
            actions = {a for a in listify(st.get("Action", [])) if isinstance(a, str) and a.lower().startswith("s3:")}
            if not actions:
                continue
            role = where.split(".")[0]
            binary = role_binary.get(role)
            assert binary in EVIDENCE_BINARIES and ".Policies[" in where, f"{where}: S3 actions {sorted(actions)}"
            assert st["Effect"] == "Allow" and set(listify(st["Action"])) == actions, f"{where}: {st}"
            for r in listify(st["Resource"]):
                granted.setdefault(binary, {}).setdefault(s3_resource(r), set()).update(actions)
    assert granted == EXPECTED_S3, f"S3 grants {granted} != EXPECTED_S3 {EXPECTED_S3}"
    # The keys the code writes are the ones granted.
    lib = (FUNCTIONS_DIR / "audits" / "src" / "lib.rs").read_text()
    assert re.search(r'fn evidence_key\([^)]*\) -> String \{\s*format!\("evidence/', lib), (
        "functions/audits/src/lib.rs: evidence_key no longer makes evidence/... keys: change EXPECTED_S3"
    )


def test_only_the_audits_function_may_write_evidence(sam, cfn):
    writers = {
        fn["Properties"]["Role"]["Fn::GetAtt"][0]
        for fn in functions(sam).values()
        if S3_OBJECT_ACTIONS_THAT_WRITE & set().union(*EXPECTED_S3.get(binary_of(fn), {}).values())
    }
    assert len(writers) == 1, f"evidence writers: {sorted(writers)}"
    (writer,) = writers
    policy = bucket_policy(sam, EVIDENCE_BUCKET)
    assert not [s for s in policy if s["Effect"] == "Allow"], "the evidence bucket policy allows nobody in"
    # Whatever IAM says elsewhere in the account: a PutObject by anyone but that role is refused.
    deny = [
        s for s in policy
        if s["Effect"] == "Deny" and s.get("Principal") == "*" and listify(s["Action"]) == ["s3:PutObject"]
    ]
    assert deny, "the evidence bucket policy must deny PutObject to every other principal"
    assert deny[0]["Resource"] == {"Fn::Sub": "${" + EVIDENCE_BUCKET + ".Arn}/*"}, deny[0]["Resource"]
    assert deny[0]["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [writer, "Arn"]}}}, (
        f"the PutObject Deny must spare {writer} only: {deny[0]['Condition']}"
    )


def test_the_evidence_bucket_takes_browser_uploads_from_the_api_origins_only(sam):
    src = SHARED_DIR / "evidence" / "src" / "lib.rs"
    signed = {rust_str_const(src, c) for c in ("CONTENT_LENGTH", "CONTENT_TYPE", "CHECKSUM_SHA256")}
    for name, bucket in buckets(sam).items():
        cors = bucket["Properties"].get("CorsConfiguration")
        if name != EVIDENCE_BUCKET:
            assert cors is None, f"{name}: CORS"
            continue
        # Configured exactly when the API's is, for the same origins.
        assert cors["Fn::If"][0] == "HasCorsOrigins" and cors["Fn::If"][2] == {"Ref": "AWS::NoValue"}, cors
        (rule,) = cors["Fn::If"][1]["CorsRules"]
        assert rule["AllowedOrigins"] == {"Fn::Split": [",", {"Ref": "CorsAllowedOrigins"}]}, rule["AllowedOrigins"]
        assert rule["AllowedMethods"] == ["PUT"], f"{name}: browsers only PUT presigned uploads: {rule['AllowedMethods']}"
        assert set(rule["AllowedHeaders"]) == signed, f"{name}: headers {rule['AllowedHeaders']}, signed {sorted(signed)}"
        assert "ExposedHeaders" not in rule, f"{name}: {rule['ExposedHeaders']}"


# ---- KMS: the audit seed key -----------------------------------------------------------------

SEED_KEY = "AuditSeedKey"
# What a SEALING_BINARIES role may do with the key: seal a seed and open it. Nothing else (no data
# keys, no re-encryption, no grants).
SEED_KEY_USE = {"kms:Encrypt", "kms:Decrypt"}
# The rotation of the old scheme's periods (recert-local audit rotate, docs/deploy.md) seals new
# seeds with the operator's credentials: while AuditSeedRotatorArn is set, that one principal may
# Encrypt (never Decrypt), under the condition that says it is set.
ROTATOR = "AuditSeedRotatorArn"
ROTATOR_USE = {"kms:Encrypt"}
# The operations that use a key's material, or hand it on (a grant): only the statements above may
# allow one of them on the seed key.
KMS_USE_ACTIONS = {
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext", "kms:GenerateRandom", "kms:GenerateMac",
    "kms:VerifyMac", "kms:Sign", "kms:Verify", "kms:DeriveSharedSecret", "kms:CreateGrant",
}
ACCOUNT_ROOT = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}


def uses_a_key(action: Any) -> bool:
    """Whether an action (or an action pattern: kms:*, kms:Re*) allows a use of the key."""
    if not isinstance(action, str):
        return True  # an intrinsic: it could be anything
    return any(fnmatch.fnmatchcase(use.lower(), action.lower()) for use in KMS_USE_ACTIONS)


def seed_context_condition() -> dict[str, Any]:
    """The seeds' encryption context, as the code seals them: the one context key
    (recert_keys::kms::CONTEXT_KEY) whose value names a period (recert_app::audit::seal_context).
    StringLike requires the key to be there; ForAllValues:StringEquals refuses any other key."""
    key = rust_str_const(SHARED_DIR / "keys" / "src" / "kms.rs", "CONTEXT_KEY")
    m = re.search(
        r'fn seal_context\(period: Period\) -> String \{\s*format!\("([a-z0-9-]+:)\{period\}"\)',
        (SHARED_DIR / "app" / "src" / "audit.rs").read_text(),
    )
    assert m, "shared/app/src/audit.rs: seal_context no longer makes <prefix>:<period>: change the key policy"
    return {
        "StringLike": {f"kms:EncryptionContext:{key}": m.group(1) + "*"},
        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": [key]},
    }


def test_the_audit_seed_key_is_retained_rotated_and_named_per_environment(sam):
    keys = resources(sam, "AWS::KMS::Key")
    assert SEED_KEY in keys, f"no {SEED_KEY}"
    key = keys[SEED_KEY]
    # The sealed seeds of the months not yet revealed open with this key only.
    assert key.get("DeletionPolicy") == "Retain", f"{SEED_KEY}: the unrevealed seeds die with it"
    assert key.get("UpdateReplacePolicy") == "Retain", f"{SEED_KEY}: a replacement must not drop it"
    assert "Condition" not in key, f"{SEED_KEY}: the audit jobs always need it"
    p = key["Properties"]
    assert p.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT", p.get("KeySpec")
    assert p.get("KeyUsage", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT", p.get("KeyUsage")
    assert p.get("Enabled", True) is True and "MultiRegion" not in p and "Origin" not in p, p
    assert p.get("PendingWindowInDays") == 30, f"{SEED_KEY}: the longest window to cancel a deletion"
    for name, k in keys.items():
        assert k["Properties"].get("EnableKeyRotation") is True, f"{name}: rotated yearly"
    # An alias per environment (two stacks in one account would collide), on this stack's key.
    aliases = resources(sam, "AWS::KMS::Alias")
    assert [a["Properties"]["TargetKeyId"] for a in aliases.values()] == [{"Ref": SEED_KEY}], aliases
    for name, a in aliases.items():
        assert "${Environment}" in json.dumps(a["Properties"]["AliasName"]), f"{name}: {a['Properties']['AliasName']}"


def test_only_the_sealing_roles_may_use_the_audit_seed_key(sam, cfn):
    sealers = {
        fn["Properties"]["Role"]["Fn::GetAtt"][0]
        for fn in functions(sam).values()
        if binary_of(fn) in SEALING_BINARIES
    }
    assert sealers, "SEALING_BINARIES not deployed"
    context = seed_context_condition()
    allowed: set[str] = set()
    rotator = 0
    for st in listify(cfn["Resources"][SEED_KEY]["Properties"]["KeyPolicy"]["Statement"]):
        conditional = isinstance(st, dict) and list(st) == ["Fn::If"]
        if conditional:
            cond, st, otherwise = st["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}, f"a statement in place of another: {otherwise}"
            assert cfn["Conditions"].get(cond) == {"Fn::Not": [{"Fn::Equals": [{"Ref": ROTATOR}, ""]}]}, (
                f"{SEED_KEY}: a statement under {cond}, not `{ROTATOR} is set`"
            )
        where = f"{SEED_KEY}: {st.get('Sid')}"
        assert st.get("Effect") == "Allow" and st.get("Resource") == "*", f"{where}: {st}"
        for key in ("NotPrincipal", "NotAction", "NotResource"):
            assert key not in st, f"{where}: {key}"
        actions = listify(st["Action"])
        uses = {a for a in actions if uses_a_key(a)}
        if not conditional and st["Principal"] == ACCOUNT_ROOT:
            # Administers, never uses: no IAM policy of the account can grant a use of the key.
            assert not uses, f"{where}: the account may use the key ({sorted(uses)}): administration only"
            assert "kms:PutKeyPolicy" in actions, f"{where}: without PutKeyPolicy the key is locked"
            continue
        # Any other statement only lets its one principal use the key on the seeds' context.
        assert uses == set(actions), f"{where}: {sorted(set(actions) - uses)} for {st['Principal']}"
        assert st.get("Condition") == context, f"{where}: condition {st.get('Condition')}, want {context}"
        if conditional:
            assert st["Principal"] == {"AWS": {"Ref": ROTATOR}}, f"{where}: {st['Principal']}"
            assert set(actions) == ROTATOR_USE, f"{where}: the rotator may only seal: {actions}"
            rotator += 1
            continue
        role = referenced(st["Principal"].get("AWS"))
        assert st["Principal"] == {"AWS": {"Fn::GetAtt": [role, "Arn"]}} and role in sealers, (
            f"{where}: {st['Principal']} may use the key, not a role of SEALING_BINARIES"
        )
        assert set(actions) == SEED_KEY_USE, f"{where}: {actions}, want {sorted(SEED_KEY_USE)}"
        allowed.add(role)
    assert allowed == sealers, f"roles allowed to seal and open seeds {sorted(allowed)} != {sorted(sealers)}"
    assert rotator <= 1, "one rotator statement at most"
    # No role's own policy names KMS: the key policy is the one grant (the alarm topic's key is
    # CloudWatch's), so no other role can be handed a use of the seed key.
    for where, doc in policy_documents(cfn):
        if cfn["Resources"][where.split(".")[0]]["Type"] != "AWS::IAM::Role":
            continue
        for st in statements(doc):
            kms = [a for a in listify(st.get("Action", [])) if not isinstance(a, str) or a.lower().startswith("kms:")]
            assert not kms, f"{where}: {kms} (the audit seed key's policy grants its use)"
    # No grant can be made on it: no key policy allows CreateGrant to anyone.
    assert "kms:CreateGrant" not in json.dumps(cfn["Resources"][SEED_KEY]), f"{SEED_KEY}: CreateGrant"


def test_the_rotator_parameter_names_one_role_or_user_or_none(sam):
    param = sam["Parameters"][ROTATOR]
    assert param["Type"] == "String" and param.get("Default") == "", f"{ROTATOR}: empty (none) by default"
    pattern = re.compile(param["AllowedPattern"])
    for good in (
        "",
        "arn:aws:iam::123456789012:role/Admin",
        "arn:aws:iam::123456789012:user/jane",
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef",
    ):
        assert pattern.fullmatch(good), f"{ROTATOR}: refuses {good!r}"
    for bad in (
        "*",
        "123456789012",
        "arn:aws:iam::123456789012:root",  # every principal the account's IAM policies allow
        "arn:aws:iam::123456789012:role/*",
        "arn:aws:sts::123456789012:assumed-role/Admin/jane",
        "arn:aws:iam::123456789012:role/Admin,arn:aws:iam::123456789012:role/Other",
    ):
        assert not pattern.fullmatch(bad), f"{ROTATOR}: admits {bad!r}"


def test_the_fixed_partitions_granted_are_the_codecs():
    # A fixed partition in a LeadingKeys condition is the exact key the adapter writes.
    codec = SHARED_DIR / "store" / "src" / "codec.rs"
    assert PROVIDERS_LISTING == rust_str_const(codec, "PROVIDERS_PK")
    assert AUDIT_PERIODS_LISTING == rust_str_const(codec, "AUDIT_PERIODS_PK")


# ---- docs/deploy.md counts what the template holds --------------------------------------------

DEPLOY_MD = ROOT / "docs" / "deploy.md"
NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}


def stated(word: str) -> int | None:
    """A count as the guide writes it (digits or a word), None for any other word."""
    return int(word) if word.isdigit() else NUMBER_WORDS.get(word.lower())


def test_deploy_md_names_and_counts_what_the_template_holds(sam):
    # The guide's "What gets deployed" names every function and role, and each count it states
    # (functions, HTTP functions, roles, alarms, function log groups) is the template's.
    doc = DEPLOY_MD.read_text()
    fns = functions(sam)
    roles = resources(sam, "AWS::IAM::Role")
    alarms = resources(sam, "AWS::CloudWatch::Alarm")
    prefixes = {name.removesuffix("Function") for name in fns}
    kinds = ("Errors", "Throttles", "Duration")
    per_function_alarms = [a for a in alarms if any(a == f"{p}{k}Alarm" for p in prefixes for k in kinds)]
    log_groups = resources(sam, "AWS::Logs::LogGroup")
    function_log_groups = [g for g in log_groups if g.removesuffix("LogGroup") in prefixes]
    unnamed = [name for name in [*fns, *roles] if f"`{name}`" not in doc]
    assert not unnamed, f"docs/deploy.md does not name {unnamed}"
    claims = [
        (r"\| (\w+) alarms \|", len(alarms), "alarms"),
        (r"Per function \((\w+),", len(fns), "functions"),
        (r"Per function \(\w+, (\w+) alarms\)", len(per_function_alarms), "per-function alarms"),
        (r"\b(\w+) HTTP functions\b", sum(1 for f in fns.values() if http_events(f)), "HTTP functions"),
        (r"IAM role per function \((\w+)\)", len(roles), "roles"),
        (r"\b(\w+) function log groups\b", len(function_log_groups), "function log groups"),
    ]
    wrong = []
    for pattern, count, what in claims:
        said = [n for n in (stated(w) for w in re.findall(pattern, doc)) if n is not None]
        assert said, f"docs/deploy.md states no count of {what} (/{pattern}/)"
        wrong += [f"{what}: says {n}, the template holds {count}" for n in said if n != count]
    assert not wrong, "docs/deploy.md: " + "; ".join(wrong)
