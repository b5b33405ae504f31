//! Renewal and reinstatement by exam (`POST /certifications/{id}/exam-passes`), on the store
//! `RECERT_TEST_STORE` selects: an active certification is renewed from its old expiration, a
//! lapsed one reinstated with a new cycle from the pass date (its deadlines, its email); only
//! admins record a pass; bad dates and references are 422s; a submission the CE path is deciding
//! is a 409; a retry with the same `Idempotency-Key` is replayed.

use crate::helpers::*;
use crate::notifications::{at, courier, mailbox, pending, private_app};
use axum::body::Body;
use recert_app::jobs::Job;
use recert_app::outbox::Delivered;
use recert_domain::{CertificationId, Notice, Role};
use serde_json::{Value, json};

fn exam_url(cert: &str) -> String {
    format!("/certifications/{cert}/exam-passes")
}

async fn record_with_key(app: &TestApp, cert: &str, token: &str, key: &str, body: Value) -> Reply {
    let req = http::Request::post(exam_url(cert))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(req).await
}

/// The history's events of `cert`, as `type` strings, with the last `exam_passed` event.
async fn history(app: &TestApp, cert: &str, token: &str) -> (Vec<String>, Option<Value>) {
    let h = app
        .get(&format!("/certifications/{cert}/history?limit=100"), token)
        .await;
    let events = h.ok(200)["events"].as_array().unwrap().clone();
    let kinds = events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    let exam = events
        .into_iter()
        .rev()
        .find(|e| e["type"] == "exam_passed");
    (kinds, exam)
}

#[tokio::test]
async fn an_active_certification_renewed_by_exam_moves_one_cycle_from_the_old_expiration() {
    // CPHIMS 1 Sep 2023 – 31 Aug 2026: the window opened on 28 Feb 2026.
    let app = TestApp::on("2026-04-20");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let admin = app.admin();
    let body = json!({"passed_on": "2026-04-15", "reference": " EXAM-2026-0415 "});
    let first = record_with_key(&app, &cert, &admin, "exam-1", body.clone()).await;
    let recorded = first.ok(200).clone();
    assert_eq!(recorded["outcome"], "renewed");
    assert_eq!(recorded["passed_on"], "2026-04-15");
    assert_eq!(recorded["reference"], "EXAM-2026-0415");
    assert_eq!(recorded["certification"]["status"], "active");
    assert_eq!(recorded["certification"]["expires_on"], "2029-08-31");
    assert_eq!(recorded["certification"]["cycle_starts_on"], "2026-09-01");
    assert_eq!(first.headers["etag"], "\"v2\"");
    // A retry with the key: the first answer, nothing recorded twice.
    let again = record_with_key(&app, &cert, &admin, "exam-1", body).await;
    assert_eq!(again.ok(200), &recorded);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let other = json!({"passed_on": "2026-04-16", "reference": "EXAM-2026-0415"});
    record_with_key(&app, &cert, &admin, "exam-1", other)
        .await
        .problem(422);
    // The certificant sees the new dates, and the pass in the history (staff by role).
    let c = app.get(&format!("/certifications/{cert}"), &token).await;
    assert_eq!(c.ok(200)["expires_on"], "2029-08-31");
    assert_eq!(c.body["cycle_starts_on"], "2026-09-01");
    assert_eq!(c.body["version"], 2);
    let (kinds, exam) = history(&app, &cert, &token).await;
    assert_eq!(kinds, ["certification_issued", "exam_passed"]);
    let exam = exam.unwrap();
    assert_eq!(exam["passed_on"], "2026-04-15");
    assert_eq!(exam["reference"], "EXAM-2026-0415");
    assert_eq!(exam["reinstated"], false);
    assert_eq!(exam["new_expires_on"], "2029-08-31");
    assert_eq!(exam["actor"]["role"], "admin");
    // Recorded again (no key): the pass now predates the new cycle.
    let twice = app
        .post(
            &exam_url(&cert),
            &admin,
            json!({"passed_on": "2026-04-15", "reference": "EXAM-2026-0415"}),
        )
        .await;
    assert!(twice.problem(422)["errors"]["passed_on"].is_array());
    // The email is queued with the change.
    let id: CertificationId = cert.parse().unwrap();
    let queued = pending(app.store.as_ref(), id).await;
    let email = queued
        .iter()
        .find_map(|m| match &m.notice {
            Notice::ExamRecorded(e) => Some(e),
            _ => None,
        })
        .expect("the exam email is queued");
    assert!(!email.reinstated);
    assert_eq!(email.valid_until, d("2029-08-31"));
    assert_eq!(email.cycle_starts_on, d("2026-09-01"));
}

