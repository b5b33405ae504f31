"""Invariants of infra/template.yaml that linters cannot know: they tie the template to the code.

Run by scripts/check-template (pytest, in .tools/venv). Each test reads the SAM template and,
where the SAM layer could hide something, the CloudFormation that SAM translates it to.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest

from translate import ROOT, load_sam, translate

FUNCTIONS_DIR = ROOT / "functions"
TABLE_JSON = ROOT / "infra" / "table.json"
OPENAPI_JSON = ROOT / "openapi" / "openapi.json"

AUTHORIZER = "JwtAuthorizer"

# What each function's code calls on DynamoDB (shared/store/src/dynamodb.rs, docs/dynamodb.md),
# as IAM actions per resource. A TransactWriteItems is authorized per action inside it: Put ->
# PutItem, Delete -> DeleteItem, ConditionCheck -> ConditionCheckItem, Update -> UpdateItem.
#   transcripts:    load = Query; commit = TransactWriteItems of Puts (root, entry, history,
#                   idempotency record) and Deletes (a deleted entry).
#   eligibility:    load = Query; never writes (what-if stores nothing).
#   certifications: certificant = GetItem; certification = Query; certificant's certifications =
#                   Query on gsi1; enrol / issue = TransactWriteItems of Puts (profile, root,
#                   history, the email and certificate-number guards: conditional Puts).
# Change this table and the role together when the adapter starts using another call.
TABLE = "table"
EXPECTED_DYNAMODB = {
    "transcripts": {TABLE: {"dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"}},
    "eligibility": {TABLE: {"dynamodb:Query"}},
    "certifications": {
        TABLE: {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"},
        "gsi1": {"dynamodb:Query"},
    },
}

# Actions that support no resource-level permissions: the only ones allowed on Resource "*".
RESOURCE_STAR_ALLOWED = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

# Spec operations deliberately not routed through API Gateway, and why. The test below requires
# this to be exactly the spec's operations that have no security requirement.
UNROUTED = {
    ("GET", "/health"): "liveness of the local server; every API Gateway route requires a JWT, and "
    "Lambda health is watched by the Errors/Throttles alarms, not by polling",
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
    return listify(doc.get("Statement", []))


def is_account_root_key_admin(where: str, template: dict[str, Any], st: dict[str, Any]) -> bool:
    """The AWS default key policy statement (account root, kms:*) on a KMS key: it delegates the
    key's administration to the account's IAM policies; it grants nothing to a workload."""
    name = where.split(".")[0]
    if template["Resources"][name]["Type"] != "AWS::KMS::Key" or not where.endswith("KeyPolicy"):
        return False
    principal = st.get("Principal", {})
    root = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    return listify(st.get("Action")) == ["kms:*"] and principal == {"AWS": root}


# ---- the API: every route authorized --------------------------------------------------------


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


def test_no_route_overrides_the_authorizer(sam):
    for fname, fn in functions(sam).items():
        for ename, event in fn["Properties"].get("Events", {}).items():
            assert event["Type"] == "HttpApi", f"{fname}.{ename}: only HttpApi events"
            props = event["Properties"]
            assert props.get("ApiId") == {"Ref": "HttpApi"}, f"{fname}.{ename}: not on HttpApi"
            # No Auth at all: the default (JWT) applies. Auth: {Authorizer: NONE} would open it.
            assert "Auth" not in props, f"{fname}.{ename} sets Auth: {props['Auth']}"
            assert props.get("PayloadFormatVersion") == "2.0", f"{fname}.{ename}: payload v2"


def test_every_translated_route_requires_the_jwt_authorizer(cfn):
    (api,) = resources(cfn, "AWS::ApiGatewayV2::Api").values()
    paths = api["Properties"]["Body"]["paths"]
    assert paths, "no routes"
    for path, ops in paths.items():
        for method, op in ops.items():
            assert op.get("security") == [{AUTHORIZER: []}], f"{method.upper()} {path}: {op.get('security')}"
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
    spec = json.loads(OPENAPI_JSON.read_text())
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return {
        (m.upper(), path): op
        for path, ops in spec["paths"].items()
        for m, op in ops.items()
        if m in methods
    }


def test_openapi_operations_and_http_api_events_are_the_same_set(sam):
    ops = openapi_operations()
    public = {k for k, op in ops.items() if not op.get("security", [])}
    assert public == set(UNROUTED), (
        "operations with no security requirement in the spec must be exactly the reviewed "
        f"UNROUTED list: spec has {sorted(public)}"
    )
    spec = set(ops) - set(UNROUTED)
    routed = set(template_routes(sam))
    assert routed == spec, (
        f"in the spec, not routed: {sorted(spec - routed)}; "
        f"routed, not in the spec: {sorted(routed - spec)}"
    )


ROUTE = re.compile(r"\.route\(\s*\"([^\"]+)\"\s*,\s*((?:\s*\.?\s*\w+\(\s*\w+\s*\))+)\s*,?\s*\)")


def router_routes(crate: str) -> set[tuple[str, str]]:
    """(METHOD, path) of the `.route("/path", get(h).post(h))` calls in the crate's router."""
    src = (FUNCTIONS_DIR / crate / "src" / "lib.rs").read_text()
    found = set()
    for path, chain in ROUTE.findall(src):
        for method in re.findall(r"(\w+)\(\s*\w+\s*\)", chain):
            found.add((method.upper(), path))
    assert found, f"functions/{crate}/src/lib.rs: no .route(\"…\", method(handler)) found"
    assert src.count(".route(") == len(ROUTE.findall(src)), f"{crate}: a .route( call this test cannot read"
    return found


