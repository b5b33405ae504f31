//! The production adapter: [`Mailer`] on Amazon SES v2 `SendEmail` (`aws-sdk-sesv2`).
//!
//! Each [`Email`] goes out as *Simple* content (never an SES-side template: those fail
//! asynchronously on a missing variable) with a subject, a text part and an HTML part, all
//! UTF-8, from [`SesConfig::sender`] to `Name <address>` (the name RFC 2047 encoded when it is not
//! ASCII), in [`SesConfig::configuration_set`] when one is set (its event destinations report
//! bounces and complaints). The address is checked before the call ([`MailError::Rejected`] when
//! it is not a plain `local@domain`).
//!
//! Failures ([`send_error`]): `MessageRejected` and `BadRequestException` (an invalid address, a
//! malformed message) are permanent for the message, [`MailError::Rejected`]; so are the
//! unmodelled codes `InvalidParameterValue` and `ValidationException`. Everything else is
//! [`MailError::Transient`]: throttling (`TooManyRequestsException`, `LimitExceededException`),
//! timeouts, the network, 5xx, and the account-level states (`AccountSuspendedException`,
//! `SendingPausedException`, `MailFromDomainNotVerifiedException`, a configuration set that is
//! `NotFoundException`), which someone fixes in the account without the message changing, so the
//! message must wait rather than be given up. Provider messages are kept with every address in
//! them redacted ([`SesFailure`]).
//!
//! The clients built by [`client`] and [`local_client`] set explicit timeouts
//! ([`CONNECT_TIMEOUT`], [`ATTEMPT_TIMEOUT`], [`OPERATION_TIMEOUT`]) and the standard retry mode
//! with [`MAX_ATTEMPTS`] attempts (throttling and 5xx are retried inside one [`Mailer::send`]).

use crate::address::{mailbox, one_line, redact};
use crate::{ConfigError, Email, MailError, Mailer, SentId, env_var};
use async_trait::async_trait;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::config::timeout::TimeoutConfig;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use std::fmt;
use std::time::Duration;

pub use aws_sdk_sesv2::Client;

/// Time to open a TCP/TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time for one attempt of `SendEmail`.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time for a whole send, retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);
/// Attempts per operation (the first try and two retries), standard retry mode.
pub const MAX_ATTEMPTS: u32 = 3;

/// The environment variable with the sender (a verified identity; required).
pub const SENDER_ENV: &str = "SES_SENDER";
/// The environment variable with the configuration set's name (optional).
pub const CONFIGURATION_SET_ENV: &str = "SES_CONFIGURATION_SET";
/// The environment variable pointing the SES v2 client at another endpoint (an emulator).
pub const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_SESV2";

/// The charset of every part.
const CHARSET: &str = "UTF-8";

/// Who sends, and how SES should track it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesConfig {
    /// The `From`: a verified SES identity, as an address (`no-reply@example.org`) or with a
    /// display name (`Recert <no-reply@example.org>`).
    pub sender: String,
    /// The configuration set to send in (event publishing: bounces, complaints, deliveries).
    pub configuration_set: Option<String>,
}

impl SesConfig {
    /// From `SES_SENDER` (required) and `SES_CONFIGURATION_SET` (optional).
    pub fn from_env() -> Result<SesConfig, ConfigError> {
        SesConfig::from_lookup(env_var)
    }

    /// From variables looked up with `var` (unset or blank is `None`).
    fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<SesConfig, ConfigError> {
        let sender = var(SENDER_ENV).ok_or(ConfigError::Missing { name: SENDER_ENV })?;
        if one_line(&sender) != sender || !sender.contains('@') {
            return Err(ConfigError::Invalid {
                name: SENDER_ENV,
                reason: "expected an address, or `Name <address>`, on one line".into(),
            });
        }
        Ok(SesConfig {
            sender,
            configuration_set: var(CONFIGURATION_SET_ENV),
        })
    }
}

/// Applies the timeouts and the retry policy to an SES v2 client configuration.
pub fn configure(builder: aws_sdk_sesv2::config::Builder) -> aws_sdk_sesv2::config::Builder {
    builder
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
}

/// A client from the shared AWS config (region, credentials, `AWS_ENDPOINT_URL_SESV2`), with
/// [`configure`] applied.
pub fn client(sdk: &aws_types::SdkConfig) -> Client {
    let mut builder = aws_sdk_sesv2::config::Builder::from(sdk);
    if let Some(url) = env_var(ENDPOINT_ENV) {
        builder = builder.endpoint_url(url);
    }
    Client::from_conf(configure(builder).build())
}

/// A client for an emulator (moto) at `endpoint` ([`recert_aws::emulator`]: dummy static
/// credentials, the Lambdas' HTTP client), with [`configure`] applied. Synchronous: no credential
/// chain, no metadata probe.
pub fn local_client(endpoint: &str) -> Client {
    let builder = aws_sdk_sesv2::config::Builder::from(&recert_aws::emulator(endpoint));
    Client::from_conf(configure(builder).build())
}

