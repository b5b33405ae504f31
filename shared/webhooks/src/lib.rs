//! Recert's payment-webhook port. The payment processor calls the renewal-fee webhook route
//! without a JWT, so the handler must prove the call came from the processor by checking the
//! processor's signature itself. This crate does exactly that and nothing more: a [`Verifier`]
//! checks the signature headers against the raw request body and one or two configured
//! [`WebhookSecret`]s (two while a secret is being rotated), rejects timestamps outside the
//! tolerance, and turns the signed body into one provider-neutral [`PaymentEvent`] that the
//! application consumes. Two adapters sit behind the same API, chosen by [`Scheme`]: **Stripe**
//! (`Stripe-Signature`) and **Standard Webhooks** (`webhook-id` / `webhook-timestamp` /
//! `webhook-signature`, <https://www.standardwebhooks.com>).
//!
//! It depends on no HTTP framework (the caller's adapter exposes its request headers through the
//! small [`Headers`] trait and hands over the body bytes *exactly as received*, before any JSON
//! parsing), on no AWS SDK and on no store, nor on any other Recert crate: recording processed
//! event ids (both processors retry and may deliver twice; deduplicate on
//! [`PaymentEvent::event_id`]) and acting on the event belong to the callers. Secrets never
//! appear in `Debug` output or error messages, and [`WebhookError::BadPayload`] says what is wrong
//! with a body without quoting it.
//!
//! # Verification
//!
//! | | Stripe | Standard Webhooks |
//! |---|---|---|
//! | headers | `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]` | `webhook-id`, `webhook-timestamp` (unix seconds), `webhook-signature` (space-separated `v1,<base64>` entries) |
//! | signed content | `"{t}.{raw body}"` | `"{webhook-id}.{webhook-timestamp}.{raw body}"` |
//! | key | the whole `whsec_…` string as bytes (not decoded) | base64-decoded part after `whsec_` (24–64 bytes) |
//! | MAC | HMAC-SHA256, lower-case hex | HMAC-SHA256, standard base64 |
//! | accepted when | any `v1` matches any configured secret | any `v1,` entry matches any configured secret |
//!
//! Other entries (`v0=` for Stripe, `v1a,` and unknown versions for Standard Webhooks) are
//! ignored. Comparisons are constant-time ([`hmac::Mac::verify_slice`], which also rejects a
//! signature of the wrong length). The timestamp must be within the tolerance (default
//! [`DEFAULT_TOLERANCE`], 300 s) **in both directions** for both schemes; the signature is checked
//! first, so [`WebhookError::Stale`] only ever describes an authentic message (a replay or a
//! skewed clock), never a forgery.
//!
//! # Configuration
//!
//! [`Verifier::from_env`] reads:
//! - `PAYMENT_WEBHOOK_SCHEME`: `stripe` (default when unset or empty) or `standard-webhooks`;
//! - `PAYMENT_WEBHOOK_SECRET` (required): the current signing secret;
//! - `PAYMENT_WEBHOOK_SECRET_PREVIOUS` (optional; unset or empty means none): the secret being
//!   rotated out. While both are set both are accepted; remove it once the processor signs with
//!   the new one only.
//!
//! Errors name the variable and what is wrong, never its value. In Lambda the two secrets are not
//! in the environment: `PAYMENT_WEBHOOK_SECRET_ARN` / `PAYMENT_WEBHOOK_SECRET_PREVIOUS_ARN` name
//! their Secrets Manager secrets, which `recert_app::secrets` reads at cold start and hands to
//! [`Verifier::from_lookup`] as if they were the variables above.
//!
//! # Payloads
//!
//! **Stripe** events (the processor's own shape), mapped as follows:
//!
//! ```json
//! {"id":"evt_…","type":"payment_intent.succeeded","created":1700000000,
//!  "data":{"object":{"id":"pi_…","amount":12345,"currency":"usd","metadata":{"order_number":"R-…"}}}}
//! ```
//!
//! - `id` → `event_id`; `created` (unix seconds, or an RFC 3339 string as in Stripe's newer
//!   events) → `occurred_at`;
//! - `payment_intent.succeeded` → [`PaymentKind::Succeeded`], `payment_intent.payment_failed` →
//!   [`PaymentKind::Failed`]: the object is a PaymentIntent; `amount` → `amount_minor`, `id` →
//!   `payment_reference`;
//! - `charge.refunded` → [`PaymentKind::Refunded`]: the object is a Charge; `amount_refunded`
//!   (else `amount`) → `amount_minor`, `payment_intent` (else the charge's `id`) →
//!   `payment_reference`, so a refund carries the same reference as the payment it reverses.
//!   Stripe does not copy a PaymentIntent's metadata onto its charges, so `order_number` is often
//!   absent here: match refunds on `payment_reference`;
//! - `metadata.order_number` → `order_number`; `currency` → `currency`, upper-cased.
//!
//! **Standard Webhooks**: the body is Recert's own neutral shape, which a sender must produce:
//!
//! ```json
//! {"type":"payment.succeeded","timestamp":"2026-03-01T12:00:00Z",
//!  "data":{"order_number":"R-2026-000123","amount_minor":12345,"currency":"USD","payment_id":"pay_…"}}
//! ```
//!
//! - `type`: `payment.succeeded` | `payment.failed` | `payment.refunded` (for a refund,
//!   `amount_minor` is the refunded amount and `payment_id` the original payment's id);
//! - `timestamp` (optional, RFC 3339) → `occurred_at`: when the payment event happened, not the
//!   delivery attempt;
//! - `data` (an object, required for the three payment types): `order_number`, `amount_minor`
//!   (integer, minor units), `currency` (ISO 4217, upper-cased on the way in) and `payment_id`
//!   (→ `payment_reference`), each optional;
//! - `event_id` is the `webhook-id` header (the spec's idempotency key), not a body field.
//!
//! Both schemes: any other `type` gives [`PaymentKind::Other`] (the application acknowledges and
//! ignores it; its data fields are not read, so an unfamiliar shape never causes a rejection); a
//! body that is not a JSON object, lacks a string `type` (or, for Stripe, `id`), or has a field of
//! the wrong type in a payment event gives [`WebhookError::BadPayload`].

