//! A partner provider's 500-row batch through the real router (issue 14): the time of one batch
//! and the DynamoDB calls it makes, for rows spread over 10 certifications (50 each: two commits
//! per certification) and over 100 (5 each), then the same batch posted again (500 duplicates).
//! Each shape is measured over `RUNS` batches of fresh completion ids (median and worst).
//! `RECERT_DYNAMODB_ENDPOINT` selects DynamoDB Local besides the embedded store. Figures:
//! docs/performance.md, "A provider's 500-row batch".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use recert_domain::Role;
use recert_store::dynamodb::counts;
use recert_tests::contention::post_json;
use recert_tests::harness::Harness;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const RUNS: usize = 5;
const ROWS: usize = 500;

async fn register(app: &Harness) -> (String, String) {
    let id = format!("bench-{}", uuid::Uuid::now_v7().simple());
    post_json(
        &app.router,
        "/providers",
        &app.token(Role::Admin, "bench-admin"),
        json!({"id": id, "name": "Bench Learning", "category": "approved_provider",
               "approval": {"from": "2020-01-01", "until": "2030-12-31"},
               "contact": {"name": "Registrar", "email": "registrar@bench.example"}}),
    )
    .await;
    let token = app.token(Role::Provider, &id);
    (id, token)
}

fn batch(run: &str, numbers: &[String]) -> Value {
    let per = ROWS / numbers.len();
    let rows: Vec<Value> = (0..ROWS)
        .map(|i| {
            json!({"completion_id": format!("{run}-{i:04}"), "certificate_number": numbers[i / per],
                   "activity_id": "WEB-114", "title": "Interoperability in practice",
                   "completed_on": "2026-03-14", "hours_hundredths": 25})
        })
        .collect();
    json!({ "completions": rows })
}

/// One batch: its time, the DynamoDB calls it made, and the report.
async fn post(app: &Harness, path: &str, token: &str, body: Value) -> (Duration, String, Value) {
    if let Some(calls) = &app.calls {
        calls.reset();
    }
    let started = Instant::now();
    let report = post_json(&app.router, path, token, body).await;
    let took = started.elapsed();
    let calls = app.calls.as_ref().map_or(String::from("n/a"), |c| {
        let taken = c.take();
        let total: u64 = taken.iter().map(|o| o.calls).sum();
        let each: Vec<String> = counts(&taken)
            .into_iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect();
        format!("{total} ({})", each.join(", "))
    });
    (took, calls, report)
}

fn summary(mut took: Vec<Duration>) -> String {
    took.sort_unstable();
    format!(
        "median {:?}, worst {:?}",
        took[took.len() / 2],
        took[took.len() - 1]
    )
}

async fn measure(app: Harness, certifications: usize) {
    let mut numbers = Vec::with_capacity(certifications);
    for _ in 0..certifications {
        let (_, cert, _) = app.enrol_cphims().await;
        let req = http::Request::get(format!("/certifications/{cert}"))
            .header(
                "authorization",
                format!("Bearer {}", app.token(Role::Admin, "bench-admin")),
            )
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.router.clone().oneshot(req).await.unwrap();
        let bytes = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        let c: Value = serde_json::from_slice(&bytes).unwrap();
        numbers.push(c["certificate_number"].as_str().unwrap().to_owned());
    }
    let (provider, token) = register(&app).await;
    let path = format!("/providers/{provider}/completions");
    let (mut fresh, mut again) = (Vec::new(), Vec::new());
    let (mut fresh_calls, mut again_calls) = (String::new(), String::new());
    for run in 0..RUNS {
        let body = batch(&format!("R{run}"), &numbers);
        let (took, calls, report) = post(&app, &path, &token, body.clone()).await;
        assert_eq!(report["created"], ROWS, "{report}");
        fresh.push(took);
        fresh_calls = calls;
        let (took, calls, report) = post(&app, &path, &token, body).await;
        assert_eq!(report["duplicate"], ROWS, "{report}");
        again.push(took);
        again_calls = calls;
    }
    println!(
        "{:<18} 500 rows over {certifications:>3} certifications: new {} | calls {fresh_calls}",
        app.label,
        summary(fresh)
    );
    println!(
        "{:<18} 500 rows over {certifications:>3} certifications: again {} | calls {again_calls}",
        app.label,
        summary(again)
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    for certifications in [10, 100] {
        measure(Harness::embedded(), certifications).await;
        match Harness::dynamodb_local().await {
            Some(app) => measure(app, certifications).await,
            None => println!("DynamoDB Local: skipped (set RECERT_DYNAMODB_ENDPOINT)"),
        }
    }
}
