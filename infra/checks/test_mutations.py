"""The invariant tests catch what they claim to: each case breaks the template in one way and
asserts that the named invariant test fails on it (and that the real template passes them).

The allow-lists of test_template.py are exercised the same way: each SHAPE is a change that a
future feature needs (another unauthenticated webhook route, a scheduled job, a stream consumer, a
second binary in a crate), on top of what the lists already admit (the payment webhook, the
notifier's stream, the sweeper's, the jobs' and the audit jobs' schedules, the sweeper and audit-jobs
binaries, the public audit draw route). With its allow-list entries it passes
every invariant; without them the named invariants fail; and with them, each of BREAKS (the shape
minus a required safeguard) still fails."""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

import test_template as T
from translate import ROOT, load_sam, translate

Sam = dict[str, Any]


def res(sam: Sam, name: str) -> dict[str, Any]:
    return sam["Resources"][name]["Properties"]


def role_statements(sam: Sam, role: str) -> list[dict[str, Any]]:
    return res(sam, role)["Policies"][0]["PolicyDocument"]["Statement"]


def set_auth_none(sam: Sam) -> None:
    res(sam, "TranscriptsFunction")["Events"]["DeleteEntry"]["Properties"]["Auth"] = {"Authorizer": "NONE"}


def add_scan(sam: Sam) -> None:
    role_statements(sam, "EligibilityRole")[0]["Action"].append("dynamodb:Scan")


def add_service_wildcard(sam: Sam) -> None:
    role_statements(sam, "TranscriptsRole")[1]["Action"] = "logs:*"


def add_prefix_wildcard(sam: Sam) -> None:
    role_statements(sam, "CertificationsRole")[0]["Action"].append("dynamodb:Get*")


def query_on_star(sam: Sam) -> None:
    role_statements(sam, "EligibilityRole")[0]["Resource"] = "*"


def grant_update_item(sam: Sam) -> None:
    role_statements(sam, "TranscriptsRole")[0]["Action"].append("dynamodb:UpdateItem")


def query_on_an_unused_index(sam: Sam) -> None:
    role_statements(sam, "EligibilityRole").append(
        {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": {"Fn::Sub": "${Table.Arn}/index/gsi2"}}
    )


def share_a_role(sam: Sam) -> None:
    res(sam, "EligibilityFunction")["Role"] = {"Fn::GetAtt": ["TranscriptsRole", "Arn"]}


def sam_policy_template(sam: Sam) -> None:
    res(sam, "EligibilityFunction")["Policies"] = [{"DynamoDBReadPolicy": {"TableName": {"Ref": "Table"}}}]


def drop_a_gsi(sam: Sam) -> None:
    res(sam, "Table")["GlobalSecondaryIndexes"].pop()


def rename_ttl(sam: Sam) -> None:
    res(sam, "Table")["TimeToLiveSpecification"]["AttributeName"] = "expires_at"


def keys_only_projection(sam: Sam) -> None:
    res(sam, "Table")["GlobalSecondaryIndexes"][0]["Projection"] = {"ProjectionType": "KEYS_ONLY"}


def number_sort_key(sam: Sam) -> None:
    res(sam, "Table")["AttributeDefinitions"][1]["AttributeType"] = "N"


def unretain_table(sam: Sam) -> None:
    del sam["Resources"]["Table"]["DeletionPolicy"]


def no_deletion_protection(sam: Sam) -> None:
    res(sam, "Table")["DeletionProtectionEnabled"] = False


def drop_a_route(sam: Sam) -> None:
    del res(sam, "TranscriptsFunction")["Events"]["DeleteEntry"]


def add_an_unspecified_route(sam: Sam) -> None:
    res(sam, "CertificationsFunction")["Events"]["ListCertifications"] = {
        "Type": "HttpApi",
        "Properties": {"ApiId": {"Ref": "HttpApi"}, "Method": "GET", "Path": "/certifications", "PayloadFormatVersion": "2.0"},
    }


def route_to_the_wrong_function(sam: Sam) -> None:
    event = res(sam, "CertificationsFunction")["Events"].pop("GetHistory")
    res(sam, "EligibilityFunction")["Events"]["GetHistory"] = event


def deploy_the_dev_server(sam: Sam) -> None:
    res(sam, "EligibilityFunction")["CodeUri"] = "../functions/local"


def drop_a_function(sam: Sam) -> None:
    del sam["Resources"]["EligibilityFunction"]


def drop_a_throttles_alarm(sam: Sam) -> None:
    del sam["Resources"]["EligibilityThrottlesAlarm"]


def hs256_in_production(sam: Sam) -> None:
    sam["Globals"]["Function"]["Environment"]["Variables"]["JWT_HS256_SECRET"] = "x" * 32


def x86(sam: Sam) -> None:
    sam["Globals"]["Function"]["Architectures"] = ["x86_64"]


# ---- the outbox, the jobs, SES ------------------------------------------------------------------


def statement(sam: Sam, role: str, sid: str) -> dict[str, Any]:
    return next(s for s in role_statements(sam, role) if s.get("Sid") == sid)


def env(sam: Sam, function: str) -> dict[str, Any]:
    return res(sam, function).setdefault("Environment", {}).setdefault("Variables", {})


def ses_on_any_resource(sam: Sam) -> None:
    statement(sam, "NotifierRole", "SendAsTheSender")["Resource"] = "*"


def ses_on_every_identity(sam: Sam) -> None:
    statement(sam, "OutboxSweeperRole", "SendAsTheSender")["Resource"][0] = {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"
    }


def ses_on_a_fixed_configuration_set(sam: Sam) -> None:
    statement(sam, "NotifierRole", "SendAsTheSender")["Resource"][2] = {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/default"
    }


def ses_raw_email_too(sam: Sam) -> None:
    statement(sam, "NotifierRole", "SendAsTheSender")["Action"].append("ses:SendRawEmail")


def ses_service_wildcard(sam: Sam) -> None:
    statement(sam, "NotifierRole", "SendAsTheSender")["Action"] = ["ses:*"]


def ses_for_the_jobs(sam: Sam) -> None:
    role_statements(sam, "JobsRole").append(copy.deepcopy(statement(sam, "NotifierRole", "SendAsTheSender")))


def ses_dropped_from_the_sweeper(sam: Sam) -> None:
    statements = role_statements(sam, "OutboxSweeperRole")
    statements[:] = [s for s in statements if s.get("Sid") != "SendAsTheSender"]


def jwt_on_the_jobs(sam: Sam) -> None:
    env(sam, "JobsFunction")["JWT_ISSUER"] = {"Ref": "JwtIssuer"}


def cursor_secret_back_in_globals(sam: Sam) -> None:
    cursor = env(sam, "CertificationsFunction")["CURSOR_SECRET_ARN"]
    sam["Globals"]["Function"]["Environment"]["Variables"]["CURSOR_SECRET_ARN"] = cursor


def jwt_dropped_from_an_http_function(sam: Sam) -> None:
    del env(sam, "EligibilityFunction")["JWT_JWKS"]


def no_sender_for_the_sweeper(sam: Sam) -> None:
    del env(sam, "OutboxSweeperFunction")["SES_SENDER"]


def no_link_base_for_the_notifier(sam: Sam) -> None:
    del env(sam, "NotifierFunction")["RECERT_LINK_BASE"]


def a_sender_where_nothing_is_sent(sam: Sam) -> None:
    env(sam, "TranscriptsFunction")["SES_SENDER"] = {"Ref": "SesSenderIdentity"}


def the_mailbox_in_production(sam: Sam) -> None:
    env(sam, "NotifierFunction")["RECERT_MAILBOX_DIR"] = "/tmp/mail"


def notifier_props(sam: Sam) -> dict[str, Any]:
    return res(sam, "NotifierFunction")["Events"]["OutboxInserts"]["Properties"]


def notify_on_every_write(sam: Sam) -> None:
    notifier_props(sam)["FilterCriteria"]["Filters"][0]["Pattern"] = json.dumps({"eventName": ["INSERT", "MODIFY"]})


def notify_on_any_key(sam: Sam) -> None:
    notifier_props(sam)["FilterCriteria"]["Filters"][0]["Pattern"] = json.dumps(
        {"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "OUT"}]}}}}
    )


def notify_without_a_filter(sam: Sam) -> None:
    del notifier_props(sam)["FilterCriteria"]


def retry_the_stream_forever(sam: Sam) -> None:
    del notifier_props(sam)["MaximumRetryAttempts"]


def no_stream_on_the_table(sam: Sam) -> None:
    del res(sam, "Table")["StreamSpecification"]


def filter_on_images_of_a_keys_only_stream(sam: Sam) -> None:
    notifier_props(sam)["FilterCriteria"]["Filters"].append(
        {"Pattern": json.dumps({"dynamodb": {"NewImage": {"type": {"S": ["outbox"]}}}})}
    )


def unencrypted_failures_queue(sam: Sam) -> None:
    del res(sam, "NotifierFailuresQueue")["KmsMasterKeyId"]


def failures_kept_4_days(sam: Sam) -> None:
    del res(sam, "NotifierFailuresQueue")["MessageRetentionPeriod"]


def the_sweeper_may_write_the_failures_queue(sam: Sam) -> None:
    role_statements(sam, "OutboxSweeperRole").append(copy.deepcopy(statement(sam, "NotifierRole", "SendFailedRecords")))


def the_notifier_may_read_the_queue(sam: Sam) -> None:
    statement(sam, "NotifierRole", "SendFailedRecords")["Action"].append("sqs:ReceiveMessage")


def no_stream_grant(sam: Sam) -> None:
    statements = role_statements(sam, "NotifierRole")
    statements[:] = [s for s in statements if s.get("Sid") != "ReadTheStream"]


def sweep_any_queue_partition(sam: Sam) -> None:
    statement(sam, "OutboxSweeperRole", "ReadTheOutboxQueue")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] = ["*"]


def jobs_write_profiles(sam: Sam) -> None:
    statement(sam, "JobsRole", "LoadAndCommitCertifications")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].append("CERTIFICANT#*")


def jobs_query_the_outbox_queue(sam: Sam) -> None:
    statement(sam, "JobsRole", "WhatFallsDue")["Resource"] = {"Fn::Sub": "${Table.Arn}/index/gsi2"}


