#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let verifier = recert_webhooks::Verifier::from_env()?;
    recert_api::lambda::run_router(submissions::router_with(verifier)).await
}
