//! Concurrent writers on one certification (issue 8): adding entries commutes, so a lost race is
//! retried on fresh state instead of surfacing as a 409, and nothing acknowledged is ever lost.
//! Runs on both stores (`RECERT_TEST_STORE=dynamodb` for DynamoDB Local). The success rate and
//! latency under this load are measured by `benches/contention.rs` (docs/performance.md).

use crate::helpers::*;
use recert_tests::contention::post_concurrently;
use std::collections::BTreeSet;

const CLIENTS: usize = 16;
const PER_CLIENT: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_clients_posting_at_once_lose_nothing() {
    let app = TestApp::on("2026-05-01");
    let (_, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let report = post_concurrently(&app.router, &cert, &token, CLIENTS, PER_CLIENT).await;
    eprintln!(
        "contention | {} clients x {} POSTs | {:.1}% created, {} conflicts, p50 {:?}, p99 {:?}",
        CLIENTS,
        PER_CLIENT,
        report.success_rate(),
        report.conflicts.len(),
        report.latency(0.5),
        report.latency(0.99),
    );
    assert_eq!(report.attempted, CLIENTS * PER_CLIENT);
    assert!(
        report.other.is_empty(),
        "unexpected statuses {:?}",
        report.other
    );
    // A conflict may only say the certification was busy; it must never be a lost write.
    assert!(
        report.conflicts.iter().all(|c| c == "concurrent_update"),
        "{:?}",
        report.conflicts
    );
    // Every acknowledged entry is there, exactly once, and nothing else is.
    let mut stored = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/certifications/{cert}/entries?limit=100"),
            Some(c) => format!("/certifications/{cert}/entries?limit=100&cursor={c}"),
        };
        let page = app.get(&path, &token).await;
        let body = page.ok(200);
        for e in body["items"].as_array().unwrap() {
            assert!(
                stored.insert(e["id"].as_str().unwrap().to_owned()),
                "listed twice"
            );
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let acknowledged: BTreeSet<String> = report.created.iter().cloned().collect();
    assert_eq!(
        acknowledged.len(),
        report.created.len(),
        "an id acknowledged twice"
    );
    assert_eq!(
        stored, acknowledged,
        "acknowledged and stored entries differ"
    );
    // One history event per acknowledged command, after the issue: no command lost its record.
    let mut events = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/certifications/{cert}/history?limit=100"),
            Some(c) => format!("/certifications/{cert}/history?limit=100&cursor={c}"),
        };
        let page = app.get(&path, &token).await;
        let body = page.ok(200);
        events += body["events"].as_array().unwrap().len();
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(events, 1 + acknowledged.len());
}