#[tokio::test]
async fn a_lapsed_certification_is_reinstated_with_a_new_cycle_from_the_pass_date() {
    // A store of its own: the job below acts on everything due in it.
    let app = private_app("2026-10-01").await;
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    // Not renewed: the lifecycle job lapses it the day after its closing date.
    assert_eq!(app.run_job(Job::Lifecycle, "2026-09-01").await, (1, 1));
    let entries = format!("/certifications/{cert}/entries");
    let late = entry("Course", "society", 1, 0, "2026-09-25");
    let refused = app.post(&entries, &token, late.clone()).await;
    assert_eq!(refused.problem(409)["code"], "certification_lapsed");

    let admin = app.admin();
    let r = app
        .post(
            &exam_url(&cert),
            &admin,
            json!({"passed_on": "2026-09-20", "reference": "EXAM-2026-0920"}),
        )
        .await;
    let recorded = r.ok(200).clone();
    assert_eq!(recorded["outcome"], "reinstated");
    let c = &recorded["certification"];
    assert_eq!(c["status"], "active");
    assert_eq!(c["cycle_starts_on"], "2026-09-20");
    assert_eq!(c["expires_on"], "2029-09-19");
    let fetched = app.get(&format!("/certifications/{cert}"), &token).await;
    assert_eq!(fetched.ok(200), c);
    // The history: lapsed, then reinstated by the exam.
    let (kinds, exam) = history(&app, &cert, &token).await;
    assert_eq!(
        kinds,
        [
            "certification_issued",
            "certification_lapsed",
            "exam_passed"
        ]
    );
    let exam = exam.unwrap();
    assert_eq!(exam["reinstated"], true);
    assert_eq!(exam["passed_on"], "2026-09-20");
    assert_eq!(exam["new_expires_on"], "2029-09-19");
    assert_eq!(exam["reference"], "EXAM-2026-0920");
    // The new cycle is open for logging; its window opens six months before the new expiration.
    app.log(&cert, &token, late).await;
    let eligibility = app
        .get(&format!("/certifications/{cert}/eligibility"), &token)
        .await;
    assert_eq!(eligibility.ok(200)["cycle"]["starts_on"], "2026-09-20");
    assert_eq!(eligibility.body["window"]["opens_on"], "2029-03-19");

    // The email, sent once through the outbox.
    let id: CertificationId = cert.parse().unwrap();
    let message = pending(app.store.as_ref(), id)
        .await
        .into_iter()
        .find(|m| matches!(m.notice, Notice::ExamRecorded(_)))
        .expect("the exam email is queued");
    let (mailbox, _) = mailbox();
    let courier = courier(&app, mailbox.clone(), at("2026-10-01"));
    assert_eq!(
        courier.deliver(id, message.id).await.unwrap(),
        Delivered::Sent
    );
    let mails = mailbox.list().unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject,
        "Your CPHIMS certification is reinstated until 19 September 2029"
    );
    let raw = mailbox.read(&mails[0].id).unwrap().unwrap();
    for fact in ["20 September 2026", "19 September 2029", "Test Person"] {
        assert!(raw.contains(fact), "{fact} missing from the email");
    }

    // The new cycle's deadline is in the due-date index: the window-opens job finds it.
    assert_eq!(app.run_job(Job::WindowOpens, "2029-03-19").await, (1, 1));
}

#[tokio::test]
async fn only_admins_record_a_pass_and_only_for_a_certification_that_exists() {
    let app = TestApp::on("2026-04-20");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let body = json!({"passed_on": "2026-04-15", "reference": "EXAM-1"});
    for who in [
        token.clone(),
        app.token(Role::Reviewer, "rev-1"),
        app.token(Role::Auditor, "aud-1"),
        app.token(Role::Committee, "com-1"),
    ] {
        let r = app.post(&exam_url(&cert), &who, body.clone()).await;
        assert_eq!(r.problem(403)["code"], "forbidden");
    }
    app.call("POST", &exam_url(&cert), None, Some(body.clone()))
        .await
        .problem(401);
    let unknown = uuid::Uuid::now_v7().to_string();
    app.post(&exam_url(&unknown), &app.admin(), body)
        .await
        .problem(404);
    // Nothing changed.
    let c = app.get(&format!("/certifications/{cert}"), &token).await;
    assert_eq!(c.ok(200)["version"], 1);
}

