"""The invariant tests catch what they claim to: each case breaks the template in one way and
asserts that the named invariant test fails on it (and that the real template passes them)."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

import test_template as T
from translate import load_sam, translate

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


CASES: list[tuple[Callable[[Sam], None], Callable[..., None]]] = [
    (set_auth_none, T.test_no_route_overrides_the_authorizer),
    (set_auth_none, T.test_every_translated_route_requires_the_jwt_authorizer),
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
    (drop_a_function, T.test_every_lambda_crate_has_exactly_one_function),
    (drop_a_throttles_alarm, T.test_alarms_cover_every_function_and_the_api_and_notify_the_encrypted_topic),
    (hs256_in_production, T.test_functions_get_the_configuration_the_code_reads),
    (x86, T.test_functions_run_on_arm64_al2023_with_the_bootstrap_handler),
]


def call(test: Callable[..., None], sam: Sam) -> None:
    """Run an invariant test on `sam`, passing the fixtures it names."""
    names = test.__code__.co_varnames[: test.__code__.co_argcount]
    args = {"sam": sam} if "sam" in names else {}
    if "cfn" in names:
        args["cfn"] = translate(sam)
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