def job_props(sam: Sam) -> dict[str, Any]:
    return res(sam, "JobsFunction")["Events"]["WindowOpensDaily"]["Properties"]


def job_input_with_an_extra_field(sam: Sam) -> None:
    job_props(sam)["Input"] = json.dumps({"job": "window-opens", "scheduled_time": T.SCHEDULED_TIME, "dry_run": True})


def an_unknown_job(sam: Sam) -> None:
    job_props(sam)["Input"] = json.dumps({"job": "window-closes", "scheduled_time": T.SCHEDULED_TIME})


def a_job_without_its_schedule(sam: Sam) -> None:
    del res(sam, "JobsFunction")["Events"]


def job_input_without_the_scheduled_time(sam: Sam) -> None:
    job_props(sam)["Input"] = json.dumps({"job": "window-opens", "scheduled_time": "2026-01-01T13:00:00Z"})


def a_schedule_name_every_stack_shares(sam: Sam) -> None:
    del job_props(sam)["Name"]


def drop_the_parked_alarm(sam: Sam) -> None:
    del sam["Resources"]["OutboxParkedAlarm"]


def drop_the_sweepers_parked_filter(sam: Sam) -> None:
    del sam["Resources"]["OutboxSweeperParkedMetricFilter"]


def count_another_log_line(sam: Sam) -> None:
    res(sam, "NotifierParkedMetricFilter")["FilterPattern"] = '"outbox message failed"'


def alarm_after_ten_parked(sam: Sam) -> None:
    res(sam, "OutboxParkedAlarm")["Threshold"] = 10


def parked_alarm_on_another_namespace(sam: Sam) -> None:
    res(sam, "OutboxParkedAlarm")["Namespace"] = "Recert"


def drop_the_failures_queue_alarm(sam: Sam) -> None:
    del sam["Resources"]["NotifierFailuresAlarm"]


def drop_the_jobs_errors_alarm(sam: Sam) -> None:
    del sam["Resources"]["JobsErrorsAlarm"]


def an_alarm_nobody_hears_recover(sam: Sam) -> None:
    del res(sam, "JobsDurationAlarm")["OKActions"]


def optional_sender(sam: Sam) -> None:
    sam["Parameters"]["SesSenderIdentity"]["Default"] = ""


def deploy_a_binary_twice(sam: Sam) -> None:
    again = copy.deepcopy(sam["Resources"]["TranscriptsFunction"])
    del again["Properties"]["Events"]
    sam["Resources"]["TranscriptsAgainFunction"] = again


def drop_the_binary_name(sam: Sam) -> None:
    del sam["Resources"]["EligibilityFunction"]["Metadata"]["BuildProperties"]["Binary"]


def add_an_unlisted_schedule(sam: Sam) -> None:
    res(sam, "EligibilityFunction")["Events"]["Nightly"] = {
        "Type": "ScheduleV2",
        "Properties": {"ScheduleExpression": "rate(1 day)", "Input": json.dumps({"at": T.SCHEDULED_TIME})},
    }


def add_a_v1_schedule(sam: Sam) -> None:
    res(sam, "EligibilityFunction")["Events"]["Nightly"] = {
        "Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"},
    }


def drop_leading_keys(sam: Sam) -> None:
    del role_statements(sam, "EligibilityRole")[0]["Condition"]


def widen_leading_keys(sam: Sam) -> None:
    role_statements(sam, "TranscriptsRole")[0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].append("EMAIL#*")


def any_partition_of_the_index(sam: Sam) -> None:
    gsi = next(s for s in role_statements(sam, "CertificationsRole") if s.get("Sid") == "CertificationsOfACertificant")
    gsi["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] = ["*"]


def get_item_on_the_email_guard(sam: Sam) -> None:
    get = role_statements(sam, "CertificationsRole")[0]
    assert get["Action"] == ["dynamodb:GetItem"]
    get["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].append("EMAIL#*")


def for_any_value(sam: Sam) -> None:
    st = role_statements(sam, "EligibilityRole")[0]
    st["Condition"] = {"ForAnyValue:StringLike": st["Condition"]["ForAllValues:StringLike"]}


# ---- the submissions function: its routes, its role, the webhook's secrets ---------------------


def open_a_submissions_route(sam: Sam) -> None:
    res(sam, "SubmissionsFunction")["Events"]["ApproveSubmission"]["Properties"]["Auth"] = {"Authorizer": "NONE"}


def the_webhook_behind_another_authorizer(sam: Sam) -> None:
    res(sam, "SubmissionsFunction")["Events"]["PaymentWebhook"]["Properties"]["Auth"] = {"Authorizer": "WebhookAuthorizer"}


def the_webhook_on_another_function(sam: Sam) -> None:
    event = res(sam, "SubmissionsFunction")["Events"].pop("PaymentWebhook")
    res(sam, "CertificationsFunction")["Events"]["PaymentWebhook"] = event


WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def webhook_secret_in_plain(sam: Sam) -> None:
    env(sam, "SubmissionsFunction")["PAYMENT_WEBHOOK_SECRET"] = WHSEC


def webhook_secret_as_a_parameter(sam: Sam) -> None:
    sam["Parameters"]["PaymentWebhookSecret"] = {"Type": "String", "NoEcho": True, "MinLength": 16}
    env(sam, "SubmissionsFunction")["PAYMENT_WEBHOOK_SECRET"] = {"Ref": "PaymentWebhookSecret"}


def webhook_secret_typed_into_the_arn_parameter(sam: Sam) -> None:
    # {{resolve:secretsmanager:<the value>}} would not resolve; a loose pattern invites it anyway.
    sam["Parameters"]["PaymentWebhookSecretArn"]["AllowedPattern"] = "^.+$"


def webhook_secret_arn_unchecked(sam: Sam) -> None:
    del sam["Parameters"]["PaymentWebhookSecretArn"]["AllowedPattern"]


def webhook_secret_from_ssm(sam: Sam) -> None:
    env(sam, "SubmissionsFunction")["PAYMENT_WEBHOOK_SECRET"] = {"Fn::Sub": "{{resolve:ssm:/recert/webhook-secret}}"}


def webhook_secret_resolved_into_the_arn_variable(sam: Sam) -> None:
    env(sam, "SubmissionsFunction")["PAYMENT_WEBHOOK_SECRET_ARN"] = {
        "Fn::Sub": "{{resolve:secretsmanager:${PaymentWebhookSecretArn}:SecretString}}"
    }


def previous_secret_in_plain_when_not_rotating(sam: Sam) -> None:
    env(sam, "SubmissionsFunction")["PAYMENT_WEBHOOK_SECRET_PREVIOUS_ARN"] = {
        "Fn::If": ["HasPaymentWebhookPreviousSecret", {"Ref": "PaymentWebhookPreviousSecretArn"}, WHSEC]
    }


def previous_secret_resolved_when_unset(sam: Sam) -> None:
    # The old way: CloudFormation resolves the value into the environment at deploy time.
    del env(sam, "SubmissionsFunction")["PAYMENT_WEBHOOK_SECRET_PREVIOUS_ARN"]
    env(sam, "SubmissionsFunction")["PAYMENT_WEBHOOK_SECRET_PREVIOUS"] = {
        "Fn::Sub": "{{resolve:secretsmanager:${PaymentWebhookPreviousSecretArn}:SecretString}}"
    }


def previous_secret_condition_on_another_parameter(sam: Sam) -> None:
    sam["Conditions"]["HasPaymentWebhookPreviousSecret"] = {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


def optional_webhook_secret(sam: Sam) -> None:
    sam["Parameters"]["PaymentWebhookSecretArn"]["Default"] = ""


def no_webhook_secret(sam: Sam) -> None:
    del env(sam, "SubmissionsFunction")["PAYMENT_WEBHOOK_SECRET_ARN"]


def webhook_scheme_fixed(sam: Sam) -> None:
    env(sam, "SubmissionsFunction")["PAYMENT_WEBHOOK_SCHEME"] = "stripe"


def a_scheme_the_code_does_not_know(sam: Sam) -> None:
    sam["Parameters"]["PaymentWebhookScheme"]["AllowedValues"].append("paypal")


def webhook_secret_for_the_certifications(sam: Sam) -> None:
    env(sam, "CertificationsFunction")["PAYMENT_WEBHOOK_SECRET_ARN"] = copy.deepcopy(
        env(sam, "SubmissionsFunction")["PAYMENT_WEBHOOK_SECRET_ARN"]
    )


def webhook_scheme_in_globals(sam: Sam) -> None:
    sam["Globals"]["Function"]["Environment"]["Variables"]["PAYMENT_WEBHOOK_SCHEME"] = {"Ref": "PaymentWebhookScheme"}


def cursor_secret_in_plain(sam: Sam) -> None:
    env(sam, "TranscriptsFunction")["CURSOR_SECRET"] = "c" * 64


def cursor_secret_resolved_at_deploy(sam: Sam) -> None:
    # The old way: the plaintext in the function's configuration.
    del env(sam, "TranscriptsFunction")["CURSOR_SECRET_ARN"]
    env(sam, "TranscriptsFunction")["CURSOR_SECRET"] = {"Fn::Sub": "{{resolve:secretsmanager:${CursorSecret}:SecretString}}"}


def a_secret_variable_the_code_does_not_resolve(sam: Sam) -> None:
    env(sam, "TranscriptsFunction")["JWT_HS256_SECRET_ARN"] = {"Ref": "CursorSecret"}


# ---- GetSecretValue: each role exactly the secrets its function reads ----------------------------


def secrets_on_any_resource(sam: Sam) -> None:
    statement(sam, "SubmissionsRole", "ReadItsSecrets")["Resource"] = "*"


def secrets_service_wildcard(sam: Sam) -> None:
    statement(sam, "EligibilityRole", "ReadItsSecrets")["Action"] = ["secretsmanager:Get*"]


def batch_get_secrets_too(sam: Sam) -> None:
    statement(sam, "CertificationsRole", "ReadItsSecrets")["Action"].append("secretsmanager:BatchGetSecretValue")


def transcripts_read_the_webhook_secret(sam: Sam) -> None:
    statement(sam, "TranscriptsRole", "ReadItsSecrets")["Resource"] = [
        {"Ref": "CursorSecret"},
        {"Ref": "PaymentWebhookSecretArn"},
    ]


def previous_secret_granted_even_when_unset(sam: Sam) -> None:
    statement(sam, "SubmissionsRole", "ReadItsSecrets")["Resource"][2] = {"Ref": "PaymentWebhookPreviousSecretArn"}


def the_jobs_read_the_cursor_secret(sam: Sam) -> None:
    role_statements(sam, "JobsRole").append(copy.deepcopy(statement(sam, "WaiversRole", "ReadItsSecrets")))


def no_grant_for_the_eligibility_secret(sam: Sam) -> None:
    statements_ = role_statements(sam, "EligibilityRole")
    statements_[:] = [s for s in statements_ if s.get("Sid") != "ReadItsSecrets"]


def submissions_read_any_queue_partition(sam: Sam) -> None:
    statement(sam, "SubmissionsRole", "ReadTheReviewQueue")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] = ["*"]


def submissions_write_profiles(sam: Sam) -> None:
    statement(sam, "SubmissionsRole", "LoadAndCommitCertifications")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].append("CERTIFICANT#*")


def submissions_delete_items(sam: Sam) -> None:
    statement(sam, "SubmissionsRole", "LoadAndCommitCertifications")["Action"].append("dynamodb:DeleteItem")


def submissions_query_the_due_index(sam: Sam) -> None:
    statement(sam, "SubmissionsRole", "ReadTheReviewQueue")["Resource"] = {"Fn::Sub": "${Table.Arn}/index/gsi3"}


def submissions_send_email(sam: Sam) -> None:
    role_statements(sam, "SubmissionsRole").append(copy.deepcopy(statement(sam, "NotifierRole", "SendAsTheSender")))


def drop_the_submissions_duration_alarm(sam: Sam) -> None:
    del sam["Resources"]["SubmissionsDurationAlarm"]


# ---- the audits functions: routes, roles, the evidence bucket, the audit jobs --------------------


def open_an_audit_decision_route(sam: Sam) -> None:
    res(sam, "AuditsFunction")["Events"]["DecideAudit"]["Properties"]["Auth"] = {"Authorizer": "NONE"}


def the_public_draw_behind_the_jwt(sam: Sam) -> None:
    del res(sam, "AuditsFunction")["Events"]["GetAuditPeriod"]["Properties"]["Auth"]


def audits_write_the_ledger(sam: Sam) -> None:
    statement(sam, "AuditsRole", "LoadAndCommitCertifications")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].append("AUDIT#*")


