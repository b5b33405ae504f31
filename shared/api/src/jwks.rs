//! The issuer's published keys, and their refresh when a token names a key not yet known.
//!
//! An issuer rotates its signing key by publishing the new key in its JWKS, then signing with it. A
//! function starts from the JWKS in its configuration (`JWT_JWKS`: no network call at init). When a
//! token names an unknown `kid` and `JWT_DISCOVERY_URL` is set, it reads the issuer's OpenID
//! discovery document, follows its `jwks_uri` and replaces its key set, so a rotation needs no
//! redeploy. At most one fetch per `JWT_JWKS_REFRESH_SECONDS` (default 60), whatever the tokens
//! say, so made-up `kid`s cannot turn the API into a load generator against the issuer; requests
//! that arrive during a fetch wait for that one fetch. A failed fetch keeps the keys held.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// kid → (key, algorithm).
pub type KeyMap = HashMap<String, (DecodingKey, Algorithm)>;

/// The default least time between two fetches of the issuer's keys.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// How long one request to the issuer may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest discovery document or JWKS read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    #[error("the JWKS is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("JWKS key {kid:?}: {reason}")]
    Key { kid: String, reason: String },
    #[error("the JWKS holds no RS256/ES256 key with a kid")]
    NoKeys,
}

/// The RS256/ES256 keys (with a `kid`) of a JWKS document; other keys are skipped.
pub fn parse_key_set(jwks_json: &str) -> Result<KeyMap, KeySetError> {
    let set: JwkSet = serde_json::from_str(jwks_json)?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
            _ => continue,
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| KeySetError::Key {
            kid: kid.clone(),
            reason: e.to_string(),
        })?;
        keys.insert(kid, (key, alg));
    }
    if keys.is_empty() {
        return Err(KeySetError::NoKeys);
    }
    Ok(keys)
}

/// Why a discovery or JWKS URL is refused (checked at init, without a network call).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UrlError(&'static str);

/// An `https` URL, or `http` on a loopback host (local tests of the refresh only).
pub fn issuer_url(url: &str) -> Result<http::Uri, UrlError> {
    let uri: http::Uri = url.parse().map_err(|_| UrlError("not a URL (https://…)"))?;
    let host = uri.host().ok_or(UrlError("the URL names no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if matches!(host, "127.0.0.1" | "localhost" | "[::1]") => Ok(uri),
        _ => Err(UrlError("must be https (http only on a loopback host)")),
    }
}

#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("{0}")]
    Url(#[from] UrlError),
    #[error("no TLS roots: {0}")]
    Roots(std::io::Error),
    #[error("request failed: {0}")]
    Request(String),
    #[error("timed out after {}s", FETCH_TIMEOUT.as_secs())]
    Timeout,
    #[error("answered {0}")]
    Status(http::StatusCode),
    #[error("the document is not what was expected: {0}")]
    Document(String),
    #[error("the discovery document names issuer {found:?}, not the configured JWT_ISSUER")]
    IssuerMismatch { found: String },
    #[error("{0}")]
    Keys(#[from] KeySetError),
}

/// The part of an OpenID Provider's discovery document read here.
#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// The keys a function verifies tokens with, refreshed from the issuer when configured.
pub struct PublishedKeys {
    current: RwLock<Arc<KeyMap>>,
    refresh: Option<Refresh>,
}

impl std::fmt::Debug for PublishedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key ids only, never key material.
        let held = self.current();
        let mut kids: Vec<&String> = held.keys().collect();
        kids.sort();
        f.debug_struct("PublishedKeys")
            .field("kids", &kids)
            .field(
                "discovery_url",
                &self.refresh.as_ref().map(|r| r.discovery_url.to_string()),
            )
            .finish()
    }
}

struct Refresh {
    discovery_url: http::Uri,
    issuer: String,
    min_interval: Duration,
    /// When the last fetch ended; also makes concurrent refreshes wait for one fetch.
    last_attempt: tokio::sync::Mutex<Option<Instant>>,
    /// Built on the first fetch (reading the system's roots then, never at init).
    client: tokio::sync::OnceCell<HttpsClient>,
}

