//! The random audit end to end, on the store `RECERT_TEST_STORE` selects: the daily draw (a
//! committed seed, a record per run, a rerun that selects nothing new, the reveal and the
//! re-verification), the notice, evidence declared and uploaded through a signed URL, the
//! response, the auditors' queue and decisions, the extra time, the approval after a passed audit,
//! and the deadline job's reminders and revocation.

use crate::helpers::*;
use crate::notifications::pending;
use axum::body::Body;
use recert_app::jobs::Job;
use recert_domain::audit::{PeriodLog, Recorded, Verification};
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
    app.commit_audit_period("2026-03").await;
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
    // The candidate is the certification's cycle, never the submission.
    let candidate = format!("{cert}/2023-09-01");
    assert_eq!(draw["candidates"], json!([candidate]));
    assert_eq!(draw["selected"][0]["id"], candidate.as_str());
    assert_eq!(draw["share_percent"], 100);
    assert_eq!(
        (draw["seq"].as_u64(), &period["period"]["draws"]),
        (Some(1), &json!(1))
    );
    assert_eq!(period["period"]["head"], draw["entry_sha256"]);
    assert_eq!(period["draws"].as_array().unwrap().len(), 1);

    let s = app
        .get(&format!("/certifications/{cert}/submissions/{sid}"), &token)
        .await;
    assert_eq!(s.ok(200)["status"], "in_audit");
    assert_eq!(s.body["draw"]["selected"], true);
    // The certificant sees which day's draw judged them, to find it in the public log.
    assert_eq!(s.body["draw"]["candidate"], candidate.as_str());
    assert_eq!(
        (&s.body["draw"]["run_on"], &s.body["draw"]["seq"]),
        (&json!(TODAY), &json!(1))
    );
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
    app.commit_audit_period("2026-03").await;
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
    app.commit_audit_period("2026-03").await;
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
    app.commit_audit_period("2026-03").await;
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

