//! The call budget on DynamoDB: a read of a certification is its root (`GetItem`, read first so a
//! load never mixes versions) plus ONE `Query` (the current cycle's working set, or a history
//! page); a certification alone is its root; every write command is that load plus ONE
//! `TransactWriteItems`. Other reads are one call. Counted by the SDK
//! interceptor of the app's client around each request; the consumed capacity of each is printed
//! (it is recorded in docs/performance.md, "DynamoDB calls and capacity"). Runs only with
//! `RECERT_TEST_STORE=dynamodb` (scripts/test-all sets it for its second API run).

use crate::helpers::*;
use axum::body::Body;
use http::{Request, header};
use recert_store::dynamodb::OperationCalls;
use serde_json::{Value, json};

fn skip() -> bool {
    if !on_dynamodb() {
        // Not captured by libtest, so the skip shows.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: the call budget is a DynamoDB property; set RECERT_TEST_STORE=dynamodb"
        );
    }
    !on_dynamodb()
}

/// Send one request, return its reply and the DynamoDB operations it made.
async fn counted(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (Reply, Vec<OperationCalls>) {
    let calls = app
        .calls
        .as_ref()
        .unwrap_or_else(|| panic!("not on DynamoDB"));
    calls.reset();
    let reply = app.call(method, path, Some(token), body).await;
    (reply, calls.take())
}

#[track_caller]
fn assert_budget(label: &str, calls: &[OperationCalls], expected: &[(&str, u64)]) {
    let got: Vec<(&str, u64)> = calls
        .iter()
        .map(|c| (c.operation.as_str(), c.calls))
        .collect();
    assert_eq!(got, expected, "{label}: {calls:?}");
    let retried: Vec<_> = calls.iter().filter(|c| c.attempts != c.calls).collect();
    assert!(retried.is_empty(), "{label}: retried {retried:?}");
    let capacity: Vec<String> = calls
        .iter()
        .map(|c| format!("{} {:.1} CU", c.operation, c.capacity_units))
        .collect();
    eprintln!("call budget | {label} | {}", capacity.join(" + "));
}

#[tokio::test]
async fn every_read_is_the_root_plus_one_query_and_every_write_adds_one_transaction() {
    if skip() {
        return;
    }
    let app = TestApp::on("2026-05-01");
    let admin = app.admin();
    let (person, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let base = format!("/certifications/{cert}");
    let entries = format!("{base}/entries");
    let mut ids = Vec::new();
    for n in 0..10 {
        let e = app
            .log(
                &cert,
                &token,
                entry(&format!("Course {n}"), "society", 2, 0, "2024-03-01"),
            )
            .await;
        ids.push(e["id"].as_str().unwrap_or_default().to_string());
    }
    let one = format!("{entries}/{}", ids[0]);

    // Writes: the load (root + working set) + one TransactWriteItems.
    let write = [("GetItem", 1), ("Query", 1), ("TransactWriteItems", 1)];
    let (r, calls) = counted(
        &app,
        "POST",
        &entries,
        &token,
        Some(entry("Posted", "society", 1, 0, "2024-04-01")),
    )
    .await;
    r.ok(201);
    assert_budget("POST entry (10 entries)", &calls, &write);

    let keyed = Request::builder()
        .method("POST")
        .uri(&entries)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", "budget-1")
        .body(Body::from(
            entry("Keyed", "society", 1, 0, "2024-04-02").to_string(),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let calls_ref = app
        .calls
        .as_ref()
        .unwrap_or_else(|| panic!("not on DynamoDB"));
    calls_ref.reset();
    app.send(keyed).await.ok(201);
    assert_budget("POST entry with Idempotency-Key", &calls_ref.take(), &write);

    let (r, calls) = counted(
        &app,
        "PUT",
        &one,
        &token,
        Some(entry("Replaced", "society", 3, 1, "2024-03-02")),
    )
    .await;
    r.ok(200);
    assert_budget("PUT entry", &calls, &write);

    let (r, calls) = counted(
        &app,
        "DELETE",
        &format!("{entries}/{}", ids[1]),
        &token,
        None,
    )
    .await;
    r.ok(204);
    assert_budget("DELETE entry", &calls, &write);

    // Reads: the root, then one Query.
    let load = [("GetItem", 1), ("Query", 1)];
    for (label, path) in [
        ("GET eligibility", format!("{base}/eligibility")),
        ("GET entries", entries.clone()),
        ("GET entries?limit=5", format!("{entries}?limit=5")),
        ("GET entry", one.clone()),
        ("GET history", format!("{base}/history")),
        ("GET history?limit=3", format!("{base}/history?limit=3")),
    ] {
        let (r, calls) = counted(&app, "GET", &path, &token, None).await;
        r.ok(200);
        assert_budget(label, &calls, &load);
    }
    let (r, calls) = counted(&app, "GET", &base, &token, None).await;
    r.ok(200);
    assert_budget(
        "GET certification (the root alone)",
        &calls,
        &[("GetItem", 1)],
    );
    let (r, calls) = counted(
        &app,
        "POST",
        &format!("{base}/eligibility/what-if"),
        &token,
        Some(json!({"entries": [entry("Planned", "other", 20, 0, "2026-06-01")]})),
    )
    .await;
    r.ok(200);
    assert_budget("POST what-if (a read)", &calls, &load);

    let (r, calls) = counted(
        &app,
        "GET",
        &format!("/certificants/{person}"),
        &admin,
        None,
    )
    .await;
    r.ok(200);
    assert_budget("GET certificant", &calls, &[("GetItem", 1)]);
    let (r, calls) = counted(
        &app,
        "GET",
        &format!("/certificants/{person}/certifications"),
        &admin,
        None,
    )
    .await;
    r.ok(200);
    assert_budget(
        "GET certificant's certifications (GSI1)",
        &calls,
        &[("Query", 1)],
    );

    // Creating commands: no aggregate to load.
    let (r, calls) = counted(
        &app,
        "POST",
        "/certificants",
        &admin,
        Some(json!({"email": "budget@example.org", "full_name": "Budget Person", "membership": "member"})),
    )
    .await;
    let other = r.ok(201)["id"].as_str().unwrap_or_default().to_string();
    eprintln!("POST /certificants: {calls:?}");
    assert_budget("POST certificant", &calls, &[("TransactWriteItems", 1)]);
    let (r, calls) = counted(
        &app,
        "POST",
        "/certifications",
        &admin,
        Some(json!({
            "certificant_id": other,
            "credential": "CPHIMS",
            "certificate_number": "CPHIMS-BUDGET-1",
            "initial_certification_date": "2024-01-01",
            "expires_on": "2027-12-31",
        })),
    )
    .await;
    r.ok(201);
    eprintln!("POST /certifications: {calls:?}");
    assert_budget(
        "POST certification",
        &calls,
        &[("GetItem", 1), ("TransactWriteItems", 1)],
    );
}

/// A staff command that emails the holder (here: recording an exam pass) first reads the root
/// (may the caller see it, whose is it) and the holder (the recipient), then runs as every write:
/// the load and one transaction, the email's outbox item in it.
#[tokio::test]
async fn recording_an_exam_pass_reads_the_root_and_the_holder_then_writes_once() {
    if skip() {
        return;
    }
    let app = TestApp::on("2026-05-01");
    let (_, cert, _) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let (r, calls) = counted(
        &app,
        "POST",
        &format!("/certifications/{cert}/exam-passes"),
        &app.admin(),
        Some(json!({"passed_on": "2026-04-15", "reference": "EXAM-BUDGET-1"})),
    )
    .await;
    assert_eq!(r.ok(200)["outcome"], "renewed");
    assert_budget(
        "POST exam pass",
        &calls,
        &[("GetItem", 3), ("Query", 1), ("TransactWriteItems", 1)],
    );
}

/// The daily audit draw: a few calls per run (the ledger's listing for reveals, this period, the
/// next and the previous one, both logs, the queue, the append) and five per judged submission
/// (its certificant for the notice; the command's root, working set and commit).
#[tokio::test]
async fn the_audit_draw_costs_five_calls_per_submission_and_a_few_per_run() {
    use recert_app::jobs::Job;
    if skip() {
        return;
    }
    let app = TestApp::with_audit_share("2026-03-01", 10);
    app.commit_audit_period("2026-03").await;
    for _ in 0..3 {
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
                json!({"attestation": true, "billing_address": {"name": "A", "line1": "1 Road",
                    "city": "Town", "postal_code": "1", "country": "GB"}}),
            )
            .await;
        let sid = s.ok(201)["id"].as_str().unwrap().to_owned();
        app.post(
            &format!("/certifications/{cert}/submissions/{sid}/payments"),
            &app.token(recert_domain::Role::Reviewer, "rev"),
            json!({"reference": "cheque", "amount_minor": 12500, "currency": "USD"}),
        )
        .await
        .ok(200);
    }
    let calls = app.calls.as_ref().unwrap();
    let count = |calls: &[OperationCalls]| {
        let mut by: Vec<(String, u64)> = calls
            .iter()
            .map(|c| (c.operation.clone(), c.calls))
            .collect();
        by.sort();
        by
    };
    // The first run of the month (March committed on 28 February): the ledger's listing (for
    // reveals), March, April (created: a conditional PutItem) and February (GetItem each), both
    // logs and the queue (Query each), the append (TransactWriteItems); then 3 × (certification
    // root and certificant for the notice; root, working set, commit).
    calls.reset();
    assert_eq!(app.run_job(Job::AuditDraw, "2026-03-01").await, (3, 3));
    let first = calls.take();
    eprintln!("call budget | audit draw, 3 submissions, first run of the month | {first:?}");
    assert_eq!(
        count(&first),
        [
            ("GetItem".to_owned(), 3 + 3 * 3),
            ("PutItem".to_owned(), 1),
            ("Query".to_owned(), 4 + 3),
            ("TransactWriteItems".to_owned(), 1 + 3),
        ]
    );
    // A rerun that day: the periods exist, the record is reused, the queue is empty.
    calls.reset();
    assert_eq!(app.run_job(Job::AuditDraw, "2026-03-01").await, (3, 0));
    assert_eq!(
        count(&calls.take()),
        [("GetItem".to_owned(), 3), ("Query".to_owned(), 4)]
    );
}
