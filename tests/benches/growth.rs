//! GET eligibility as a certification's history grows (issue 8: its cost must stay flat). A
//! certification with 5 entries gets 10, 100 and 1,000 history events (replacing an entry again
//! and again, through the domain and the store); each size is measured over 100 GETs through the
//! real router: latency p50/p99 and, on DynamoDB Local, the read capacity one GET consumes.
//! `RECERT_DYNAMODB_ENDPOINT` selects DynamoDB Local besides the embedded store. Figures:
//! docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use recert_domain::Decide;
use recert_domain::model::entry::Activity;
use recert_domain::{Actor, CertificationId, EntryId};
use recert_tests::contention::post_json;
use recert_tests::harness::Harness;
use serde_json::json;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const SAMPLES: usize = 100;

async fn get(app: &Harness, path: &str, token: &str) -> Duration {
    let req = http::Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let started = Instant::now();
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert!(res.status().is_success());
    let _ = http_body_util::BodyExt::collect(res.into_body()).await;
    started.elapsed()
}

/// Add history events until the certification has `events` of them.
async fn grow_to(app: &Harness, id: CertificationId, actor: &Actor, entry: EntryId, events: usize) {
    loop {
        let aggregate = app.store.load(id).await.unwrap().unwrap();
        if aggregate.certification.version as usize >= events {
            return;
        }
        let mut activity: Activity = aggregate.entry(entry).unwrap().activity.clone();
        activity.title = format!("Revision {}", aggregate.certification.version);
        let now = chrono::Utc::now();
        let (_, changes) = aggregate
            .update_entry(
                &Decide::new(
                    &recert_domain::RuleBook::default_rules().versions()[0],
                    actor,
                    now,
                    uuid::Uuid::now_v7(),
                ),
                entry,
                activity,
            )
            .unwrap();
        app.store.commit(&changes).await.unwrap();
    }
}

async fn measure(app: Harness) {
    let (holder, cert_id, token) = app.enrol_cphims().await;
    let (holder, cert_id) = (holder.as_str(), cert_id.as_str());
    let mut first = None;
    for n in 0..5 {
        let e = post_json(&app.router, &format!("/certifications/{cert_id}/entries"), &token,
            json!({"title": format!("Course {n}"), "provider_name": "The Society", "provider_category": "society",
                   "completed_on": "2024-03-01", "hours_hundredths": 500})).await;
        first.get_or_insert(e["id"].as_str().unwrap().parse::<EntryId>().unwrap());
    }
    let id: CertificationId = cert_id.parse().unwrap();
    let actor = Actor::Certificant(holder.parse().unwrap());
    let path = format!("/certifications/{cert_id}/eligibility");
    for events in [10, 100, 1000] {
        grow_to(&app, id, &actor, first.unwrap(), events).await;
        let _ = get(&app, &path, &token).await; // warm
        if let Some(calls) = &app.calls {
            calls.reset();
        }
        let mut took: Vec<Duration> = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            took.push(get(&app, &path, &token).await);
        }
        took.sort_unstable();
        let rcu = app.calls.as_ref().map_or(String::from("n/a"), |c| {
            let total: f64 = c.take().iter().map(|o| o.capacity_units).sum();
            format!("{:.1}", total / SAMPLES as f64)
        });
        println!(
            "{:<18} {events:>5} history events: GET eligibility p50 {:?}, p99 {:?}, RCU per GET {rcu}",
            app.label,
            took[SAMPLES / 2],
            took[SAMPLES * 99 / 100],
        );
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    measure(Harness::embedded()).await;
    match Harness::dynamodb_local().await {
        Some(app) => measure(app).await,
        None => println!("DynamoDB Local: skipped (set RECERT_DYNAMODB_ENDPOINT)"),
    }
}
