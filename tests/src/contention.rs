//! Many clients adding entries to ONE certification at the same moment, through the real router:
//! the scenario behind the "0 lost" test (`tests/api/contention.rs`) and the success-rate
//! benchmark (`benches/contention.rs`, figures in docs/performance.md).

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// What the clients saw.
#[derive(Debug, Default)]
pub struct ContentionReport {
    /// POSTs sent.
    pub attempted: usize,
    /// Ids of the entries the API acknowledged (201).
    pub created: Vec<String>,
    /// 409 answers (their `code`s).
    pub conflicts: Vec<String>,
    /// Any other status.
    pub other: Vec<u16>,
    /// Time of each request, as its client saw it.
    pub latencies: Vec<Duration>,
}

impl ContentionReport {
    /// The share of POSTs acknowledged, in percent.
    pub fn success_rate(&self) -> f64 {
        if self.attempted == 0 {
            return 0.0;
        }
        100.0 * self.created.len() as f64 / self.attempted as f64
    }

    /// The latency at quantile `q` (0..=1).
    pub fn latency(&self, q: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let i = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
        sorted.get(i).copied().unwrap_or_default()
    }
}

fn entry_body(client: usize, n: usize) -> Value {
    json!({
        "title": format!("Client {client} course {n}"),
        "provider_name": "The Society",
        "provider_category": "society",
        "completed_on": "2024-03-01",
        "hours_hundredths": 100,
    })
}

/// POST `body` as JSON; the status and the JSON answer.
pub async fn post(router: &Router, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let Ok(req) = Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
    else {
        return (StatusCode::BAD_REQUEST, Value::Null);
    };
    let Ok(res) = router.clone().oneshot(req).await;
    let status = res.status();
    let bytes = res
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// `clients` concurrent clients each POST `per_client` entries, one after another, to
/// `/certifications/<certification>/entries` as `token`.
pub async fn post_concurrently(
    router: &Router,
    certification: &str,
    token: &str,
    clients: usize,
    per_client: usize,
) -> ContentionReport {
    let path = format!("/certifications/{certification}/entries");
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let (router, path, token) = (router.clone(), path.clone(), token.to_owned());
            tokio::spawn(async move {
                let mut seen = Vec::with_capacity(per_client);
                for n in 0..per_client {
                    let started = Instant::now();
                    let (status, body) = post(&router, &path, &token, entry_body(client, n)).await;
                    seen.push((status, body, started.elapsed()));
                }
                seen
            })
        })
        .collect();
    let mut report = ContentionReport::default();
    for task in tasks {
        for (status, body, took) in task.await.unwrap_or_default() {
            report.attempted += 1;
            report.latencies.push(took);
            match status {
                StatusCode::CREATED => report
                    .created
                    .push(body["id"].as_str().unwrap_or_default().to_owned()),
                StatusCode::CONFLICT => report
                    .conflicts
                    .push(body["code"].as_str().unwrap_or_default().to_owned()),
                other => report.other.push(other.as_u16()),
            }
        }
    }
    report
}

/// POST `body` as JSON and insist on success; the JSON answer (benchmark set-up).
pub async fn post_json(router: &Router, path: &str, token: &str, body: Value) -> Value {
    let (status, body) = post(router, path, token, body).await;
    assert!(status.is_success(), "POST {path}: {status} {body}");
    body
}
