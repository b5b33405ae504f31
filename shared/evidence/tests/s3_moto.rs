//! [`S3Evidence`] against moto's S3: a presigned upload PUT with the ticket's headers lands,
//! `stat` reports it (and `None` for an unknown key), and a presigned download GETs the same bytes
//! back, as an attachment.
//!
//! Moto does not enforce what a presigned URL signs (headers, checksum): that the URL signs
//! them is proven by the unit tests in `src/s3.rs`; this checks that the ticket works as handed
//! out.
//!
//! `RECERT_MOTO_ENDPOINT` names the server (`scripts/moto start` prints it). Without it these use
//! `http://127.0.0.1:5055` when something listens there, and otherwise they SKIP with a line on
//! stderr (so a bare `cargo test` works without python); with the variable set, an unreachable
//! server fails them. Each test makes its own bucket.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Utc;
use recert_evidence::s3::{EvidenceConfig, S3Evidence, local_client};
use recert_evidence::{EvidenceStore, EvidenceType, StoredObject, UploadSpec};
use sha2::{Digest, Sha256};
use std::time::Duration;

#[path = "../../test-support/moto.rs"]
mod moto;
use moto::endpoint;

/// A store on a fresh bucket.
async fn store(endpoint: &str) -> S3Evidence {
    let client = local_client(endpoint);
    let bucket = format!(
        "recert-evidence-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create_bucket on {endpoint}: {e:?}"));
    S3Evidence::new(client, EvidenceConfig { bucket })
}

#[tokio::test]
async fn a_presigned_upload_lands_stat_reports_it_and_a_download_reads_it() {
    let Some(endpoint) = endpoint().await else {
        return;
    };
    let store = store(&endpoint).await;
    let body = b"%PDF-1.7 certificate of attendance, 3 CE hours".repeat(100);
    let spec = UploadSpec {
        key: "evidence/0193a1b2/entry-1/certificate.pdf".into(),
        size: body.len() as u64,
        content_type: EvidenceType::Pdf,
        sha256: Sha256::digest(&body).into(),
    };
    assert_eq!(store.stat(&spec.key).await.unwrap(), None);

    let ticket = store
        .presign_upload(&spec, Utc::now(), Duration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(ticket.method, "PUT");
    assert!(ticket.url.starts_with(&endpoint), "{}", ticket.url);
    let mut request = ureq::put(&ticket.url);
    for (name, value) in &ticket.headers {
        request = request.header(name, value);
    }
    let response = request
        .send(&body[..])
        .unwrap_or_else(|e| panic!("PUT {}: {e}", ticket.url));
    assert_eq!(response.status(), 200);

    assert_eq!(
        store.stat(&spec.key).await.unwrap(),
        Some(StoredObject {
            size: body.len() as u64,
            content_type: "application/pdf".into(),
        })
    );
    assert_eq!(
        store
            .stat("evidence/0193a1b2/entry-1/missing.pdf")
            .await
            .unwrap(),
        None
    );

    let download = store
        .presign_download(&spec.key, Utc::now(), Duration::from_secs(300))
        .await
        .unwrap();
    assert!(download.url.starts_with(&endpoint), "{}", download.url);
    let mut response = ureq::get(&download.url)
        .call()
        .unwrap_or_else(|e| panic!("GET {}: {e}", download.url));
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("content-type").as_deref(), Some("application/pdf"));
    assert_eq!(header("content-disposition").as_deref(), Some("attachment"));
    let bytes = response
        .body_mut()
        .with_config()
        .limit(10 * 1024 * 1024)
        .read_to_vec()
        .unwrap();
    assert_eq!(bytes, body);
}

#[tokio::test]
async fn a_store_whose_client_is_built_on_first_use_reads_the_bucket() {
    let Some(endpoint) = endpoint().await else {
        return;
    };
    let writer = store(&endpoint).await;
    let key = "evidence/0193a1b2/entry-2/transcript.png";
    writer
        .client()
        .put_object()
        .bucket(writer.bucket())
        .key(key)
        .content_type("image/png")
        .body(b"\x89PNG not really".to_vec().into())
        .send()
        .await
        .unwrap();
    let config = EvidenceConfig {
        bucket: writer.bucket().to_owned(),
    };
    // What the audits function builds at a cold start: no client yet.
    let reader = S3Evidence::on_first_use(recert_aws::emulator(&endpoint), config);
    assert_eq!(
        reader.stat(key).await.unwrap(),
        Some(StoredObject {
            size: 15,
            content_type: "image/png".into(),
        })
    );
    assert_eq!(reader.stat("evidence/missing.png").await.unwrap(), None);
}
