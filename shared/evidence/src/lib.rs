//! Where audit evidence is uploaded and read back: the [`EvidenceStore`] port, its production
//! adapter on Amazon S3 ([`s3::S3Evidence`], presigned `PutObject` and `GetObject`), and a file
//! store for local runs (`local::LocalEvidence` with its upload and download routes, feature
//! `local`, off by default; the local server turns it on).
//!
//! The API never receives the bytes. The client declares an [`UploadSpec`] (size, type and
//! SHA-256 of the file); the store signs exactly that and hands back an [`UploadTicket`]: PUT the
//! file to its URL with its headers (`content-length`, `content-type`, `x-amz-checksum-sha256`)
//! before it expires. A file of another size, type or content is refused by whoever receives it
//! (S3, or the local route). Afterwards [`EvidenceStore::stat`] tells whether, and what, was
//! uploaded under the key.
//!
//! Reading is the same idea: [`EvidenceStore::presign_download`] hands back a [`DownloadTicket`],
//! a short-lived URL an auditor opens in a browser. The file comes back with its stored
//! `Content-Type` and `Content-Disposition: attachment`, so the browser saves it rather than
//! rendering it.
//!
//! Keys are opaque ids chosen by the caller ([`check_key`] says which are accepted); they are not
//! personal data, so errors may name them.

#[cfg(feature = "local")]
pub mod local;
pub mod s3;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::error::Error;
use std::fmt;
use std::time::Duration;

/// The header carrying the declared size.
pub const CONTENT_LENGTH: &str = "content-length";
/// The header carrying the declared MIME type.
pub const CONTENT_TYPE: &str = "content-type";
/// The header carrying the declared SHA-256 (base64 of the 32 bytes), as S3 names it.
pub const CHECKSUM_SHA256: &str = "x-amz-checksum-sha256";

/// The largest file one PUT may carry (S3's limit for a single `PutObject`: 5 GiB).
pub const MAX_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The longest a ticket is valid (S3's limit for a SigV4 presigned URL: 7 days); longer
/// requests are capped to it.
pub const MAX_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The longest key, in bytes (S3's limit).
pub const MAX_KEY_LEN: usize = 1024;

/// The kinds of evidence accepted. (De)serialized as its MIME type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EvidenceType {
    /// A PDF document.
    #[serde(rename = "application/pdf")]
    Pdf,
    /// A PNG image.
    #[serde(rename = "image/png")]
    Png,
    /// A JPEG image.
    #[serde(rename = "image/jpeg")]
    Jpeg,
}

impl EvidenceType {
    /// Every accepted type.
    pub const ALL: [EvidenceType; 3] = [EvidenceType::Pdf, EvidenceType::Png, EvidenceType::Jpeg];

    /// Its MIME type (`application/pdf`, `image/png`, `image/jpeg`).
    pub fn mime(&self) -> &'static str {
        match self {
            EvidenceType::Pdf => "application/pdf",
            EvidenceType::Png => "image/png",
            EvidenceType::Jpeg => "image/jpeg",
        }
    }

    /// The type whose MIME type is exactly `mime`, if it is accepted.
    pub fn parse(mime: &str) -> Option<EvidenceType> {
        EvidenceType::ALL.into_iter().find(|t| t.mime() == mime)
    }
}

impl fmt::Display for EvidenceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mime())
    }
}

/// What the client declared and the store signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSpec {
    /// Where the file goes (see [`check_key`]).
    pub key: String,
    /// Its exact size in bytes (1 to [`MAX_SIZE`]).
    pub size: u64,
    /// Its type.
    pub content_type: EvidenceType,
    /// The SHA-256 of its bytes.
    pub sha256: [u8; 32],
}

impl UploadSpec {
    /// The checksum as S3 expects it in `x-amz-checksum-sha256`: base64 of the 32 bytes.
    pub fn checksum_base64(&self) -> String {
        BASE64.encode(self.sha256)
    }

    /// The checksum as lowercase hex.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }

