//! A bug in a handler is a 500 problem document, and the service keeps answering.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http_body_util::BodyExt;
use recert_api::auth::Authenticator;
use recert_api::cursor::CursorCodec;
use recert_api::{AppState, finish};
use recert_app::App;
use recert_domain::{RuleBook, SystemClock};
use recert_store::sqlite::SqliteStore;
use std::sync::Arc;
use tower::ServiceExt;

async fn boom() -> &'static str {
    panic!("a bug")
}

#[tokio::test]
async fn a_panicking_handler_answers_500_problem_json_and_the_router_lives_on() {
    let state = AppState::new(
        App::new(
            Arc::new(SqliteStore::in_memory().unwrap()),
            RuleBook::default_rules(),
            Arc::new(SystemClock),
        ),
        Authenticator::hs256(&[7; 32], "i", "a").unwrap(),
        CursorCodec::new(b"k"),
    );
    let app: Router = finish(Router::new().route("/boom", get(boom)), state);
    let res = app
        .clone()
        .oneshot(http::Request::get("/boom").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["code"], "internal");
    assert!(
        !body.to_string().contains("a bug"),
        "the panic message is not sent"
    );
    let health = app
        .oneshot(http::Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
