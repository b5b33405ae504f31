#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    recert_api::lambda::run(transcripts::router).await
}
