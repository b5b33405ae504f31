//! The command runner: every write of a certification, whoever asks, goes through
//! [`Command::run`]:
//!
//! 1. load the aggregate (root first, then the current cycle's working set);
//! 2. authorize the [`Actor`] (by default: it may see the certification, else `NotFound`);
//! 3. decide: a pure function of the aggregate, the rules and `now`, returning the [`Changes`]
//!    (made only by the domain's change builder, so the version bump and the history event are
//!    never forgotten) and the command's output — or [`Decision::Unchanged`];
//! 4. commit in one atomic write guarded by the loaded version;
//! 5. on a lost race (`VersionConflict`), wait a jittered, exponentially growing delay and run
//!    again from 1 on fresh state, until the [`RetryPolicy`]'s budget is spent. Commands whose
//!    effect commutes with others (adding an entry, appending an event) thus never surface a
//!    conflict under normal contention. A command acting on one item declares it with
//!    [`Concurrency::Entry`]: if that item itself changed since the first attempt read it, the
//!    race is a real conflict and the command fails with [`AppError::Changed`] instead of
//!    overwriting what another writer did.

use crate::{App, AppError};
use chrono::{DateTime, Utc};
use rand::Rng;
use recert_domain::{
    Actor, CertificationAggregate, CertificationId, Changes, Decide, EntryId, RuleSet,
};
use recert_store::StoreError;
use std::time::{Duration, Instant};

/// What a command decided: commit `changes` and answer `output`, or change nothing.
#[derive(Debug)]
pub enum Decision<T> {
    Commit { changes: Box<Changes>, output: T },
    Unchanged(T),
}

impl<T> Decision<T> {
    pub fn commit(changes: Changes, output: T) -> Self {
        Decision::Commit {
            changes: Box::new(changes),
            output,
        }
    }
}

/// How a command treats a lost race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// The command's effect does not depend on what the other writer changed: re-run on fresh
    /// state (adding an entry, appending an event, a job's transition re-checked by `decide`).
    Commutes,
    /// The command acts on this entry: re-run only while the entry is as the first attempt saw
    /// it; if it changed (or went), fail with [`AppError::Changed`].
    Entry(EntryId),
}

/// Retries after lost races: full-jitter exponential backoff (a random wait in
/// `[0, min(max_delay, first_delay · 2^n)]`) while the time spent stays within `budget`, well
/// under a function's timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub budget: Duration,
}

impl Default for RetryPolicy {
    /// 5 ms doubling to at most 200 ms, within 4 s (the functions time out at 10 s).
    fn default() -> Self {
        RetryPolicy {
            first_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(200),
            budget: Duration::from_secs(4),
        }
    }
}

impl RetryPolicy {
    /// No retry at all (for tests that want to see the first conflict).
    pub fn none() -> Self {
        RetryPolicy {
            first_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            budget: Duration::ZERO,
        }
    }

    /// The wait before retry number `retry` (0-based), or `None` when the budget is spent.
    fn delay(&self, retry: u32, spent: Duration) -> Option<Duration> {
        let ceiling = self
            .first_delay
            .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let wait = if ceiling.is_zero() {
            Duration::ZERO
        } else {
            rand::rng().random_range(Duration::ZERO..=ceiling)
        };
        (spent + wait < self.budget).then_some(wait)
    }
}

/// What a `decide` function sees.
#[derive(Debug)]
pub struct Context<'a> {
    pub aggregate: &'a CertificationAggregate,
    pub rules: &'a RuleSet,
    pub actor: &'a Actor,
    /// The command's time (from the injected clock), fresh on every attempt.
    pub now: DateTime<Utc>,
    /// The id of the outbox message the command may queue, fresh on every attempt.
    pub message_id: uuid::Uuid,
}

impl Context<'_> {
    /// The domain's decision context: the rules, the actor, the time and the message id.
    pub fn decide(&self) -> Decide<'_> {
        Decide {
            rules: self.rules,
            actor: self.actor,
            now: self.now,
            message_id: self.message_id,
        }
    }
}

