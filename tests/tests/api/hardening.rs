//! Clients that edit concurrently, and requests an attacker would send (issue 10, items 2 and 5):
//! ETags and If-Match; idempotency keys no subject can collide; text that displays as something
//! else; links that are not https; staff shown to certificants by role; caching and sniffing.

use crate::helpers::*;
use axum::body::Body;
use recert_domain::Role;
use serde_json::json;

async fn put_with(
    app: &TestApp,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: serde_json::Value,
) -> Reply {
    let mut req = http::Request::put(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    if let Some(tag) = if_match {
        req = req.header("if-match", tag);
    }
    app.send(req.body(Body::from(body.to_string())).unwrap())
        .await
}

#[tokio::test]
async fn a_stale_if_match_gets_412_and_changes_nothing() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let e = app
        .log(
            &cert,
            &token,
            entry("Course", "society", 2, 0, "2024-01-01"),
        )
        .await;
    let path = format!(
        "/certifications/{cert}/entries/{}",
        e["id"].as_str().unwrap()
    );
    let read = app.get(&path, &token).await;
    let first_tag = read.headers["etag"].to_str().unwrap().to_owned();
    // The right version: replaced, with the new version's tag.
    let ok = put_with(
        &app,
        &path,
        &token,
        Some(&first_tag),
        entry("Course, revised", "society", 3, 0, "2024-01-01"),
    )
    .await;
    ok.ok(200);
    let second_tag = ok.headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(first_tag, second_tag);
    assert_eq!(
        app.get(&path, &token).await.headers["etag"]
            .to_str()
            .unwrap(),
        second_tag
    );
    // Another device still holding the first version: 412, nothing overwritten.
    let stale = put_with(
        &app,
        &path,
        &token,
        Some(&first_tag),
        entry("Overwrite", "society", 9, 0, "2024-01-01"),
    )
    .await;
    assert_eq!(stale.problem(412)["code"], "precondition_failed");
    assert_eq!(
        app.get(&path, &token).await.body["title"],
        "Course, revised"
    );
    let del = http::Request::delete(&path)
        .header("authorization", format!("Bearer {token}"))
        .header("if-match", &first_tag)
        .body(Body::empty())
        .unwrap();
    app.send(del).await.problem(412);
    let bad = put_with(
        &app,
        &path,
        &token,
        Some("no-quotes"),
        entry("x", "society", 1, 0, "2024-01-01"),
    )
    .await;
    assert_eq!(bad.problem(400)["code"], "invalid_if_match");
    // Without If-Match it stays last-writer-wins (If-Match is optional).
    put_with(
        &app,
        &path,
        &token,
        None,
        entry("No precondition", "society", 1, 0, "2024-01-01"),
    )
    .await
    .ok(200);
    let del = http::Request::delete(&path)
        .header("authorization", format!("Bearer {token}"))
        .header("if-match", "*")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(del).await.status, 204);
    // The certification's tag is its version.
    let c = app.get(&format!("/certifications/{cert}"), &token).await;
    let version = c.ok(200)["version"].as_u64().unwrap();
    assert_eq!(
        c.headers["etag"].to_str().unwrap(),
        format!("\"v{version}\"")
    );
}

#[tokio::test]
async fn idempotency_keys_of_two_callers_never_collide_whatever_their_subjects_contain() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, _) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    // Subject "a:b" with key "c", and subject "a" with key "b:c": once the same scoped key.
    let one = app.token(Role::Admin, "a:b");
    let two = app.token(Role::Admin, "a");
    let post = |token: String, key: &'static str, title: &'static str| {
        let req = http::Request::post(format!("/certifications/{cert}/entries"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(
                entry(title, "society", 1, 0, "2024-01-01").to_string(),
            ))
            .unwrap();
        app.send(req)
    };
    let first = post(one, "c", "First caller").await;
    let second = post(two, "b:c", "Second caller").await;
    assert_eq!(first.ok(201)["title"], "First caller");
    assert_eq!(second.ok(201)["title"], "Second caller");
    assert!(!second.headers.contains_key("idempotent-replayed"));
}

