//! Delivering the transactional outbox: every message a command wrote (in the same atomic commit
//! as its change) is sent at least once and, in all but one narrow case, exactly once.
//!
//! [`Courier::deliver`] takes one message: it **claims** it first (a compare-and-swap from its
//! pending state to `Sending { until: now + lease }`), so a redelivered stream record or the
//! sweeper racing the notifier finds it claimed and does nothing; then renders and sends it, and
//! records the provider's message id and the time (`Sent`). A transient failure (throttling, the
//! network) puts it back to `Pending` with an exponentially growing delay; a permanent one (the
//! provider refused this message, a template that cannot render), or [`MAX_ATTEMPTS`] transient
//! ones, **parks** it: it leaves the queue and is logged as `outbox message parked` (a metric
//! filter counts these for an alarm). State never depends on a send: the change that queued the
//! message is committed before any of this runs.
//!
//! [`Courier::sweep`] is the backstop (and the only path on the embedded store): it pages through
//! the outbox queue, oldest due first, and delivers every message due by now.
//!
//! The narrow case: if the provider accepted a message but recording `Sent` failed (the store was
//! unreachable), the claim lapses and the message is sent again after [`CLAIM_LEASE`].

use chrono::{DateTime, Duration, Utc};
use recert_domain::{CertificationId, Clock, Delivery, Item, OutboxMessage, Queue};
use recert_notify::templates::{self, LinkBase};
use recert_notify::{MailError, Mailer};
use recert_store::{IndexCursor, IndexedItem, Store, StoreError};
use std::sync::Arc;

/// How long a claim keeps other senders off a message (longer than a send can take).
pub const CLAIM_LEASE: Duration = Duration::minutes(2);
/// Failed sends before a message is parked.
pub const MAX_ATTEMPTS: u32 = 8;
/// The first retry's delay; each further failure doubles it, up to [`MAX_RETRY_DELAY`].
pub const FIRST_RETRY_DELAY: Duration = Duration::minutes(1);
pub const MAX_RETRY_DELAY: Duration = Duration::hours(6);
/// Messages read per queue page by the sweeper.
pub const SWEEP_PAGE: usize = 50;

/// The wait before the next try after `attempts` failed sends (1 → 1 min, 2 → 2 min, …, ≤ 6 h).
pub fn retry_delay(attempts: u32) -> Duration {
    let doubling = 1i32
        .checked_shl(attempts.saturating_sub(1).min(20))
        .unwrap_or(i32::MAX);
    (FIRST_RETRY_DELAY * doubling).min(MAX_RETRY_DELAY)
}

/// What one delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// Sent now, and recorded.
    Sent,
    /// Sent or parked before: nothing to do (a redelivered record).
    AlreadyDone,
    /// Another sender holds it, or it is not due yet.
    NotNow,
    /// The send failed for now; it will be retried.
    Retrying,
    /// Given up: logged and counted for an alarm.
    Parked,
    /// No such message.
    Missing,
}

/// What a sweep did, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub examined: usize,
    pub sent: usize,
    pub retrying: usize,
    pub parked: usize,
    pub skipped: usize,
}

/// Sends outbox messages through a [`Mailer`].
#[derive(Clone, Debug)]
pub struct Courier {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub links: LinkBase,
    pub clock: Arc<dyn Clock>,
}

/// When a message is (next) due, as the outbox queue orders it.
fn due_at(message: &OutboxMessage) -> Option<DateTime<Utc>> {
    match &message.delivery {
        Delivery::Pending => Some(message.next_attempt_at),
        Delivery::Sending { until } => Some(*until),
        Delivery::Sent { .. } | Delivery::Parked { .. } => None,
    }
}

impl Courier {
    /// Deliver one message (see the module docs).
    pub async fn deliver(
        &self,
        certification: CertificationId,
        id: uuid::Uuid,
    ) -> Result<Delivered, StoreError> {
        let Some(message) = self.store.outbox_message(certification, id).await? else {
            return Ok(Delivered::Missing);
        };
        let now = self.clock.now();
        if !message.claimable(now) {
            return Ok(if message.undelivered() {
                Delivered::NotNow
            } else {
                Delivered::AlreadyDone
            });
        }
        let claimed = OutboxMessage {
            delivery: Delivery::Sending {
                until: now + CLAIM_LEASE,
            },
            ..message.clone()
        };
        if !self.store.swap_outbox_message(&message, &claimed).await? {
            return Ok(Delivered::NotNow);
        }
        let template = claimed.notice.template();
        let sent = match templates::email(&claimed.recipient, &claimed.notice, &self.links) {
            Err(e) => Err(MailError::Rejected {
                reason: format!("the {template} template cannot render: {e}"),
            }),
            Ok(email) => self.mailer.send(&email).await,
        };
        let (next, outcome) = match sent {
            Ok(provider_id) => (
                OutboxMessage {
                    delivery: Delivery::Sent {
                        provider_id: provider_id.0,
                        at: self.clock.now(),
                    },
                    ..claimed.clone()
                },
                Delivered::Sent,
            ),
            Err(e) => {
                let attempts = claimed.attempts + 1;
                let reason = e.to_string();
                let give_up = e.is_permanent() || attempts >= MAX_ATTEMPTS;
                let next = OutboxMessage {
                    attempts,
                    last_error: Some(reason.clone()),
                    delivery: if give_up {
                        Delivery::Parked { reason }
                    } else {
                        Delivery::Pending
                    },
                    next_attempt_at: now + retry_delay(attempts),
                    ..claimed.clone()
                };
                // Ids, not people: the certification and the message, so an operator can find it.
                let (certification, message) = (claimed.certification_id, claimed.id);
                if give_up {
                    tracing::error!(template, attempts, %certification, %message, error = %e, "outbox message parked");
                    (next, Delivered::Parked)
                } else {
                    tracing::warn!(template, attempts, %certification, %message, error = %e, "outbox send failed; will retry");
                    (next, Delivered::Retrying)
                }
            }
        };
        if !self.store.swap_outbox_message(&claimed, &next).await? {
            // Our claim lapsed and another sender took the message over: it decides now.
            tracing::warn!(
                template,
                "outbox claim lapsed before the outcome was recorded"
            );
        }
        Ok(outcome)
    }

