//! The random audit end to end, on the store `RECERT_TEST_STORE` selects: the daily draw (a
//! committed seed, a record per run, a rerun that selects nothing new, the reveal and the
//! re-verification), the notice, evidence declared and uploaded through a signed URL, the
//! response, the auditors' queue and decisions, the extra time, the approval after a passed audit,
//! and the deadline job's reminders and revocation.

use crate::helpers::*;
use crate::notifications::pending;
use axum::body::Body;
use recert_app::jobs::Job;
use recert_domain::{CertificationId, Notice, Role};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

const TODAY: &str = "2026-03-01";
const PDF: &[u8] = b"%PDF-1.7 certificate of completion, Society conference 2024";

/// A ready certificant (one 45 h society entry) who submitted and paid on [`TODAY`]; returns
/// (certification, submission id, entry id, their token).
pub(crate) async fn paid(app: &TestApp) -> (String, String, String, String) {
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let logged = app
        .log(
            &cert,
            &token,
            entry("Society conference", "society", 45, 2, "2024-05-01"),
        )
        .await;
    let entry_id = logged["id"].as_str().unwrap().to_owned();
    let s = app
        .post(
            &format!("/certifications/{cert}/submissions"),
            &token,
            json!({"attestation": true, "billing_address": {"name": "Ada Lovelace",
                "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4LE",
                "country": "GB"}}),
        )
        .await;
    let sid = s.ok(201)["id"].as_str().unwrap().to_owned();
    let staff = app.token(Role::Reviewer, "rev-1");
    let paid = app
        .post(
            &format!("/certifications/{cert}/submissions/{sid}/payments"),
            &staff,
            json!({"reference": "cheque 1", "amount_minor": 12500, "currency": "USD"}),
        )
        .await;
    assert_eq!(paid.ok(200)["status"], "in_review");
    (cert, sid, entry_id, token)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Declare `file` for an entry, get its upload URL and PUT it there; returns the evidence.
async fn document(app: &TestApp, cert: &str, entry: &str, token: &str, file: &[u8]) -> Value {
    let declared = app
        .post(
            &format!("/certifications/{cert}/audit/entries/{entry}/evidence"),
            token,
            json!({"file_name": "certificate.pdf", "content_type": "application/pdf",
                   "size_bytes": file.len(), "sha256": sha256_hex(file)}),
        )
        .await;
    let evidence = declared.ok(201).clone();
    let id = evidence["id"].as_str().unwrap();
    let ticket = app
        .post(
            &format!("/certifications/{cert}/audit/evidence/{id}/upload"),
            token,
            json!({}),
        )
        .await;
    let ticket = ticket.ok(200);
    assert_eq!(ticket["method"], "PUT");
    let url = ticket["url"].as_str().unwrap();
    let path = url
        .strip_prefix(recert_tests::harness::EVIDENCE_BASE)
        .unwrap();
    let mut req = http::Request::put(path);
    for (k, v) in ticket["headers"].as_object().unwrap() {
        req = req.header(k.as_str(), v.as_str().unwrap());
    }
    let put = app.send(req.body(Body::from(file.to_vec())).unwrap()).await;
    assert_eq!(put.status, 200, "{:#}", put.body);
    evidence
}

async fn templates(app: &TestApp, cert: &str) -> Vec<&'static str> {
    let id: CertificationId = cert.parse().unwrap();
    pending(app.store.as_ref(), id)
        .await
        .into_iter()
        .map(|m| m.notice.template())
        .collect()
}