#[tokio::test]
async fn text_that_displays_as_something_else_and_links_that_are_not_https_are_refused() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let url = format!("/certifications/{cert}/entries");
    let r = app
        .post(
            &url,
            &token,
            entry("\u{202E}\u{200B}", "society", 1, 0, "2024-01-01"),
        )
        .await;
    assert!(r.problem(422)["errors"]["title"].is_array());
    let r = app
        .post(
            &url,
            &token,
            entry("\u{200B}\u{200D}", "society", 1, 0, "2024-01-01"),
        )
        .await;
    assert!(r.problem(422)["errors"]["title"].is_array());
    let mut e = entry("Course", "society", 1, 0, "2024-01-01");
    e["evidence"] = json!([{"reference": "http://example.org/cert.pdf"}]);
    assert!(
        app.post(&url, &token, e.clone()).await.problem(422)["errors"]["evidence/0/reference"]
            .is_array()
    );
    e["evidence"] = json!([{"reference": "javascript:alert(1)"}]);
    app.post(&url, &token, e.clone()).await.problem(422);
    e["evidence"] = json!([{"reference": "https://example.org/cert.pdf"}, {"reference": "uploads/2024/cert.pdf"}]);
    app.post(&url, &token, e).await.ok(201);
    let entries = app.get(&url, &token).await;
    assert_eq!(
        entries.ok(200)["items"].as_array().unwrap().len(),
        1,
        "nothing half-written"
    );
}

#[tokio::test]
async fn certificants_see_staff_by_role_and_answers_are_neither_cached_nor_sniffed() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let mine = app
        .get(&format!("/certifications/{cert}/history"), &token)
        .await;
    let issued = &mine.ok(200)["events"][0]["actor"];
    assert_eq!(issued["role"], "admin");
    assert_eq!(
        issued["subject"], "admin",
        "not the staff member's own subject"
    );
    let staff = app
        .get(&format!("/certifications/{cert}/history"), &app.admin())
        .await;
    assert_eq!(staff.ok(200)["events"][0]["actor"]["subject"], "admin-1");
    for r in [&mine, &staff] {
        assert_eq!(r.headers["cache-control"], "no-store");
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
    }
    let problem = app
        .get(&format!("/certifications/{cert}/history"), "not-a-token")
        .await;
    assert_eq!(problem.headers["cache-control"], "no-store");
}

async fn post_with_key(app: &TestApp, path: &str, key: &str, body: serde_json::Value) -> Reply {
    let req = http::Request::post(path)
        .header("authorization", format!("Bearer {}", app.admin()))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(req).await
}

#[tokio::test]
async fn every_creating_post_honours_idempotency_key_and_a_replay_has_the_original_location() {
    let app = TestApp::on("2026-05-01");
    let email = format!("retry-{}@example.org", uuid::Uuid::now_v7().simple());
    let person = json!({"email": email, "full_name": "Retry Person", "membership": "member"});
    // The 201 was lost: the retry gets it again, with its Location, and nothing twice.
    let first = post_with_key(&app, "/certificants", "enrol-1", person.clone()).await;
    let again = post_with_key(&app, "/certificants", "enrol-1", person.clone()).await;
    assert_eq!(again.ok(201), first.ok(201));
    assert_eq!(again.headers["location"], first.headers["location"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let mut other = person.clone();
    other["full_name"] = json!("Someone Else");
    let reused = post_with_key(&app, "/certificants", "enrol-1", other).await;
    assert_eq!(reused.problem(422)["code"], "idempotency_key_reused");

    let number = format!("CPHIMS-R-{}", uuid::Uuid::now_v7().simple());
    let cert = json!({"certificant_id": first.body["id"], "credential": "CPHIMS", "certificate_number": number,
                      "initial_certification_date": "2023-09-01", "expires_on": "2026-08-31"});
    let issued = post_with_key(&app, "/certifications", "issue-1", cert.clone()).await;
    let retried = post_with_key(&app, "/certifications", "issue-1", cert.clone()).await;
    assert_eq!(retried.ok(201)["id"], issued.ok(201)["id"]);
    assert_eq!(retried.headers["location"], issued.headers["location"]);
    let mut other = cert;
    other["credential"] = json!("CAHIMS");
    post_with_key(&app, "/certifications", "issue-1", other)
        .await
        .problem(422);
    // One certification, one welcome: the retry committed nothing.
    let id = issued.body["id"].as_str().unwrap();
    let history = app
        .get(&format!("/certifications/{id}/history"), &app.admin())
        .await;
    assert_eq!(history.ok(200)["events"].as_array().unwrap().len(), 1);
    // An entry's replay keeps its Location too.
    let token = app.token(Role::Certificant, first.body["id"].as_str().unwrap());
    let send = || {
        let req = http::Request::post(format!("/certifications/{id}/entries"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("idempotency-key", "entry-1")
            .body(Body::from(
                entry("Course", "society", 1, 0, "2024-01-01").to_string(),
            ))
            .unwrap();
        app.send(req)
    };
    let (a, b) = (send().await, send().await);
    assert_eq!(b.headers["location"], a.headers["location"]);
}
