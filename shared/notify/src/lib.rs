//! Recert's email: the [`Mailer`] port (send one rendered [`Email`], get the provider's
//! [`SentId`] or a [`MailError`] that says whether a retry can help), its production adapter on
//! Amazon SES v2 ([`ses::SesMailer`]), the templates that turn a domain
//! [`Notice`](recert_domain::Notice) into a subject, a text part and an HTML part
//! ([`templates::render`], [`templates::email`]), and a file mailbox for local runs
//! ([`mailbox::MailboxMailer`], feature `mailbox`, on by default; the Lambdas leave it out).
//!
//! It depends on the domain (the notices it renders) and on nothing else of Recert's: not on the
//! store, the application layer nor the HTTP glue, and no web framework. Deciding *what* to tell
//! whom, the transactional outbox, claiming and retrying belong to the callers; this crate only
//! renders and sends. Nothing here logs or puts into an error message personal data: no address,
//! no name, no body (`Email`'s `Debug` shows lengths only; provider messages are redacted).

mod address;
#[cfg(feature = "mailbox")]
pub mod mailbox;
pub mod ses;
pub mod templates;

pub use templates::{LinkBase, RenderError, Rendered};

use async_trait::async_trait;
use std::error::Error;
use std::fmt;

/// One rendered message to one recipient. Personal data throughout: its `Debug` prints only the
/// lengths of the subject and bodies.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address (`ada@example.org`), parsed with the one rule enrolment uses.
    pub to: recert_domain::Email,
    /// The recipient's name as it should appear in the `To` header (may be empty).
    pub to_name: String,
    /// The subject line (one line of text).
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("subject_len", &self.subject.len())
            .field("text_len", &self.text.len())
            .field("html_len", &self.html.len())
            .finish_non_exhaustive()
    }
}

/// The provider's id of a sent message (SES's `MessageId`; the mailbox's file id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SentId(pub String);

impl fmt::Display for SentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a message was not sent. Neither variant's message carries the address or the content.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Permanent for this message: the provider refused it (an invalid address, a message SES
    /// rejects). Sending it again will fail again: park it and let a person look.
    #[error("the mail provider rejected the message ({reason})")]
    Rejected {
        /// The provider's error code and its message with any address redacted.
        reason: String,
    },
    /// Anything a later attempt may get past: throttling, a timeout, the network, a 5xx, and
    /// account-level states (sending paused, account suspended, unverified MAIL FROM domain) that
    /// someone will fix without the message changing.
    ///
    /// Its message repeats its source's (an error code, a timeout: never personal data), so that
    /// `to_string()` alone is enough for an outbox's `last_error`.
    #[error("sending the message failed, retry later: {0}")]
    Transient(#[source] Box<dyn Error + Send + Sync>),
}

impl MailError {
    /// Whether retrying this message is pointless ([`MailError::Rejected`]).
    pub fn is_permanent(&self) -> bool {
        matches!(self, MailError::Rejected { .. })
    }
}

/// The mail port: sends one message, once. No retry loop beyond the provider client's own (a
/// failed send is retried by whoever owns the message, e.g. the outbox sender).
#[async_trait]
pub trait Mailer: Send + Sync + fmt::Debug {
    /// Sends `email`; on success, the provider's id of the message.
    async fn send(&self, email: &Email) -> Result<SentId, MailError>;
}

/// A configuration value that is missing or unusable (names the variable, never its value when
/// that could be personal).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error("{name} is not set")]
    Missing {
        /// The environment variable.
        name: &'static str,
    },
    /// A variable is set to something unusable.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The environment variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// An environment variable, `None` when unset or blank (trimmed).
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn debug_shows_no_personal_data() {
        let email = Email {
            to: recert_domain::Email::parse("ada@example.org").unwrap(),
            to_name: "Ada Lovelace".into(),
            subject: "Hello Ada".into(),
            text: "secret text".into(),
            html: "<p>secret html</p>".into(),
        };
        let debug = format!("{email:?}");
        assert!(!debug.contains("ada@"), "{debug}");
        assert!(!debug.contains("Ada"), "{debug}");
        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("subject_len: 9"), "{debug}");
    }

    #[test]
    fn only_rejections_are_permanent() {
        assert!(
            MailError::Rejected {
                reason: "MessageRejected".into()
            }
            .is_permanent()
        );
        let transient = MailError::Transient("Throttling".into());
        assert!(!transient.is_permanent());
        assert_eq!(
            transient.to_string(),
            "sending the message failed, retry later: Throttling"
        );
    }
}