/// [`Mailer`] on SES v2. Cheap to clone (the client is shared).
#[derive(Clone)]
pub struct SesMailer {
    client: Client,
    config: SesConfig,
}

impl fmt::Debug for SesMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SesMailer")
            .field("configuration_set", &self.config.configuration_set)
            .finish_non_exhaustive()
    }
}

impl SesMailer {
    /// A mailer sending with `client` as `config` says.
    pub fn new(client: Client, config: SesConfig) -> SesMailer {
        SesMailer { client, config }
    }

    /// The configuration it sends with.
    pub fn config(&self) -> &SesConfig {
        &self.config
    }

    /// The SES v2 client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn utf8(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset(CHARSET)
        .build()
        .map_err(|e| MailError::Transient(Box::new(e)))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<SentId, MailError> {
        let message = Message::builder()
            .subject(utf8(&one_line(&email.subject))?)
            .body(
                Body::builder()
                    .text(utf8(&email.text)?)
                    .html(utf8(&email.html)?)
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.config.sender)
            .destination(
                Destination::builder()
                    .to_addresses(mailbox(&email.to_name, email.to.as_str()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.config.configuration_set.clone())
            .send()
            .await
            .map_err(send_error)?;
        match out.message_id {
            Some(id) if !id.is_empty() => Ok(SentId(id)),
            // Accepted but unidentifiable: the message may be out, so this must not be retried
            // blindly; as a transient failure the outbox's lease rules decide.
            _ => Err(MailError::Transient(Box::new(SesFailure {
                code: "MissingMessageId".into(),
                status: None,
                message: "SES accepted the message without returning its id".into(),
            }))),
        }
    }
}

/// Error codes SES may send without a modelled variant that are permanent for the message.
const PERMANENT_CODES: [&str; 2] = ["InvalidParameterValue", "ValidationException"];

/// Maps a failed `SendEmail` to a [`MailError`] (see the module documentation for which errors
/// are permanent). Provider messages are redacted; timeouts and connection failures keep the SDK
/// error as their source (they hold no message content).
pub fn send_error(err: SdkError<SendEmailError, HttpResponse>) -> MailError {
    match err {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let err = context.into_err();
            let code = err.code().unwrap_or("Unknown").to_owned();
            let message = redact(err.message().unwrap_or_default());
            let permanent = matches!(
                err,
                SendEmailError::MessageRejected(_) | SendEmailError::BadRequestException(_)
            ) || PERMANENT_CODES.contains(&code.as_str());
            if permanent {
                MailError::Rejected {
                    reason: if message.is_empty() {
                        code
                    } else {
                        format!("{code}: {message}")
                    },
                }
            } else {
                MailError::Transient(Box::new(SesFailure {
                    code,
                    status: Some(status),
                    message,
                }))
            }
        }
        // The raw response may echo the request: keep only its status.
        SdkError::ResponseError(context) => MailError::Transient(Box::new(SesFailure {
            code: "ResponseError".into(),
            status: Some(context.raw().status().as_u16()),
            message: "the response could not be read".into(),
        })),
        other => MailError::Transient(Box::new(other)),
    }
}

/// An error SES answered with, without personal data: its code, the HTTP status and its message
/// with addresses redacted. The source of a [`MailError::Transient`] for service errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesFailure {
    /// SES's error code (`TooManyRequestsException`, `SendingPausedException`...).
    pub code: String,
    /// The HTTP status of the answer, when there was one.
    pub status: Option<u16>,
    /// SES's message, redacted.
    pub message: String,
}

impl fmt::Display for SesFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SES SendEmail failed with {}", self.code)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for SesFailure {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn config_needs_a_sender() {
        let err = SesConfig::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(err.to_string(), "SES_SENDER is not set");
        let err = SesConfig::from_lookup(lookup(&[(SENDER_ENV, "no-reply")])).unwrap_err();
        assert!(
            err.to_string().starts_with("SES_SENDER is invalid"),
            "{err}"
        );
    }

    #[test]
    fn config_reads_sender_and_configuration_set() {
        let config = SesConfig::from_lookup(lookup(&[
            (SENDER_ENV, "Recert <no-reply@example.org>"),
            (CONFIGURATION_SET_ENV, "recert-events"),
        ]))
        .unwrap();
        assert_eq!(config.sender, "Recert <no-reply@example.org>");
        assert_eq!(config.configuration_set.as_deref(), Some("recert-events"));
        let config =
            SesConfig::from_lookup(lookup(&[(SENDER_ENV, "no-reply@example.org")])).unwrap();
        assert_eq!(config.configuration_set, None);
    }
}
