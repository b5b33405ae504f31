#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    recert_api::lambda::run_router(providers::router()).await
}