mod event;
mod secret;
mod standard;
mod stripe;
#[cfg(test)]
mod tests;

pub use event::{PaymentEvent, PaymentKind};
pub use secret::WebhookSecret;

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::str::FromStr;
use std::time::Duration;

/// How far a signature timestamp may be from `now`, in either direction, unless
/// [`Verifier::with_tolerance`] says otherwise: 300 s, Stripe's default and the Standard Webhooks
/// recommendation (5 minutes).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Environment variable naming the [`Scheme`] (`stripe`, the default, or `standard-webhooks`).
pub const ENV_SCHEME: &str = "PAYMENT_WEBHOOK_SCHEME";
/// Environment variable holding the current signing secret (required).
pub const ENV_SECRET: &str = "PAYMENT_WEBHOOK_SECRET";
/// Environment variable holding the previous signing secret while it is rotated out (optional).
pub const ENV_SECRET_PREVIOUS: &str = "PAYMENT_WEBHOOK_SECRET_PREVIOUS";

/// Request headers, looked up case-insensitively by the caller's adapter.
///
/// Implemented here for lists of `(name, value)` pairs (a slice reference, a `Vec`, an array)
/// and for `HashMap<String, String>`, all comparing names ASCII-case-insensitively; the first
/// pair with a matching name wins. An HTTP adapter implements it over its own header map.
pub trait Headers {
    /// The value of the header `name` (given in lower case), if present and valid text.
    fn get(&self, name: &str) -> Option<&str>;
}

impl<N: AsRef<str>, V: AsRef<str>> Headers for [(N, V)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<N: AsRef<str>, V: AsRef<str>> Headers for &[(N, V)] {
    fn get(&self, name: &str) -> Option<&str> {
        <[(N, V)] as Headers>::get(self, name)
    }
}

impl<N: AsRef<str>, V: AsRef<str>> Headers for Vec<(N, V)> {
    fn get(&self, name: &str) -> Option<&str> {
        <[(N, V)] as Headers>::get(self.as_slice(), name)
    }
}

impl<N: AsRef<str>, V: AsRef<str>, const K: usize> Headers for [(N, V); K] {
    fn get(&self, name: &str) -> Option<&str> {
        <[(N, V)] as Headers>::get(self.as_slice(), name)
    }
}

impl<S: BuildHasher> Headers for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name)
            .or_else(|| {
                self.iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
            .map(String::as_str)
    }
}

/// Which signature scheme the processor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Stripe's `Stripe-Signature` header.
    Stripe,
    /// Standard Webhooks 1.0 (symmetric `v1` signatures).
    StandardWebhooks,
}

impl Scheme {
    /// The configuration name: `stripe` or `standard-webhooks`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Stripe => "stripe",
            Scheme::StandardWebhooks => "standard-webhooks",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scheme {
    type Err = ConfigError;

    /// `stripe` or `standard-webhooks`, ASCII-case-insensitive, surrounding whitespace ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("stripe") {
            Ok(Scheme::Stripe)
        } else if s.eq_ignore_ascii_case("standard-webhooks") {
            Ok(Scheme::StandardWebhooks)
        } else {
            Err(ConfigError::UnknownScheme)
        }
    }
}

