//! The Stripe adapter: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]` over
//! `"{t}.{raw body}"`, HMAC-SHA256 keyed with the whole `whsec_…` string, lower-case hex.

use crate::{Headers, WebhookError, any_matches, hmac_over, parse_unix_seconds, required_header};
use hmac::Mac;

/// The header's name, as Stripe writes it (looked up case-insensitively).
pub(crate) const HEADER: &str = "Stripe-Signature";

/// A parsed `Stripe-Signature` header.
#[derive(Debug)]
pub(crate) struct SignedHeader<'h> {
    /// `t`, as sent (it is signed as text).
    timestamp_text: &'h str,
    /// `t`, as a number.
    pub(crate) timestamp: i64,
    /// The decodable `v1` signatures; undecodable ones are dropped (they could never match).
    signatures: Vec<Vec<u8>>,
}

impl<'h> SignedHeader<'h> {
    /// Parse the header: comma-separated `key=value` items, exactly one numeric `t`, any number
    /// of `v1` (possibly none, which then matches nothing); other keys (`v0`, future schemes) are
    /// ignored, as are empty items.
    pub(crate) fn parse(headers: &'h dyn Headers) -> Result<Self, WebhookError> {
        let malformed = WebhookError::MalformedHeader(HEADER);
        let raw = required_header(headers, HEADER)?;
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (key, value) = item.split_once('=').ok_or(malformed.clone())?;
            match key.trim() {
                "t" => {
                    let text = value.trim();
                    let number = parse_unix_seconds(text).ok_or(malformed.clone())?;
                    if timestamp.replace((text, number)).is_some() {
                        return Err(malformed);
                    }
                }
                "v1" => signatures.extend(hex::decode(value.trim()).ok()),
                _ => {}
            }
        }
        let (timestamp_text, timestamp) = timestamp.ok_or(malformed)?;
        Ok(SignedHeader {
            timestamp_text,
            timestamp,
            signatures,
        })
    }

    /// Whether any `v1` signature is the MAC of this header's `t` and `body` under `key`.
    pub(crate) fn matches(&self, key: &[u8], body: &[u8]) -> bool {
        let mac = hmac_over(key, &[self.timestamp_text.as_bytes(), b".", body]);
        any_matches(&mac, &self.signatures)
    }
}

/// The `v1` signature (lower-case hex) of `body` at `timestamp` under `key`.
pub(crate) fn sign(key: &[u8], timestamp: &str, body: &[u8]) -> String {
    let tag = hmac_over(key, &[timestamp.as_bytes(), b".", body])
        .finalize()
        .into_bytes();
    hex::encode(tag)
}
