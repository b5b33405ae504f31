//! The local-development adapter: [`EvidenceStore`] on a folder, with its own signed upload and
//! download URLs served by [`upload_router`] (feature `local`).
//!
//! ## Uploads
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
//! ## Downloads
//!
//! [`LocalEvidence::presign_download`] hands out
//! `GET {base_url}/dev/evidence/{key}?expires=…&signature=…`, `signature` being the hex
//! HMAC-SHA256, under the same key, of `get|key|expires`. Upload and download signatures cannot
//! stand for each other: a download input has exactly two `|` (keys are checked before anything
//! else and never contain one, the expiry is a number), an upload input at least four (its
//! separators), so no input of one is ever an input of the other. The route answers:
//! - 400 `invalid_key`, 403 `signature_invalid` or `url_expired`, as for uploads (checked in
//!   that order, before looking for the file);
//! - 404 `not_found` when nothing is stored under the key;
//! - 200 with the file, its stored `Content-Type`, `Content-Disposition: attachment`,
//!   `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`. (The file is read whole into
//!   memory: this store is for local runs.)
//!
//! ## Files
//!
//! Files live at `{dir}/{key}` with a sidecar `{dir}/{key}.meta.json` (`{"size", "content_type"}`)
//! that [`EvidenceStore::stat`] reads; both are written under `{dir}/.tmp/` and renamed, the
//! sidecar last, so a stat never sees half an upload. Keys whose last segment ends in
//! `.meta.json` are refused (they would collide with a sidecar).

