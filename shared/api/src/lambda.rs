//! The Lambda entry point every function's `main.rs` calls.

use crate::app::finish;
use crate::config::state_from_env;
use crate::state::AppState;
use axum::Router;

/// Logs go to stderr (CloudWatch in Lambda; stdout stays for command output locally), level from
/// `RUST_LOG` (default `info`), JSON in Lambda.
pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    if json {
        let _ = builder.json().without_time().try_init();
    } else {
        let _ = builder.try_init();
    }
}

/// Build the state once (clients, keys, rules), then serve API Gateway HTTP API events.
pub async fn run(routes: fn() -> Router<AppState>) -> Result<(), lambda_http::Error> {
    init_tracing(true);
    let state = state_from_env().await?;
    lambda_http::run(finish(routes(), state)).await
}
