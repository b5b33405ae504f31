//! Renewal submissions end to end, on the store `RECERT_TEST_STORE` selects: submit (every
//! refusal with its code and facts; a retried submit with its key), pay by the processor's signed
//! webhook (forged, stale and replayed events; a duplicate days later; a payment for a withdrawn
//! submission), the review queue, approve (the expiration moves one cycle from the old one) or
//! return, concurrent decisions, the certificate, and the emails queued on the way.

use crate::helpers::*;
use crate::notifications::pending;
use axum::body::Body;
use chrono::{DateTime, Utc};
use recert_app::jobs::Job;
use recert_domain::{CertificationId, Notice, Role};
use serde_json::{Value, json};

fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4LE", "country": "GB"})
}

fn submission(attestation: Value) -> Value {
    json!({"attestation": attestation, "billing_address": address()})
}

/// A certificant in a CPHIMS cycle 1 Sep 2023 – 31 Aug 2026 (window from 28 Feb 2026) with the
/// hours it needs when `ready`.
async fn certificant(app: &TestApp, ready: bool) -> (String, String) {
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let hours = if ready { 45 } else { 40 };
    app.log(
        &cert,
        &token,
        entry("Society conference", "society", hours, 2, "2024-05-01"),
    )
    .await;
    (cert, token)
}