#[tokio::test]
async fn selected_documented_decided_and_approved() {
    let app = TestApp::with_audit_share(TODAY, 100);
    let (cert, sid, entry, token) = paid(&app).await;
    let reviewer = app.token(Role::Reviewer, "rev-1");
    let auditor = app.token(Role::Auditor, "aud-1");

    // Before the draw: not reviewable, and the period's seed is not published yet.
    let approve = format!("/certifications/{cert}/submissions/{sid}/approve");
    let early = app.post(&approve, &reviewer, json!({})).await;
    assert_eq!(early.problem(409)["code"], "awaiting_audit_draw");

    // The draw selects it (share 100 %); a rerun selects nothing new.
    assert_eq!(app.run_job(Job::AuditDraw, TODAY).await, (1, 1));
    assert_eq!(app.run_job(Job::AuditDraw, TODAY).await, (1, 0));
    let period = app.call("GET", "/audit-periods/2026-03", None, None).await;
    let period = period.ok(200).clone();
    assert!(period["period"]["seed"].is_null(), "secret while it runs");
    assert_eq!(period["period"]["commitment"].as_str().unwrap().len(), 64);
    let draw = &period["draws"][0];
    assert_eq!(draw["candidates"], json!([sid]));
    assert_eq!(draw["selected"][0]["id"], sid.as_str());
    assert_eq!(draw["share_percent"], 100);
    assert_eq!(period["draws"].as_array().unwrap().len(), 1);

    let s = app
        .get(&format!("/certifications/{cert}/submissions/{sid}"), &token)
        .await;
    assert_eq!(s.ok(200)["status"], "in_audit");
    assert_eq!(s.body["draw"]["selected"], true);
    let audit = app
        .get(&format!("/certifications/{cert}/audit"), &token)
        .await;
    let audit = audit.ok(200).clone();
    // Another certificant sees nothing of it, and cannot document it.
    let other = app.token(Role::Certificant, &uuid::Uuid::now_v7().to_string());
    app.get(&format!("/certifications/{cert}/audit"), &other)
        .await
        .problem(404);
    app.post(
        &format!("/certifications/{cert}/audit/entries/{entry}/evidence"),
        &other,
        json!({"file_name": "x.pdf", "content_type": "application/pdf", "size_bytes": 3,
               "sha256": sha256_hex(b"abc")}),
    )
    .await
    .problem(404);
    assert_eq!(audit["status"], "documents_due");
    assert_eq!(audit["due_on"], "2026-03-31");
    assert_eq!(audit["entries"][0]["entry_id"], entry.as_str());
    assert!(templates(&app, &cert).await.contains(&"audit_selected"));
    let early = app.post(&approve, &reviewer, json!({})).await;
    assert_eq!(early.problem(409)["code"], "not_in_review");

    // Declarations are checked; the response needs the files in the store.
    let bad = app
        .post(
            &format!("/certifications/{cert}/audit/entries/{entry}/evidence"),
            &token,
            json!({"file_name": "../etc/passwd", "content_type": "text/plain",
                   "size_bytes": 0, "sha256": "xyz"}),
        )
        .await;
    let errors = &bad.problem(422)["errors"];
    for f in ["file_name", "content_type", "size_bytes", "sha256"] {
        assert!(errors[f].is_array(), "{f}: {errors}");
    }
    let declared = app
        .post(
            &format!("/certifications/{cert}/audit/entries/{entry}/evidence"),
            &token,
            json!({"file_name": "later.pdf", "content_type": "application/pdf",
                   "size_bytes": 10, "sha256": sha256_hex(b"0123456789")}),
        )
        .await;
    declared.ok(201);
    let respond = format!("/certifications/{cert}/audit/response");
    let missing = app.post(&respond, &token, json!({})).await;
    assert_eq!(missing.problem(409)["code"], "documentation_missing");

    document(&app, &cert, &entry, &token, PDF).await;
    let responded = app.post(&respond, &token, json!({})).await;
    assert_eq!(responded.ok(200)["status"], "awaiting_decision");
    assert!(templates(&app, &cert).await.contains(&"audit_received"));

    // The auditor reads the file through a short-lived link (the same bytes).
    let file = app
        .get(&format!("/certifications/{cert}/audit"), &auditor)
        .await
        .ok(200)["entries"][0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["uploaded"] == true)
        .cloned()
        .unwrap();
    let link = app
        .get(
            &format!(
                "/certifications/{cert}/audit/evidence/{}",
                file["id"].as_str().unwrap()
            ),
            &auditor,
        )
        .await;
    let url = link.ok(200)["download"]["url"].as_str().unwrap().to_owned();
    let path = url
        .strip_prefix(recert_tests::harness::EVIDENCE_BASE)
        .unwrap();
    let res = app
        .router
        .clone()
        .oneshot(http::Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&bytes[..], PDF);
    // A declared file never uploaded has nothing to read.
    let never = declared.body["id"].as_str().unwrap();
    app.get(
        &format!("/certifications/{cert}/audit/evidence/{never}"),
        &auditor,
    )
    .await
    .problem(404);

    // The auditors' queue, oldest first; certificants cannot see it.
    let queue = app.get("/audit-queue", &auditor).await;
    let item = &queue.ok(200)["items"][0];
    assert_eq!(item["certification_id"], cert.as_str());
    assert_eq!(item["waiting_days"], 0);
    app.get("/audit-queue", &token).await.problem(403);

    // Every entry must be decided; a rejection needs a reason.
    let decide = format!("/certifications/{cert}/audit/decisions");
    let incomplete = app.post(&decide, &auditor, json!({"decisions": []})).await;
    incomplete.problem(422);
    let unreasoned = app
        .post(
            &decide,
            &auditor,
            json!({"decisions": [{"entry_id": entry, "accepted": false}]}),
        )
        .await;
    unreasoned.problem(422);
    let passed = app
        .post(
            &decide,
            &auditor,
            json!({"decisions": [{"entry_id": entry, "accepted": true}]}),
        )
        .await;
    assert_eq!(passed.ok(200)["status"], "passed");
    assert!(templates(&app, &cert).await.contains(&"audit_outcome"));

    // On to review, with the certificate's service level; then approved.
    let queue = app.get("/review-queue", &reviewer).await;
    let item = queue.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["submission"]["id"] == sid.as_str())
        .cloned()
        .expect("the audited submission waits for review");
    assert_eq!(item["submission"]["certificate_due_on"], "2026-04-12");
    let approved = app.post(&approve, &reviewer, json!({})).await;
    assert_eq!(approved.ok(200)["status"], "approved");
}