    /// The headers an upload must carry: `content-length` (decimal), `content-type` and
    /// `x-amz-checksum-sha256`.
    pub fn headers(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (CONTENT_LENGTH.to_owned(), self.size.to_string()),
            (CONTENT_TYPE.to_owned(), self.content_type.mime().to_owned()),
            (CHECKSUM_SHA256.to_owned(), self.checksum_base64()),
        ])
    }

    /// Checks the key ([`check_key`]) and the size (1 to [`MAX_SIZE`]).
    pub fn check(&self) -> Result<(), EvidenceError> {
        check_key(&self.key)?;
        if self.size == 0 || self.size > MAX_SIZE {
            return Err(EvidenceError::InvalidSize { size: self.size });
        }
        Ok(())
    }
}

/// How the client uploads: `method` (`PUT`) to `url` with exactly these headers and the file as
/// the body, before `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "method": "PUT",
    "url": "https://evidence.s3.us-east-1.amazonaws.com/...?X-Amz-Signature=...",
    "headers": {
        "content-length": "48213",
        "content-type": "application/pdf",
        "x-amz-checksum-sha256": "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
    },
    "expires_at": "2026-11-29T19:29:31Z"
}))]
pub struct UploadTicket {
    /// The HTTP method: `PUT`.
    pub method: String,
    /// Where to send the file (signed; use it as is).
    pub url: String,
    /// Header name (lowercase) → value, each to be sent exactly as given.
    pub headers: BTreeMap<String, String>,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
}

/// How to read a stored file: `GET` `url` (no headers needed, a browser can open it) before
/// `expires_at`. The file comes back with its stored `Content-Type` and
/// `Content-Disposition: attachment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "url": "https://evidence.s3.us-east-1.amazonaws.com/...?response-content-disposition=attachment&X-Amz-Signature=...",
    "expires_at": "2026-11-29T19:19:31Z"
}))]
pub struct DownloadTicket {
    /// Where to read the file (signed; use it as is).
    pub url: String,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
}

/// What is stored under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Its size in bytes.
    pub size: u64,
    /// Its `Content-Type` as stored (the signed one).
    pub content_type: String,
}