/// What is wrong with the webhook configuration. Never contains a secret or any configured value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required environment variable is unset or empty.
    #[error("{var} is not set")]
    Missing {
        /// The variable's name.
        var: &'static str,
    },
    /// An environment variable is set to something unusable.
    #[error("{var} {reason}")]
    Invalid {
        /// The variable's name.
        var: &'static str,
        /// What is wrong, without the value.
        reason: String,
    },
    /// The scheme name is neither `stripe` nor `standard-webhooks`.
    #[error("unknown webhook scheme: expected `stripe` or `standard-webhooks`")]
    UnknownScheme,
    /// A secret does not have the form its scheme requires.
    #[error("is not a valid {scheme} webhook secret: {reason}")]
    InvalidSecret {
        /// The scheme the secret was parsed for.
        scheme: Scheme,
        /// What is wrong, without the value.
        reason: &'static str,
    },
    /// A verifier takes one secret, or two while rotating.
    #[error("a webhook verifier takes 1 or 2 secrets, got {0}")]
    SecretCount(usize),
    /// A secret was parsed for another scheme than the verifier's.
    #[error("a {found} secret was given to a {expected} verifier")]
    SchemeMismatch {
        /// The verifier's scheme.
        expected: Scheme,
        /// The secret's scheme.
        found: Scheme,
    },
}

/// Why a webhook call is rejected. Every variant means "do not act on this request"; the texts name
/// headers and fields, never secrets or body content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A required header is absent or empty.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// A header cannot be parsed (e.g. a non-numeric timestamp).
    #[error("malformed header `{0}`")]
    MalformedHeader(&'static str),
    /// The signature is valid but its timestamp is outside the tolerance; `age_seconds` is
    /// `now − timestamp` (negative when the timestamp is in the future).
    #[error("signature timestamp outside the tolerance (age {age_seconds} s)")]
    Stale {
        /// `now − timestamp`, in seconds.
        age_seconds: i64,
    },
    /// No signature matches any configured secret.
    #[error("no signature matches")]
    BadSignature,
    /// The message is authentic but its body is not a payment event this crate understands.
    #[error("bad payload: {0}")]
    BadPayload(String),
}

/// Verifies a processor's webhook calls and parses them into [`PaymentEvent`]s.
///
/// Holds the scheme, one secret (or two while rotating: the first is the current one, used by
/// [`Verifier::sign`]) and the tolerance. Its `Debug` output shows no secret.
#[derive(Debug, Clone)]
pub struct Verifier {
    scheme: Scheme,
    secrets: Vec<WebhookSecret>,
    tolerance: Duration,
}

