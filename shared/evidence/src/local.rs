//! The local-development adapter: [`EvidenceStore`] on a folder, with its own signed upload URLs
//! served by [`upload_router`] (feature `local`).
//!
//! [`LocalEvidence::presign_upload`] hands out
//! `PUT {base_url}/dev/evidence/{key}?size=…&type=…&sha256=…&expires=…&signature=…` with the same
//! three headers as S3 (`content-length`, `content-type`, `x-amz-checksum-sha256`). The query
//! repeats what was declared so that the route can tell a tampered URL from a wrong upload;
//! `signature` is the hex HMAC-SHA256, under the store's signing key, of
//! `key|size|mime|sha256 hex|expires` (`expires` in Unix seconds).
//!
//! The route answers, with a problem document (`application/problem+json`):
//! - 403 when the signature does not verify (`signature_invalid`) or the URL has expired
//!   (`url_expired`);
//! - 400 when the key is not a store key (`invalid_key`: `..`, absolute paths and the like are
//!   refused before anything else), when `Content-Length`, `Content-Type` or
//!   `x-amz-checksum-sha256` differ from the signed values (`header_mismatch`), when the body is
//!   not exactly the declared size (`size_mismatch`; never more than that is read) or its SHA-256
//!   is not the declared one (`checksum_mismatch`);
//! - 200 (empty) once the file is stored. Uploading the same file again is fine.
//!
//! Files live at `{dir}/{key}` with a sidecar `{dir}/{key}.meta.json` (`{"size", "content_type"}`)
//! that [`EvidenceStore::stat`] reads; both are written under `{dir}/.tmp/` and renamed, the
//! sidecar last, so a stat never sees half an upload. Keys whose last segment ends in
//! `.meta.json` are refused (they would collide with a sidecar).

use crate::{
    CHECKSUM_SHA256, EvidenceError, EvidenceStore, StoredObject, UploadSpec, UploadTicket, capped,
    check_key, expiry, hex,
};
use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where [`upload_router`] receives uploads: `PUT {UPLOAD_PATH}/{key}`.
pub const UPLOAD_PATH: &str = "/dev/evidence";

/// The suffix of a file's sidecar.
const META_SUFFIX: &str = ".meta.json";
/// The folder (under the store's) where files are written before being renamed into place.
const TMP_DIR: &str = ".tmp";

/// What the sidecar records.
#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    size: u64,
    content_type: String,
}

/// [`EvidenceStore`] on a folder, signing its own upload URLs. Its `Debug` leaves the key out.
pub struct LocalEvidence {
    dir: PathBuf,
    base_url: String,
    signing_key: Vec<u8>,
    /// What "now" is when an upload arrives (the server's clock, which may run as of a date).
    clock: Clock,
}

/// The current instant, as the server that mounts the uploads sees it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

impl fmt::Debug for LocalEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEvidence")
            .field("dir", &self.dir)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl LocalEvidence {
    /// A store in `dir` (created on the first upload) whose URLs start with `base_url` (the
    /// server that mounts [`upload_router`], e.g. `http://127.0.0.1:3000`), signed with
    /// `signing_key`.
    pub fn new(dir: PathBuf, base_url: String, signing_key: Vec<u8>) -> LocalEvidence {
        let base_url = base_url.trim_end_matches('/').to_owned();
        LocalEvidence {
            dir,
            base_url,
            signing_key,
            clock: Arc::new(Utc::now),
        }
    }

    /// The same store judging URL expiry by `clock` (a server running as of a date signs URLs
    /// with its own clock, so it must check them with it).
    pub fn with_clock(mut self, clock: Clock) -> LocalEvidence {
        self.clock = clock;
        self
    }

    /// The folder.
    pub fn dir(&self) -> &FsPath {
        &self.dir
    }

    /// The MAC of one upload's signed values.
    fn mac(
        &self,
        key: &str,
        size: u64,
        mime: &str,
        sha256_hex: &str,
        expires: i64,
    ) -> Hmac<Sha256> {
        // HMAC takes keys of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.signing_key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(format!("{key}|{size}|{mime}|{sha256_hex}|{expires}").as_bytes());
        mac
    }

    /// Where `key`'s file is (the key checked).
    fn file(&self, key: &str) -> Result<PathBuf, EvidenceError> {
        check_local_key(key)?;
        Ok(self.dir.join(key))
    }
}