/// The period's whole log as the API publishes it, page by page (no token), as one document.
pub(crate) async fn period_document(app: &TestApp, period: &str) -> Value {
    let mut draws = Vec::new();
    let mut url = format!("/audit-periods/{period}?limit=2");
    loop {
        let page = app.call("GET", &url, None, None).await;
        let page = page.ok(200).clone();
        draws.extend(page["draws"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => url = format!("/audit-periods/{period}?limit=2&cursor={next}"),
            None => return json!({"period": page["period"], "draws": draws}),
        }
    }
}

fn verify(
    app: &TestApp,
    document: &Value,
    earlier: &[Value],
    commitment: Option<&str>,
) -> Verification {
    let log: PeriodLog = serde_json::from_value(document.clone()).unwrap();
    let earlier: Vec<PeriodLog> = earlier
        .iter()
        .map(|e| serde_json::from_value(e.clone()).unwrap())
        .collect();
    recert_app::audit::verify_log(
        &app.app_on("2026-04-02"),
        &log,
        &Recorded {
            commitment,
            earlier: &earlier,
        },
    )
}

#[tokio::test]
async fn after_the_period_ended_the_revealed_seed_reverifies_every_draw() {
    let app = TestApp::with_audit_share(TODAY, 10);
    app.commit_audit_period("2026-03").await;
    let before = period_document(&app, "2026-03").await;
    let commitment = before["period"]["commitment"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        paid(&app).await;
    }
    assert_eq!(app.run_job(Job::AuditDraw, TODAY).await.0, 3);
    let copy = period_document(&app, "2026-03").await;
    // A late run of the last day on 1 April still finds March's seed sealed.
    app.run_job(Job::AuditDraw, "2026-04-01").await;
    let march = app.call("GET", "/audit-periods/2026-03", None, None).await;
    assert!(
        march.ok(200)["period"]["seed"].is_null(),
        "secret until the day after"
    );
    // The first run on 2 April reveals it.
    app.run_job(Job::AuditDraw, "2026-04-02").await;
    let document = period_document(&app, "2026-03").await;
    let seed = document["period"]["seed"].as_str().expect("revealed");
    assert_eq!(
        document["period"]["commitment"],
        sha256_hex(format!("recert-audit-commitment:{seed}").as_bytes())
    );
    let verified = verify(&app, &document, &[before, copy], Some(&commitment));
    assert_eq!(verified.problems, [], "{:?}", verified.notes);
    assert_eq!((verified.draws, verified.candidates), (1, 3));
    // April's is committed, not revealed; May's is committed a month ahead.
    let april = app.call("GET", "/audit-periods/2026-04", None, None).await;
    assert!(april.ok(200)["period"]["seed"].is_null());
    app.call("GET", "/audit-periods/2026-05", None, None)
        .await
        .ok(200);
    app.call("GET", "/audit-periods/2026-13", None, None)
        .await
        .problem(400);
    app.call("GET", "/audit-periods/1999-01", None, None)
        .await
        .problem(404);
    app.call("GET", "/audit-periods/2026-03?limit=11", None, None)
        .await
        .problem(400);
    app.call(
        "GET",
        "/audit-periods/2026-04?cursor=forged.cursor",
        None,
        None,
    )
    .await
    .problem(400);
}

#[tokio::test]
async fn a_month_of_daily_draws_judges_each_cycle_once_and_reverifies_after_the_reveal() {
    let app = TestApp::with_audit_share(TODAY, 10);
    app.commit_audit_period("2026-03").await;
    let mut candidates = Vec::new();
    let mut copies = Vec::new();
    for day in 1..=30 {
        for _ in 0..3 {
            let (cert, ..) = paid(&app).await;
            candidates.push(format!("{cert}/2023-09-01"));
        }
        let date = format!("2026-03-{day:02}");
        let (due, acted) = app.run_job(Job::AuditDraw, &date).await;
        assert_eq!(
            (due, acted),
            (3, 3),
            "{date}: today's payments, each judged once"
        );
        if day % 10 == 0 {
            copies.push(period_document(&app, "2026-03").await);
        }
    }
    app.run_job(Job::AuditDraw, "2026-04-02").await;
    let document = period_document(&app, "2026-03").await;
    let draws = document["draws"].as_array().unwrap();
    assert_eq!(draws.len(), 30);
    let mut drawn: Vec<&str> = draws
        .iter()
        .flat_map(|d| d["candidates"].as_array().unwrap())
        .map(|c| c.as_str().unwrap())
        .collect();
    drawn.sort_unstable();
    candidates.sort_unstable();
    assert_eq!(drawn, candidates, "every paid cycle drawn exactly once");
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
    let verified = verify(&app, &document, &copies, None);
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
    assert_eq!(verified.selected, selected.len());
    // And with the public package, when the test command provides it.
    if let Ok(python) = std::env::var("RECERT_SAMPLER_PYTHON") {
        let dir = std::env::temp_dir().join(format!("recert-audit-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, value: &Value| {
            let path = dir.join(name);
            std::fs::write(&path, value.to_string()).unwrap();
            path.to_string_lossy().into_owned()
        };
        let revealed = write("revealed.json", &document);
        let copy = write("copy.json", &copies[1]);
        let out = std::process::Command::new(python)
            .args([
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../scripts/verify-audit-draw.py"
                ),
                "check",
                &revealed,
                "--earlier",
                &copy,
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("30 draws, 90 candidates"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Every string in `value` (object keys and string values, recursively).
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

/// Words of a text: runs of characters that can make a seed, a key or an id.
fn words(text: &str, out: &mut Vec<String>) {
    out.push(text.to_owned());
    out.extend(
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '/' || c == '.'))
            .filter(|w| !w.is_empty())
            .map(str::to_owned),
    );
}

/// A log sink for this thread: every event our code (and the crates under it) logs, as JSON lines.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Tried as an outsider with everything Recert shows before the reveal (the public log, each
/// certificant's own submission and audit, every email queued, every log line of the runs): no
/// string computes any candidate's ticket, neither as the seed nor as the sampler's inner key,
/// while the seed revealed later does (so the check can fail).
#[tokio::test(flavor = "current_thread")]
async fn nothing_published_before_the_reveal_computes_a_ticket() {
    let logs = Logs::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::with_audit_share(TODAY, 50);
    app.commit_audit_period("2026-03").await;
    let mut people = Vec::new();
    for _ in 0..8 {
        people.push(paid(&app).await);
    }
    app.run_job(Job::AuditDraw, TODAY).await;
    app.run_job(Job::AuditDraw, "2026-03-02").await;

    let mut public = Vec::new();
    strings(&period_document(&app, "2026-03").await, &mut public);
    strings(&period_document(&app, "2026-04").await, &mut public);
    let mut tickets: Vec<(String, String)> = Vec::new();
    for (cert, sid, _, token) in &people {
        let s = app
            .get(&format!("/certifications/{cert}/submissions/{sid}"), token)
            .await;
        let s = s.ok(200).clone();
        tickets.push((
            s["draw"]["candidate"].as_str().unwrap().to_owned(),
            s["draw"]["ticket"].as_str().unwrap().to_owned(),
        ));
        strings(&s, &mut public);
        let audit = app
            .get(&format!("/certifications/{cert}/audit"), token)
            .await;
        strings(&audit.body, &mut public);
        let id: CertificationId = cert.parse().unwrap();
        for message in pending(app.store.as_ref(), id).await {
            strings(&serde_json::to_value(&message.notice).unwrap(), &mut public);
            let email = recert_notify::templates::email(
                &message.recipient,
                &message.notice,
                &recert_notify::templates::LinkBase::default(),
            )
            .unwrap();
            for part in [&email.subject, &email.text, &email.html] {
                words(part, &mut public);
            }
        }
    }
    words(
        &String::from_utf8_lossy(&logs.0.lock().unwrap()),
        &mut public,
    );
    public.sort();
    public.dedup();
    assert!(public.len() > 200, "only {} public strings", public.len());
    assert!(tickets.iter().any(|(_, t)| !t.is_empty()));

    for (candidate, ticket) in &tickets {
        for s in &public {
            assert_ne!(
                recert_domain::audit::Ticket::first(s, candidate).as_str(),
                ticket,
                "{s:?} computes the ticket of {candidate}"
            );
        }
    }
    // After the reveal: the seed computes every ticket, and neither it nor the sampler's inner
    // key was among the strings published before.
    app.run_job(Job::AuditDraw, "2026-04-02").await;
    let revealed = period_document(&app, "2026-03").await;
    let seed = revealed["period"]["seed"].as_str().unwrap();
    for (candidate, ticket) in &tickets {
        assert_eq!(
            recert_domain::audit::Ticket::first(seed, candidate).as_str(),
            ticket
        );
    }
    let inner_key = sha256_hex(seed.as_bytes());
    assert!(
        !public
            .iter()
            .any(|s| s.contains(seed) || s.contains(&inner_key))
    );
}

/// A certificant who withdraws an unpaid submission and submits again is the same candidate:
/// the ticket depends on the certification's cycle and the period's seed, nothing they control.
#[tokio::test]
async fn withdrawing_and_resubmitting_gives_the_same_ticket() {
    let app = TestApp::with_audit_share(TODAY, 10);
    app.commit_audit_period("2026-03").await;
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    app.log(
        &cert,
        &token,
        entry("Society conference", "society", 45, 2, "2024-05-01"),
    )
    .await;
    let submit = json!({"attestation": true, "billing_address": {"name": "Ada Lovelace",
        "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4LE",
        "country": "GB"}});
    let mut ids = Vec::new();
    for _ in 0..3 {
        let s = app
            .post(
                &format!("/certifications/{cert}/submissions"),
                &token,
                submit.clone(),
            )
            .await;
        let sid = s.ok(201)["id"].as_str().unwrap().to_owned();
        ids.push(sid.clone());
        if ids.len() < 3 {
            app.post(
                &format!("/certifications/{cert}/submissions/{sid}/withdraw"),
                &token,
                json!({}),
            )
            .await
            .ok(200);
        }
    }
    let sid = ids.last().unwrap();
    app.post(
        &format!("/certifications/{cert}/submissions/{sid}/payments"),
        &app.token(Role::Reviewer, "rev-1"),
        json!({"reference": "cheque 1", "amount_minor": 12500, "currency": "USD"}),
    )
    .await
    .ok(200);
    app.run_job(Job::AuditDraw, TODAY).await;
    let s = app
        .get(&format!("/certifications/{cert}/submissions/{sid}"), &token)
        .await;
    let draw = s.ok(200)["draw"].clone();
    let candidate = format!("{cert}/2023-09-01");
    assert_eq!(draw["candidate"], candidate.as_str());
    app.run_job(Job::AuditDraw, "2026-04-02").await;
    let seed = period_document(&app, "2026-03").await["period"]["seed"]
        .as_str()
        .unwrap()
        .to_owned();
    // Whichever submission had been paid, the ticket is the cycle's.
    assert_eq!(
        draw["ticket"],
        recert_domain::audit::Ticket::first(&seed, &candidate).as_str()
    );
    for id in &ids {
        assert!(!candidate.contains(id.as_str()));
    }
}