impl Verifier {
    /// A verifier for `scheme` accepting any of `secrets` (1 or 2, each parsed for `scheme`; the
    /// first is the current one), with [`DEFAULT_TOLERANCE`].
    pub fn new(scheme: Scheme, secrets: Vec<WebhookSecret>) -> Result<Self, ConfigError> {
        if !(1..=2).contains(&secrets.len()) {
            return Err(ConfigError::SecretCount(secrets.len()));
        }
        if let Some(other) = secrets.iter().find(|s| s.scheme() != scheme) {
            return Err(ConfigError::SchemeMismatch {
                expected: scheme,
                found: other.scheme(),
            });
        }
        Ok(Verifier {
            scheme,
            secrets,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// A verifier from `PAYMENT_WEBHOOK_SCHEME` (default `stripe`), `PAYMENT_WEBHOOK_SECRET`
    /// (required) and `PAYMENT_WEBHOOK_SECRET_PREVIOUS` (optional, for rotation). Empty values
    /// count as unset. Errors name the variable, never the value.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|var| match std::env::var(var) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::Invalid {
                var,
                reason: "is not valid UTF-8".to_owned(),
            }),
        })
    }

    /// [`Verifier::from_env`] over any variable source: the Lambda passes its environment with the
    /// secrets resolved from Secrets Manager (`recert_app::secrets`); tests use a map, never the
    /// process environment.
    pub fn from_lookup(
        lookup: impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
    ) -> Result<Self, ConfigError> {
        let non_empty = |var: &'static str| -> Result<Option<String>, ConfigError> {
            Ok(lookup(var)?.filter(|v| !v.trim().is_empty()))
        };
        let scheme = match non_empty(ENV_SCHEME)? {
            None => Scheme::Stripe,
            Some(name) => name.parse().map_err(|_| ConfigError::Invalid {
                var: ENV_SCHEME,
                reason: "must be `stripe` or `standard-webhooks`".to_owned(),
            })?,
        };
        let secret = |var: &'static str, value: &str| {
            WebhookSecret::parse(scheme, value).map_err(|e| ConfigError::Invalid {
                var,
                reason: e.to_string(),
            })
        };
        let current = non_empty(ENV_SECRET)?.ok_or(ConfigError::Missing { var: ENV_SECRET })?;
        let mut secrets = vec![secret(ENV_SECRET, &current)?];
        if let Some(previous) = non_empty(ENV_SECRET_PREVIOUS)? {
            secrets.push(secret(ENV_SECRET_PREVIOUS, &previous)?);
        }
        Verifier::new(scheme, secrets)
    }

    /// The same verifier with another tolerance (whole seconds; applied in both directions).
    #[must_use]
    pub fn with_tolerance(self, d: Duration) -> Self {
        Verifier {
            tolerance: d,
            ..self
        }
    }

    /// The scheme this verifier checks.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The tolerance applied to signature timestamps.
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// Verify and parse: Ok only when a signature matches and the timestamp is fresh.
    ///
    /// `body` must be the raw request body, byte for byte. Checks, in order: the headers parse
    /// ([`WebhookError::MissingHeader`], [`WebhookError::MalformedHeader`]); some signature
    /// matches some secret ([`WebhookError::BadSignature`]); the timestamp is within the
    /// tolerance of `now` ([`WebhookError::Stale`]); the body is a payment event
    /// ([`WebhookError::BadPayload`]).
    pub fn verify(
        &self,
        headers: &dyn Headers,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PaymentEvent, WebhookError> {
        match self.scheme {
            Scheme::Stripe => {
                let signed = stripe::SignedHeader::parse(headers)?;
                if !self.secrets.iter().any(|s| signed.matches(s.key(), body)) {
                    return Err(WebhookError::BadSignature);
                }
                self.check_fresh(signed.timestamp, now)?;
                event::from_stripe(body)
            }
            Scheme::StandardWebhooks => {
                let signed = standard::SignedHeaders::parse(headers)?;
                if !self.secrets.iter().any(|s| signed.matches(s.key(), body)) {
                    return Err(WebhookError::BadSignature);
                }
                self.check_fresh(signed.timestamp, now)?;
                event::from_standard(body, signed.id)
            }
        }
    }

    /// Sign (for tests and the local dev tool): the headers a sender would attach.
    ///
    /// Signs with the current (first) secret at `at` (whole seconds). `event_id` becomes the
    /// `webhook-id` header for Standard Webhooks; Stripe carries its event id in the body, so
    /// there it is not used.
    pub fn sign(&self, body: &[u8], at: DateTime<Utc>, event_id: &str) -> Vec<(String, String)> {
        let key = self.secrets.first().map_or(&[][..], WebhookSecret::key);
        let timestamp = at.timestamp().to_string();
        match self.scheme {
            Scheme::Stripe => vec![(
                stripe::HEADER.to_owned(),
                format!("t={timestamp},v1={}", stripe::sign(key, &timestamp, body)),
            )],
            Scheme::StandardWebhooks => vec![
                (standard::ID.to_owned(), event_id.to_owned()),
                (standard::TIMESTAMP.to_owned(), timestamp.clone()),
                (
                    standard::SIGNATURE.to_owned(),
                    format!("v1,{}", standard::sign(key, event_id, &timestamp, body)),
                ),
            ],
        }
    }

    fn check_fresh(&self, timestamp: i64, now: DateTime<Utc>) -> Result<(), WebhookError> {
        let age_seconds = now.timestamp().saturating_sub(timestamp);
        if age_seconds.unsigned_abs() > self.tolerance.as_secs() {
            Err(WebhookError::Stale { age_seconds })
        } else {
            Ok(())
        }
    }
}

/// A header's value, trimmed; absent or blank is [`WebhookError::MissingHeader`].
fn required_header<'h>(
    headers: &'h dyn Headers,
    name: &'static str,
) -> Result<&'h str, WebhookError> {
    headers
        .get(&name.to_ascii_lowercase())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(WebhookError::MissingHeader(name))
}

/// A Unix timestamp written as 1–19 ASCII digits (no sign, no fraction), as both schemes send it.
fn parse_unix_seconds(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// HMAC-SHA256 keyed with `key` over the concatenation of `parts`, ready to finalize or verify.
fn hmac_over(key: &[u8], parts: &[&[u8]]) -> hmac::Hmac<sha2::Sha256> {
    use hmac::Mac;
    // HMAC accepts keys of any length (long keys are hashed), so this cannot fail.
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for part in parts {
        mac.update(part);
    }
    mac
}

/// Whether any of `candidates` is the MAC in `mac`, compared in constant time (wrong lengths never
/// match). The body is hashed once; each candidate only costs the finalization.
fn any_matches(mac: &hmac::Hmac<sha2::Sha256>, candidates: &[Vec<u8>]) -> bool {
    use hmac::Mac;
    candidates
        .iter()
        .any(|candidate| mac.clone().verify_slice(candidate).is_ok())
}