/// [`check_key`], and no sidecar-like last segment.
fn check_local_key(key: &str) -> Result<(), EvidenceError> {
    check_key(key)?;
    if key.ends_with(META_SUFFIX) {
        return Err(EvidenceError::InvalidKey {
            key: key.to_owned(),
            reason: "ends with `.meta.json`, which the local store keeps for its sidecars",
        });
    }
    Ok(())
}

/// `{file}.meta.json`.
fn sidecar(file: &FsPath) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(META_SUFFIX);
    PathBuf::from(name)
}

fn io_error(e: std::io::Error) -> EvidenceError {
    EvidenceError::Backend(Box::new(e))
}

#[async_trait]
impl EvidenceStore for LocalEvidence {
    async fn presign_upload(
        &self,
        spec: &UploadSpec,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<UploadTicket, EvidenceError> {
        spec.check()?;
        check_local_key(&spec.key)?;
        let expires_at = expiry(now, capped(ttl));
        let expires = expires_at.timestamp();
        let mime = spec.content_type.mime();
        let sha256 = spec.sha256_hex();
        let signature = hex(&self
            .mac(&spec.key, spec.size, mime, &sha256, expires)
            .finalize()
            .into_bytes());
        let url = format!(
            "{base}{UPLOAD_PATH}/{key}?size={size}&type={mime}&sha256={sha256}&expires={expires}&signature={signature}",
            base = self.base_url,
            key = spec.key,
            size = spec.size,
            mime = mime.replace('/', "%2F"),
        );
        Ok(UploadTicket {
            method: "PUT".into(),
            url,
            headers: spec.headers(),
            // Whole seconds, as signed.
            expires_at: DateTime::from_timestamp(expires, 0).unwrap_or(expires_at),
        })
    }

    async fn stat(&self, key: &str) -> Result<Option<StoredObject>, EvidenceError> {
        let meta = match tokio::fs::read(sidecar(&self.file(key)?)).await {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(e)),
        };
        let meta: Meta =
            serde_json::from_slice(&meta).map_err(|e| EvidenceError::Backend(Box::new(e)))?;
        Ok(Some(StoredObject {
            size: meta.size,
            content_type: meta.content_type,
        }))
    }
}

/// The route receiving uploads: `PUT /dev/evidence/{*key}` (see the module documentation). It
/// reads at most the signed size of a body, whatever the router's own limit.
pub fn upload_router(store: Arc<LocalEvidence>) -> Router {
    Router::new()
        .route(&format!("{UPLOAD_PATH}/{{*key}}"), put(upload))
        .with_state(store)
}

/// The signed values and signature an upload URL carries.
#[derive(Debug, Deserialize)]
struct Signed {
    size: u64,
    #[serde(rename = "type")]
    content_type: String,
    sha256: String,
    expires: i64,
    signature: String,
}

/// A refused upload, as a problem document.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    detail: String,
}

