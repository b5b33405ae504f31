//! Lambda entry point of the audit routes (see the library).

use recert_evidence::s3::{EvidenceConfig, S3Evidence, client};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = EvidenceConfig::from_env()?;
    let store = S3Evidence::new(client(recert_app::aws_sdk_config().await), config);
    let uploads = audits::EvidenceUploads::from_env(Arc::new(store))?;
    recert_api::lambda::run_router(audits::router_with(uploads)).await
}
