use crate::helpers::*;
use axum::body::Body;
use http::{Request, header};
use serde_json::json;

async fn history_len(app: &TestApp, cert: &str, token: &str) -> usize {
    app.get(&format!("/certifications/{cert}/history"), token)
        .await
        .ok(200)["events"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn malformed_json_is_400_problem() {
    let app = TestApp::on("2026-05-01");
    let req = Request::post("/certificants")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin()))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"email\": "))
        .unwrap();
    assert_eq!(app.send(req).await.problem(400)["code"], "malformed_json");
}

#[tokio::test]
async fn unknown_and_mistyped_fields_are_422_with_a_field_map() {
    let app = TestApp::on("2026-05-01");
    let r = app.post("/certificants", &app.admin(), json!({"email": "a@example.org", "full_name": "A", "membership": "member", "is_admin": true})).await;
    assert!(
        r.problem(422)["errors"]["is_admin"].is_array(),
        "{:#}",
        r.body
    );
    let r = app
        .post(
            "/certificants",
            &app.admin(),
            json!({"email": "a@example.org", "full_name": "A", "membership": "gold"}),
        )
        .await;
    assert!(
        r.problem(422)["errors"]["membership"].is_array(),
        "{:#}",
        r.body
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::on("2026-05-01");
    let req = Request::post("/certificants")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin()))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("hello"))
        .unwrap();
    app.send(req).await.problem(415);
}

#[tokio::test]
async fn an_oversized_body_is_413_problem() {
    let app = TestApp::on("2026-05-01");
    let big = "x".repeat(100 * 1024);
    let r = app
        .post(
            "/certificants",
            &app.admin(),
            json!({"email": "a@example.org", "full_name": big, "membership": "member"}),
        )
        .await;
    r.problem(413);
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = TestApp::on("2026-05-01");
    app.get("/nowhere", &app.admin()).await.problem(404);
    app.call("PATCH", "/certificants", Some(&app.admin()), None)
        .await
        .problem(405);
}

#[tokio::test]
async fn a_malformed_id_in_the_path_is_400() {
    let app = TestApp::on("2026-05-01");
    app.get("/certifications/not-a-uuid/eligibility", &app.admin())
        .await
        .problem(400);
}

#[tokio::test]
async fn invalid_entries_are_422_and_leave_no_write() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let before = history_len(&app, &cert, &token).await;
    let path = format!("/certifications/{cert}/entries");
    let cases = [
        (
            entry("Too much ethics", "society", 1, 2, "2024-01-01"),
            "ethics_hours_hundredths",
        ),
        (
            entry("Zero", "society", 0, 0, "2024-01-01"),
            "hours_hundredths",
        ),
        (
            entry("Huge", "society", 61, 0, "2024-01-01"),
            "hours_hundredths",
        ),
        (
            entry("Future", "society", 1, 0, "2026-05-02"),
            "completed_on",
        ),
        (entry("  ", "society", 1, 0, "2024-01-01"), "title"),
        (
            entry("Bad category", "university", 1, 0, "2024-01-01"),
            "provider_category",
        ),
        (
            entry("Bad date", "society", 1, 0, "2024-02-30"),
            "completed_on",
        ),
    ];
    for (body, field) in cases {
        let r = app.post(&path, &token, body).await;
        assert!(
            r.problem(422)["errors"][field].is_array(),
            "{field}: {:#}",
            r.body
        );
    }
    let negative = json!({"title": "n", "provider_name": "p", "provider_category": "society", "completed_on": "2024-01-01", "hours_hundredths": -5});
    assert!(
        app.post(&path, &token, negative).await.problem(422)["errors"]["hours_hundredths"]
            .is_array()
    );
    assert_eq!(history_len(&app, &cert, &token).await, before);
    assert_eq!(
        app.get(&path, &token).await.ok(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn problem_documents_carry_type_title_and_code() {
    let app = TestApp::on("2026-05-01");
    let r = app.get("/nowhere", &app.admin()).await;
    let p = r.problem(404);
    assert_eq!(p["type"], "urn:recert:problem:not_found");
    assert_eq!(p["code"], "not_found");
    assert!(p["title"].is_string() && p["detail"].is_string());
}
