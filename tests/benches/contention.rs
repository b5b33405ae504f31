//! The success rate of concurrent writers on ONE certification (issue 8's target: ≥ 99 % of
//! 16 clients × 10 POSTs succeed, none lost), on the embedded store and — with
//! `RECERT_DYNAMODB_ENDPOINT` set — on DynamoDB Local. A plain benchmark binary: it prints the
//! rate and latency of several rounds (`cargo bench -p recert-tests --bench contention`);
//! the figures are in docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use recert_tests::contention::post_concurrently;
use recert_tests::harness::Harness;

const ROUNDS: usize = 5;
const CLIENTS: usize = 16;
const PER_CLIENT: usize = 10;

async fn measure(app: Harness) {
    let (mut attempted, mut created, mut conflicts, mut other) = (0, 0, 0, 0);
    let mut latencies = recert_tests::contention::ContentionReport::default();
    for _ in 0..ROUNDS {
        let (_, cert, token) = app.enrol_cphims().await;
        let r = post_concurrently(&app.router, &cert, &token, CLIENTS, PER_CLIENT).await;
        attempted += r.attempted;
        created += r.created.len();
        conflicts += r.conflicts.len();
        other += r.other.len();
        latencies.latencies.extend(r.latencies);
    }
    println!(
        "{:<18} {ROUNDS} rounds x {CLIENTS} clients x {PER_CLIENT} POSTs: {created}/{attempted} created ({:.2} %), {conflicts} 409, {other} other; latency p50 {:?}, p99 {:?}, max {:?}",
        app.label,
        100.0 * created as f64 / attempted as f64,
        latencies.latency(0.5),
        latencies.latency(0.99),
        latencies.latency(1.0),
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    measure(Harness::embedded()).await;
    match Harness::dynamodb_local().await {
        Some(app) => measure(app).await,
        None => println!("DynamoDB Local: skipped (set RECERT_DYNAMODB_ENDPOINT)"),
    }
}