    /// Deliver every message due by now, oldest first, page by page.
    pub async fn sweep(&self) -> Result<SweepReport, StoreError> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        let mut cursor: Option<IndexCursor> = None;
        loop {
            let page = self
                .store
                .queued(Queue::Outbox, cursor.as_ref(), SWEEP_PAGE)
                .await?;
            for entry in &page.items {
                let IndexedItem::Item(Item::Outbox(message)) = &entry.item else {
                    continue;
                };
                if due_at(message).is_some_and(|at| at > now) {
                    // The queue is ordered by due time: everything after this is later still.
                    return Ok(report);
                }
                report.examined += 1;
                match self.deliver(message.certification_id, message.id).await? {
                    Delivered::Sent => report.sent += 1,
                    Delivered::Retrying => report.retrying += 1,
                    Delivered::Parked => report.parked += 1,
                    Delivered::AlreadyDone | Delivered::NotNow | Delivered::Missing => {
                        report.skipped += 1;
                    }
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(report),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_six_hours() {
        assert_eq!(retry_delay(1), Duration::minutes(1));
        assert_eq!(retry_delay(2), Duration::minutes(2));
        assert_eq!(retry_delay(5), Duration::minutes(16));
        assert_eq!(retry_delay(30), MAX_RETRY_DELAY);
    }
}

/// Where mail goes, from configuration.
#[derive(Debug, Clone)]
pub enum MailConfig {
    /// Amazon SES v2 (production): the verified sender identity and an optional configuration set.
    Ses(recert_notify::ses::SesConfig),
    /// `.eml` files in a directory (local runs): `RECERT_MAILBOX_DIR`.
    #[cfg(feature = "mailbox")]
    Mailbox(std::path::PathBuf),
}

/// What a sender of the outbox needs: where mail goes and the links' base.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub mail: MailConfig,
    pub links: LinkBase,
}

/// The variable naming a local mailbox directory (builds with the `mailbox` feature only).
pub const MAILBOX_DIR: &str = "RECERT_MAILBOX_DIR";

impl NotifyConfig {
    /// `RECERT_MAILBOX_DIR` (local builds) selects the file mailbox; otherwise SES with
    /// `SES_SENDER` (required) and `SES_CONFIGURATION_SET`. `RECERT_LINK_BASE` is the web app's
    /// base URL for links in messages.
    pub fn from_env(env: &dyn crate::config::Env) -> Result<Self, crate::config::ConfigError> {
        let links = LinkBase::from_env().map_err(notify_config)?;
        #[cfg(feature = "mailbox")]
        if let Some(dir) = env.var(MAILBOX_DIR) {
            return Ok(NotifyConfig {
                mail: MailConfig::Mailbox(dir.into()),
                links,
            });
        }
        let _ = env;
        Ok(NotifyConfig {
            mail: MailConfig::Ses(
                recert_notify::ses::SesConfig::from_env().map_err(notify_config)?,
            ),
            links,
        })
    }
}

fn notify_config(e: recert_notify::ConfigError) -> crate::config::ConfigError {
    match e {
        recert_notify::ConfigError::Missing { name } => crate::config::ConfigError::Missing {
            var: name,
            why: "it is needed to send email",
        },
        recert_notify::ConfigError::Invalid { name, reason } => {
            crate::config::ConfigError::Invalid { var: name, reason }
        }
    }
}

impl Courier {
    /// The courier a configuration describes, over `app`'s store and clock. No network call.
    pub async fn from_config(app: &crate::App, config: &NotifyConfig) -> Self {
        let mailer: Arc<dyn Mailer> = match &config.mail {
            MailConfig::Ses(ses) => Arc::new(recert_notify::ses::SesMailer::new(
                recert_notify::ses::client(crate::aws_sdk_config().await),
                ses.clone(),
            )),
            #[cfg(feature = "mailbox")]
            MailConfig::Mailbox(dir) => {
                Arc::new(recert_notify::mailbox::MailboxMailer::new(dir.clone()))
            }
        };
        Courier {
            store: app.store.clone(),
            mailer,
            links: config.links.clone(),
            clock: app.clock.clone(),
        }
    }
}
