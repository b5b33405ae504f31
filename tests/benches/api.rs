//! GET eligibility through the real router on the embedded store (in-process, SQLite in memory):
//! the whole request path — auth, one aggregate read, the engine, JSON — without a socket; and the
//! bearer token's verification alone, for each algorithm Recert accepts (the dev secret's HS256,
//! an issuer's RS256 and ES256), which every request pays.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use recert_api::Role;
use recert_api::auth::Authenticator;
use recert_domain::{FixedClock, RuleBook};
use recert_store::sqlite::SqliteStore;
use serde_json::json;
use std::sync::Arc;
use tower::ServiceExt;

const SECRET: &[u8] = b"bench-only-secret-0123456789abcdef-not-used-elsewhere";

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
}

/// A CPHIMS-CA certification with `n` entries; returns the app, the path and a certificant token.
async fn setup(n: usize) -> (axum::Router, String, String) {
    let today = "2026-05-01".parse().unwrap();
    let state = recert_local::state_with(
        Arc::new(SqliteStore::in_memory().unwrap()),
        SECRET,
        RuleBook::default_rules(),
        Arc::new(FixedClock::on(today)),
    )
    .unwrap();
    let (evidence, _) = recert_tests::harness::evidence(state.app.clock.clone());
    let app = recert_local::app(state, recert_tests::harness::webhooks(), evidence);
    let auth = Authenticator::hs256(SECRET, "recert-local", "recert").unwrap();
    let now = chrono::Utc::now().timestamp();
    let admin = auth.mint("admin", Role::Admin, now, 3600).unwrap();
    let person = call(
        &app,
        "POST",
        "/certificants",
        &admin,
        Some(json!({"email": "b@example.org", "full_name": "B", "membership": "member"})),
    )
    .await;
    let cert = call(
        &app,
        "POST",
        "/certifications",
        &admin,
        Some(json!({"certificant_id": person["id"], "credential": "CPHIMS-CA", "certificate_number": "B-1", "initial_certification_date": "2023-09-01", "expires_on": "2026-08-31"})),
    )
    .await;
    let cert_id = cert["id"].as_str().unwrap().to_string();
    let categories = [
        "society",
        "approved_provider",
        "digital_health_canada",
        "other",
    ];
    for i in 0..n {
        let body = json!({
            "title": format!("Activity {i}"),
            "provider_name": "Provider",
            "provider_category": categories[i % 4],
            "canadian_content": i % 3 == 0,
            "completed_on": format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
            "hours_hundredths": 25 + (i % 7) * 50,
            "ethics_hours_hundredths": if i % 5 == 0 { 25 } else { 0 },
        });
        call(
            &app,
            "POST",
            &format!("/certifications/{cert_id}/entries"),
            &admin,
            Some(body),
        )
        .await;
    }
    let me = auth
        .mint(person["id"].as_str().unwrap(), Role::Certificant, now, 3600)
        .unwrap();
    (app, format!("/certifications/{cert_id}/eligibility"), me)
}

fn get_eligibility(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("get_eligibility_router_sqlite");
    for n in [10usize, 100] {
        let (app, path, token) = rt.block_on(setup(n));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.to_async(&rt)
                .iter(|| call(&app, "GET", &path, &token, None));
        });
    }
    group.finish();
}

/// The auth tests' throwaway issuer keys (shared/api/tests/fixtures/README.md).
const JWKS: &str = include_str!("../../shared/api/tests/fixtures/test-only-jwks.json");
const RSA: &str = include_str!("../../shared/api/tests/fixtures/test-only-rsa.pem");
const EC: &str = include_str!("../../shared/api/tests/fixtures/test-only-ec.pem");

fn verify_bearer_token(c: &mut Criterion) {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let dev = Authenticator::hs256(SECRET, "recert-local", "recert").unwrap();
    let hs256 = dev.mint("admin", Role::Admin, now, 3600).unwrap();
    let issuer = Authenticator::from_jwks(JWKS, "https://issuer.example", "recert").unwrap();
    let claims = recert_api::auth::Claims {
        sub: "u-1".into(),
        role: Role::Reviewer,
        iss: "https://issuer.example".into(),
        aud: "recert".into(),
        iat: now,
        exp: now + 3600,
    };
    let signed = |alg, kid: &str, key: EncodingKey| {
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        encode(&header, &claims, &key).unwrap()
    };
    let rs256 = signed(
        Algorithm::RS256,
        "test-rsa",
        EncodingKey::from_rsa_pem(RSA.as_bytes()).unwrap(),
    );
    let es256 = signed(
        Algorithm::ES256,
        "test-ec",
        EncodingKey::from_ec_pem(EC.as_bytes()).unwrap(),
    );
    let mut group = c.benchmark_group("verify_bearer_token");
    for (name, auth, token) in [
        ("HS256", &dev, &hs256),
        ("RS256", &issuer, &rs256),
        ("ES256", &issuer, &es256),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(auth.verify(token)).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, get_eligibility, verify_bearer_token);
criterion_main!(benches);