#[tokio::test]
async fn rejected_hours_get_extra_time_once_then_replacement_hours_pass() {
    let app = TestApp::with_audit_share(TODAY, 100);
    let (cert, _, entry, token) = paid(&app).await;
    let auditor = app.token(Role::Auditor, "aud-1");
    app.run_job(Job::AuditDraw, TODAY).await;
    document(&app, &cert, &entry, &token, PDF).await;
    let respond = format!("/certifications/{cert}/audit/response");
    app.post(&respond, &token, json!({})).await.ok(200);
    let decide = format!("/certifications/{cert}/audit/decisions");

    // Rejected: the 45 h are gone, a gap remains: 60 days more, once.
    let extra = app
        .post(
            &decide,
            &auditor,
            json!({"decisions": [{"entry_id": entry, "accepted": false,
                                  "reason": "The certificate names another person"}]}),
        )
        .await;
    let extra = extra.ok(200);
    assert_eq!(extra["status"], "documents_due");
    assert_eq!(extra["extra_time_granted"], true);
    assert_eq!(extra["due_on"], "2026-04-30");
    assert!(templates(&app, &cert).await.contains(&"audit_extra_time"));

    // Replacement hours may be logged now, documented, and sent.
    let replacement = app
        .log(
            &cert,
            &token,
            entry_json("Replacement course", 45, "2025-06-01"),
        )
        .await;
    let replacement = replacement["id"].as_str().unwrap().to_owned();
    document(&app, &cert, &replacement, &token, b"%PDF replacement").await;
    app.post(&respond, &token, json!({})).await.ok(200);
    let passed = app
        .post(
            &decide,
            &auditor,
            json!({"decisions": [{"entry_id": replacement, "accepted": true}]}),
        )
        .await;
    assert_eq!(passed.ok(200)["status"], "passed");
}

fn entry_json(title: &str, hours: u32, on: &str) -> Value {
    entry(title, "society", hours, 2, on)
}

#[tokio::test]
async fn still_short_after_the_extra_time_revokes() {
    let app = TestApp::with_audit_share(TODAY, 100);
    let (cert, _, entry, token) = paid(&app).await;
    let auditor = app.token(Role::Auditor, "aud-1");
    app.run_job(Job::AuditDraw, TODAY).await;
    let respond = format!("/certifications/{cert}/audit/response");
    let decide = format!("/certifications/{cert}/audit/decisions");
    let reject =
        json!({"decisions": [{"entry_id": entry, "accepted": false, "reason": "Unreadable"}]});
    document(&app, &cert, &entry, &token, PDF).await;
    app.post(&respond, &token, json!({})).await.ok(200);
    app.post(&decide, &auditor, reject.clone()).await.ok(200);
    // Documented again, rejected again: no second extra time.
    document(&app, &cert, &entry, &token, b"%PDF another try").await;
    app.post(&respond, &token, json!({})).await.ok(200);
    let failed = app.post(&decide, &auditor, reject).await;
    assert_eq!(failed.ok(200)["status"], "failed");
    let c = app.get(&format!("/certifications/{cert}"), &token).await;
    assert_eq!(c.ok(200)["status"], "revoked");
}