def test_each_route_goes_to_the_function_whose_router_serves_it(sam):
    routes = template_routes(sam)
    for crate in {crate_of(fn) for fn in functions(sam).values()}:
        mine = {k for k, c in routes.items() if c == crate}
        assert mine == router_routes(crate), (
            f"{crate}: template routes {sorted(mine)} != router {sorted(router_routes(crate))}"
        )


# ---- functions: crates, build, roles ----------------------------------------------------------


def lambda_crates() -> set[str]:
    """Crates under functions/ that are Lambdas (they depend on lambda_http)."""
    crates = set()
    for manifest in FUNCTIONS_DIR.glob("*/Cargo.toml"):
        deps = tomllib.loads(manifest.read_text()).get("dependencies", {})
        if "lambda_http" in deps:
            crates.add(manifest.parent.name)
    return crates


def test_every_function_is_a_crate_whose_package_name_is_its_directory(sam):
    for fname, fn in functions(sam).items():
        crate = crate_of(fn)
        manifest = FUNCTIONS_DIR / crate / "Cargo.toml"
        assert manifest.is_file(), f"{fname}: {manifest} missing"
        package = tomllib.loads(manifest.read_text())["package"]["name"]
        assert package == crate, f"{fname}: package {package!r} in functions/{crate}"
        assert (FUNCTIONS_DIR / crate / "src" / "main.rs").is_file(), f"{crate}: no binary"
        meta = fn.get("Metadata", {})
        assert meta.get("BuildMethod") == "rust-cargolambda", fname
        assert meta.get("BuildProperties", {}).get("Binary", crate) == crate, fname


def test_every_lambda_crate_has_exactly_one_function(sam):
    crates = [crate_of(fn) for fn in functions(sam).values()]
    assert len(crates) == len(set(crates)), f"a crate deployed twice: {crates}"
    assert set(crates) == lambda_crates(), (
        f"template {sorted(crates)} != crates depending on lambda_http {sorted(lambda_crates())}"
    )


def test_functions_run_on_arm64_al2023_with_the_bootstrap_handler(cfn):
    for name, fn in resources(cfn, "AWS::Lambda::Function").items():
        p = fn["Properties"]
        assert p["Runtime"] == "provided.al2023", name
        assert p["Architectures"] == ["arm64"], name
        assert p["Handler"] == "bootstrap", name