async fn submit_with_key(app: &TestApp, cert: &str, token: &str, key: &str, body: Value) -> Reply {
    let req = http::Request::post(format!("/certifications/{cert}/submissions"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(req).await
}

/// The processor's `payment_intent.succeeded` for `order`, signed (Stripe scheme) at `at`.
async fn webhook(
    app: &TestApp,
    event_id: &str,
    order: &str,
    amount: i64,
    currency: &str,
    at: DateTime<Utc>,
    signer: &recert_webhooks::Verifier,
) -> Reply {
    let body =
        json!({"id": event_id, "type": "payment_intent.succeeded", "created": at.timestamp(),
        "data": {"object": {"id": "pi_1", "amount": amount, "currency": currency,
                            "metadata": {"order_number": order}}}})
        .to_string();
    let mut req =
        http::Request::post("/webhooks/payments").header("content-type", "application/json");
    for (k, v) in signer.sign(body.as_bytes(), at, event_id) {
        req = req.header(k, v);
    }
    app.send(req.body(Body::from(body)).unwrap()).await
}

fn now_of(day: &str) -> DateTime<Utc> {
    d(day).and_hms_opt(12, 0, 0).unwrap().and_utc()
}

/// A ready certificant who submitted (and, with `paid_by`, paid by that webhook event on
/// 2026-03-01); returns (submissions url, submission id, order number, token).
async fn submitted(app: &TestApp, paid_by: Option<&str>) -> (String, String, String, String) {
    let (cert, token) = certificant(app, true).await;
    let url = format!("/certifications/{cert}/submissions");
    let s = app.post(&url, &token, submission(json!(true))).await;
    let s = s.ok(201);
    let (sid, order) = (
        s["id"].as_str().unwrap().to_owned(),
        s["order_number"].as_str().unwrap().to_owned(),
    );
    if let Some(event) = paid_by {
        let signer = recert_tests::harness::webhooks();
        let paid = webhook(
            app,
            event,
            &order,
            12500,
            "usd",
            now_of("2026-03-01"),
            &signer,
        )
        .await;
        assert_eq!(paid.ok(200)["outcome"], "applied");
    }
    (url, sid, order, token)
}

#[tokio::test]
async fn enrol_log_submit_pay_review_approve_and_the_new_expiration() {
    // The draw selects nobody here (the audit has its own tests).
    let app = TestApp::with_audit_share("2026-03-01", 0);
    app.commit_audit_period("2026-03").await;
    let (cert, token) = certificant(&app, true).await;
    let id: CertificationId = cert.parse().unwrap();
    // Submit, and retry with the same key: one submission.
    let first = submit_with_key(&app, &cert, &token, "renew-1", submission(json!(true))).await;
    let submitted = first.ok(201).clone();
    let again = submit_with_key(&app, &cert, &token, "renew-1", submission(json!(true))).await;
    assert_eq!(again.ok(201), &submitted);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(submitted["status"], "awaiting_payment");
    assert_eq!(submitted["charge"]["amount_minor"], 12500);
    assert_eq!(submitted["charge"]["membership"], "member");
    assert_eq!(submitted["attestation"]["version"], "2000-01");
    let order = submitted["order_number"].as_str().unwrap().to_owned();
    let sid = submitted["id"].as_str().unwrap().to_owned();
    // The entries are locked now.
    let entries = app
        .get(&format!("/certifications/{cert}/entries"), &token)
        .await;
    let entry_id = entries.ok(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let del = app
        .call(
            "DELETE",
            &format!("/certifications/{cert}/entries/{entry_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(del.problem(409)["code"], "cycle_submitted");

    // Paid by the processor's webhook; redelivered: applied once.
    let signer = recert_tests::harness::webhooks();
    for outcome in ["applied", "duplicate"] {
        let r = webhook(
            &app,
            "evt_1",
            &order,
            12500,
            "usd",
            now_of("2026-03-01"),
            &signer,
        )
        .await;
        assert_eq!(r.ok(200)["outcome"], outcome);
    }
    let s = app
        .get(&format!("/certifications/{cert}/submissions/{sid}"), &token)
        .await;
    assert_eq!(s.ok(200)["status"], "in_review");
    assert_eq!(s.body["payments"].as_array().unwrap().len(), 1);

    // Reviewers wait for the day's audit draw.
    let reviewer = app.token(Role::Reviewer, "rev-1");
    let early = app
        .post(
            &format!("/certifications/{cert}/submissions/{sid}/approve"),
            &reviewer,
            json!({}),
        )
        .await;
    assert_eq!(early.problem(409)["code"], "awaiting_audit_draw");
    assert_eq!(app.run_job(Job::AuditDraw, "2026-03-01").await, (1, 1));

    // The review queue shows it, with its service level.
    let queue = app.get("/review-queue?limit=100", &reviewer).await;
    let item = queue.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["submission"]["id"] == sid.as_str())
        .cloned()
        .expect("the paid submission is queued");
    assert_eq!(item["waiting_days"], 0);
    assert_eq!(item["overdue"], false);
    assert_eq!(item["review_due_on"], "2026-03-08");
    // Certificants cannot see the queue.
    app.get("/review-queue", &token).await.problem(403);

    // Approved: the expiration moves one cycle from the OLD expiration.
    let ok = app
        .post(
            &format!("/certifications/{cert}/submissions/{sid}/approve"),
            &reviewer,
            json!({}),
        )
        .await;
    assert_eq!(ok.ok(200)["status"], "approved");
    let c = app.get(&format!("/certifications/{cert}"), &token).await;
    assert_eq!(c.ok(200)["expires_on"], "2029-08-31");
    assert_eq!(c.body["cycle_starts_on"], "2026-09-01");
    let certificate = app
        .get(&format!("/certifications/{cert}/certificate"), &token)
        .await;
    let certificate = certificate.ok(200);
    assert_eq!(certificate["valid_until"], "2029-08-31");
    assert_eq!(certificate["valid_from"], "2026-09-01");
    assert_eq!(certificate["holder"], "Test Person");
    let page = app
        .get(&format!("/certifications/{cert}/certificate.html"), &token)
        .await;
    assert!(page.content_type().starts_with("text/html"));
    assert!(page.body.as_str().unwrap().contains("31 August 2029"));
    // The old cycle's entries stay readable, by cycle.
    let old = app
        .get(
            &format!("/certifications/{cert}/entries?cycle_starts_on=2023-09-01"),
            &token,
        )
        .await;
    assert_eq!(old.ok(200)["items"].as_array().unwrap().len(), 1);
    // Every step is in the history, with who.
    let history = app
        .get(&format!("/certifications/{cert}/history?limit=100"), &token)
        .await;
    let kinds: Vec<String> = history.ok(200)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["type"].as_str().unwrap(),
                e["actor"]["role"].as_str().unwrap()
            )
        })
        .collect();
    for step in [
        "certification_issued:admin",
        "entry_added:certificant",
        "renewal_submitted:certificant",
        "payment_recorded:webhook",
        "renewal_approved:reviewer",
    ] {
        assert!(
            kinds.iter().any(|k| k == step),
            "{step} missing from {kinds:?}"
        );
    }
    // The welcome, the receipt and the approval wait in the outbox.
    let templates: Vec<&str> = pending(app.store.as_ref(), id)
        .await
        .iter()
        .map(|m| m.notice.template())
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    for t in ["welcome", "receipt", "approved"] {
        assert!(templates.contains(&t), "{t} not queued: {templates:?}");
    }
}

#[tokio::test]
async fn every_refusal_says_exactly_why() {
    let app = TestApp::on("2026-03-01");
    let (cert, token) = certificant(&app, true).await;
    let url = format!("/certifications/{cert}/submissions");
    let r = app.post(&url, &token, submission(json!(false))).await;
    assert!(
        r.problem(422)["errors"]["attestation"][0]
            .as_str()
            .unwrap()
            .contains("must be true")
    );
    let r = app
        .post(&url, &token, json!({"billing_address": address()}))
        .await;
    assert!(r.problem(422)["errors"]["attestation"].is_array());
    let mut no_city = address();
    no_city["city"] = json!("");
    let r = app
        .post(
            &url,
            &token,
            json!({"attestation": true, "billing_address": no_city}),
        )
        .await;
    assert!(r.problem(422)["errors"]["billing_address/city"].is_array());

    let (short, short_token) = certificant(&app, false).await;
    let r = app
        .post(
            &format!("/certifications/{short}/submissions"),
            &short_token,
            submission(json!(true)),
        )
        .await;
    let p = r.problem(409);
    assert_eq!(p["code"], "requirements_not_met");
    assert!(p["detail"].as_str().unwrap().contains("5.00 h"), "{p}");

    let early = TestApp::with_store("2026-02-27", app.store.clone());
    let r = early.post(&url, &token, submission(json!(true))).await;
    let p = r.problem(409);
    assert_eq!(p["code"], "window_not_open");
    assert!(p["detail"].as_str().unwrap().contains("2026-02-28"), "{p}");

    app.post(&url, &token, submission(json!(true)))
        .await
        .ok(201);
    let r = app.post(&url, &token, submission(json!(true))).await;
    assert_eq!(r.problem(409)["code"], "cycle_submitted");
    // Nothing half-written: one submission.
    let list = app.get(&url, &token).await;
    assert_eq!(list.ok(200)["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn forged_stale_and_replayed_webhooks() {
    let app = TestApp::on("2026-03-01");
    let (cert, token) = certificant(&app, true).await;
    let s = app
        .post(
            &format!("/certifications/{cert}/submissions"),
            &token,
            submission(json!(true)),
        )
        .await;
    let order = s.ok(201)["order_number"].as_str().unwrap().to_owned();
    let signer = recert_tests::harness::webhooks();
    let forger = recert_webhooks::Verifier::new(
        recert_webhooks::Scheme::Stripe,
        vec![
            recert_webhooks::WebhookSecret::stripe("whsec_not-the-real-secret-0123456789").unwrap(),
        ],
    )
    .unwrap();
    let forged = webhook(
        &app,
        "evt_f",
        &order,
        12500,
        "usd",
        now_of("2026-03-01"),
        &forger,
    )
    .await;
    assert_eq!(forged.problem(401)["code"], "unauthorized");
    let stale_at = now_of("2026-03-01") - chrono::Duration::minutes(10);
    let stale = webhook(&app, "evt_s", &order, 12500, "usd", stale_at, &signer).await;
    assert_eq!(stale.problem(400)["code"], "stale_webhook");
    let unsigned = app
        .send(
            http::Request::post("/webhooks/payments")
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    unsigned.problem(401);
    // Nothing was applied.
    let list = app
        .get(&format!("/certifications/{cert}/submissions"), &token)
        .await;
    assert_eq!(list.ok(200)["items"][0]["status"], "awaiting_payment");
    assert!(
        list.body["items"][0]["payments"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Paid; the same event days later (the processor retries for days): applied once.
    webhook(
        &app,
        "evt_ok",
        &order,
        12500,
        "usd",
        now_of("2026-03-01"),
        &signer,
    )
    .await
    .ok(200);
    let later = TestApp::with_store("2026-03-05", app.store.clone());
    let replay = webhook(
        &later,
        "evt_ok",
        &order,
        12500,
        "usd",
        now_of("2026-03-05"),
        &signer,
    )
    .await;
    assert_eq!(replay.ok(200)["outcome"], "duplicate");
    let list = app
        .get(&format!("/certifications/{cert}/submissions"), &token)
        .await;
    assert_eq!(
        list.ok(200)["items"][0]["payments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // An event about an order we never issued: acknowledged, ignored.
    let unknown = webhook(
        &app,
        "evt_x",
        "INV-123",
        100,
        "usd",
        now_of("2026-03-01"),
        &signer,
    )
    .await;
    assert_eq!(unknown.ok(200)["outcome"], "ignored");
}

#[tokio::test]
async fn a_wrong_amount_is_flagged_a_withdrawn_submission_is_never_paid_and_staff_can_record_payment()
 {
    let app = TestApp::on("2026-03-01");
    let signer = recert_tests::harness::webhooks();
    let (cert, token) = certificant(&app, true).await;
    let url = format!("/certifications/{cert}/submissions");
    let s = app
        .post(&url, &token, submission(json!(true)))
        .await
        .ok(201)
        .clone();
    let (sid, order) = (
        s["id"].as_str().unwrap(),
        s["order_number"].as_str().unwrap(),
    );
    // Too little: recorded and flagged, not paid.
    webhook(
        &app,
        "evt_short",
        order,
        100,
        "usd",
        now_of("2026-03-01"),
        &signer,
    )
    .await
    .ok(200);
    let r = app.get(&format!("{url}/{sid}"), &token).await;
    assert_eq!(r.ok(200)["status"], "awaiting_payment");
    assert_eq!(r.body["payments"][0]["accepted"], false);
    assert!(r.body["flags"][0].as_str().unwrap().contains("125.00 USD"));
    // Staff record the cheque: in review.
    let reviewer = app.token(Role::Reviewer, "rev-1");
    let cheque = app
        .post(
            &format!("{url}/{sid}/payments"),
            &reviewer,
            json!({"reference": "cheque 1042", "amount_minor": 12500, "currency": "USD"}),
        )
        .await;
    assert_eq!(cheque.ok(200)["status"], "in_review");
    app.post(
        &format!("{url}/{sid}/payments"),
        &token,
        json!({"reference": "x", "amount_minor": 1, "currency": "USD"}),
    )
    .await
    .problem(403);

    // Another certificant withdraws, then a payment arrives: recorded, flagged, never accepted.
    let (cert2, token2) = certificant(&app, true).await;
    let url2 = format!("/certifications/{cert2}/submissions");
    let s2 = app
        .post(&url2, &token2, submission(json!(true)))
        .await
        .ok(201)
        .clone();
    let (sid2, order2) = (
        s2["id"].as_str().unwrap(),
        s2["order_number"].as_str().unwrap(),
    );
    let w = app
        .post(&format!("{url2}/{sid2}/withdraw"), &token2, json!({}))
        .await;
    assert_eq!(w.ok(200)["status"], "withdrawn");
    webhook(
        &app,
        "evt_late",
        order2,
        12500,
        "usd",
        now_of("2026-03-01"),
        &signer,
    )
    .await
    .ok(200);
    let r = app.get(&format!("{url2}/{sid2}"), &token2).await;
    assert_eq!(r.ok(200)["status"], "withdrawn");
    assert_eq!(r.body["payments"][0]["accepted"], false);
    assert!(!r.body["flags"].as_array().unwrap().is_empty());
    // Withdrawing unlocked the entries.
    app.log(
        &cert2,
        &token2,
        entry("After withdrawal", "society", 1, 0, "2025-01-01"),
    )
    .await;
}

#[tokio::test]
async fn two_reviewers_deciding_at_once_one_wins_and_a_return_lets_the_certificant_resubmit_without_paying_twice()
 {
    let app = TestApp::with_audit_share("2026-03-01", 0);
    app.commit_audit_period("2026-03").await;
    let (url, sid, _, _) = submitted(&app, Some("evt_1")).await;
    let (url2, sid2, order2, token2) = submitted(&app, Some("evt_2")).await;
    assert_eq!(app.run_job(Job::AuditDraw, "2026-03-01").await, (2, 2));
    let a = app.token(Role::Reviewer, "rev-a");
    let b = app.token(Role::Reviewer, "rev-b");
    let (approve_url, return_url) = (
        format!("{url}/{sid}/approve"),
        format!("{url}/{sid}/return"),
    );
    let (approve, ret) = tokio::join!(
        app.post(&approve_url, &a, json!({})),
        app.post(
            &return_url,
            &b,
            json!({"reasons": [{"reason": "The ethics certificate is unreadable"}]})
        ),
    );
    let statuses = [approve.status.as_u16(), ret.status.as_u16()];
    assert!(
        statuses.contains(&200) && statuses.contains(&409),
        "{statuses:?}"
    );
    let loser = if approve.status == 409 {
        &approve
    } else {
        &ret
    };
    assert_eq!(loser.body["code"], "not_in_review");
    // A third reviewer, later, whichever decision won: the same clear 409.
    let late = app.post(&approve_url, &a, json!({})).await;
    assert_eq!(late.problem(409)["code"], "not_in_review");

    // A second certification: returned, corrected, resubmitted, no second payment.
    let cert2 = url2
        .trim_start_matches("/certifications/")
        .trim_end_matches("/submissions")
        .to_owned();
    let returned = app
        .post(
            &format!("{url2}/{sid2}/return"),
            &a,
            json!({"reasons": [{"reason": "Add the provider's name"}]}),
        )
        .await;
    assert_eq!(returned.ok(200)["status"], "returned");
    app.log(
        &cert2,
        &token2,
        entry("Correction", "society", 1, 0, "2025-01-01"),
    )
    .await;
    let again = app.post(&url2, &token2, submission(json!(true))).await;
    let again = again.ok(201);
    assert_eq!(again["status"], "in_review");
    assert_eq!(again["order_number"], order2);
    let id2: CertificationId = cert2.parse().unwrap();
    let queued: Vec<Notice> = pending(app.store.as_ref(), id2)
        .await
        .into_iter()
        .map(|m| m.notice)
        .collect();
    assert!(queued.iter().any(|n| matches!(n, Notice::Returned(_))));
}
