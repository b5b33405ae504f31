//! The Lambda entry point every HTTP function's `main.rs` calls.
//!
//! Init does only what the first request needs (issue 15, cold start): the configuration (its
//! secrets read from Secrets Manager first when `<NAME>_ARN` variables name them, all in one
//! concurrent round trip: [`recert_app::secrets`]; `config_us` includes it), the rules, the store's client (no network call, no file read in Lambda: see [`recert_app::aws`]),
//! the token verifier and the router. How long each step took is logged once at `debug`
//! (`RUST_LOG=debug`, target `recert_init`), in microseconds since `main`'s first step;
//! `scripts/bench-init` reads it.

use crate::app::finish;
use crate::config::HttpConfig;
use crate::state::AppState;
use axum::Router;
use recert_app::App;
use recert_app::config::load_rules;
use recert_domain::SystemClock;
use std::sync::Arc;
use std::time::Instant;

pub use recert_app::init_tracing;

/// Read the configuration, build the application and the state once, then serve API Gateway
/// HTTP API events.
pub async fn run(routes: fn() -> Router<AppState>) -> Result<(), lambda_http::Error> {
    serve(Instant::now(), routes).await
}

/// [`run`] for routes built with settings of their own (e.g. a webhook verifier).
pub async fn run_router(routes: Router<AppState>) -> Result<(), lambda_http::Error> {
    serve(Instant::now(), || routes).await
}

async fn serve(
    started: Instant,
    routes: impl FnOnce() -> Router<AppState>,
) -> Result<(), lambda_http::Error> {
    let us = |since: Instant| since.elapsed().as_micros();
    init_tracing(true);
    let tracing_us = us(started);
    let config = HttpConfig::from_env(recert_app::secrets::environment().await?)?;
    let config_us = us(started);
    let rules = load_rules(config.core.rules_path.as_deref())?;
    let rules_us = us(started);
    let store = recert_app::open_store(&config.core.store).await?;
    let store_us = us(started);
    let state = config.state(App::new(store, rules, Arc::new(SystemClock)))?;
    let keys_us = us(started);
    let service = finish(routes(), state);
    let router_us = us(started);
    tracing::debug!(
        target: "recert_init",
        tracing_us,
        config_us,
        rules_us,
        store_us,
        keys_us,
        router_us,
        "init steps (cumulative)"
    );
    lambda_http::run(service).await
}