#[tokio::test]
async fn the_deadline_job_reminds_then_revokes_the_day_after_the_due_date() {
    let app = TestApp::with_audit_share(TODAY, 100);
    let (cert, _, _, token) = paid(&app).await;
    app.run_job(Job::AuditDraw, TODAY).await;
    // Due 2026-03-31: reminders on the 24th and the 30th, each once.
    assert_eq!(app.run_job(Job::AuditDeadlines, "2026-03-24").await, (1, 1));
    assert_eq!(app.run_job(Job::AuditDeadlines, "2026-03-24").await, (0, 0));
    assert_eq!(app.run_job(Job::AuditDeadlines, "2026-03-30").await, (1, 1));
    let reminders = templates(&app, &cert)
        .await
        .into_iter()
        .filter(|t| *t == "audit_reminder")
        .count();
    assert_eq!(reminders, 2);
    // On the due date itself nothing happens; the day after, revoked.
    assert_eq!(app.run_job(Job::AuditDeadlines, "2026-03-31").await, (0, 0));
    let c = app.get(&format!("/certifications/{cert}"), &token).await;
    assert_eq!(c.ok(200)["status"], "active");
    assert_eq!(app.run_job(Job::AuditDeadlines, "2026-04-01").await, (1, 1));
    assert_eq!(app.run_job(Job::AuditDeadlines, "2026-04-01").await, (0, 0));
    let c = app.get(&format!("/certifications/{cert}"), &token).await;
    assert_eq!(c.ok(200)["status"], "revoked");
    let id: CertificationId = cert.parse().unwrap();
    let outcome = pending(app.store.as_ref(), id)
        .await
        .into_iter()
        .find_map(|m| match m.notice {
            Notice::AuditOutcome(o) => Some(o),
            _ => None,
        })
        .expect("the outcome is queued");
    assert!(!outcome.passed);
    assert!(outcome.reason.unwrap().contains("2026-03-31"));
}

#[tokio::test]
async fn after_the_period_the_revealed_seed_reverifies_every_draw() {
    let app = TestApp::with_audit_share(TODAY, 10);
    for _ in 0..3 {
        paid(&app).await;
    }
    assert_eq!(app.run_job(Job::AuditDraw, TODAY).await.0, 3);
    // The first draw of April reveals March's seed.
    app.run_job(Job::AuditDraw, "2026-04-01").await;
    let period = app.call("GET", "/audit-periods/2026-03", None, None).await;
    let period = period.ok(200).clone();
    let seed = period["period"]["seed"]
        .as_str()
        .expect("revealed")
        .to_owned();
    assert_eq!(sha256_hex(seed.as_bytes()), period["period"]["commitment"]);
    let verified =
        recert_app::audit::verify_period(&app.app_on("2026-04-01"), "2026-03".parse().unwrap())
            .await
            .unwrap();
    assert_eq!((verified.draws, verified.candidates), (1, 3));
    assert!(verified.failures.is_empty(), "{:?}", verified.failures);
    // April's is committed, not revealed.
    let april = app.call("GET", "/audit-periods/2026-04", None, None).await;
    assert!(april.ok(200)["period"]["seed"].is_null());
    app.call("GET", "/audit-periods/2026-13", None, None)
        .await
        .problem(400);
    app.call("GET", "/audit-periods/1999-01", None, None)
        .await
        .problem(404);
}

#[tokio::test]
async fn a_month_of_daily_draws_judges_each_submission_once_and_reverifies_after_the_reveal() {
    let app = TestApp::with_audit_share(TODAY, 10);
    let mut paid_ids = Vec::new();
    for day in 1..=30 {
        for _ in 0..3 {
            paid_ids.push(paid(&app).await.1);
        }
        let date = format!("2026-03-{day:02}");
        let (due, acted) = app.run_job(Job::AuditDraw, &date).await;
        assert_eq!(
            (due, acted),
            (3, 3),
            "{date}: today's payments, each judged once"
        );
    }
    app.run_job(Job::AuditDraw, "2026-04-01").await;
    let period = app.call("GET", "/audit-periods/2026-03", None, None).await;
    let document = period.ok(200).clone();
    let draws = document["draws"].as_array().unwrap();
    assert_eq!(draws.len(), 30);
    let mut drawn: Vec<&str> = draws
        .iter()
        .flat_map(|d| d["candidates"].as_array().unwrap())
        .map(|c| c.as_str().unwrap())
        .collect();
    drawn.sort_unstable();
    let mut expected: Vec<&str> = paid_ids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(drawn, expected, "every paid submission drawn exactly once");
    // Each selected submission is in audit, every other one waits for review.
    let selected: Vec<&str> = draws
        .iter()
        .flat_map(|d| d["selected"].as_array().unwrap())
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let auditor = app.token(Role::Admin, "admin-1");
    let queue = app.get("/review-queue?limit=100", &auditor).await;
    assert_eq!(
        queue.ok(200)["items"].as_array().unwrap().len(),
        90 - selected.len()
    );
    let verified =
        recert_app::audit::verify_period(&app.app_on("2026-04-01"), "2026-03".parse().unwrap())
            .await
            .unwrap();
    assert!(verified.failures.is_empty(), "{:?}", verified.failures);
    assert_eq!(verified.selected, selected.len());
    // And with the public package, when the test command provides it.
    if let Ok(python) = std::env::var("RECERT_SAMPLER_PYTHON") {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/verify-audit-draw.py"
        );
        let mut child = std::process::Command::new(python)
            .args([script, "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(document.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("30 draws, 90 candidates"), "{text}");
    }
}
