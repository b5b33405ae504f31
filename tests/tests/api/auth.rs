use crate::helpers::*;
use axum::body::Body;
use http::{Request, header};
use recert_api::Role;
use serde_json::json;

#[tokio::test]
async fn a_missing_token_is_401_with_www_authenticate() {
    let app = TestApp::on("2026-05-01");
    let r = app
        .call(
            "GET",
            "/certificants/0190a1b2-0000-7000-8000-000000000000",
            None,
            None,
        )
        .await;
    r.problem(401);
    let challenge = r
        .headers
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
}

#[tokio::test]
async fn an_expired_token_is_401_and_says_expired() {
    let app = TestApp::on("2026-05-01");
    let auth = recert_api::auth::Authenticator::hs256(SECRET, "recert-local", "recert").unwrap();
    let expired = auth
        .mint(
            "admin-1",
            Role::Admin,
            chrono::Utc::now().timestamp() - 7200,
            60,
        )
        .unwrap();
    let r = app
        .get(
            "/certificants/0190a1b2-0000-7000-8000-000000000000",
            &expired,
        )
        .await;
    assert!(
        r.problem(401)["detail"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn a_token_signed_with_another_secret_or_garbage_is_401() {
    let app = TestApp::on("2026-05-01");
    let other = recert_api::auth::Authenticator::hs256(
        b"another-secret-another-secret-another-secret",
        "recert-local",
        "recert",
    )
    .unwrap();
    let forged = other
        .mint("admin-1", Role::Admin, chrono::Utc::now().timestamp(), 600)
        .unwrap();
    for token in [forged.as_str(), "not-a-jwt", ""] {
        app.get("/certificants/0190a1b2-0000-7000-8000-000000000000", token)
            .await
            .problem(401);
    }
    let req = Request::get("/health")
        .header(header::AUTHORIZATION, "Basic abc")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.status, 200, "health needs no token");
}

#[tokio::test]
async fn a_wrong_role_is_403() {
    let app = TestApp::on("2026-05-01");
    let body = json!({"email": "x@example.org", "full_name": "X", "membership": "member"});
    let someone = uuid::Uuid::now_v7().to_string();
    for role in [Role::Certificant, Role::Provider, Role::Reviewer] {
        app.post("/certificants", &app.token(role, &someone), body.clone())
            .await
            .problem(403);
    }
    let (_, cert, _) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let reviewer = app.token(Role::Reviewer, "rev-1");
    let r = app
        .post(
            &format!("/certifications/{cert}/entries"),
            &reviewer,
            entry("x", "society", 1, 0, "2024-01-01"),
        )
        .await;
    r.problem(403);
}

#[tokio::test]
async fn another_certificants_certification_is_404_everywhere() {
    let app = TestApp::on("2026-05-01");
    let (alice, alice_cert, alice_token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let (_, _, bob_token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let e = app
        .log(
            &alice_cert,
            &alice_token,
            entry("Mine", "society", 2, 0, "2024-02-01"),
        )
        .await;
    let eid = e["id"].as_str().unwrap();
    for path in [
        format!("/certifications/{alice_cert}"),
        format!("/certifications/{alice_cert}/entries"),
        format!("/certifications/{alice_cert}/entries/{eid}"),
        format!("/certifications/{alice_cert}/eligibility"),
        format!("/certifications/{alice_cert}/history"),
        format!("/certificants/{alice}"),
        format!("/certificants/{alice}/certifications"),
    ] {
        app.get(&path, &bob_token).await.problem(404);
        app.get(&path, &alice_token).await.ok(200);
    }
    let r = app
        .post(
            &format!("/certifications/{alice_cert}/entries"),
            &bob_token,
            entry("x", "society", 1, 0, "2024-01-01"),
        )
        .await;
    r.problem(404);
    app.call(
        "DELETE",
        &format!("/certifications/{alice_cert}/entries/{eid}"),
        Some(&bob_token),
        None,
    )
    .await
    .problem(404);
    let what_if = json!({"entries": [entry("x", "society", 1, 0, "2024-01-01")]});
    app.post(
        &format!("/certifications/{alice_cert}/eligibility/what-if"),
        &bob_token,
        what_if,
    )
    .await
    .problem(404);
    // Alice's entry is untouched.
    app.get(
        &format!("/certifications/{alice_cert}/entries/{eid}"),
        &alice_token,
    )
    .await
    .ok(200);
}

#[tokio::test]
async fn staff_can_read_any_certification() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, _) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    for role in [Role::Reviewer, Role::Auditor, Role::Committee, Role::Admin] {
        app.get(
            &format!("/certifications/{cert}/eligibility"),
            &app.token(role, "staff"),
        )
        .await
        .ok(200);
    }
    app.get(
        &format!("/certifications/{cert}/eligibility"),
        &app.token(Role::Provider, "p"),
    )
    .await
    .problem(404);
}

#[tokio::test]
async fn a_certificant_token_whose_subject_is_not_a_certificant_id_is_401() {
    let app = TestApp::on("2026-05-01");
    let r = app
        .get(
            "/certificants/not-a-uuid",
            &app.token(Role::Certificant, "someone"),
        )
        .await;
    let problem = r.problem(401);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("certificant id"),
        "{problem}"
    );
    assert!(r.headers.contains_key(http::header::WWW_AUTHENTICATE));
}
