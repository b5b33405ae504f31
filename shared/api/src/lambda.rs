//! The Lambda entry point every HTTP function's `main.rs` calls.

use crate::app::finish;
use crate::config::HttpConfig;
use crate::state::AppState;
use axum::Router;
use recert_app::App;
use recert_app::config::ProcessEnv;

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

/// Read the configuration, build the application and the state once, then serve API Gateway
/// HTTP API events.
pub async fn run(routes: fn() -> Router<AppState>) -> Result<(), lambda_http::Error> {
    init_tracing(true);
    let config = HttpConfig::from_env(&ProcessEnv)?;
    let app = App::from_config(&config.core).await?;
    let state = config.state(app)?;
    lambda_http::run(finish(routes(), state)).await
}
