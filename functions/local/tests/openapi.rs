//! The committed contract is what the code generates, and the local server serves it with its docs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.json")
}

#[test]
fn committed_openapi_matches_the_code() {
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    let generated = recert_local::openapi::document();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -q -p recert-local -- openapi > openapi/openapi.json`"
    );
}

/// Operations without a bearer token (the template allows an unauthenticated route for exactly
/// these): the payment webhook authenticates by its signature; the audit draw records are public;
/// the calendar feed is opened by the secret token in its URL (calendar apps send no header).
const PUBLIC: [&str; 3] = [
    "/webhooks/payments",
    "/audit-periods/{period}",
    "/calendar/{token}",
];

/// Public operations that refuse nobody for a missing token (no 401 to document): the audit draw
/// records, and the calendar feed (a token that opens no feed is a 404).
const NEVER_401: [&str; 2] = ["/audit-periods/{period}", "/calendar/{token}"];

#[test]
fn every_operation_is_secured_and_documents_its_errors_as_problems() {
    let doc: serde_json::Value = serde_json::from_str(&recert_local::openapi::document()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    // The bearer token is the document's default; an operation without one says so itself.
    assert_eq!(doc["security"], serde_json::json!([{ "bearer": [] }]));
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            if path == "/health" {
                assert_eq!(op["security"], serde_json::json!([]), "{method} {path}");
                continue;
            }
            if PUBLIC.contains(&path.as_str()) {
                // A signature the handler verifies, or public: explicitly no bearer token.
                assert_eq!(op["security"], serde_json::json!([]), "{method} {path}");
            } else {
                assert!(
                    op.get("security").is_none(),
                    "{method} {path} overrides the document's bearer default"
                );
            }
            if !NEVER_401.contains(&path.as_str()) {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} does not document 401"
                );
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is not problem+json"
                    );
                }
            }
        }
    }
}
