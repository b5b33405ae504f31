use recert_app::config::Env;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // The environment with its secrets resolved (once per process, shared with the HTTP config).
    let env = recert_app::secrets::environment().await?;
    let verifier = recert_webhooks::Verifier::from_lookup(|var| Ok(env.var(var)))?;
    recert_api::lambda::run_router(submissions::router_with(verifier)).await
}
