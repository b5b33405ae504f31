//! Lambda entry point of the audit routes (see the library).

use recert_evidence::s3::{EvidenceConfig, S3Evidence};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = EvidenceConfig::from_env()?;
    // The S3 client is built on the first request that needs it (an upload or a download URL, a
    // look for the file), not at the cold start.
    let sdk = recert_app::aws_sdk_config().await.clone();
    let store = S3Evidence::on_first_use(sdk, config);
    let uploads = audits::EvidenceUploads::from_env(Arc::new(store))?;
    recert_api::lambda::run_router(audits::router_with(uploads)).await
}