/// Why the store could not do it.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The key is not one this store accepts (see [`check_key`]).
    #[error("invalid evidence key {key:?}: {reason}")]
    InvalidKey {
        /// The key.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The declared size is zero or above [`MAX_SIZE`].
    #[error("invalid evidence size {size}: expected 1 to {MAX_SIZE} bytes")]
    InvalidSize {
        /// The declared size.
        size: u64,
    },
    /// The backend (S3, the file system) failed; retrying may help.
    #[error("the evidence store failed: {0}")]
    Backend(#[source] Box<dyn Error + Send + Sync>),
}

/// The evidence store port: signs uploads, says what was uploaded and signs downloads.
#[async_trait]
pub trait EvidenceStore: Send + Sync + fmt::Debug {
    /// A ticket to upload exactly `spec` (its size, type and checksum signed), valid from `now`
    /// for `ttl` (capped to [`MAX_TTL`]).
    async fn presign_upload(
        &self,
        spec: &UploadSpec,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<UploadTicket, EvidenceError>;

    /// What is stored under `key`, or `None` when nothing was uploaded yet.
    async fn stat(&self, key: &str) -> Result<Option<StoredObject>, EvidenceError>;

    /// A short-lived URL to read the file under `key` (an auditor opens it in a browser), valid
    /// from `now` for `ttl` (capped to [`MAX_TTL`]). Signing makes no network call and does not
    /// look for the file: the caller checks first that it exists ([`EvidenceStore::stat`]).
    async fn presign_download(
        &self,
        key: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<DownloadTicket, EvidenceError>;
}

/// Checks that `key` is a store key: 1 to [`MAX_KEY_LEN`] bytes of `/`-separated segments, each
/// non-empty, made of ASCII letters, digits, `-`, `_` and `.`, and starting with a letter or a
/// digit (so no absolute path, no `.` or `..`, no hidden file, nothing to escape in a URL).
pub fn check_key(key: &str) -> Result<(), EvidenceError> {
    let invalid = |reason| {
        Err(EvidenceError::InvalidKey {
            key: key.to_owned(),
            reason,
        })
    };
    if key.is_empty() {
        return invalid("empty");
    }
    if key.len() > MAX_KEY_LEN {
        return invalid("longer than 1024 bytes");
    }
    for segment in key.split('/') {
        let Some(first) = segment.chars().next() else {
            return invalid("empty segment (leading, trailing or double `/`)");
        };
        if !first.is_ascii_alphanumeric() {
            return invalid("a segment starts with something else than a letter or a digit");
        }
        if !segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return invalid("only ASCII letters, digits, `-`, `_`, `.` and `/` are allowed");
        }
    }
    Ok(())
}

/// `ttl` capped to [`MAX_TTL`].
fn capped(ttl: Duration) -> Duration {
    ttl.min(MAX_TTL)
}

/// `now + ttl` (saturating at the latest representable time).
fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn types_serialize_as_their_mime_type() {
        for t in EvidenceType::ALL {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.mime()));
            assert_eq!(serde_json::from_str::<EvidenceType>(&json).unwrap(), t);
            assert_eq!(EvidenceType::parse(t.mime()), Some(t));
        }
        assert_eq!(EvidenceType::parse("image/gif"), None);
        assert_eq!(EvidenceType::parse("application/PDF"), None);
        assert!(serde_json::from_str::<EvidenceType>("\"pdf\"").is_err());
    }

    #[test]
    fn the_schema_is_a_string_enum_of_mime_types() {
        use utoipa::PartialSchema as _;
        let schema = serde_json::to_value(EvidenceType::schema()).unwrap();
        assert_eq!(schema["type"], "string");
        assert_eq!(
            schema["enum"],
            serde_json::json!(["application/pdf", "image/png", "image/jpeg"])
        );
    }

    #[test]
    fn keys() {
        for good in ["a", "evidence/0193a1b2/entry-1/file.pdf", "A_b-c.d/9"] {
            check_key(good).unwrap();
        }
        for bad in [
            "",
            "/abs",
            "a//b",
            "a/",
            "../etc/passwd",
            "a/../b",
            "a/./b",
            ".hidden",
            "a b",
            "a\\b",
            "é",
            "a?b",
            "a%2Fb",
        ] {
            assert!(
                matches!(check_key(bad), Err(EvidenceError::InvalidKey { .. })),
                "{bad:?}"
            );
        }
        assert!(check_key(&"a".repeat(MAX_KEY_LEN)).is_ok());
        assert!(check_key(&"a".repeat(MAX_KEY_LEN + 1)).is_err());
    }

    #[test]
    fn spec_headers_and_checks() {
        let mut spec = UploadSpec {
            key: "k".into(),
            size: 3,
            content_type: EvidenceType::Png,
            sha256: [0xab; 32],
        };
        let headers = spec.headers();
        assert_eq!(headers[CONTENT_LENGTH], "3");
        assert_eq!(headers[CONTENT_TYPE], "image/png");
        assert_eq!(headers[CHECKSUM_SHA256], BASE64.encode([0xab; 32]));
        assert_eq!(spec.sha256_hex(), "ab".repeat(32));
        spec.check().unwrap();
        spec.size = 0;
        assert!(matches!(
            spec.check(),
            Err(EvidenceError::InvalidSize { size: 0 })
        ));
        spec.size = MAX_SIZE + 1;
        assert!(spec.check().is_err());
    }

    #[test]
    fn ttl_is_capped_and_expiry_saturates() {
        assert_eq!(capped(Duration::from_secs(60)), Duration::from_secs(60));
        assert_eq!(capped(Duration::from_secs(30 * 24 * 3600)), MAX_TTL);
        let now = DateTime::<Utc>::MAX_UTC;
        assert_eq!(
            expiry(now, Duration::from_secs(1)),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