def test_functions_get_the_configuration_the_code_reads(cfn):
    needed = {"TABLE_NAME", "JWT_ISSUER", "JWT_AUDIENCE", "JWT_JWKS", "CURSOR_SECRET", "RUST_LOG", "SES_SENDER"}
    for name, fn in resources(cfn, "AWS::Lambda::Function").items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert needed <= set(env), f"{name}: missing {sorted(needed - set(env))}"
        assert "JWT_HS256_SECRET" not in env, f"{name}: the development secret in production"
        assert env["TABLE_NAME"] == {"Ref": "Table"}
        cursor = env["CURSOR_SECRET"]["Fn::Sub"]
        assert cursor.startswith("{{resolve:secretsmanager:${CursorSecret}"), cursor
    secret = resources(cfn, "AWS::SecretsManager::Secret")["CursorSecret"]["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32


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
    # No role SAM made on its own, no role without a function.
    assert set(resources(cfn, "AWS::IAM::Role")) == set(roles)
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
            if is_account_root_key_admin(where, cfn, st):
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


def dynamodb_grants(role: dict[str, Any]) -> dict[str, set[str]]:
    grants: dict[str, set[str]] = {}
    for p in role["Properties"]["Policies"]:
        for st in statements(p["PolicyDocument"]):
            actions = {a for a in listify(st["Action"]) if a.startswith("dynamodb:")}
            if not actions:
                continue
            for r in listify(st["Resource"]):
                if r == {"Fn::GetAtt": ["Table", "Arn"]}:
                    key = TABLE
                elif isinstance(r, dict) and "Fn::Sub" in r:
                    m = re.fullmatch(r"\$\{Table\.Arn\}/index/(gsi[0-9]+)", r["Fn::Sub"])
                    assert m, f"unexpected DynamoDB resource {r}"
                    key = m.group(1)
                else:
                    raise AssertionError(f"DynamoDB actions on {r!r}: only the table and its indexes")
                grants.setdefault(key, set()).update(actions)
    return grants


def test_each_role_grants_exactly_the_dynamodb_calls_its_code_makes(sam, cfn):
    seen = set()
    for fname, fn in functions(sam).items():
        crate = crate_of(fn)
        role = cfn["Resources"][fn["Properties"]["Role"]["Fn::GetAtt"][0]]
        assert dynamodb_grants(role) == EXPECTED_DYNAMODB[crate], f"{crate}: {dynamodb_grants(role)}"
        seen.add(crate)
    assert seen == set(EXPECTED_DYNAMODB)


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


def test_alarms_cover_every_function_and_the_api_and_notify_the_encrypted_topic(sam):
    alarms = resources(sam, "AWS::CloudWatch::Alarm").values()
    topic = resources(sam, "AWS::SNS::Topic")
    assert list(topic) == ["AlarmTopic"]
    assert topic["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    covered = set()
    for a in alarms:
        p = a["Properties"]
        assert p["AlarmActions"] == [{"Ref": "AlarmTopic"}], p["AlarmName"]
        target = p["Dimensions"][0]["Value"]["Ref"]
        stat = p.get("ExtendedStatistic") or p["Statistic"]
        covered.add((p["Namespace"], p["MetricName"], stat, target))
    for fname in functions(sam):
        for metric, stat in (("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "p99")):
            assert ("AWS/Lambda", metric, stat, fname) in covered, f"{fname}: no {metric} alarm"
    for metric, stat in (("5xx", "Sum"), ("Latency", "p99")):
        assert ("AWS/ApiGateway", metric, stat, "HttpApi") in covered, f"API: no {metric} alarm"


def test_outputs(sam):
    assert {"ApiUrl", "TableName"} <= set(sam["Outputs"])
    assert sam["Outputs"]["TableName"]["Value"] == {"Ref": "Table"}


def test_parameters(sam):
    for p in ("Environment", "JwtIssuer", "JwtAudience", "JwksJson", "SesSenderIdentity"):
        assert p in sam["Parameters"], p