type Authorize<'a> =
    Box<dyn Fn(&Actor, &CertificationAggregate) -> Result<(), AppError> + Send + Sync + 'a>;

/// One command on one certification by one actor; see the module docs.
#[must_use = "a command does nothing until it is run"]
pub struct Command<'a> {
    app: &'a App,
    actor: &'a Actor,
    id: CertificationId,
    concurrency: Concurrency,
    authorize: Authorize<'a>,
}

impl std::fmt::Debug for Command<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("id", &self.id)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// The default check: the actor may see the certification; otherwise it does not exist for them.
pub fn visible(actor: &Actor, aggregate: &CertificationAggregate) -> Result<(), AppError> {
    if actor.may_read(aggregate.certification.certificant_id) {
        Ok(())
    } else {
        Err(AppError::NotFound("certification"))
    }
}

impl<'a> Command<'a> {
    pub(crate) fn new(app: &'a App, actor: &'a Actor, id: CertificationId) -> Self {
        Command {
            app,
            actor,
            id,
            concurrency: Concurrency::Commutes,
            authorize: Box::new(visible),
        }
    }

    pub fn concurrency(mut self, concurrency: Concurrency) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Replace the default authorization (e.g. a provider acting on what it posted).
    pub fn authorize(
        mut self,
        check: impl Fn(&Actor, &CertificationAggregate) -> Result<(), AppError> + Send + Sync + 'a,
    ) -> Self {
        self.authorize = Box::new(check);
        self
    }

    /// Run it (see the module docs). `decide` may run several times, each on fresh state.
    pub async fn run<T>(
        self,
        mut decide: impl FnMut(&Context<'_>) -> Result<Decision<T>, AppError>,
    ) -> Result<T, AppError> {
        let started = Instant::now();
        let mut first_seen: Option<Option<recert_domain::CeEntry>> = None;
        let mut retry = 0u32;
        loop {
            let aggregate = self
                .app
                .store
                .load(self.id)
                .await?
                .ok_or(AppError::NotFound("certification"))?;
            (self.authorize)(self.actor, &aggregate)?;
            if let Concurrency::Entry(entry_id) = self.concurrency {
                let now_seen = aggregate.entries.iter().find(|e| e.id == entry_id).cloned();
                match &first_seen {
                    None => first_seen = Some(now_seen),
                    Some(before) if *before != now_seen => {
                        return Err(AppError::Changed { what: "the entry" });
                    }
                    Some(_) => {}
                }
            }
            let context = Context {
                aggregate: &aggregate,
                rules: self.app.rules_for(&aggregate),
                actor: self.actor,
                now: self.app.clock.now(),
                message_id: uuid::Uuid::now_v7(),
            };
            let (changes, output) = match decide(&context)? {
                Decision::Unchanged(output) => return Ok(output),
                Decision::Commit { changes, output } => (changes, output),
            };
            match self.app.store.commit(&changes).await {
                Ok(()) => return Ok(output),
                Err(StoreError::VersionConflict) => {
                    let Some(wait) = self.app.retry.delay(retry, started.elapsed()) else {
                        tracing::warn!(retries = retry, "command gave up after lost races");
                        return Err(AppError::Changed {
                            what: "the certification",
                        });
                    };
                    retry += 1;
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn backoff_grows_stays_under_its_cap_and_stops_at_the_budget() {
        let p = RetryPolicy::default();
        for retry in 0..30 {
            let wait = p.delay(retry, Duration::ZERO).unwrap();
            let ceiling = (p.first_delay * 2u32.pow(retry.min(20))).min(p.max_delay);
            assert!(wait <= ceiling, "retry {retry}: {wait:?} > {ceiling:?}");
        }
        assert_eq!(p.delay(0, p.budget), None);
        assert_eq!(RetryPolicy::none().delay(0, Duration::ZERO), None);
    }
}
