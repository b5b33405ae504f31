//! The OpenAPI document, generated from the handlers' annotations. `openapi/openapi.json` is this
//! document, committed; `recert-local openapi` prints it and a test fails when they differ.

use recert_api::error::Problem;
use recert_api::page::Page;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// What the handlers' annotations cannot say: closed request objects, two schema rules, and the
/// bearer scheme (the document's default security; a public operation says `security()`).
#[derive(Debug)]
struct Refine;

impl Modify for Refine {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        close_request_objects(&openapi.paths, components);
        exactly_one_start(components);
        attestation_is_true(components);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A JWT with `sub` and `role` (certificant, provider, reviewer, auditor, committee, admin)."))
                    .build(),
            ),
        );
    }
}

/// Every request body is parsed with `deny_unknown_fields`: its objects (and the objects inside
/// them) say `additionalProperties: false`, so a client knows an unknown field is refused.
fn close_request_objects(
    paths: &utoipa::openapi::Paths,
    components: &mut utoipa::openapi::Components,
) {
    use utoipa::openapi::RefOr;
    let mut pending: Vec<String> = Vec::new();
    for item in paths.paths.values() {
        let ops = [&item.post, &item.put, &item.patch, &item.delete, &item.get];
        for op in ops.into_iter().flatten() {
            let Some(RefOr::T(body)) = &op.request_body else {
                continue;
            };
            for content in body.content.values() {
                if let RefOr::T(content) = content
                    && let Some(schema) = &content.schema
                {
                    collect_refs(schema, &mut pending);
                }
            }
        }
    }
    let mut done = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        if let Some(RefOr::T(schema)) = components.schemas.get_mut(&name) {
            close(schema, &mut pending);
        }
    }
}

fn ref_name(r: &utoipa::openapi::Ref) -> Option<String> {
    r.ref_location
        .strip_prefix("#/components/schemas/")
        .map(str::to_string)
}

fn collect_refs(schema: &utoipa::openapi::RefOr<utoipa::openapi::Schema>, out: &mut Vec<String>) {
    match schema {
        utoipa::openapi::RefOr::Ref(r) => out.extend(ref_name(r)),
        utoipa::openapi::RefOr::T(s) => {
            // Inline request schemas are closed where they are declared; only follow references.
            let mut copy = s.clone();
            close(&mut copy, out);
        }
    }
}

/// Close `schema`'s objects, inline ones too; the components it refers to go to `refs`.
fn close(schema: &mut utoipa::openapi::Schema, refs: &mut Vec<String>) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Schema};
    let visit = |child: &mut RefOr<Schema>, refs: &mut Vec<String>| match child {
        RefOr::Ref(r) => refs.extend(ref_name(r)),
        RefOr::T(s) => close(s, refs),
    };
    match schema {
        Schema::Object(object) => {
            if !object.properties.is_empty() && object.additional_properties.is_none() {
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
            for child in object.properties.values_mut() {
                visit(child, refs);
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(item) = &mut array.items {
                visit(item, refs);
            }
        }
        Schema::OneOf(one_of) => one_of.items.iter_mut().for_each(|i| visit(i, refs)),
        Schema::AllOf(all_of) => all_of.items.iter_mut().for_each(|i| visit(i, refs)),
        Schema::AnyOf(any_of) => any_of.items.iter_mut().for_each(|i| visit(i, refs)),
        _ => {}
    }
}

/// A submission is refused (422) unless `attestation` is `true`: the schema says so (utoipa has
/// no `const` attribute; the field is an `Option` so that a missing one gets that 422 too).
fn attestation_is_true(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut("NewSubmission") {
        let description = match object.properties.get("attestation") {
            Some(RefOr::T(Schema::Object(field))) => field.description.clone(),
            _ => None,
        };
        object.properties.insert(
            "attestation".to_string(),
            ObjectBuilder::new()
                .schema_type(Type::Boolean)
                .enum_values(Some([true]))
                .description(description)
                .into(),
        );
        if !object.required.iter().any(|r| r == "attestation") {
            object.required.push("attestation".to_string());
        }
    }
}

/// A certification's cycle starts from `initial_certification_date` or from
/// `previous_expiration_date`, exactly one (the server refuses both and neither): the schema
/// says so with a `oneOf` beside the object (utoipa has no attribute for it).
fn exactly_one_start(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Type};
    let Some(object) = components.schemas.remove("NewCertification") else {
        return;
    };
    let given = |field: &str| {
        ObjectBuilder::new()
            .required(field)
            .property(field, ObjectBuilder::new().schema_type(Type::String))
    };
    let one_of = OneOfBuilder::new()
        .item(given("initial_certification_date"))
        .item(given("previous_expiration_date"));
    components.schemas.insert(
        "NewCertification".to_string(),
        AllOfBuilder::new().item(object).item(one_of).into(),
    );
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Recert",
        description = "Continuing-education renewal programme API: transcripts, exact eligibility, what-if.\n\nHours are integer hundredths (`150` = 1.50 h). Errors are `application/problem+json` (RFC 9457).",
        version = env!("CARGO_PKG_VERSION"),
    ),
    components(schemas(Problem, recert_domain::ConflictCode, Page<recert_domain::CeEntry>)),
    security(("bearer" = [])),
    tags(
        (name = "certifications", description = "Enrol certificants, issue certifications, read them, record exam passes (renew or reinstate)"),
        (name = "calendar", description = "The certificant's private calendar feed: a secret iCalendar URL for calendar apps (no bearer token on the feed itself)"),
        (name = "transcripts", description = "CE entries of a certification"),
        (name = "eligibility", description = "Where a certification stands, and what-if"),
        (name = "submissions", description = "Renewal submissions, staff-recorded payments, the certificate"),
        (name = "review", description = "The reviewers' queue and their decisions"),
        (name = "audits", description = "The random audit: the public draw records, evidence uploads, the auditors' queue and decisions"),
        (name = "waivers", description = "Waiver and extension requests, the committee's queue and decisions"),
        (name = "providers", description = "Partner providers: the registry, batches of completions (JSON or CSV), postings and voids, the staff reconciliation queue"),
        (name = "payments", description = "The payment processor's signed webhook (no bearer token: the signature is verified)"),
        (name = "health", description = "Liveness"),
    )
)]
pub struct ApiDoc;

/// The whole document: [`ApiDoc`] with every function's routes.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for (_, routes) in crate::declared_routes() {
        routes.document(&mut doc);
    }
    Refine.modify(&mut doc);
    doc
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document() -> String {
    let mut s = api_doc().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}

/// Each function's routes, `(METHOD, path)` sorted, as JSON keyed by its crate's name (the routes
/// every function serves, e.g. `/health`, are not any one function's).
pub fn routes_by_function() -> serde_json::Value {
    crate::declared_routes()
        .into_iter()
        .filter(|(function, _)| *function != "*")
        .map(|(function, routes)| (function.to_string(), serde_json::json!(routes.served())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
