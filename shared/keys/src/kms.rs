//! Sealing under an AWS KMS key: `Encrypt` and `Decrypt` with the context as the encryption
//! context (`recert:context`), so a ciphertext opens only for the context it was sealed for, and
//! CloudTrail records every use with it. The key never leaves KMS; whoever only reads the table
//! holds a ciphertext and nothing to open it with.

use crate::{KeyError, Sealed, Sealer};
use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::config::timeout::TimeoutConfig;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::time::Duration;

/// The encryption context's key.
pub const CONTEXT_KEY: &str = "recert:context";
/// The environment variable naming the audit seeds' key (an ARN, key id or alias ARN).
pub const KEY_ID_ENV: &str = "AUDIT_SEED_KEY_ID";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(8);
const MAX_ATTEMPTS: u32 = 3;

/// One KMS key, by the id or ARN the configuration names.
#[derive(Debug, Clone)]
pub struct KmsKey {
    client: Client,
    key_id: String,
}

impl KmsKey {
    /// The key `key_id` through a client built from `sdk` (timeouts and retries of our own).
    pub fn new(sdk: &aws_types::SdkConfig, key_id: impl Into<String>) -> KmsKey {
        let config = aws_sdk_kms::config::Builder::from(sdk)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .build();
        KmsKey {
            client: Client::from_conf(config),
            key_id: key_id.into(),
        }
    }

    /// The key [`KEY_ID_ENV`] names, if it is set.
    pub fn from_env(sdk: &aws_types::SdkConfig) -> Option<KmsKey> {
        std::env::var(KEY_ID_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|id| KmsKey::new(sdk, id.trim()))
    }

    /// The key's id or ARN as configured.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

/// An SDK error as its code and message: never the raw response.
fn describe<E: ProvideErrorMetadata, R>(operation: &str, error: &SdkError<E, R>) -> String {
    match error {
        SdkError::ServiceError(e) => format!(
            "{operation}: {}: {}",
            e.err().code().unwrap_or("service error"),
            e.err().message().unwrap_or("no message")
        ),
        SdkError::TimeoutError(_) => format!("{operation}: timed out"),
        SdkError::DispatchFailure(_) => format!("{operation}: the request could not be sent"),
        _ => format!("{operation}: its answer could not be read"),
    }
}

#[async_trait]
impl Sealer for KmsKey {
    async fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Sealed, KeyError> {
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(plaintext))
            .encryption_context(CONTEXT_KEY, context)
            .send()
            .await
            .map_err(|e| KeyError::Unavailable(describe("Encrypt", &e)))?;
        let blob = out
            .ciphertext_blob()
            .ok_or_else(|| KeyError::Unavailable("Encrypt: no ciphertext in the answer".into()))?;
        Ok(Sealed {
            key: self.key_id.clone(),
            ciphertext: STANDARD.encode(blob.as_ref()),
        })
    }

    async fn open(&self, context: &str, sealed: &Sealed) -> Result<Vec<u8>, KeyError> {
        if sealed.key != self.key_id {
            return Err(KeyError::OtherKey {
                sealed_by: sealed.key.clone(),
                holds: self.key_id.clone(),
            });
        }
        let ciphertext = STANDARD
            .decode(&sealed.ciphertext)
            .map_err(|_| KeyError::DoesNotOpen)?;
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_context(CONTEXT_KEY, context)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_invalid_ciphertext_exception() => KeyError::DoesNotOpen,
                _ => KeyError::Unavailable(describe("Decrypt", &e)),
            })?;
        out.plaintext()
            .map(|p| p.as_ref().to_vec())
            .ok_or_else(|| KeyError::Unavailable("Decrypt: no plaintext in the answer".into()))
    }
}
