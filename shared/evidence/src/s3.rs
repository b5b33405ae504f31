//! The production adapter: [`EvidenceStore`] on Amazon S3 (`aws-sdk-s3`).
//!
//! [`EvidenceStore::presign_upload`] presigns a `PutObject` (SigV4 query signing, no network call)
//! with `Content-Length`, `Content-Type` and `x-amz-checksum-sha256` set, so all three are signed
//! headers of the URL: S3 refuses an upload whose headers differ (`SignatureDoesNotMatch`) and
//! one whose body does not match the checksum (`BadDigest`) or the length. No checksum
//! *algorithm* is set: with one, the SDK would compute its own checksum of the (empty) presigned
//! body instead of signing the declared one. [`EvidenceStore::stat`] is `HeadObject`; a 404 is
//! `None`. [`EvidenceStore::presign_download`] presigns a `GetObject` with
//! `response-content-disposition=attachment` (signed in the query), so a browser saves the file
//! instead of rendering it from the bucket's origin; its stored `Content-Type` is kept.
//!
//! Clients use path-style addressing (`https://s3.<region>.amazonaws.com/<bucket>/<key>`): moto
//! needs it and S3 accepts it for every bucket name we create.

use crate::{
    DownloadTicket, EvidenceError, EvidenceStore, StoredObject, UploadSpec, UploadTicket, capped,
    check_key, expiry,
};
use async_trait::async_trait;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::operation::head_object::HeadObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

pub use aws_sdk_s3::Client;

/// The environment variable with the bucket's name (required).
pub const BUCKET_ENV: &str = "EVIDENCE_BUCKET";
/// The environment variable pointing the S3 client at another endpoint (an emulator).
pub const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_S3";

/// Time to open a TCP/TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time for one attempt of an operation.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for a whole operation, retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);
/// Attempts per operation (the first try and two retries), standard retry mode.
pub const MAX_ATTEMPTS: u32 = 3;

/// Which bucket holds the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceConfig {
    /// The bucket's name.
    pub bucket: String,
}

/// A configuration value that is missing or unusable (names the variable).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is unset or blank.
    #[error("{name} is not set")]
    Missing {
        /// The environment variable.
        name: &'static str,
    },
}

impl EvidenceConfig {
    /// From `EVIDENCE_BUCKET` (required).
    pub fn from_env() -> Result<EvidenceConfig, ConfigError> {
        EvidenceConfig::from_lookup(env_var)
    }

    /// From variables looked up with `var` (unset or blank is `None`).
    fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<EvidenceConfig, ConfigError> {
        let bucket = var(BUCKET_ENV).ok_or(ConfigError::Missing { name: BUCKET_ENV })?;
        Ok(EvidenceConfig { bucket })
    }
}

/// An environment variable, `None` when unset or blank (trimmed).
fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Applies path-style addressing, the timeouts and the retry policy to an S3 client
/// configuration.
pub fn configure(builder: aws_sdk_s3::config::Builder) -> aws_sdk_s3::config::Builder {
    builder
        .force_path_style(true)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
}

/// A client from the shared AWS config (region, credentials, `AWS_ENDPOINT_URL_S3`), with
/// [`configure`] applied.
pub fn client(sdk: &aws_types::SdkConfig) -> Client {
    let mut builder = aws_sdk_s3::config::Builder::from(sdk);
    if let Some(url) = env_var(ENDPOINT_ENV) {
        builder = builder.endpoint_url(url);
    }
    Client::from_conf(configure(builder).build())
}

/// A client for an emulator (moto) at `endpoint` ([`recert_aws::emulator`]: dummy static
/// credentials, the Lambdas' HTTP client), with [`configure`] applied. Synchronous: no credential
/// chain, no metadata probe.
pub fn local_client(endpoint: &str) -> Client {
    let builder = aws_sdk_s3::config::Builder::from(&recert_aws::emulator(endpoint));
    Client::from_conf(configure(builder).build())
}

/// How [`S3Evidence`] comes by its client: given, or built on first use.
type ClientCell = LazyLock<Client, Box<dyn FnOnce() -> Client + Send>>;

/// [`EvidenceStore`] on one S3 bucket. Cheap to clone (the client is shared).
#[derive(Clone)]
pub struct S3Evidence {
    client: Arc<ClientCell>,
    bucket: String,
}