fn refuse(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code,
        detail: detail.into(),
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error").to_owned();
        let body = serde_json::json!({
            "type": format!("urn:recert:problem:{}", self.code),
            "title": title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code,
        });
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

async fn upload(
    State(store): State<Arc<LocalEvidence>>,
    key: Result<Path<String>, PathRejection>,
    signed: Result<Query<Signed>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match receive(&store, key, signed, &headers, body).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn receive(
    store: &LocalEvidence,
    key: Result<Path<String>, PathRejection>,
    signed: Result<Query<Signed>, QueryRejection>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(), Refusal> {
    let bad_request = |code, detail: String| refuse(StatusCode::BAD_REQUEST, code, detail);
    let Path(key) = key.map_err(|e| bad_request("invalid_key", e.body_text()))?;
    let file = store
        .file(&key)
        .map_err(|e| bad_request("invalid_key", e.to_string()))?;

    // The URL: ours, and still valid.
    let forbidden = |code, detail: &str| refuse(StatusCode::FORBIDDEN, code, detail);
    let Query(signed) = signed.map_err(|_| {
        forbidden(
            "signature_invalid",
            "the upload URL lacks its signed parameters",
        )
    })?;
    let signature = unhex(&signed.signature)
        .ok_or_else(|| forbidden("signature_invalid", "the signature is not hex"))?;
    store
        .mac(
            &key,
            signed.size,
            &signed.content_type,
            &signed.sha256,
            signed.expires,
        )
        .verify_slice(&signature)
        .map_err(|_| forbidden("signature_invalid", "the signature does not match the URL"))?;
    if (store.clock)().timestamp() > signed.expires {
        return Err(forbidden("url_expired", "the upload URL has expired"));
    }

    // The headers: exactly what was signed.
    let expected_checksum = unhex(&signed.sha256)
        .map(|bytes| BASE64.encode(bytes))
        .unwrap_or_default();
    for (name, expected) in [
        (header::CONTENT_LENGTH.as_str(), signed.size.to_string()),
        (header::CONTENT_TYPE.as_str(), signed.content_type.clone()),
        (CHECKSUM_SHA256, expected_checksum),
    ] {
        let sent = headers.get(name).and_then(|v| v.to_str().ok());
        if sent != Some(expected.as_str()) {
            return Err(bad_request(
                "header_mismatch",
                format!("{name} must be {expected:?} as signed, not {sent:?}"),
            ));
        }
    }

    // The body: the declared size (never reading more) and checksum.
    let limit = usize::try_from(signed.size).unwrap_or(usize::MAX);
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        bad_request(
            "size_mismatch",
            format!("the body is longer than the declared {} bytes", signed.size),
        )
    })?;
    if bytes.len() != limit {
        return Err(bad_request(
            "size_mismatch",
            format!(
                "the body has {} bytes, not the declared {}",
                bytes.len(),
                signed.size
            ),
        ));
    }
    if hex(&Sha256::digest(&bytes)) != signed.sha256 {
        return Err(bad_request(
            "checksum_mismatch",
            "the body's SHA-256 is not the declared one".into(),
        ));
    }

    let meta = Meta {
        size: signed.size,
        content_type: signed.content_type,
    };
    store_file(&store.dir, &file, &bytes, &meta)
        .await
        .map_err(|e| {
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                format!("storing the file failed: {e}"),
            )
        })
}

/// Writes the file then its sidecar, each through a temporary file and a rename.
async fn store_file(dir: &FsPath, file: &FsPath, bytes: &[u8], meta: &Meta) -> std::io::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp_dir = dir.join(TMP_DIR);
    tokio::fs::create_dir_all(&tmp_dir).await?;
    if let Some(parent) = file.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let meta = serde_json::to_vec(meta)?;
    for (path, contents) in [(file.to_path_buf(), bytes), (sidecar(file), &meta[..])] {
        let tmp = tmp_dir.join(format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        tokio::fs::write(&tmp, contents).await?;
        tokio::fs::rename(&tmp, &path).await?;
    }
    Ok(())
}

