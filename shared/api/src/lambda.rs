//! The Lambda entry point every HTTP function's `main.rs` calls.

use crate::app::finish;
use crate::config::HttpConfig;
use crate::state::AppState;
use axum::Router;
use recert_app::App;
use recert_app::config::ProcessEnv;

pub use recert_app::init_tracing;

/// Read the configuration, build the application and the state once, then serve API Gateway
/// HTTP API events.
pub async fn run(routes: fn() -> Router<AppState>) -> Result<(), lambda_http::Error> {
    run_router(routes()).await
}

/// [`run`] for routes built with settings of their own (e.g. a webhook verifier).
pub async fn run_router(routes: Router<AppState>) -> Result<(), lambda_http::Error> {
    init_tracing(true);
    let config = HttpConfig::from_env(&ProcessEnv)?;
    let app = App::from_config(&config.core).await?;
    let state = config.state(app)?;
    lambda_http::run(finish(routes, state)).await
}