def audits_read_the_draw_queue(sam: Sam) -> None:
    statement(sam, "AuditsRole", "ReadTheAuditDecisionQueue")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] = ["QUEUE#audit_draw"]


def audits_query_the_due_index(sam: Sam) -> None:
    statement(sam, "AuditsRole", "ReadTheAuditDecisionQueue")["Resource"] = {"Fn::Sub": "${Table.Arn}/index/gsi3"}


def audit_jobs_read_the_outbox_queue(sam: Sam) -> None:
    statement(sam, "AuditJobsRole", "ReadTheDrawQueue")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].append("QUEUE#outbox")


def audit_jobs_delete_from_the_ledger(sam: Sam) -> None:
    statement(sam, "AuditJobsRole", "KeepTheAuditLedger")["Action"].append("dynamodb:DeleteItem")


def audit_jobs_touch_evidence(sam: Sam) -> None:
    role_statements(sam, "AuditJobsRole").append(copy.deepcopy(statement(sam, "AuditsRole", "SignUploadsAndCheckEvidence")))


def evidence_on_every_bucket(sam: Sam) -> None:
    statement(sam, "AuditsRole", "SignUploadsAndCheckEvidence")["Resource"] = "*"


def evidence_outside_its_prefix(sam: Sam) -> None:
    statement(sam, "AuditsRole", "SignUploadsAndCheckEvidence")["Resource"] = {"Fn::Sub": "${EvidenceBucket.Arn}/*"}


def audits_delete_evidence(sam: Sam) -> None:
    statement(sam, "AuditsRole", "SignUploadsAndCheckEvidence")["Action"].append("s3:DeleteObject")


def audits_cannot_tell_missing_evidence(sam: Sam) -> None:
    statements = role_statements(sam, "AuditsRole")
    statements[:] = [s for s in statements if s.get("Sid") != "TellMissingEvidenceFromForbidden"]