impl PublishedKeys {
    /// A fixed key set (no refresh).
    pub fn fixed(keys: KeyMap) -> Self {
        PublishedKeys {
            current: RwLock::new(Arc::new(keys)),
            refresh: None,
        }
    }

    /// Keys starting from `initial` (possibly none), refreshed from `discovery_url` when a token
    /// names a key not held, at most once per `min_interval`. The discovery document must name
    /// `issuer`.
    pub fn refreshed(
        initial: KeyMap,
        discovery_url: http::Uri,
        issuer: &str,
        min_interval: Duration,
    ) -> Self {
        PublishedKeys {
            current: RwLock::new(Arc::new(initial)),
            refresh: Some(Refresh {
                discovery_url,
                issuer: issuer.into(),
                min_interval,
                last_attempt: tokio::sync::Mutex::new(None),
                client: tokio::sync::OnceCell::new(),
            }),
        }
    }

    fn current(&self) -> Arc<KeyMap> {
        match self.current.read() {
            Ok(keys) => Arc::clone(&keys),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn replace(&self, keys: KeyMap) -> Arc<KeyMap> {
        let keys = Arc::new(keys);
        match self.current.write() {
            Ok(mut held) => *held = Arc::clone(&keys),
            Err(poisoned) => *poisoned.into_inner() = Arc::clone(&keys),
        }
        keys
    }

    /// The key set to verify a token naming `kid` with: the held one, or a freshly fetched one
    /// when `kid` is not held and a fetch is allowed now.
    pub async fn for_kid(&self, kid: &str) -> Arc<KeyMap> {
        let held = self.current();
        let Some(refresh) = &self.refresh else {
            return held;
        };
        if held.contains_key(kid) {
            return held;
        }
        let mut last = refresh.last_attempt.lock().await;
        // Another request may have fetched while this one waited.
        let held = self.current();
        if held.contains_key(kid) || last.is_some_and(|t| t.elapsed() < refresh.min_interval) {
            return held;
        }
        let fetched = refresh.fetch().await;
        // The interval counts from the end of an attempt, so a slow issuer is not asked sooner.
        *last = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "fetched the issuer's keys");
                self.replace(keys)
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not fetch the issuer's keys; keeping those held");
                held
            }
        }
    }
}

impl Refresh {
    async fn fetch(&self) -> Result<KeyMap, FetchError> {
        let body = self.get(&self.discovery_url).await?;
        let doc: Discovery =
            serde_json::from_slice(&body).map_err(|e| FetchError::Document(e.to_string()))?;
        if doc.issuer != self.issuer {
            return Err(FetchError::IssuerMismatch { found: doc.issuer });
        }
        let jwks = self.get(&issuer_url(&doc.jwks_uri)?).await?;
        let jwks = String::from_utf8(jwks).map_err(|e| FetchError::Document(e.to_string()))?;
        Ok(parse_key_set(&jwks)?)
    }

    async fn get(&self, uri: &http::Uri) -> Result<Vec<u8>, FetchError> {
        let client = self
            .client
            .get_or_try_init(|| async {
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_native_roots(Arc::new(
                        rustls::crypto::ring::default_provider(),
                    ))
                    .map_err(FetchError::Roots)?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok::<_, FetchError>(Client::builder(TokioExecutor::new()).build(https))
            })
            .await?;
        let exchange = async {
            let response = client
                .get(uri.clone())
                .await
                .map_err(|e| FetchError::Request(e.to_string()))?;
            if response.status() != http::StatusCode::OK {
                return Err(FetchError::Status(response.status()));
            }
            let body = Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
                .collect()
                .await
                .map_err(|e| FetchError::Request(e.to_string()))?;
            Ok(body.to_bytes().to_vec())
        };
        tokio::time::timeout(FETCH_TIMEOUT, exchange)
            .await
            .map_err(|_| FetchError::Timeout)?
    }
}