impl fmt::Debug for S3Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Evidence")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl S3Evidence {
    /// A store on `config.bucket` through `client`.
    pub fn new(client: Client, config: EvidenceConfig) -> S3Evidence {
        S3Evidence::with_cell(LazyLock::new(Box::new(move || client)), config)
    }

    /// A store on `config.bucket` whose client ([`client`] of `sdk`) is built when it is first
    /// used, not at a cold start (issue 15): reading an audit, the queue or a period, or deciding,
    /// never reaches S3.
    pub fn on_first_use(sdk: aws_types::SdkConfig, config: EvidenceConfig) -> S3Evidence {
        S3Evidence::with_cell(LazyLock::new(Box::new(move || client(&sdk))), config)
    }

    fn with_cell(client: ClientCell, config: EvidenceConfig) -> S3Evidence {
        S3Evidence {
            client: Arc::new(client),
            bucket: config.bucket,
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The S3 client.
    pub fn client(&self) -> &Client {
        LazyLock::force(&self.client)
    }
}

#[async_trait]
impl EvidenceStore for S3Evidence {
    async fn presign_upload(
        &self,
        spec: &UploadSpec,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<UploadTicket, EvidenceError> {
        spec.check()?;
        let ttl = capped(ttl);
        let size =
            i64::try_from(spec.size).map_err(|_| EvidenceError::InvalidSize { size: spec.size })?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&spec.key)
            .content_length(size)
            .content_type(spec.content_type.mime())
            .checksum_sha256(spec.checksum_base64())
            .presigned(presigning(now, ttl)?)
            .await
            .map_err(|e| backend(&e))?;
        let headers: BTreeMap<String, String> = request
            .headers()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
            .collect();
        Ok(UploadTicket {
            method: request.method().to_owned(),
            url: request.uri().to_owned(),
            headers,
            expires_at: expiry(now, ttl),
        })
    }

    async fn stat(&self, key: &str) -> Result<Option<StoredObject>, EvidenceError> {
        check_key(key)?;
        let out = match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if matches!(e.as_service_error(), Some(HeadObjectError::NotFound(_))) => {
                return Ok(None);
            }
            Err(e) => return Err(backend(&e)),
        };
        Ok(Some(StoredObject {
            size: out
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or_default(),
            content_type: out.content_type().unwrap_or_default().to_owned(),
        }))
    }

    async fn presign_download(
        &self,
        key: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<DownloadTicket, EvidenceError> {
        check_key(key)?;
        let ttl = capped(ttl);
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition("attachment")
            .presigned(presigning(now, ttl)?)
            .await
            .map_err(|e| backend(&e))?;
        Ok(DownloadTicket {
            url: request.uri().to_owned(),
            expires_at: expiry(now, ttl),
        })
    }
}

/// Presigning as of `now` for `ttl` (already capped).
fn presigning(now: DateTime<Utc>, ttl: Duration) -> Result<PresigningConfig, EvidenceError> {
    PresigningConfig::builder()
        .start_time(SystemTime::from(now))
        .expires_in(ttl)
        .build()
        .map_err(|e| EvidenceError::Backend(Box::new(e)))
}

/// An SDK error as a [`EvidenceError::Backend`], its whole chain in one message.
fn backend(err: &(dyn std::error::Error + 'static)) -> EvidenceError {
    EvidenceError::Backend(DisplayErrorContext(err).to_string().into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{EvidenceError, EvidenceType};

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn config_needs_a_bucket() {
        let err = EvidenceConfig::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(err.to_string(), "EVIDENCE_BUCKET is not set");
        let config =
            EvidenceConfig::from_lookup(lookup(&[(BUCKET_ENV, "recert-evidence")])).unwrap();
        assert_eq!(config.bucket, "recert-evidence");
    }

    /// A store whose client has fixed credentials and region and never reaches the network.
    fn store() -> S3Evidence {
        use aws_sdk_s3::config::{Credentials, Region};
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version_latest()
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ));
        S3Evidence::new(
            Client::from_conf(configure(config).build()),
            EvidenceConfig {
                bucket: "recert-evidence".into(),
            },
        )
    }

    fn spec() -> UploadSpec {
        UploadSpec {
            key: "evidence/0193a1b2/entry-1/scan.pdf".into(),
            size: 48213,
            content_type: EvidenceType::Pdf,
            sha256: [7; 32],
        }
    }

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// The URL's query parameters, percent-decoded (enough for SigV4's own parameters).
    fn query(url: &str) -> BTreeMap<String, String> {
        let (_, query) = url.split_once('?').unwrap();
        query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                let v = v.replace("%3B", ";").replace("%2F", "/");
                (k.to_owned(), v)
            })
            .collect()
    }

    #[tokio::test]
    async fn the_url_signs_length_type_and_checksum() {
        let spec = spec();
        let now = at("2026-11-29T19:14:31Z");
        let ticket = store()
            .presign_upload(&spec, now, Duration::from_secs(900))
            .await
            .unwrap();
        assert_eq!(ticket.method, "PUT");
        assert!(
            ticket.url.starts_with(
                "https://s3.eu-west-1.amazonaws.com/recert-evidence/evidence/0193a1b2/entry-1/scan.pdf?"
            ),
            "path-style: {}",
            ticket.url
        );
        let query = query(&ticket.url);
        let signed: Vec<&str> = query["X-Amz-SignedHeaders"].split(';').collect();
        for header in ["content-length", "content-type", "x-amz-checksum-sha256"] {
            assert!(signed.contains(&header), "{header} unsigned: {signed:?}");
        }
        assert_eq!(query["X-Amz-Expires"], "900");
        assert_eq!(query["X-Amz-Date"], "20261129T191431Z");
        assert_eq!(query["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert!(!query.contains_key("X-Amz-Checksum-Sha256"), "not hoisted");
        // Exactly what the presigned request carries: the three declared headers.
        assert_eq!(ticket.headers, spec.headers());
        assert_eq!(
            ticket.headers["x-amz-checksum-sha256"],
            spec.checksum_base64()
        );
        assert_eq!(ticket.expires_at, at("2026-11-29T19:29:31Z"));
    }

    #[tokio::test]
    async fn the_ttl_is_capped_at_seven_days() {
        let now = at("2026-11-29T19:14:31Z");
        let ticket = store()
            .presign_upload(&spec(), now, Duration::from_secs(30 * 24 * 3600))
            .await
            .unwrap();
        assert_eq!(query(&ticket.url)["X-Amz-Expires"], "604800");
        assert_eq!(ticket.expires_at, at("2026-12-06T19:14:31Z"));
    }

    #[tokio::test]
    async fn the_download_url_is_a_get_of_the_key_as_an_attachment() {
        let now = at("2026-11-29T19:14:31Z");
        let key = "evidence/0193a1b2/entry-1/scan.pdf";
        let ticket = store()
            .presign_download(key, now, Duration::from_secs(300))
            .await
            .unwrap();
        assert!(
            ticket.url.starts_with(
                "https://s3.eu-west-1.amazonaws.com/recert-evidence/evidence/0193a1b2/entry-1/scan.pdf?"
            ),
            "path-style: {}",
            ticket.url
        );
        let params = query(&ticket.url);
        assert_eq!(params["response-content-disposition"], "attachment");
        assert!(
            !params.contains_key("response-content-type"),
            "the stored type is kept"
        );
        assert_eq!(params["X-Amz-Expires"], "300");
        assert_eq!(params["X-Amz-Date"], "20261129T191431Z");
        assert_eq!(params["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        // Nothing but the host to send: a browser can open it.
        assert_eq!(params["X-Amz-SignedHeaders"], "host");
        assert!(params.contains_key("X-Amz-Signature"));
        assert_eq!(ticket.expires_at, at("2026-11-29T19:19:31Z"));

        let capped = store()
            .presign_download(key, now, Duration::from_secs(30 * 24 * 3600))
            .await
            .unwrap();
        assert_eq!(query(&capped.url)["X-Amz-Expires"], "604800");
        assert_eq!(capped.expires_at, at("2026-12-06T19:14:31Z"));

        let err = store()
            .presign_download("../x", now, Duration::from_secs(60))
            .await
            .unwrap_err();
        assert!(matches!(err, EvidenceError::InvalidKey { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn bad_specs_are_refused_before_signing() {
        let now = at("2026-11-29T19:14:31Z");
        let mut bad_key = spec();
        bad_key.key = "../x".into();
        let err = store()
            .presign_upload(&bad_key, now, Duration::from_secs(60))
            .await
            .unwrap_err();
        assert!(matches!(err, EvidenceError::InvalidKey { .. }), "{err:?}");
        let mut empty = spec();
        empty.size = 0;
        let err = store()
            .presign_upload(&empty, now, Duration::from_secs(60))
            .await
            .unwrap_err();
        assert!(
            matches!(err, EvidenceError::InvalidSize { size: 0 }),
            "{err:?}"
        );
    }
}
