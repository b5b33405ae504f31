//! Signing secrets, parsed and checked per scheme; never printed.

use crate::{ConfigError, Scheme};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use std::fmt;

/// Standard base64 that accepts the secret with or without its `=` padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The prefix of both schemes' symmetric secrets.
const PREFIX: &str = "whsec_";

/// A webhook signing secret for one [`Scheme`], holding the HMAC key it stands for.
///
/// Built from configuration with [`WebhookSecret::parse`] (or the per-scheme constructors), which
/// trim surrounding whitespace (never part of a valid secret) and check the form:
/// - Stripe: `whsec_` followed by printable ASCII; the key is the **whole string's bytes**, not a
///   decoding of it;
/// - Standard Webhooks: `whsec_` (optional, as in the reference libraries) followed by standard
///   base64, padded or not, decoding to 24–64 bytes (the spec's range); the key is the decoded
///   bytes. Asymmetric keys (`whsk_` / `whpk_`) are refused.
///
/// Its `Debug` output names the scheme only.
#[derive(Clone)]
pub struct WebhookSecret {
    scheme: Scheme,
    key: Vec<u8>,
}

impl WebhookSecret {
    /// Parse `value` as a secret of `scheme`.
    pub fn parse(scheme: Scheme, value: &str) -> Result<Self, ConfigError> {
        match scheme {
            Scheme::Stripe => Self::stripe(value),
            Scheme::StandardWebhooks => Self::standard_webhooks(value),
        }
    }

    /// A Stripe endpoint secret (`whsec_…`), used as raw bytes.
    pub fn stripe(value: &str) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::InvalidSecret {
            scheme: Scheme::Stripe,
            reason,
        };
        let value = value.trim();
        let rest = value.strip_prefix(PREFIX).ok_or_else(|| {
            invalid("must start with `whsec_` (the endpoint's signing secret, not an API key)")
        })?;
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("must be `whsec_` followed by printable ASCII"));
        }
        Ok(WebhookSecret {
            scheme: Scheme::Stripe,
            key: value.as_bytes().to_vec(),
        })
    }

    /// A Standard Webhooks symmetric secret (`whsec_<base64>`), base64-decoded to the key.
    pub fn standard_webhooks(value: &str) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::InvalidSecret {
            scheme: Scheme::StandardWebhooks,
            reason,
        };
        let value = value.trim();
        if value.starts_with("whsk_") || value.starts_with("whpk_") {
            return Err(invalid(
                "asymmetric (`whsk_`/`whpk_`) keys are not supported, use a `whsec_` secret",
            ));
        }
        let encoded = value.strip_prefix(PREFIX).unwrap_or(value);
        if encoded.is_empty() {
            return Err(invalid("is empty after `whsec_`"));
        }
        let key = LENIENT_BASE64
            .decode(encoded)
            .map_err(|_| invalid("is not standard base64 after `whsec_`"))?;
        if !(24..=64).contains(&key.len()) {
            return Err(invalid("must decode to 24 to 64 bytes"));
        }
        Ok(WebhookSecret {
            scheme: Scheme::StandardWebhooks,
            key,
        })
    }

    /// The scheme this secret was parsed for.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The HMAC key.
    pub(crate) fn key(&self) -> &[u8] {
        &self.key
    }

    /// A secret from raw key bytes, skipping the form checks: only for reference vectors whose
    /// published secrets do not have the production form (e.g. Stripe's `webhook_secret`).
    #[cfg(test)]
    pub(crate) fn from_raw_key(scheme: Scheme, key: &[u8]) -> Self {
        WebhookSecret {
            scheme,
            key: key.to_vec(),
        }
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSecret")
            .field("scheme", &self.scheme)
            .field("key", &"<redacted>")
            .finish()
    }
}
