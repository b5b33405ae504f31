//! The functions as Lambda runs them: real API Gateway HTTP API (payload 2.0) events, turned into
//! requests by `lambda_http` exactly as the runtime does, through each function's own router.

use crate::helpers::*;
use http_body_util::BodyExt;
use recert_api::{AppState, finish};
use tower::ServiceExt;

fn event(
    fixture: &str,
    certification: &str,
    certificant: &str,
    token: &str,
) -> lambda_http::Request {
    let path = format!("{}/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("CERTIFICATION_ID", certification)
        .replace("CERTIFICANT_ID", certificant)
        .replace("TOKEN", token);
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{fixture}: {e}"))
}

async fn invoke(
    routes: fn() -> axum::Router<AppState>,
    state: AppState,
    req: lambda_http::Request,
) -> (u16, serde_json::Value) {
    let res = finish(routes(), state).oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

#[tokio::test]
async fn api_gateway_v2_events_reach_the_transcripts_and_eligibility_functions() {
    let app = TestApp::on("2026-05-01");
    let (person, cert, token) = app.enrol("CPHIMS", "2023-09-01", "2026-08-31").await;
    let state = app.state.clone();

    let (status, entry) = invoke(
        transcripts::router,
        state.clone(),
        event("apigw-v2-post-entry.json", &cert, &person, &token),
    )
    .await;
    assert_eq!(status, 201, "{entry:#}");
    assert_eq!(entry["hours_hundredths"], 300);
    // The same event again (a retried invocation): replayed, not logged twice.
    let (status, again) = invoke(
        transcripts::router,
        state.clone(),
        event("apigw-v2-post-entry.json", &cert, &person, &token),
    )
    .await;
    assert_eq!((status, &again["id"]), (201, &entry["id"]));

    let (status, report) = invoke(
        eligibility::router,
        state.clone(),
        event("apigw-v2-get-eligibility.json", &cert, &person, &token),
    )
    .await;
    assert_eq!(status, 200, "{report:#}");
    assert_eq!(
        report["eligibility"]["sets"][0]["requirements"][0]["counted_hundredths"],
        300
    );

    // Another function's route is not this function's: a 404 problem, not a crash.
    let (status, problem) = invoke(
        eligibility::router,
        state,
        event("apigw-v2-post-entry.json", &cert, &person, &token),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")));
}
