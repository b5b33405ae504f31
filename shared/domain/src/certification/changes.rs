//! The only way to change a certification: [`Changes`], made by [`ChangeBuilder`] (or
//! [`Changes::issue`] for a new certification), which always bumps the version and records one history
//! event.

use crate::certification::item::Item;
use crate::certification::item::ItemKey;
use crate::model::certification::Certification;
use crate::model::history::HistoryEvent;
use crate::model::history::HistoryKind;
use crate::model::idempotency::IdempotencyRecord;
use crate::model::posting::PostingWrite;
use crate::vocabulary::actor::Actor;
use chrono::{DateTime, Utc};

/// What one command changes, committed atomically: the new root (its `version` is
/// `expected_version + 1`), the history event it records (seq = the new version), items to put
/// (insert or replace) and items to delete. Made only by [`ChangeBuilder`] or [`Changes::issue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    expected_version: u64,
    certification: Certification,
    event: HistoryEvent,
    puts: Vec<Item>,
    deletes: Vec<ItemKey>,
    postings: Vec<PostingWrite>,
}

impl Changes {
    /// Issue a new certification (version 1) and record it in the history.
    pub fn issue(certification: Certification, actor: &Actor, now: DateTime<Utc>) -> Changes {
        Self::issuing(certification, actor, now).build()
    }

    /// Start issuing a new certification (version 1, recorded as issued), to add items to it.
    pub fn issuing(
        mut certification: Certification,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> ChangeBuilder {
        certification.created_at = now;
        let event = HistoryEvent {
            seq: 1,
            at: now,
            actor: actor.acted_by(),
            kind: HistoryKind::CertificationIssued {
                credential: certification.credential,
                expires_on: certification.expires_on,
            },
        };
        ChangeBuilder {
            expected_version: 0,
            certification,
            event,
            puts: vec![],
            deletes: vec![],
            postings: vec![],
        }
    }

    /// The version the command loaded; 0 means the certification must not exist yet.
    pub fn expected_version(&self) -> u64 {
        self.expected_version
    }

    /// The root as it will be (its version is `expected_version + 1`).
    pub fn certification(&self) -> &Certification {
        &self.certification
    }

    /// The history event this command records.
    pub fn event(&self) -> &HistoryEvent {
        &self.event
    }

    pub fn puts(&self) -> &[Item] {
        &self.puts
    }

    pub fn deletes(&self) -> &[ItemKey] {
        &self.deletes
    }

    /// Writes of providers' ledgers committed with this change (a posted completion's record).
    pub fn postings(&self) -> &[PostingWrite] {
        &self.postings
    }

    /// Attach the stored response of a creating request, so it commits with the change itself.
    pub fn with_idempotency(mut self, record: Option<IdempotencyRecord>) -> Self {
        if let Some(r) = record {
            self.puts.push(Item::Idempotency(r));
        }
        self
    }

    /// Any combination of parts, checked by nothing: for the store conformance suite to prove
    /// that adapters refuse what the builder can never make.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn from_parts_unchecked(
        expected_version: u64,
        certification: Certification,
        event: HistoryEvent,
        puts: Vec<Item>,
        deletes: Vec<ItemKey>,
    ) -> Self {
        Changes {
            expected_version,
            certification,
            event,
            puts,
            deletes,
            postings: vec![],
        }
    }
}

/// The one way to change an existing certification: it starts from the loaded aggregate, bumps
/// the version, stamps `updated_at` and records the event (who, when, what) on [`Self::build`].
#[derive(Debug)]
#[must_use = "a change does nothing until it is built and committed"]
pub struct ChangeBuilder {
    expected_version: u64,
    certification: Certification,
    event: HistoryEvent,
    puts: Vec<Item>,
    deletes: Vec<ItemKey>,
    postings: Vec<PostingWrite>,
}

impl ChangeBuilder {
    /// A change of `certification` (as loaded) by `actor` at `now`: its next version, and the
    /// history event recording `what`.
    pub(crate) fn new(
        certification: &Certification,
        actor: &Actor,
        now: DateTime<Utc>,
        what: HistoryKind,
    ) -> ChangeBuilder {
        let version = certification.version;
        ChangeBuilder {
            expected_version: version,
            certification: certification.clone(),
            event: HistoryEvent {
                seq: version + 1,
                at: now,
                actor: actor.acted_by(),
                kind: what,
            },
            puts: vec![],
            deletes: vec![],
            postings: vec![],
        }
    }

    /// Change the root (status, dates...); its version and `updated_at` are the builder's.
    pub fn root(mut self, f: impl FnOnce(&mut Certification)) -> Self {
        f(&mut self.certification);
        self
    }

    pub fn put(mut self, item: Item) -> Self {
        self.puts.push(item);
        self
    }

    pub fn delete(mut self, key: ItemKey) -> Self {
        self.deletes.push(key);
        self
    }

    /// Write a provider's ledger in the same commit (see [`PostingWrite`]).
    pub fn post(mut self, write: PostingWrite) -> Self {
        self.postings.push(write);
        self
    }

    pub fn build(self) -> Changes {
        let mut certification = self.certification;
        certification.version = self.expected_version + 1;
        certification.updated_at = self.event.at;
        Changes {
            expected_version: self.expected_version,
            certification,
            event: self.event,
            puts: self.puts,
            deletes: self.deletes,
            postings: self.postings,
        }
    }
}
