//! The Standard Webhooks adapter (spec 1.0, symmetric signatures): `webhook-id`,
//! `webhook-timestamp`, `webhook-signature` (space-separated `v1,<base64>` entries) over
//! `"{id}.{timestamp}.{raw body}"`, HMAC-SHA256 keyed with the decoded secret, standard base64.

use crate::{Headers, WebhookError, any_matches, hmac_over, parse_unix_seconds, required_header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::Mac;

/// The message id header (also the idempotency key).
pub(crate) const ID: &str = "webhook-id";
/// The attempt's Unix timestamp header.
pub(crate) const TIMESTAMP: &str = "webhook-timestamp";
/// The signature list header.
pub(crate) const SIGNATURE: &str = "webhook-signature";

/// The three parsed headers.
#[derive(Debug)]
pub(crate) struct SignedHeaders<'h> {
    pub(crate) id: &'h str,
    timestamp_text: &'h str,
    pub(crate) timestamp: i64,
    /// The decodable `v1` signatures; `v1a` (asymmetric), unknown versions and undecodable
    /// entries are dropped.
    signatures: Vec<Vec<u8>>,
}

impl<'h> SignedHeaders<'h> {
    /// Parse the headers: all three present; the timestamp numeric; every signature entry of the
    /// form `<version>,<signature>`.
    pub(crate) fn parse(headers: &'h dyn Headers) -> Result<Self, WebhookError> {
        let id = required_header(headers, ID)?;
        let timestamp_text = required_header(headers, TIMESTAMP)?;
        let timestamp =
            parse_unix_seconds(timestamp_text).ok_or(WebhookError::MalformedHeader(TIMESTAMP))?;
        let mut signatures = Vec::new();
        for entry in required_header(headers, SIGNATURE)?.split_ascii_whitespace() {
            let (version, signature) = entry
                .split_once(',')
                .ok_or(WebhookError::MalformedHeader(SIGNATURE))?;
            if version == "v1" {
                signatures.extend(STANDARD.decode(signature).ok());
            }
        }
        Ok(SignedHeaders {
            id,
            timestamp_text,
            timestamp,
            signatures,
        })
    }

    /// Whether any `v1` signature is the MAC of this id, timestamp and `body` under `key`.
    pub(crate) fn matches(&self, key: &[u8], body: &[u8]) -> bool {
        let mac = hmac_over(key, &signed_content(self.id, self.timestamp_text, body));
        any_matches(&mac, &self.signatures)
    }
}

fn signed_content<'a>(id: &'a str, timestamp: &'a str, body: &'a [u8]) -> [&'a [u8]; 5] {
    [id.as_bytes(), b".", timestamp.as_bytes(), b".", body]
}

/// The `v1` signature (standard base64, without the `v1,` prefix) of `body` under `key`.
pub(crate) fn sign(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    let tag = hmac_over(key, &signed_content(id, timestamp, body))
        .finalize()
        .into_bytes();
    STANDARD.encode(tag)
}