def a_public_evidence_bucket(sam: Sam) -> None:
    res(sam, "EvidenceBucket")["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] = False


def unencrypted_evidence(sam: Sam) -> None:
    del res(sam, "EvidenceBucket")["BucketEncryption"]


def unversioned_evidence(sam: Sam) -> None:
    res(sam, "EvidenceBucket")["VersioningConfiguration"] = {"Status": "Suspended"}


def evidence_acls_back_on(sam: Sam) -> None:
    res(sam, "EvidenceBucket")["OwnershipControls"]["Rules"][0]["ObjectOwnership"] = "ObjectWriter"


def evidence_deleted_with_the_stack(sam: Sam) -> None:
    del sam["Resources"]["EvidenceBucket"]["DeletionPolicy"]


def evidence_bucket_with_a_fixed_name(sam: Sam) -> None:
    res(sam, "EvidenceBucket")["BucketName"] = "recert-evidence"


def old_versions_kept_forever(sam: Sam) -> None:
    del res(sam, "EvidenceBucket")["LifecycleConfiguration"]["Rules"][0]["NoncurrentVersionExpiration"]


def evidence_over_plain_http(sam: Sam) -> None:
    policy = res(sam, "EvidenceBucketPolicy")["PolicyDocument"]["Statement"]
    policy[:] = [s for s in policy if s.get("Sid") != "TlsOnly"]


def tls_only_on_the_objects_but_not_the_bucket(sam: Sam) -> None:
    statement = next(s for s in res(sam, "EvidenceBucketPolicy")["PolicyDocument"]["Statement"] if s.get("Sid") == "TlsOnly")
    statement["Resource"] = statement["Resource"][1:]


def evidence_readable_by_anyone(sam: Sam) -> None:
    res(sam, "EvidenceBucketPolicy")["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "${EvidenceBucket.Arn}/*"}}
    )


def a_wildcard_allow_in_a_bucket_policy(sam: Sam) -> None:
    res(sam, "EvidenceBucketPolicy")["PolicyDocument"]["Statement"].append({
        "Effect": "Allow", "Principal": {"AWS": {"Fn::GetAtt": ["JobsRole", "Arn"]}}, "Action": "s3:*",
        "Resource": {"Fn::Sub": "${EvidenceBucket.Arn}/*"},
    })


def another_role_may_write_evidence(sam: Sam) -> None:
    statement = next(
        s for s in res(sam, "EvidenceBucketPolicy")["PolicyDocument"]["Statement"] if s.get("Sid") == "OnlyTheAuditsFunctionWrites"
    )
    statement["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] = {"Fn::GetAtt": ["JobsRole", "Arn"]}


def any_principal_may_write_evidence(sam: Sam) -> None:
    policy = res(sam, "EvidenceBucketPolicy")["PolicyDocument"]["Statement"]
    policy[:] = [s for s in policy if s.get("Sid") != "OnlyTheAuditsFunctionWrites"]


def evidence_access_unlogged(sam: Sam) -> None:
    del res(sam, "EvidenceBucket")["LoggingConfiguration"]


def logs_from_any_bucket(sam: Sam) -> None:
    statement = next(
        s for s in res(sam, "EvidenceAccessLogBucketPolicy")["PolicyDocument"]["Statement"] if s.get("Sid") == "S3ServerAccessLogs"
    )
    del statement["Condition"]["ArnLike"]


def logs_kept_forever(sam: Sam) -> None:
    del res(sam, "EvidenceAccessLogBucket")["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"]


def cors_get_too(sam: Sam) -> None:
    res(sam, "EvidenceBucket")["CorsConfiguration"]["Fn::If"][1]["CorsRules"][0]["AllowedMethods"].append("GET")


def cors_any_origin(sam: Sam) -> None:
    res(sam, "EvidenceBucket")["CorsConfiguration"]["Fn::If"][1]["CorsRules"][0]["AllowedOrigins"] = ["*"]


def cors_any_header(sam: Sam) -> None:
    res(sam, "EvidenceBucket")["CorsConfiguration"]["Fn::If"][1]["CorsRules"][0]["AllowedHeaders"] = ["*"]


def evidence_bucket_for_the_jobs(sam: Sam) -> None:
    env(sam, "AuditJobsFunction")["EVIDENCE_BUCKET"] = {"Ref": "EvidenceBucket"}


def no_evidence_bucket_for_the_audits(sam: Sam) -> None:
    del env(sam, "AuditsFunction")["EVIDENCE_BUCKET"]


def evidence_cap_fixed(sam: Sam) -> None:
    env(sam, "AuditsFunction")["EVIDENCE_MAX_BYTES"] = "10485760"


def evidence_cap_above_one_put(sam: Sam) -> None:
    sam["Parameters"]["EvidenceMaxBytes"]["MaxValue"] = 6 * 1024**3


def audit_draw_on_the_jobs_function(sam: Sam) -> None:
    event = res(sam, "AuditJobsFunction")["Events"].pop("AuditDrawDaily")
    res(sam, "JobsFunction")["Events"]["AuditDrawDaily"] = event


def the_draw_schedule_runs_the_deadlines(sam: Sam) -> None:
    res(sam, "AuditJobsFunction")["Events"]["AuditDrawDaily"]["Properties"]["Input"] = json.dumps(
        {"job": "audit-deadlines", "scheduled_time": T.SCHEDULED_TIME}
    )


def a_job_input_on_the_sweeper(sam: Sam) -> None:
    res(sam, "OutboxSweeperFunction")["Events"]["Every5Minutes"]["Properties"]["Input"] = json.dumps(
        {"job": "window-opens", "scheduled_time": T.SCHEDULED_TIME}
    )


def drop_the_audit_jobs_duration_alarm(sam: Sam) -> None:
    del sam["Resources"]["AuditJobsDurationAlarm"]


def audit_jobs_list_any_gsi1_partition(sam: Sam) -> None:
    statement(sam, "AuditJobsRole", "ListTheAuditPeriods")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] = ["*"]


def audit_jobs_list_the_providers_too(sam: Sam) -> None:
    statement(sam, "AuditJobsRole", "ListTheAuditPeriods")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].append("PROVIDERS")


def audits_list_the_periods(sam: Sam) -> None:
    role_statements(sam, "AuditsRole").append(copy.deepcopy(statement(sam, "AuditJobsRole", "ListTheAuditPeriods")))


def audit_jobs_cannot_list_the_periods(sam: Sam) -> None:
    statements = role_statements(sam, "AuditJobsRole")
    statements[:] = [s for s in statements if s.get("Sid") != "ListTheAuditPeriods"]


# ---- KMS: the audit seed key, the audit jobs' alone ----------------------------------------------


def key_statements(sam: Sam) -> list[dict[str, Any]]:
    return res(sam, "AuditSeedKey")["KeyPolicy"]["Statement"]


def key_statement(sam: Sam, sid: str) -> dict[str, Any]:
    """A statement of the seed key's policy by Sid (a conditional one: its statement when set)."""
    for s in key_statements(sam):
        s = s["Fn::If"][1] if "Fn::If" in s else s
        if s.get("Sid") == sid:
            return s
    raise KeyError(sid)


def seed_key_for_the_audits_function(sam: Sam) -> None:
    env(sam, "AuditsFunction")["AUDIT_SEED_KEY_ID"] = {"Fn::GetAtt": ["AuditSeedKey", "Arn"]}


def seed_key_in_globals(sam: Sam) -> None:
    sam["Globals"]["Function"]["Environment"]["Variables"]["AUDIT_SEED_KEY_ID"] = {"Fn::GetAtt": ["AuditSeedKey", "Arn"]}


def no_seed_key_for_the_audit_jobs(sam: Sam) -> None:
    del env(sam, "AuditJobsFunction")["AUDIT_SEED_KEY_ID"]


def seed_key_by_its_alias(sam: Sam) -> None:
    # Opens nothing sealed under the ARN: a sealed seed names the key id it was sealed with.
    env(sam, "AuditJobsFunction")["AUDIT_SEED_KEY_ID"] = {"Fn::Sub": "alias/recert-${Environment}-audit-seeds"}


def the_default_key_policy(sam: Sam) -> None:
    key_statement(sam, "AccountAdministersTheKeyWithoutUsingIt")["Action"] = "kms:*"


def the_account_may_decrypt(sam: Sam) -> None:
    key_statement(sam, "AccountAdministersTheKeyWithoutUsingIt")["Action"].append("kms:Decrypt")


def the_account_may_grant_the_key(sam: Sam) -> None:
    key_statement(sam, "AccountAdministersTheKeyWithoutUsingIt")["Action"].append("kms:CreateGrant")


def the_account_may_reencrypt(sam: Sam) -> None:
    key_statement(sam, "AccountAdministersTheKeyWithoutUsingIt")["Action"].append("kms:ReEncrypt*")


def the_audits_role_opens_seeds(sam: Sam) -> None:
    key_statement(sam, "AuditJobsSealAndOpenSeeds")["Principal"] = {"AWS": {"Fn::GetAtt": ["AuditsRole", "Arn"]}}


def another_role_opens_seeds_too(sam: Sam) -> None:
    st = copy.deepcopy(key_statement(sam, "AuditJobsSealAndOpenSeeds"))
    st["Sid"], st["Principal"] = "JobsOpenSeeds", {"AWS": {"Fn::GetAtt": ["JobsRole", "Arn"]}}
    key_statements(sam).append(st)


def seeds_opened_in_any_context(sam: Sam) -> None:
    del key_statement(sam, "AuditJobsSealAndOpenSeeds")["Condition"]


def only_the_context_keys_checked(sam: Sam) -> None:
    # ForAllValues alone holds for a request with no encryption context at all.
    del key_statement(sam, "AuditJobsSealAndOpenSeeds")["Condition"]["StringLike"]


def seeds_opened_in_another_context(sam: Sam) -> None:
    key_statement(sam, "AuditJobsSealAndOpenSeeds")["Condition"]["StringLike"] = {"kms:EncryptionContext:recert:context": "*"}


def the_audit_jobs_make_data_keys(sam: Sam) -> None:
    key_statement(sam, "AuditJobsSealAndOpenSeeds")["Action"].append("kms:GenerateDataKey")


def the_audit_jobs_cannot_open_seeds(sam: Sam) -> None:
    key_statement(sam, "AuditJobsSealAndOpenSeeds")["Action"] = ["kms:Encrypt"]


def the_jobs_role_decrypts_through_iam(sam: Sam) -> None:
    role_statements(sam, "JobsRole").append(
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": {"Fn::GetAtt": ["AuditSeedKey", "Arn"]}}
    )


def the_rotator_may_decrypt(sam: Sam) -> None:
    key_statement(sam, "TheRotatorSealsSeeds")["Action"].append("kms:Decrypt")


def the_rotator_always_on(sam: Sam) -> None:
    statements = key_statements(sam)
    statements[:] = [s["Fn::If"][1] if "Fn::If" in s else s for s in statements]


def the_rotator_under_another_condition(sam: Sam) -> None:
    next(s for s in key_statements(sam) if "Fn::If" in s)["Fn::If"][0] = "HasAlarmEmail"


def the_rotator_may_be_the_account(sam: Sam) -> None:
    sam["Parameters"]["AuditSeedRotatorArn"]["AllowedPattern"] = "^(arn:aws[a-z-]*:iam::[0-9]{12}:[a-z]+(/.+)?)?$"


def seed_key_deleted_with_the_stack(sam: Sam) -> None:
    del sam["Resources"]["AuditSeedKey"]["DeletionPolicy"]


def seed_key_replaced_away(sam: Sam) -> None:
    del sam["Resources"]["AuditSeedKey"]["UpdateReplacePolicy"]


def seed_key_not_rotated(sam: Sam) -> None:
    res(sam, "AuditSeedKey")["EnableKeyRotation"] = False


def seed_key_deleted_within_a_week(sam: Sam) -> None:
    res(sam, "AuditSeedKey")["PendingWindowInDays"] = 7


def seed_alias_every_stack_shares(sam: Sam) -> None:
    res(sam, "AuditSeedKeyAlias")["AliasName"] = "alias/recert-audit-seeds"


# ---- the waivers function: its routes, its role ------------------------------------------------


def open_a_waiver_decision_route(sam: Sam) -> None:
    res(sam, "WaiversFunction")["Events"]["DecideWaiverRequest"]["Properties"]["Auth"] = {"Authorizer": "NONE"}


def waivers_read_the_review_queue(sam: Sam) -> None:
    statement(sam, "WaiversRole", "ReadTheWaiverDecisionQueue")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] = ["QUEUE#renewal_review"]


def waivers_write_profiles(sam: Sam) -> None:
    statement(sam, "WaiversRole", "LoadAndCommitCertifications")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].append("CERTIFICANT#*")


def waivers_delete_items(sam: Sam) -> None:
    statement(sam, "WaiversRole", "LoadAndCommitCertifications")["Action"].append("dynamodb:DeleteItem")


def waivers_send_email(sam: Sam) -> None:
    role_statements(sam, "WaiversRole").append(copy.deepcopy(statement(sam, "NotifierRole", "SendAsTheSender")))


def drop_the_waivers_errors_alarm(sam: Sam) -> None:
    del sam["Resources"]["WaiversErrorsAlarm"]


# ---- the providers function: its routes, its role, the provider claim ------------------------


def open_the_completions_route(sam: Sam) -> None:
    res(sam, "ProvidersFunction")["Events"]["PostCompletions"]["Properties"]["Auth"] = {"Authorizer": "NONE"}


def providers_read_the_review_queue(sam: Sam) -> None:
    statement(sam, "ProvidersRole", "ReadTheReconciliationQueue")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] = ["QUEUE#renewal_review"]


def providers_query_any_gsi1_partition(sam: Sam) -> None:
    statement(sam, "ProvidersRole", "ProvidersPostingsAndCertificationsOfACertificant")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] = ["*"]


def providers_listing_as_a_prefix(sam: Sam) -> None:
    keys = statement(sam, "ProvidersRole", "ProvidersPostingsAndCertificationsOfACertificant")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    keys[keys.index("PROVIDERS")] = "PROVIDERS*"


def providers_write_profiles(sam: Sam) -> None:
    statement(sam, "ProvidersRole", "LoadAndCommitCertifications")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].append("CERTIFICANT#*")


def providers_delete_postings(sam: Sam) -> None:
    statement(sam, "ProvidersRole", "KeepProvidersAndPostings")["Action"].append("dynamodb:DeleteItem")


def providers_batch_write(sam: Sam) -> None:
    statement(sam, "ProvidersRole", "KeepProvidersAndPostings")["Action"].append("dynamodb:BatchWriteItem")


def providers_send_email(sam: Sam) -> None:
    role_statements(sam, "ProvidersRole").append(copy.deepcopy(statement(sam, "NotifierRole", "SendAsTheSender")))


def no_provider_claim_for_the_providers(sam: Sam) -> None:
    del env(sam, "ProvidersFunction")["JWT_PROVIDER_CLAIM"]


def patch_refused_by_cors(sam: Sam) -> None:
    cors = res(sam, "HttpApi")["CorsConfiguration"]["Fn::If"][1]
    cors["AllowMethods"] = [m for m in cors["AllowMethods"] if m != "PATCH"]


def drop_the_providers_duration_alarm(sam: Sam) -> None:
    del sam["Resources"]["ProvidersDurationAlarm"]


CASES: list[tuple[Callable[[Sam], None], Callable[..., None]]] = [
    (set_auth_none, T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed),
    (set_auth_none, T.test_every_translated_route_requires_the_jwt_authorizer_unless_allow_listed),
    (add_scan, T.test_no_scan_and_no_sam_policy_templates),
    (add_scan, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    (add_service_wildcard, T.test_no_wildcard_actions_in_any_policy),
    (add_prefix_wildcard, T.test_no_wildcard_actions_in_any_policy),
    (query_on_star, T.test_resource_star_only_for_actions_without_resource_level_permissions),
    (query_on_star, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    (grant_update_item, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    (query_on_an_unused_index, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    (share_a_role, T.test_every_function_has_its_own_role_and_log_group),
    (sam_policy_template, T.test_no_scan_and_no_sam_policy_templates),
    (sam_policy_template, T.test_every_function_has_its_own_role_and_log_group),
    (drop_a_gsi, T.test_the_table_matches_infra_table_json),
    (rename_ttl, T.test_the_table_matches_infra_table_json),
    (keys_only_projection, T.test_the_table_matches_infra_table_json),
    (number_sort_key, T.test_the_table_matches_infra_table_json),
    (unretain_table, T.test_the_table_is_protected),
    (no_deletion_protection, T.test_the_table_is_protected),
    (drop_a_route, T.test_openapi_operations_and_http_api_events_are_the_same_set),
    (add_an_unspecified_route, T.test_openapi_operations_and_http_api_events_are_the_same_set),
    (route_to_the_wrong_function, T.test_each_route_goes_to_the_function_whose_router_serves_it),
    (deploy_the_dev_server, T.test_every_function_is_a_crate_whose_package_name_is_its_directory),
    (drop_a_function, T.test_every_lambda_crate_is_deployed_and_no_binary_twice),
    (deploy_a_binary_twice, T.test_every_lambda_crate_is_deployed_and_no_binary_twice),
    (drop_the_binary_name, T.test_every_lambda_crate_is_deployed_and_no_binary_twice),
    (add_an_unlisted_schedule, T.test_every_other_event_is_allow_listed),
    (add_a_v1_schedule, T.test_every_other_event_is_allow_listed),
    (add_a_v1_schedule, T.test_scheduled_and_stream_events_have_their_safeguards),
    (add_a_v1_schedule, T.test_nothing_invokes_a_function_but_its_reviewed_events),
    (drop_leading_keys, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (widen_leading_keys, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (any_partition_of_the_index, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (get_item_on_the_email_guard, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (for_any_value, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (drop_a_throttles_alarm, T.test_alarms_cover_every_function_queue_and_log_metric_and_the_api),
    (hs256_in_production, T.test_functions_get_the_configuration_the_code_reads),
    (x86, T.test_functions_run_on_arm64_al2023_with_the_bootstrap_handler),
    # SES: only the mail roles, only SendEmail, only as the sender
    (ses_on_any_resource, T.test_only_the_mail_roles_send_email_and_only_as_the_sender),
    (ses_on_any_resource, T.test_resource_star_only_for_actions_without_resource_level_permissions),
    (ses_on_every_identity, T.test_only_the_mail_roles_send_email_and_only_as_the_sender),
    (ses_on_a_fixed_configuration_set, T.test_only_the_mail_roles_send_email_and_only_as_the_sender),
    (ses_raw_email_too, T.test_only_the_mail_roles_send_email_and_only_as_the_sender),
    (ses_service_wildcard, T.test_only_the_mail_roles_send_email_and_only_as_the_sender),
    (ses_service_wildcard, T.test_no_wildcard_actions_in_any_policy),
    (ses_for_the_jobs, T.test_only_the_mail_roles_send_email_and_only_as_the_sender),
    (ses_dropped_from_the_sweeper, T.test_only_the_mail_roles_send_email_and_only_as_the_sender),
    # configuration per kind of function
    (jwt_on_the_jobs, T.test_functions_get_the_configuration_the_code_reads),
    (cursor_secret_back_in_globals, T.test_functions_get_the_configuration_the_code_reads),
    (jwt_dropped_from_an_http_function, T.test_functions_get_the_configuration_the_code_reads),
    (no_sender_for_the_sweeper, T.test_functions_get_the_configuration_the_code_reads),
    (no_link_base_for_the_notifier, T.test_functions_get_the_configuration_the_code_reads),
    (a_sender_where_nothing_is_sent, T.test_functions_get_the_configuration_the_code_reads),
    (the_mailbox_in_production, T.test_functions_get_the_configuration_the_code_reads),
    (optional_sender, T.test_parameters),
    # the notifier's stream
    (notify_on_every_write, T.test_the_notifier_is_invoked_for_outbox_inserts_only),
    (notify_on_any_key, T.test_the_notifier_is_invoked_for_outbox_inserts_only),
    (notify_without_a_filter, T.test_scheduled_and_stream_events_have_their_safeguards),
    (retry_the_stream_forever, T.test_scheduled_and_stream_events_have_their_safeguards),
    (no_stream_on_the_table, T.test_the_table_streams_only_when_read_and_with_what_the_filters_read),
    (filter_on_images_of_a_keys_only_stream, T.test_the_table_streams_only_when_read_and_with_what_the_filters_read),
    (unencrypted_failures_queue, T.test_stream_failures_go_to_an_encrypted_retained_queue_only_its_consumer_may_write),
    (failures_kept_4_days, T.test_stream_failures_go_to_an_encrypted_retained_queue_only_its_consumer_may_write),
    (the_sweeper_may_write_the_failures_queue, T.test_stream_failures_go_to_an_encrypted_retained_queue_only_its_consumer_may_write),
    (the_notifier_may_read_the_queue, T.test_stream_failures_go_to_an_encrypted_retained_queue_only_its_consumer_may_write),
    (no_stream_grant, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    # DynamoDB grants of the new roles
    (sweep_any_queue_partition, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (jobs_write_profiles, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (jobs_query_the_outbox_queue, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    # the jobs' schedules
    (job_input_with_an_extra_field, T.test_every_job_is_scheduled_with_exactly_the_input_its_function_reads),
    (an_unknown_job, T.test_every_job_is_scheduled_with_exactly_the_input_its_function_reads),
    (a_job_without_its_schedule, T.test_every_job_is_scheduled_with_exactly_the_input_its_function_reads),
    (job_input_without_the_scheduled_time, T.test_scheduled_and_stream_events_have_their_safeguards),
    (a_schedule_name_every_stack_shares, T.test_scheduled_and_stream_events_have_their_safeguards),
    # alarms
    (drop_the_parked_alarm, T.test_parked_outbox_messages_are_counted_in_every_mail_function_and_alarmed_at_one),
    (drop_the_parked_alarm, T.test_alarms_cover_every_function_queue_and_log_metric_and_the_api),
    (drop_the_sweepers_parked_filter, T.test_parked_outbox_messages_are_counted_in_every_mail_function_and_alarmed_at_one),
    (count_another_log_line, T.test_parked_outbox_messages_are_counted_in_every_mail_function_and_alarmed_at_one),
    (alarm_after_ten_parked, T.test_parked_outbox_messages_are_counted_in_every_mail_function_and_alarmed_at_one),
    (parked_alarm_on_another_namespace, T.test_parked_outbox_messages_are_counted_in_every_mail_function_and_alarmed_at_one),
    (drop_the_failures_queue_alarm, T.test_alarms_cover_every_function_queue_and_log_metric_and_the_api),
    (drop_the_jobs_errors_alarm, T.test_alarms_cover_every_function_queue_and_log_metric_and_the_api),
    (an_alarm_nobody_hears_recover, T.test_alarms_cover_every_function_queue_and_log_metric_and_the_api),
    # the submissions function: one open route (the signed webhook), nothing else open
    (open_a_submissions_route, T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed),
    (open_a_submissions_route, T.test_every_translated_route_requires_the_jwt_authorizer_unless_allow_listed),
    (the_webhook_behind_another_authorizer, T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed),
    (the_webhook_on_another_function, T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed),
    (the_webhook_on_another_function, T.test_each_route_goes_to_the_function_whose_router_serves_it),
    # the webhook's signing secrets: from Secrets Manager only, to the submissions function only
    (webhook_secret_in_plain, T.test_functions_get_the_configuration_the_code_reads),
    (webhook_secret_in_plain, T.test_every_secret_setting_is_an_arn_read_at_cold_start),
    (webhook_secret_as_a_parameter, T.test_functions_get_the_configuration_the_code_reads),
    (webhook_secret_as_a_parameter, T.test_every_secret_setting_is_an_arn_read_at_cold_start),
    (webhook_secret_typed_into_the_arn_parameter, T.test_every_secret_setting_is_an_arn_read_at_cold_start),
    (webhook_secret_arn_unchecked, T.test_every_secret_setting_is_an_arn_read_at_cold_start),
    (webhook_secret_from_ssm, T.test_every_secret_setting_is_an_arn_read_at_cold_start),
    (webhook_secret_resolved_into_the_arn_variable, T.test_functions_get_the_configuration_the_code_reads),
    (webhook_secret_resolved_into_the_arn_variable, T.test_every_secret_setting_is_an_arn_read_at_cold_start),
    (previous_secret_in_plain_when_not_rotating, T.test_functions_get_the_configuration_the_code_reads),
    (previous_secret_in_plain_when_not_rotating, T.test_every_secret_setting_is_an_arn_read_at_cold_start),
    (previous_secret_resolved_when_unset, T.test_functions_get_the_configuration_the_code_reads),
    (previous_secret_resolved_when_unset, T.test_every_secret_setting_is_an_arn_read_at_cold_start),
    (previous_secret_condition_on_another_parameter, T.test_each_role_reads_exactly_the_secrets_its_function_is_given),
    (optional_webhook_secret, T.test_parameters),
    (optional_webhook_secret, T.test_every_secret_setting_is_an_arn_read_at_cold_start),
    (no_webhook_secret, T.test_functions_get_the_configuration_the_code_reads),
    (webhook_scheme_fixed, T.test_functions_get_the_configuration_the_code_reads),
    (a_scheme_the_code_does_not_know, T.test_parameters),
    (webhook_secret_for_the_certifications, T.test_functions_get_the_configuration_the_code_reads),
    (webhook_secret_for_the_certifications, T.test_each_role_reads_exactly_the_secrets_its_function_is_given),
    (webhook_scheme_in_globals, T.test_functions_get_the_configuration_the_code_reads),
    (cursor_secret_in_plain, T.test_every_secret_setting_is_an_arn_read_at_cold_start),
    (cursor_secret_resolved_at_deploy, T.test_functions_get_the_configuration_the_code_reads),
    (cursor_secret_resolved_at_deploy, T.test_every_secret_setting_is_an_arn_read_at_cold_start),
    (a_secret_variable_the_code_does_not_resolve, T.test_every_secret_setting_is_an_arn_read_at_cold_start),
    # GetSecretValue: each role exactly the secrets its function reads, nothing else
    (secrets_on_any_resource, T.test_each_role_reads_exactly_the_secrets_its_function_is_given),
    (secrets_on_any_resource, T.test_resource_star_only_for_actions_without_resource_level_permissions),
    (secrets_service_wildcard, T.test_each_role_reads_exactly_the_secrets_its_function_is_given),
    (secrets_service_wildcard, T.test_no_wildcard_actions_in_any_policy),
    (batch_get_secrets_too, T.test_each_role_reads_exactly_the_secrets_its_function_is_given),
    (transcripts_read_the_webhook_secret, T.test_each_role_reads_exactly_the_secrets_its_function_is_given),
    (previous_secret_granted_even_when_unset, T.test_each_role_reads_exactly_the_secrets_its_function_is_given),
    (the_jobs_read_the_cursor_secret, T.test_each_role_reads_exactly_the_secrets_its_function_is_given),
    (no_grant_for_the_eligibility_secret, T.test_each_role_reads_exactly_the_secrets_its_function_is_given),
    # the submissions role
    (submissions_read_any_queue_partition, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (submissions_write_profiles, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (submissions_delete_items, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    (submissions_query_the_due_index, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    (submissions_send_email, T.test_only_the_mail_roles_send_email_and_only_as_the_sender),
    (drop_the_submissions_duration_alarm, T.test_alarms_cover_every_function_queue_and_log_metric_and_the_api),
    # the audits function: one public read, nothing else open
    (open_an_audit_decision_route, T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed),
    (open_an_audit_decision_route, T.test_every_translated_route_requires_the_jwt_authorizer_unless_allow_listed),
    (the_public_draw_behind_the_jwt, T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed),
    (the_public_draw_behind_the_jwt, T.test_every_translated_route_requires_the_jwt_authorizer_unless_allow_listed),
    # the audit roles: the ledger written by the jobs only, each its own queue
    (audits_write_the_ledger, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (audits_read_the_draw_queue, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (audits_query_the_due_index, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    (audit_jobs_read_the_outbox_queue, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (audit_jobs_delete_from_the_ledger, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    # S3: the audits role only, exactly its calls, on evidence/ only
    (audit_jobs_touch_evidence, T.test_only_the_evidence_binaries_hold_s3_actions_and_only_their_calls),
    (evidence_on_every_bucket, T.test_only_the_evidence_binaries_hold_s3_actions_and_only_their_calls),
    (evidence_on_every_bucket, T.test_resource_star_only_for_actions_without_resource_level_permissions),
    (evidence_outside_its_prefix, T.test_only_the_evidence_binaries_hold_s3_actions_and_only_their_calls),
    (audits_delete_evidence, T.test_only_the_evidence_binaries_hold_s3_actions_and_only_their_calls),
    (audits_cannot_tell_missing_evidence, T.test_only_the_evidence_binaries_hold_s3_actions_and_only_their_calls),
    # the buckets: private, encrypted, versioned, retained, TLS only, logged
    (a_public_evidence_bucket, T.test_every_bucket_is_private_encrypted_versioned_tls_only_and_retained),
    (unencrypted_evidence, T.test_every_bucket_is_private_encrypted_versioned_tls_only_and_retained),
    (unversioned_evidence, T.test_every_bucket_is_private_encrypted_versioned_tls_only_and_retained),
    (evidence_acls_back_on, T.test_every_bucket_is_private_encrypted_versioned_tls_only_and_retained),
    (evidence_deleted_with_the_stack, T.test_every_bucket_is_private_encrypted_versioned_tls_only_and_retained),
    (evidence_bucket_with_a_fixed_name, T.test_every_bucket_is_private_encrypted_versioned_tls_only_and_retained),
    (old_versions_kept_forever, T.test_every_bucket_is_private_encrypted_versioned_tls_only_and_retained),
    (evidence_over_plain_http, T.test_every_bucket_is_private_encrypted_versioned_tls_only_and_retained),
    (tls_only_on_the_objects_but_not_the_bucket, T.test_every_bucket_is_private_encrypted_versioned_tls_only_and_retained),
    (evidence_readable_by_anyone, T.test_every_bucket_is_private_encrypted_versioned_tls_only_and_retained),
    (evidence_readable_by_anyone, T.test_only_the_audits_function_may_write_evidence),
    (a_wildcard_allow_in_a_bucket_policy, T.test_no_wildcard_actions_in_any_policy),
    (another_role_may_write_evidence, T.test_only_the_audits_function_may_write_evidence),
    (any_principal_may_write_evidence, T.test_only_the_audits_function_may_write_evidence),
    (evidence_access_unlogged, T.test_every_bucket_but_the_access_log_bucket_logs_to_it),
    (logs_from_any_bucket, T.test_every_bucket_but_the_access_log_bucket_logs_to_it),
    (logs_kept_forever, T.test_every_bucket_but_the_access_log_bucket_logs_to_it),
    (cors_get_too, T.test_the_evidence_bucket_takes_browser_uploads_from_the_api_origins_only),
    (cors_any_origin, T.test_the_evidence_bucket_takes_browser_uploads_from_the_api_origins_only),
    (cors_any_header, T.test_the_evidence_bucket_takes_browser_uploads_from_the_api_origins_only),
    # the evidence settings: the audits function's alone
    (evidence_bucket_for_the_jobs, T.test_functions_get_the_configuration_the_code_reads),
    (no_evidence_bucket_for_the_audits, T.test_functions_get_the_configuration_the_code_reads),
    (evidence_cap_fixed, T.test_functions_get_the_configuration_the_code_reads),
    (evidence_cap_above_one_put, T.test_parameters),
    # the audit jobs: on their own function, each once
    (audit_draw_on_the_jobs_function, T.test_every_job_is_scheduled_with_exactly_the_input_its_function_reads),
    (the_draw_schedule_runs_the_deadlines, T.test_every_job_is_scheduled_with_exactly_the_input_its_function_reads),
    (a_job_input_on_the_sweeper, T.test_every_job_is_scheduled_with_exactly_the_input_its_function_reads),
    (drop_the_audit_jobs_duration_alarm, T.test_alarms_cover_every_function_queue_and_log_metric_and_the_api),
    # the audit jobs list every period (gsi1, AUDIT_PERIODS) to reveal them; nothing else of gsi1
    (audit_jobs_list_any_gsi1_partition, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (audit_jobs_list_the_providers_too, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (audits_list_the_periods, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    (audit_jobs_cannot_list_the_periods, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    # the audit seed key: its ARN to the audit jobs only, used by their role only, on the seeds'
    # context only; administered, never used, by the account; retained and rotated
    (seed_key_for_the_audits_function, T.test_functions_get_the_configuration_the_code_reads),
    (seed_key_in_globals, T.test_functions_get_the_configuration_the_code_reads),
    (no_seed_key_for_the_audit_jobs, T.test_functions_get_the_configuration_the_code_reads),
    (seed_key_by_its_alias, T.test_functions_get_the_configuration_the_code_reads),
    (the_default_key_policy, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (the_account_may_decrypt, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (the_account_may_grant_the_key, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (the_account_may_reencrypt, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (the_account_may_reencrypt, T.test_no_wildcard_actions_in_any_policy),
    (the_audits_role_opens_seeds, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (another_role_opens_seeds_too, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (seeds_opened_in_any_context, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (only_the_context_keys_checked, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (seeds_opened_in_another_context, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (the_audit_jobs_make_data_keys, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (the_audit_jobs_cannot_open_seeds, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (the_jobs_role_decrypts_through_iam, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (the_rotator_may_decrypt, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (the_rotator_always_on, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (the_rotator_under_another_condition, T.test_only_the_sealing_roles_may_use_the_audit_seed_key),
    (the_rotator_may_be_the_account, T.test_the_rotator_parameter_names_one_role_or_user_or_none),
    (seed_key_deleted_with_the_stack, T.test_the_audit_seed_key_is_retained_rotated_and_named_per_environment),
    (seed_key_replaced_away, T.test_the_audit_seed_key_is_retained_rotated_and_named_per_environment),
    (seed_key_not_rotated, T.test_the_audit_seed_key_is_retained_rotated_and_named_per_environment),
    (seed_key_deleted_within_a_week, T.test_the_audit_seed_key_is_retained_rotated_and_named_per_environment),
    (seed_alias_every_stack_shares, T.test_the_audit_seed_key_is_retained_rotated_and_named_per_environment),
    # the waivers function: every route behind the JWT, its own queue, no deletes, no email
    (open_a_waiver_decision_route, T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed),
    (open_a_waiver_decision_route, T.test_every_translated_route_requires_the_jwt_authorizer_unless_allow_listed),
    (waivers_read_the_review_queue, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (waivers_write_profiles, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (waivers_delete_items, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    (waivers_send_email, T.test_only_the_mail_roles_send_email_and_only_as_the_sender),
    (drop_the_waivers_errors_alarm, T.test_alarms_cover_every_function_queue_and_log_metric_and_the_api),
    # the providers function: every route behind the JWT (a provider's token), its own queue and
    # listings, no profile writes, no batch writes, no email
    (open_the_completions_route, T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed),
    (open_the_completions_route, T.test_every_translated_route_requires_the_jwt_authorizer_unless_allow_listed),
    (providers_read_the_review_queue, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (providers_query_any_gsi1_partition, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (providers_listing_as_a_prefix, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (providers_write_profiles, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (providers_delete_postings, T.test_each_dynamodb_grant_is_confined_to_the_partition_keys_its_code_uses),
    (providers_batch_write, T.test_no_scan_and_no_sam_policy_templates),
    (providers_batch_write, T.test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes),
    (providers_send_email, T.test_only_the_mail_roles_send_email_and_only_as_the_sender),
    (no_provider_claim_for_the_providers, T.test_functions_get_the_configuration_the_code_reads),
    (patch_refused_by_cors, T.test_cors_is_answered_by_api_gateway_with_the_headers_the_clients_use),
    (drop_the_providers_duration_alarm, T.test_alarms_cover_every_function_queue_and_log_metric_and_the_api),
]


def call(test: Callable[..., None], sam: Sam, cfn: Sam | None = None) -> None:
    """Run an invariant test on `sam`, passing the fixtures it names."""
    names = test.__code__.co_varnames[: test.__code__.co_argcount]
    args = {"sam": sam} if "sam" in names else {}
    if "cfn" in names:
        args["cfn"] = cfn if cfn is not None else translate(sam)
    test(**args)


@pytest.fixture(scope="module")
def pristine() -> Sam:
    return load_sam()


@pytest.mark.parametrize(("mutate", "test"), CASES, ids=[f"{m.__name__}->{t.__name__[5:]}" for m, t in CASES])
def test_the_invariant_catches_the_mutation(pristine: Sam, mutate, test) -> None:
    call(test, copy.deepcopy(pristine))  # holds on the real template
    broken = copy.deepcopy(pristine)
    mutate(broken)
    with pytest.raises(AssertionError):
        call(test, broken)


# ---- the allow-lists: shapes they admit, and only when listed ---------------------------------


@dataclass(frozen=True)
class Shape:
    """A change the allow-lists admit: with `allow` (entries added to test_template's allow-lists)
    it passes every invariant; without them each of `unlisted` fails. `expect` (entries added to
    the expectation tables), `spec` (operations added to openapi.json), `routes` (routes added to
    a crate's router) and `crates` (an edit of a copy of functions/) apply either way."""

    name: str
    change: Callable[[Sam], None]
    allow: dict[str, dict[Any, Any]]
    unlisted: tuple[Callable[..., None], ...]
    expect: dict[str, dict[Any, Any]] = field(default_factory=dict)
    spec: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    routes: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    crates: Callable[[Path], None] | None = None


PAYMENT_WEBHOOK = ("submissions", "POST", "/webhooks/payments")
# Another processor's webhook, as a future feature would add it (the payment webhook is real).
WEBHOOK = ("POST", "/webhooks/identity-provider")


def add_a_webhook(sam: Sam) -> None:
    res(sam, "CertificationsFunction")["Events"]["IdentityWebhook"] = {
        "Type": "HttpApi",
        "Properties": {
            "ApiId": {"Ref": "HttpApi"}, "Method": WEBHOOK[0], "Path": WEBHOOK[1],
            "PayloadFormatVersion": "2.0", "Auth": {"Authorizer": "NONE"},
        },
    }


def add_a_schedule(sam: Sam) -> None:
    res(sam, "EligibilityFunction")["Events"]["NightlyReminders"] = {
        "Type": "ScheduleV2",
        "Properties": {
            "ScheduleExpression": "cron(0 2 * * ? *)",
            "ScheduleExpressionTimezone": "UTC",
            "OmitName": True,
            "Input": json.dumps({"scheduled_time": T.SCHEDULED_TIME}),
        },
    }


STREAM_ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]


def add_a_stream_consumer(sam: Sam) -> None:
    res(sam, "Table")["StreamSpecification"] = {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    sam["Resources"]["StreamFailures"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {"KmsMasterKeyId": "alias/aws/sqs", "MessageRetentionPeriod": 1209600},
    }
    alarm = copy.deepcopy(sam["Resources"]["NotifierFailuresAlarm"])
    alarm["Properties"]["AlarmName"] = "cycle-closed-failures"
    alarm["Properties"]["Dimensions"][0]["Value"] = {"Fn::GetAtt": ["StreamFailures", "QueueName"]}
    sam["Resources"]["StreamFailuresAlarm"] = alarm
    res(sam, "CertificationsFunction")["Events"]["CycleClosed"] = {
        "Type": "DynamoDB",
        "Properties": {
            "Stream": {"Fn::GetAtt": ["Table", "StreamArn"]},
            "StartingPosition": "LATEST",
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps(
                {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"status": {"S": ["closed"]}}}}
            )}]},
            "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["StreamFailures", "Arn"]}}},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "MaximumRetryAttempts": 3,
        },
    }
    role_statements(sam, "CertificationsRole").extend([
        {"Sid": "ReadTheStream", "Effect": "Allow", "Action": STREAM_ACTIONS,
         "Resource": {"Fn::GetAtt": ["Table", "StreamArn"]}},
        {"Sid": "SendFailedRecords", "Effect": "Allow", "Action": ["sqs:SendMessage"],
         "Resource": {"Fn::GetAtt": ["StreamFailures", "Arn"]}},
    ])


SAMPLER = "audit-sampler"


def declare_the_sampler(functions: Path) -> None:
    crate = functions / "certifications"
    with (crate / "Cargo.toml").open("a") as f:
        f.write(f'\n[[bin]]\nname = "{SAMPLER}"\npath = "src/bin/{SAMPLER}.rs"\n')
    (crate / "src" / "bin").mkdir(exist_ok=True)
    (crate / "src" / "bin" / f"{SAMPLER}.rs").write_text("fn main() {}\n")


def add_a_second_binary(sam: Sam) -> None:
    """The certifications crate's audit-sampler as its own function, role, log group and alarms;
    its role may only Query certifications."""
    names = ["Function", "Role", "LogGroup", "ErrorsAlarm", "ThrottlesAlarm", "DurationAlarm"]
    for suffix in names:
        text = json.dumps(sam["Resources"][f"Certifications{suffix}"])
        for other in names:
            text = text.replace(f'"Certifications{other}"', f'"CertificationsSampler{other}"')
        text = text.replace("-certifications", f"-{SAMPLER}")
        sam["Resources"][f"CertificationsSampler{suffix}"] = json.loads(text)
    fn = sam["Resources"]["CertificationsSamplerFunction"]
    fn["Metadata"]["BuildProperties"]["Binary"] = SAMPLER
    del fn["Properties"]["Events"]
    del fn["Properties"]["Environment"]  # the JWT and cursor settings: it serves no route
    statements = role_statements(sam, "CertificationsSamplerRole")
    statements[:] = [s for s in statements if s.get("Sid") in ("QueryCertifications", "OwnLogs", "Tracing")]


SHAPES = [
    Shape(
        "unauthenticated-webhook",
        add_a_webhook,
        allow={"UNAUTHENTICATED_ROUTES": {("certifications", *WEBHOOK): "verifies the signature in the handler"}},
        unlisted=(
            T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed,
            T.test_every_translated_route_requires_the_jwt_authorizer_unless_allow_listed,
            T.test_openapi_operations_and_http_api_events_are_the_same_set,
        ),
        spec={WEBHOOK: {"security": []}},
        routes={"certifications": {WEBHOOK}},
    ),
    Shape(
        "scheduled-job",
        add_a_schedule,
        allow={"NON_HTTP_EVENTS": {("eligibility", "NightlyReminders"): ("ScheduleV2", "reminds certificants nightly")}},
        unlisted=(T.test_every_other_event_is_allow_listed,),
    ),
    Shape(
        "stream-consumer",
        add_a_stream_consumer,
        allow={"NON_HTTP_EVENTS": {("certifications", "CycleClosed"): ("DynamoDB", "acts when a cycle closes")}},
        unlisted=(T.test_every_other_event_is_allow_listed,),
        expect={"EXPECTED_DYNAMODB": {"certifications": {**T.EXPECTED_DYNAMODB["certifications"], T.STREAM: set(STREAM_ACTIONS)}}},
    ),
    Shape(
        "second-binary",
        add_a_second_binary,
        allow={"EXTRA_BINARIES": {("certifications", SAMPLER): "the sampler shares the crate's domain code"}},
        unlisted=(T.test_every_function_deploys_a_binary_of_its_crate_its_default_or_allow_listed,),
        expect={
            "EXPECTED_DYNAMODB": {SAMPLER: {T.TABLE: {"dynamodb:Query"}}},
            "EXPECTED_LEADING_KEYS": {SAMPLER: {T.TABLE: {"dynamodb:Query": {T.CERT}}}},
        },
        crates=declare_the_sampler,
    ),
]
SHAPE = {shape.name: shape for shape in SHAPES}


def copy_of_the_crates(dst: Path) -> Path:
    """functions/<crate>/Cargo.toml and src/ of every crate, to edit without touching the tree."""
    for manifest in (ROOT / "functions").glob("*/Cargo.toml"):
        crate = dst / manifest.parent.name
        crate.mkdir(parents=True)
        shutil.copy(manifest, crate / "Cargo.toml")
        if (manifest.parent / "src").is_dir():
            shutil.copytree(manifest.parent / "src", crate / "src")
    return dst


@pytest.fixture
def shaped(pristine: Sam, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[Shape, bool], Sam]:
    def apply(shape: Shape, listed: bool) -> Sam:
        sam = copy.deepcopy(pristine)
        shape.change(sam)
        tables = {**shape.expect, **(shape.allow if listed else {})}
        for name, entries in tables.items():
            monkeypatch.setattr(T, name, {**getattr(T, name), **entries})
        if shape.crates:
            shape.crates(copy_of_the_crates(tmp_path / "functions"))
            monkeypatch.setattr(T, "FUNCTIONS_DIR", tmp_path / "functions")
        if shape.spec:
            ops = T.openapi_operations
            monkeypatch.setattr(T, "openapi_operations", lambda: {**ops(), **shape.spec})
        if shape.routes:
            routes = T.router_routes
            monkeypatch.setattr(T, "router_routes", lambda crate: routes(crate) | shape.routes.get(crate, set()))
        return sam

    return apply


# The template's invariants. Not among them: the deploy guide's inventory, which describes the
# template as committed (a shape adds resources no document names).
NOT_SHAPE_INVARIANTS = {T.test_deploy_md_names_and_counts_what_the_template_holds}
INVARIANTS = [
    f
    for name, f in vars(T).items()
    if name.startswith("test_") and callable(f) and f not in NOT_SHAPE_INVARIANTS
]


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_a_listed_shape_passes_every_invariant(shaped, shape: Shape) -> None:
    sam = shaped(shape, True)
    cfn = translate(sam)
    for test in INVARIANTS:
        call(test, sam, cfn)


UNLISTED = [(shape, test) for shape in SHAPES for test in shape.unlisted]


@pytest.mark.parametrize(("shape", "test"), UNLISTED, ids=[f"{s.name}->{t.__name__[5:]}" for s, t in UNLISTED])
def test_an_unlisted_shape_fails(shaped, shape: Shape, test) -> None:
    sam = shaped(shape, False)
    with pytest.raises(AssertionError):
        call(test, sam)


def drop_filter_criteria(sam: Sam) -> None:
    del res(sam, "CertificationsFunction")["Events"]["CycleClosed"]["Properties"]["FilterCriteria"]


def keys_only_stream(sam: Sam) -> None:
    res(sam, "Table")["StreamSpecification"] = {"StreamViewType": "KEYS_ONLY"}


def unalarmed_failures_queue(sam: Sam) -> None:
    del sam["Resources"]["StreamFailuresAlarm"]


def drop_on_failure(sam: Sam) -> None:
    del res(sam, "CertificationsFunction")["Events"]["CycleClosed"]["Properties"]["DestinationConfig"]


def fail_whole_batches(sam: Sam) -> None:
    del res(sam, "CertificationsFunction")["Events"]["CycleClosed"]["Properties"]["FunctionResponseTypes"]


def consume_another_stream(sam: Sam) -> None:
    props = res(sam, "CertificationsFunction")["Events"]["CycleClosed"]["Properties"]
    props["Stream"] = "arn:aws:dynamodb:us-east-1:123456789012:table/other/stream/2026-01-01T00:00:00.000"


def drop_the_job_input(sam: Sam) -> None:
    del res(sam, "EligibilityFunction")["Events"]["NightlyReminders"]["Properties"]["Input"]


def input_without_the_scheduled_time(sam: Sam) -> None:
    res(sam, "EligibilityFunction")["Events"]["NightlyReminders"]["Properties"]["Input"] = '{"job": "reminders"}'


def list_the_schedule_as_a_stream(sam: Sam) -> None:
    T.NON_HTTP_EVENTS[("eligibility", "NightlyReminders")] = ("DynamoDB", "wrong type")


def open_a_second_route(sam: Sam) -> None:
    res(sam, "CertificationsFunction")["Events"]["GetHistory"]["Properties"]["Auth"] = {"Authorizer": "NONE"}


def scope_the_open_route(sam: Sam) -> None:
    res(sam, "CertificationsFunction")["Events"]["IdentityWebhook"]["Properties"]["Auth"]["AuthorizationScopes"] = ["x"]


def deploy_an_undeclared_binary(sam: Sam) -> None:
    sam["Resources"]["CertificationsSamplerFunction"]["Metadata"]["BuildProperties"]["Binary"] = "audit-sampler-2"


def deploy_the_default_binary_again(sam: Sam) -> None:
    sam["Resources"]["CertificationsSamplerFunction"]["Metadata"]["BuildProperties"]["Binary"] = "certifications"


BREAKS: list[tuple[str, Callable[[Sam], None], Callable[..., None]]] = [
    ("stream-consumer", drop_filter_criteria, T.test_scheduled_and_stream_events_have_their_safeguards),
    ("stream-consumer", drop_on_failure, T.test_scheduled_and_stream_events_have_their_safeguards),
    ("stream-consumer", fail_whole_batches, T.test_scheduled_and_stream_events_have_their_safeguards),
    ("stream-consumer", consume_another_stream, T.test_scheduled_and_stream_events_have_their_safeguards),
    ("stream-consumer", keys_only_stream, T.test_the_table_streams_only_when_read_and_with_what_the_filters_read),
    ("stream-consumer", unalarmed_failures_queue, T.test_alarms_cover_every_function_queue_and_log_metric_and_the_api),
    ("scheduled-job", drop_the_job_input, T.test_scheduled_and_stream_events_have_their_safeguards),
    ("scheduled-job", input_without_the_scheduled_time, T.test_scheduled_and_stream_events_have_their_safeguards),
    ("scheduled-job", list_the_schedule_as_a_stream, T.test_every_other_event_is_allow_listed),
    ("unauthenticated-webhook", open_a_second_route, T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed),
    ("unauthenticated-webhook", open_a_second_route, T.test_every_translated_route_requires_the_jwt_authorizer_unless_allow_listed),
    ("unauthenticated-webhook", scope_the_open_route, T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed),
    ("second-binary", deploy_an_undeclared_binary, T.test_every_function_deploys_a_binary_of_its_crate_its_default_or_allow_listed),
    ("second-binary", deploy_the_default_binary_again, T.test_every_lambda_crate_is_deployed_and_no_binary_twice),
]


@pytest.mark.parametrize(("shape", "brk", "test"), BREAKS, ids=[f"{s}+{b.__name__}->{t.__name__[5:]}" for s, b, t in BREAKS])
def test_a_listed_shape_without_its_safeguard_fails(shaped, shape: str, brk, test) -> None:
    sam = shaped(SHAPE[shape], True)
    call(test, sam)  # holds on the listed shape
    brk(sam)
    with pytest.raises(AssertionError):
        call(test, sam)


@pytest.mark.parametrize("route", ["payments", "shape"])
@pytest.mark.parametrize("security", [None, [{"bearer": []}]], ids=["no-requirement", "bearer"])
def test_a_listed_unauthenticated_route_must_say_security_empty_in_the_spec(
    pristine, shaped, monkeypatch, security, route
) -> None:
    if route == "payments":
        sam, key = copy.deepcopy(pristine), PAYMENT_WEBHOOK[1:]
    else:
        sam, key = shaped(SHAPE["unauthenticated-webhook"], True), WEBHOOK
    call(T.test_openapi_operations_and_http_api_events_are_the_same_set, sam)  # holds as it is
    ops = T.openapi_operations
    op = {} if security is None else {"security": security}
    monkeypatch.setattr(T, "openapi_operations", lambda: {**ops(), key: op})
    with pytest.raises(AssertionError):
        call(T.test_openapi_operations_and_http_api_events_are_the_same_set, sam)


OPEN_ROUTE_INVARIANTS = [
    T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed,
    T.test_every_translated_route_requires_the_jwt_authorizer_unless_allow_listed,
    T.test_openapi_operations_and_http_api_events_are_the_same_set,
]


@pytest.mark.parametrize("test", OPEN_ROUTE_INVARIANTS, ids=[t.__name__[5:] for t in OPEN_ROUTE_INVARIANTS])
def test_the_payment_webhook_fails_unless_allow_listed(pristine, monkeypatch, test) -> None:
    # The real open route, as the template has it: without its allow-list entry (a reviewed
    # reason), every route invariant refuses it; under another crate's name, too.
    call(test, copy.deepcopy(pristine))
    unlisted = {k: v for k, v in T.UNAUTHENTICATED_ROUTES.items() if k != PAYMENT_WEBHOOK}
    assert len(unlisted) == len(T.UNAUTHENTICATED_ROUTES) - 1, "the payment webhook is allow-listed"
    monkeypatch.setattr(T, "UNAUTHENTICATED_ROUTES", unlisted)
    with pytest.raises(AssertionError):
        call(test, copy.deepcopy(pristine))
    if test is OPEN_ROUTE_INVARIANTS[0]:
        monkeypatch.setattr(T, "UNAUTHENTICATED_ROUTES", {**unlisted, ("certifications", *PAYMENT_WEBHOOK[1:]): "x"})
        with pytest.raises(AssertionError):
            call(test, copy.deepcopy(pristine))


def test_every_allow_listed_entry_has_a_reason() -> None:
    tables = {
        "UNAUTHENTICATED_ROUTES": T.UNAUTHENTICATED_ROUTES,
        "EXTRA_BINARIES": T.EXTRA_BINARIES,
        "MAIL_BINARIES": T.MAIL_BINARIES,
        "PAYMENT_WEBHOOK_BINARIES": T.PAYMENT_WEBHOOK_BINARIES,
        "EVIDENCE_BINARIES": T.EVIDENCE_BINARIES,
        "SEALING_BINARIES": T.SEALING_BINARIES,
        "JOB_BINARIES": T.JOB_BINARIES,
        "UNROUTED": T.UNROUTED,
    }
    for name, table in tables.items():
        for key, reason in table.items():
            assert isinstance(reason, str) and len(reason.split()) >= 5, f"{name}{key}: give a reason"
    for key, (_, reason) in T.NON_HTTP_EVENTS.items():
        assert len(reason.split()) >= 5, f"NON_HTTP_EVENTS{key}: give a reason"


STALE = [
    ("UNAUTHENTICATED_ROUTES", ("certifications", *WEBHOOK), "no such route",
     T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed),
    ("NON_HTTP_EVENTS", ("eligibility", "NightlyReminders"), ("ScheduleV2", "no such event"),
     T.test_every_other_event_is_allow_listed),
    ("EXTRA_BINARIES", ("certifications", SAMPLER), "not deployed",
     T.test_every_function_deploys_a_binary_of_its_crate_its_default_or_allow_listed),
]


@pytest.mark.parametrize(("table", "key", "value", "test"), STALE, ids=[t for t, *_ in STALE])
def test_an_allow_list_entry_with_nothing_to_allow_fails(pristine, monkeypatch, table, key, value, test) -> None:
    monkeypatch.setattr(T, table, {**getattr(T, table), key: value})
    with pytest.raises(AssertionError):
        call(test, copy.deepcopy(pristine))


def test_an_open_route_must_be_a_signed_webhook_or_a_public_read(pristine, monkeypatch) -> None:
    # Listing a route does not make any route openable: a POST outside /webhooks/ (here an
    # auditor's decision) fails even when allow-listed.
    sam = copy.deepcopy(pristine)
    call(T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed, sam)
    open_an_audit_decision_route(sam)
    key = ("audits", "POST", "/certifications/{certification_id}/audit/decisions")
    monkeypatch.setattr(T, "UNAUTHENTICATED_ROUTES", {**T.UNAUTHENTICATED_ROUTES, key: "a reason of five words"})
    with pytest.raises(AssertionError, match="signed webhook"):
        call(T.test_every_route_requires_the_jwt_authorizer_unless_allow_listed, sam)