/// Bytes from hex (either case), `None` when it is not hex.
fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::EvidenceType;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    const PDF: &[u8] = b"%PDF-1.7 a certificate of attendance";

    /// A store in a fresh temporary folder, removed when dropped.
    #[derive(Debug)]
    struct Fixture(Arc<LocalEvidence>);

    impl std::ops::Deref for Fixture {
        type Target = Arc<LocalEvidence>;
        fn deref(&self) -> &Arc<LocalEvidence> {
            &self.0
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.0.dir());
        }
    }

    fn store(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!(
            "recert-evidence-{}-{name}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        Fixture(Arc::new(LocalEvidence::new(
            dir,
            "http://127.0.0.1:3000/".into(),
            b"dev-secret".to_vec(),
        )))
    }

    fn spec(key: &str, body: &[u8], content_type: EvidenceType) -> UploadSpec {
        UploadSpec {
            key: key.into(),
            size: body.len() as u64,
            content_type,
            sha256: Sha256::digest(body).into(),
        }
    }

    async fn ticket(store: &LocalEvidence, spec: &UploadSpec) -> UploadTicket {
        store
            .presign_upload(spec, Utc::now(), Duration::from_secs(900))
            .await
            .unwrap()
    }

    /// PUTs `body` to the ticket's URL (made relative) with `headers`.
    async fn put_with(
        store: &Arc<LocalEvidence>,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> (StatusCode, serde_json::Value) {
        let path = url.strip_prefix("http://127.0.0.1:3000").unwrap_or(url);
        let mut request = Request::builder().method(Method::PUT).uri(path);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = upload_router(Arc::clone(store))
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        if status != StatusCode::OK {
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "application/problem+json"
            );
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, json)
    }

    async fn put(
        store: &Arc<LocalEvidence>,
        ticket: &UploadTicket,
        body: &[u8],
    ) -> (StatusCode, serde_json::Value) {
        let headers: Vec<_> = ticket
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        put_with(store, &ticket.url, &headers, body.to_vec()).await
    }

    /// The ticket's headers with `name` set to `value`.
    fn headers_with(ticket: &UploadTicket, name: &str, value: &str) -> Vec<(String, String)> {
        let mut headers = ticket.headers.clone();
        headers.insert(name.into(), value.into());
        headers.into_iter().collect()
    }

    #[tokio::test]
    async fn a_good_upload_is_stored_and_stat_sees_it() {
        let store = store("good");
        let spec = spec("evidence/c1/e1/scan.pdf", PDF, EvidenceType::Pdf);
        assert_eq!(store.stat(&spec.key).await.unwrap(), None);
        let ticket = ticket(&store, &spec).await;
        assert_eq!(ticket.method, "PUT");
        assert!(
            ticket
                .url
                .starts_with("http://127.0.0.1:3000/dev/evidence/evidence/c1/e1/scan.pdf?size="),
            "{}",
            ticket.url
        );
        assert_eq!(ticket.headers, spec.headers());

        assert_eq!(put(&store, &ticket, PDF).await.0, StatusCode::OK);
        let stored = store.stat(&spec.key).await.unwrap().unwrap();
        assert_eq!(
            stored,
            StoredObject {
                size: PDF.len() as u64,
                content_type: "application/pdf".into()
            }
        );
        assert_eq!(std::fs::read(store.dir().join(&spec.key)).unwrap(), PDF);

        // The same upload again is fine.
        assert_eq!(put(&store, &ticket, PDF).await.0, StatusCode::OK);
        assert_eq!(store.stat(&spec.key).await.unwrap(), Some(stored));
        assert_eq!(store.stat("evidence/c1/e1/other.pdf").await.unwrap(), None);
    }

    #[tokio::test]
    async fn headers_must_be_the_signed_ones() {
        let store = store("headers");
        let spec = spec("k/scan.png", PDF, EvidenceType::Png);
        let ticket = ticket(&store, &spec).await;
        let other_sum = BASE64.encode(Sha256::digest(b"something else"));
        for (name, value) in [
            ("content-length", "1"),
            ("content-type", "image/jpeg"),
            ("x-amz-checksum-sha256", other_sum.as_str()),
        ] {
            let headers = headers_with(&ticket, name, value);
            let (status, problem) = put_with(&store, &ticket.url, &headers, PDF.to_vec()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {problem}");
            assert_eq!(problem["code"], "header_mismatch", "{name}");
            assert_eq!(problem["status"], 400);
            assert!(
                problem["detail"].as_str().unwrap().contains(name),
                "{problem}"
            );
        }
        // A missing header is as wrong as a different one.
        let mut headers = ticket.headers.clone();
        headers.remove("x-amz-checksum-sha256");
        let headers: Vec<_> = headers.into_iter().collect();
        let (status, problem) = put_with(&store, &ticket.url, &headers, PDF.to_vec()).await;
        assert_eq!(
            (status, &problem["code"]),
            (StatusCode::BAD_REQUEST, &"header_mismatch".into())
        );
        assert_eq!(store.stat(&spec.key).await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_body_must_match_the_declared_size_and_checksum() {
        let store = store("body");
        let spec = spec("k/scan.pdf", PDF, EvidenceType::Pdf);
        let ticket = ticket(&store, &spec).await;

        let mut forged = PDF.to_vec();
        forged[0] ^= 1;
        let (status, problem) = put(&store, &ticket, &forged).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["code"], "checksum_mismatch");

        let (status, problem) = put(&store, &ticket, &PDF[1..]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["code"], "size_mismatch");

        let longer = [PDF, b"more"].concat();
        let (status, problem) = put(&store, &ticket, &longer).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["code"], "size_mismatch");
        assert_eq!(store.stat(&spec.key).await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_expired_url_is_forbidden() {
        let store = store("expired");
        let spec = spec("k/scan.pdf", PDF, EvidenceType::Pdf);
        let issued = Utc::now() - chrono::Duration::hours(2);
        let ticket = store
            .presign_upload(&spec, issued, Duration::from_secs(3600))
            .await
            .unwrap();
        assert!(ticket.expires_at < Utc::now());
        let (status, problem) = put(&store, &ticket, PDF).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(problem["code"], "url_expired");
        assert_eq!(problem["type"], "urn:recert:problem:url_expired");
    }

    #[tokio::test]
    async fn a_tampered_url_is_forbidden() {
        let store = store("tampered");
        let spec = spec("k/scan.pdf", PDF, EvidenceType::Pdf);
        let ticket = ticket(&store, &spec).await;
        let (base, signature) = ticket.url.split_once("&signature=").unwrap();
        let flipped = if signature.starts_with('0') { "1" } else { "0" };
        let tampered = [
            // Another signature.
            format!("{base}&signature={flipped}{}", &signature[1..]),
            // A longer expiry.
            ticket.url.replace("&expires=", "&expires=9"),
            // Another key.
            ticket.url.replace("/k/scan.pdf?", "/k/other.pdf?"),
            // Another declared type (with matching headers).
            ticket.url.replace("application%2Fpdf", "image%2Fpng"),
            // No signature at all.
            base.to_owned(),
            format!("{base}&signature=zz"),
        ];
        for url in tampered {
            let headers = headers_with(&ticket, "content-type", "image/png");
            let headers = if url.contains("image%2Fpng") {
                headers
            } else {
                ticket.headers.clone().into_iter().collect()
            };
            let (status, problem) = put_with(&store, &url, &headers, PDF.to_vec()).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{url}: {problem}");
            assert_eq!(problem["code"], "signature_invalid", "{url}");
        }
        assert_eq!(store.stat("k/other.pdf").await.unwrap(), None);
        assert_eq!(store.stat("k/scan.pdf").await.unwrap(), None);
        let (status, problem) = put(&store, &ticket, PDF).await;
        assert_eq!(status, StatusCode::OK, "the genuine URL works: {problem}");
    }

    #[tokio::test]
    async fn keys_escaping_the_folder_are_refused() {
        let store = store("traversal");
        for path in [
            "/dev/evidence/../../etc/passwd",
            "/dev/evidence/k/../../x",
            "/dev/evidence/%2E%2E/%2E%2E/x",
            "/dev/evidence/k%2F..%2F..%2Fx",
            "/dev/evidence/%2Fetc%2Fpasswd",
            "/dev/evidence/k/.hidden",
            "/dev/evidence/k/scan.pdf.meta.json",
        ] {
            let (status, problem) = put_with(&store, path, &[], PDF.to_vec()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {problem}");
            assert_eq!(problem["code"], "invalid_key", "{path}");
        }
        assert!(!store.dir().exists(), "nothing was written");

        let spec = spec("../escape.pdf", PDF, EvidenceType::Pdf);
        let err = store
            .presign_upload(&spec, Utc::now(), Duration::from_secs(60))
            .await
            .unwrap_err();
        assert!(matches!(err, EvidenceError::InvalidKey { .. }), "{err:?}");
        assert!(matches!(
            store.stat("/etc/passwd").await,
            Err(EvidenceError::InvalidKey { .. })
        ));
        assert!(matches!(
            store.stat("k/scan.pdf.meta.json").await,
            Err(EvidenceError::InvalidKey { .. })
        ));
    }

    #[tokio::test]
    async fn the_ttl_is_capped_and_the_key_is_not_in_debug() {
        let store = store("ttl");
        let spec = spec("k/scan.pdf", PDF, EvidenceType::Pdf);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let ticket = store
            .presign_upload(&spec, now, Duration::from_secs(30 * 24 * 3600))
            .await
            .unwrap();
        assert_eq!(ticket.expires_at, now + chrono::Duration::days(7));
        assert!(
            ticket
                .url
                .contains(&format!("&expires={}&", 1_800_000_000 + 7 * 24 * 3600))
        );
        assert!(!format!("{store:?}").contains("dev-secret"));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xab, 0xff])).unwrap(),
            vec![0, 1, 0xab, 0xff]
        );
        assert_eq!(unhex("ABff").unwrap(), vec![0xab, 0xff]);
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é1"), None);
        assert_eq!(unhex("+f"), None);
    }
}