use crate::{
    CHECKSUM_SHA256, DownloadTicket, EvidenceError, EvidenceStore, StoredObject, UploadSpec,
    UploadTicket, capped, check_key, expiry,
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
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Where [`upload_router`] receives uploads (`PUT {UPLOAD_PATH}/{key}`) and serves downloads
/// (`GET`, same path).
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
    /// What "now" is when an upload or download request arrives (the server's clock, which may
    /// run as of a date).
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

    /// The MAC of `input` under the signing key.
    fn mac(&self, input: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.signing_key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(input.as_bytes());
        mac
    }

    /// The MAC of one upload's signed values: `key|size|mime|sha256 hex|expires` (at least four
    /// `|`, so never a download's input).
    fn upload_mac(
        &self,
        key: &str,
        size: u64,
        mime: &str,
        sha256_hex: &str,
        expires: i64,
    ) -> Hmac<Sha256> {
        self.mac(&format!("{key}|{size}|{mime}|{sha256_hex}|{expires}"))
    }

    /// The MAC of one download's signed values: `get|key|expires` (exactly two `|`, the key
    /// being checked, so never an upload's input).
    fn download_mac(&self, key: &str, expires: i64) -> Hmac<Sha256> {
        self.mac(&format!("get|{key}|{expires}"))
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
        let signature = hex::encode(
            self.upload_mac(&spec.key, spec.size, mime, &sha256, expires)
                .finalize()
                .into_bytes(),
        );
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

    async fn presign_download(
        &self,
        key: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<DownloadTicket, EvidenceError> {
        check_local_key(key)?;
        let expires_at = expiry(now, capped(ttl));
        let expires = expires_at.timestamp();
        let signature = hex::encode(self.download_mac(key, expires).finalize().into_bytes());
        Ok(DownloadTicket {
            url: format!(
                "{base}{UPLOAD_PATH}/{key}?expires={expires}&signature={signature}",
                base = self.base_url,
            ),
            // Whole seconds, as signed.
            expires_at: DateTime::from_timestamp(expires, 0).unwrap_or(expires_at),
        })
    }
}

/// The routes receiving uploads, `PUT /dev/evidence/{*key}`, and serving downloads,
/// `GET /dev/evidence/{*key}` (see the module documentation); each authenticated by its URL's
/// signature alone. An upload reads at most the signed size of a body, whatever the router's own
/// limit.
pub fn upload_router(store: Arc<LocalEvidence>) -> Router {
    Router::new()
        .route(
            &format!("{UPLOAD_PATH}/{{*key}}"),
            put(upload).get(download),
        )
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

/// The expiry and signature a download URL carries.
#[derive(Debug, Deserialize)]
struct DownloadSigned {
    expires: i64,
    signature: String,
}

/// A refused upload or download, as a problem document.
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
    let (key, file) = checked_key(store, key)?;

    // The URL: ours, and still valid.
    let Query(signed) = signed.map_err(|_| {
        forbidden(
            "signature_invalid",
            "the upload URL lacks its signed parameters",
        )
    })?;
    let mac = store.upload_mac(
        &key,
        signed.size,
        &signed.content_type,
        &signed.sha256,
        signed.expires,
    );
    check_signature(store, mac, &signed.signature, signed.expires, "upload")?;

    // The headers: exactly what was signed.
    let expected_checksum = hex::decode(&signed.sha256)
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
    if hex::encode(Sha256::digest(&bytes)) != signed.sha256 {
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

/// The key of the request's path and where its file is, or a 400 `invalid_key`.
fn checked_key(
    store: &LocalEvidence,
    key: Result<Path<String>, PathRejection>,
) -> Result<(String, PathBuf), Refusal> {
    let bad_request = |detail: String| refuse(StatusCode::BAD_REQUEST, "invalid_key", detail);
    let Path(key) = key.map_err(|e| bad_request(e.body_text()))?;
    let file = store.file(&key).map_err(|e| bad_request(e.to_string()))?;
    Ok((key, file))
}

fn forbidden(code: &'static str, detail: &str) -> Refusal {
    refuse(StatusCode::FORBIDDEN, code, detail)
}

/// That `signature` (hex) is `mac`'s and that `expires` has not passed by the store's clock, or
/// a 403 (`signature_invalid`, then `url_expired`). `what` names the URL (`upload`, `download`).
fn check_signature(
    store: &LocalEvidence,
    mac: Hmac<Sha256>,
    signature: &str,
    expires: i64,
    what: &str,
) -> Result<(), Refusal> {
    let signature = hex::decode(signature)
        .map_err(|_| forbidden("signature_invalid", "the signature is not hex"))?;
    mac.verify_slice(&signature)
        .map_err(|_| forbidden("signature_invalid", "the signature does not match the URL"))?;
    if (store.clock)().timestamp() > expires {
        return Err(forbidden(
            "url_expired",
            &format!("the {what} URL has expired"),
        ));
    }
    Ok(())
}

async fn download(
    State(store): State<Arc<LocalEvidence>>,
    key: Result<Path<String>, PathRejection>,
    signed: Result<Query<DownloadSigned>, QueryRejection>,
) -> Response {
    match serve(&store, key, signed).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(),
    }
}

async fn serve(
    store: &LocalEvidence,
    key: Result<Path<String>, PathRejection>,
    signed: Result<Query<DownloadSigned>, QueryRejection>,
) -> Result<Response, Refusal> {
    let (key, file) = checked_key(store, key)?;

    // The URL: ours, and still valid (before saying anything about the file).
    let Query(signed) = signed.map_err(|_| {
        forbidden(
            "signature_invalid",
            "the download URL lacks its signed parameters",
        )
    })?;
    let mac = store.download_mac(&key, signed.expires);
    check_signature(store, mac, &signed.signature, signed.expires, "download")?;

    // The file: its sidecar (written last) says it is complete, and gives its type.
    let internal = |e: EvidenceError| {
        refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("reading the file failed: {e}"),
        )
    };
    let not_found = || {
        refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no evidence is stored under {key:?}"),
        )
    };
    let stored = store
        .stat(&key)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let bytes = match tokio::fs::read(&file).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(internal(io_error(e))),
    };

    let content_type = HeaderValue::from_str(&stored.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let length = HeaderValue::from(bytes.len());
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, length);
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::EvidenceType;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt as _;
    use std::collections::BTreeMap;
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

    /// GETs `url` (made relative) from `store`'s routes: status, headers and body.
    async fn get(store: &Arc<LocalEvidence>, url: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let path = url.strip_prefix("http://127.0.0.1:3000").unwrap_or(url);
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = upload_router(Arc::clone(store))
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        if status != StatusCode::OK {
            assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes.to_vec())
    }

    /// The problem document of a refused GET.
    async fn get_problem(store: &Arc<LocalEvidence>, url: &str) -> (StatusCode, serde_json::Value) {
        let (status, _, body) = get(store, url).await;
        assert_ne!(status, StatusCode::OK, "{url}");
        (status, serde_json::from_slice(&body).unwrap())
    }

    async fn download_ticket(store: &LocalEvidence, key: &str) -> DownloadTicket {
        store
            .presign_download(key, Utc::now(), Duration::from_secs(300))
            .await
            .unwrap()
    }

    /// Uploads `body` under `key` as `content_type`.
    async fn uploaded(
        store: &Arc<LocalEvidence>,
        key: &str,
        body: &[u8],
        content_type: EvidenceType,
    ) {
        let ticket = ticket(store, &spec(key, body, content_type)).await;
        assert_eq!(put(store, &ticket, body).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_download_returns_the_uploaded_file_as_an_attachment() {
        let store = store("download");
        let png = b"\x89PNG\r\n\x1a\n a screenshot".as_slice();
        uploaded(&store, "evidence/c1/e1/scan.pdf", PDF, EvidenceType::Pdf).await;
        uploaded(&store, "evidence/c1/e2/shot.png", png, EvidenceType::Png).await;

        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let ticket = store
            .presign_download("evidence/c1/e1/scan.pdf", now, Duration::from_secs(300))
            .await
            .unwrap();
        assert!(
            ticket.url.starts_with(
                "http://127.0.0.1:3000/dev/evidence/evidence/c1/e1/scan.pdf?expires=1800000300&signature="
            ),
            "{}",
            ticket.url
        );
        assert_eq!(ticket.expires_at, now + chrono::Duration::seconds(300));

        for (key, body, mime) in [
            ("evidence/c1/e1/scan.pdf", PDF, "application/pdf"),
            ("evidence/c1/e2/shot.png", png, "image/png"),
        ] {
            let ticket = download_ticket(&store, key).await;
            let (status, headers, bytes) = get(&store, &ticket.url).await;
            assert_eq!(status, StatusCode::OK, "{key}");
            assert_eq!(bytes, body, "{key}");
            assert_eq!(headers[header::CONTENT_TYPE], mime);
            assert_eq!(headers[header::CONTENT_LENGTH], body.len().to_string());
            assert_eq!(headers[header::CONTENT_DISPOSITION], "attachment");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        }

        // The same URL works until it expires.
        let ticket = download_ticket(&store, "evidence/c1/e1/scan.pdf").await;
        assert_eq!(get(&store, &ticket.url).await.2, PDF);
        assert_eq!(get(&store, &ticket.url).await.2, PDF);
    }

    #[tokio::test]
    async fn an_expired_download_url_is_forbidden_by_the_stores_clock() {
        let store = store("download-expired");
        uploaded(&store, "k/scan.pdf", PDF, EvidenceType::Pdf).await;
        let issued = Utc::now() - chrono::Duration::hours(2);
        let ticket = store
            .presign_download("k/scan.pdf", issued, Duration::from_secs(3600))
            .await
            .unwrap();
        assert!(ticket.expires_at < Utc::now());
        let (status, problem) = get_problem(&store, &ticket.url).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(problem["code"], "url_expired");
        assert_eq!(problem["detail"], "the download URL has expired");

        // Judged by the store's clock, not the machine's: a server running two hours ago
        // still takes it, and one running two hours ahead refuses a fresh one.
        let as_of = |at: DateTime<Utc>| {
            Arc::new(
                LocalEvidence::new(
                    store.dir().to_path_buf(),
                    "http://127.0.0.1:3000".into(),
                    b"dev-secret".to_vec(),
                )
                .with_clock(Arc::new(move || at)),
            )
        };
        let (status, _, bytes) = get(&as_of(issued), &ticket.url).await;
        assert_eq!((status, bytes.as_slice()), (StatusCode::OK, PDF));
        let fresh = download_ticket(&store, "k/scan.pdf").await;
        let ahead = as_of(Utc::now() + chrono::Duration::hours(2));
        let (status, problem) = get_problem(&ahead, &fresh.url).await;
        assert_eq!(
            (status, &problem["code"]),
            (StatusCode::FORBIDDEN, &"url_expired".into())
        );
    }

    #[tokio::test]
    async fn a_tampered_download_url_is_forbidden() {
        let store = store("download-tampered");
        uploaded(&store, "k/scan.pdf", PDF, EvidenceType::Pdf).await;
        uploaded(&store, "k/other.pdf", PDF, EvidenceType::Pdf).await;
        let ticket = download_ticket(&store, "k/scan.pdf").await;
        let (base, signature) = ticket.url.split_once("&signature=").unwrap();
        let flipped = if signature.starts_with('0') { "1" } else { "0" };
        for url in [
            // Another signature.
            format!("{base}&signature={flipped}{}", &signature[1..]),
            // A longer expiry.
            ticket.url.replace("?expires=", "?expires=9"),
            // Another key.
            ticket.url.replace("/k/scan.pdf?", "/k/other.pdf?"),
            // No signature, no expiry, nothing.
            base.to_owned(),
            ticket.url.replace("?expires=", "?expired="),
            "/dev/evidence/k/scan.pdf".to_owned(),
            format!("{base}&signature=zz"),
        ] {
            let (status, problem) = get_problem(&store, &url).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{url}: {problem}");
            assert_eq!(problem["code"], "signature_invalid", "{url}");
        }
        assert_eq!(get(&store, &ticket.url).await.0, StatusCode::OK, "genuine");
    }

    #[tokio::test]
    async fn upload_and_download_signatures_do_not_stand_for_each_other() {
        let store = store("replay");
        let spec = spec("k/scan.pdf", PDF, EvidenceType::Pdf);
        let upload = ticket(&store, &spec).await;
        assert_eq!(put(&store, &upload, PDF).await.0, StatusCode::OK);

        // The upload URL as a GET, as is and with only its expiry and signature.
        let (_, query) = upload.url.split_once('?').unwrap();
        let pairs: BTreeMap<&str, &str> = query
            .split('&')
            .map(|pair| pair.split_once('=').unwrap())
            .collect();
        let only = format!(
            "/dev/evidence/k/scan.pdf?expires={}&signature={}",
            pairs["expires"], pairs["signature"]
        );
        for url in [upload.url.clone(), only] {
            let (status, problem) = get_problem(&store, &url).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{url}: {problem}");
            assert_eq!(problem["code"], "signature_invalid", "{url}");
        }

        // The download URL as a PUT, with the right headers and body.
        let download = download_ticket(&store, "k/scan.pdf").await;
        let headers: Vec<_> = upload.headers.clone().into_iter().collect();
        let (status, problem) = put_with(&store, &download.url, &headers, PDF.to_vec()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
        assert_eq!(problem["code"], "signature_invalid");
        // Even with the upload's values added to it.
        let forged = format!(
            "{}&size={}&type={}&sha256={}",
            download.url, pairs["size"], pairs["type"], pairs["sha256"]
        );
        let (status, problem) = put_with(&store, &forged, &headers, PDF.to_vec()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
        assert_eq!(problem["code"], "signature_invalid");
    }

    #[tokio::test]
    async fn a_missing_file_is_not_found_and_bad_keys_are_refused() {
        let store = store("download-missing");
        let ticket = download_ticket(&store, "k/missing.pdf").await;
        let (status, problem) = get_problem(&store, &ticket.url).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
        assert_eq!(problem["code"], "not_found");
        assert_eq!(problem["status"], 404);
        assert_eq!(problem["type"], "urn:recert:problem:not_found");

        // A missing file behind a bad URL says nothing about the file.
        let (status, problem) =
            get_problem(&store, &ticket.url.replace("?expires=", "?expires=9")).await;
        assert_eq!(
            (status, &problem["code"]),
            (StatusCode::FORBIDDEN, &"signature_invalid".into())
        );

        for path in [
            "/dev/evidence/../../etc/passwd",
            "/dev/evidence/%2E%2E/%2E%2E/x",
            "/dev/evidence/k%2F..%2F..%2Fx",
            "/dev/evidence/k/.hidden",
            "/dev/evidence/k/scan.pdf.meta.json",
        ] {
            let (status, problem) = get_problem(&store, path).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {problem}");
            assert_eq!(problem["code"], "invalid_key", "{path}");
        }
        for key in ["../x.pdf", "k/scan.pdf.meta.json"] {
            let err = store
                .presign_download(key, Utc::now(), Duration::from_secs(60))
                .await
                .unwrap_err();
            assert!(matches!(err, EvidenceError::InvalidKey { .. }), "{err:?}");
        }
        assert!(!store.dir().exists(), "nothing was written");
    }
}