#[tokio::test]
async fn bad_dates_and_references_are_refused_field_by_field() {
    let app = TestApp::on("2026-04-20");
    let (_, cert, _) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let admin = app.admin();
    let url = exam_url(&cert);
    let future = app
        .post(
            &url,
            &admin,
            json!({"passed_on": "2026-04-21", "reference": "EXAM-1"}),
        )
        .await;
    let p = future.problem(422);
    assert!(
        p["errors"]["passed_on"][0]
            .as_str()
            .unwrap()
            .contains("future"),
        "{p}"
    );
    let old = app
        .post(
            &url,
            &admin,
            json!({"passed_on": "2023-06-01", "reference": "EXAM-1"}),
        )
        .await;
    assert!(old.problem(422)["errors"]["passed_on"].is_array());
    for reference in [json!(""), json!("\u{200B}"), json!("x".repeat(65))] {
        let r = app
            .post(
                &url,
                &admin,
                json!({"passed_on": "2026-04-15", "reference": reference}),
            )
            .await;
        assert!(
            r.problem(422)["errors"]["reference"].is_array(),
            "{reference}"
        );
    }
    // The shape: an impossible date, an unknown field, a missing one.
    for body in [
        json!({"passed_on": "2026-02-30", "reference": "EXAM-1"}),
        json!({"passed_on": "2026-04-15", "reference": "EXAM-1", "score": 90}),
        json!({"passed_on": "2026-04-15"}),
    ] {
        app.post(&url, &admin, body).await.problem(422);
    }
    // Before the renewal window opened: the state refuses it.
    let early = app
        .post(
            &url,
            &admin,
            json!({"passed_on": "2026-02-27", "reference": "EXAM-1"}),
        )
        .await;
    let p = early.problem(409);
    assert_eq!(p["code"], "window_not_open");
    assert!(p["detail"].as_str().unwrap().contains("2026-02-28"), "{p}");
}

fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4LE", "country": "GB"})
}

/// A ready certificant (CPHIMS, window open since 28 Feb 2026) who submitted their renewal;
/// returns (certification, submission, token).
async fn submitted(app: &TestApp) -> (String, String, String) {
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    app.log(
        &cert,
        &token,
        entry("Society conference", "society", 45, 2, "2024-05-01"),
    )
    .await;
    let s = app
        .post(
            &format!("/certifications/{cert}/submissions"),
            &token,
            json!({"attestation": true, "billing_address": address()}),
        )
        .await;
    let sid = s.ok(201)["id"].as_str().unwrap().to_owned();
    (cert, sid, token)
}

#[tokio::test]
async fn a_submission_the_ce_path_is_deciding_blocks_a_renewal_by_exam() {
    let app = TestApp::on("2026-03-01");
    let (cert, sid, token) = submitted(&app).await;
    let admin = app.admin();
    let body = json!({"passed_on": "2026-03-01", "reference": "EXAM-1"});
    // Unpaid: have it withdrawn first.
    let unpaid = app.post(&exam_url(&cert), &admin, body.clone()).await;
    let p = unpaid.problem(409);
    assert_eq!(p["code"], "submission_unpaid");
    assert!(p["detail"].as_str().unwrap().contains("withdrawn"), "{p}");
    // Paid (staff record the cheque): in review, the CE path is deciding.
    let paid = app
        .post(
            &format!("/certifications/{cert}/submissions/{sid}/payments"),
            &admin,
            json!({"reference": "cheque 1042", "amount_minor": 12500, "currency": "USD"}),
        )
        .await;
    assert_eq!(paid.ok(200)["status"], "in_review");
    let in_review = app.post(&exam_url(&cert), &admin, body).await;
    let p = in_review.problem(409);
    assert_eq!(p["code"], "renewal_in_progress");
    assert!(p["detail"].as_str().unwrap().contains("in review"), "{p}");
    // Nothing changed.
    let c = app.get(&format!("/certifications/{cert}"), &token).await;
    assert_eq!(c.ok(200)["expires_on"], "2026-08-31");
    let (kinds, _) = history(&app, &cert, &token).await;
    assert!(!kinds.iter().any(|k| k == "exam_passed"), "{kinds:?}");
}

#[tokio::test]
async fn a_withdrawn_submission_leaves_the_way_to_the_exam_open() {
    let app = TestApp::on("2026-03-01");
    let (cert, sid, token) = submitted(&app).await;
    app.post(
        &format!("/certifications/{cert}/submissions/{sid}/withdraw"),
        &token,
        json!({}),
    )
    .await
    .ok(200);
    let r = app
        .post(
            &exam_url(&cert),
            &app.admin(),
            json!({"passed_on": "2026-03-01", "reference": "EXAM-1"}),
        )
        .await;
    assert_eq!(r.ok(200)["outcome"], "renewed");
    assert_eq!(r.body["certification"]["expires_on"], "2029-08-31");
    assert_eq!(r.body["certification"]["cycle_starts_on"], "2026-09-01");
}
