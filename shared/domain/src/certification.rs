//! Certificants, certifications and the certification aggregate.
//!
//! The aggregate is one certification with everything that belongs to it (CE entries, renewals,
//! history, idempotency records; later audits and waiver requests). A command loads it once,
//! decides with the pure methods here, and commits the returned [`Changes`] in one atomic write
//! guarded by the version it loaded.

use crate::calendar::Cycle;
use crate::credential::Credential;
use crate::entry::{Activity, CeEntry, EntrySource};
use crate::error::DomainError;
use crate::ids::{CertificantId, CertificationId, EntryId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Membership status decides the fee.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    Member,
    NonMember,
}

/// A person who holds credentials. Personal data: never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Certificant {
    pub id: CertificantId,
    pub email: String,
    pub full_name: String,
    pub membership: Membership,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificationStatus {
    /// In good standing; the current cycle is running.
    Active,
    /// Not renewed by the closing date: revoked. Only passing the exam again reinstates it.
    Lapsed,
}

/// One credential held by one certificant (the aggregate root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Certification {
    pub id: CertificationId,
    pub certificant_id: CertificantId,
    pub credential: Credential,
    pub certificate_number: String,
    /// First day of the current cycle (day after the previous expiration, or the initial certification date).
    pub cycle_starts_on: NaiveDate,
    /// Last day of the current cycle.
    pub expires_on: NaiveDate,
    /// A granted extension of the current cycle's closing date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_to: Option<NaiveDate>,
    pub status: CertificationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version: 1 after creation, +1 per committed command.
    pub version: u64,
}

impl Certification {
    pub fn cycle(&self) -> Cycle {
        Cycle {
            starts_on: self.cycle_starts_on,
            expires_on: self.expires_on,
            extended_to: self.extended_to,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RenewalStatus {
    AwaitingPayment,
    InReview,
    Approved,
    Returned,
}

/// A renewal submission for one cycle (the renewals issue fills in payment and review).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Renewal {
    pub id: uuid::Uuid,
    /// The expiration date of the cycle this renewal is for.
    pub cycle_expires_on: NaiveDate,
    pub status: RenewalStatus,
    pub submitted_at: DateTime<Utc>,
}

/// Who did something: the token's subject and role. Never a name or an email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    pub subject: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HistoryKind {
    CertificationIssued {
        credential: Credential,
        expires_on: NaiveDate,
    },
    EntryAdded {
        entry_id: EntryId,
    },
    EntryUpdated {
        entry_id: EntryId,
    },
    EntryRemoved {
        entry_id: EntryId,
    },
}

/// One line of the append-only history of a certification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEvent {
    /// 1, 2, 3... in commit order (the version that recorded it).
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    #[serde(flatten)]
    pub kind: HistoryKind,
}

/// The stored first response to a creating request with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The client's key, scoped by the caller (e.g. `<subject>:<key>`).
    pub key: String,
    /// Digest of the request that first used the key (method, path, body).
    pub request_hash: String,
    pub status: u16,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// After this instant the record is ignored and may be deleted (DynamoDB TTL).
    pub expires_at: DateTime<Utc>,
}

/// The certification with everything that belongs to it, as loaded in one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationAggregate {
    pub certification: Certification,
    pub entries: Vec<CeEntry>,
    pub renewals: Vec<Renewal>,
    pub history: Vec<HistoryEvent>,
    pub idempotency: Vec<IdempotencyRecord>,
}

/// An item of the aggregate other than the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Entry(CeEntry),
    Renewal(Renewal),
    History(HistoryEvent),
    Idempotency(IdempotencyRecord),
}

/// The key of an item inside its aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemKey {
    Entry(EntryId),
    Renewal(uuid::Uuid),
    History(u64),
    Idempotency(String),
}

impl Item {
    pub fn key(&self) -> ItemKey {
        match self {
            Item::Entry(e) => ItemKey::Entry(e.id),
            Item::Renewal(r) => ItemKey::Renewal(r.id),
            Item::History(h) => ItemKey::History(h.seq),
            Item::Idempotency(i) => ItemKey::Idempotency(i.key.clone()),
        }
    }
}

impl ItemKey {
    /// The sort key shared by both stores (`ENTRY#<id>`, `HIST#<seq, 20 digits>`...).
    pub fn sort_key(&self) -> String {
        match self {
            ItemKey::Entry(id) => format!("ENTRY#{id}"),
            ItemKey::Renewal(id) => format!("RENEWAL#{id}"),
            ItemKey::History(seq) => format!("HIST#{seq:020}"),
            ItemKey::Idempotency(k) => format!("IDEM#{k}"),
        }
    }
}

/// What one command changes, committed atomically: the new root (its `version` is
/// `expected_version + 1`), items to put (insert or replace) and items to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The version the command loaded; 0 means the certification must not exist yet.
    pub expected_version: u64,
    pub certification: Certification,
    pub puts: Vec<Item>,
    pub deletes: Vec<ItemKey>,
}

impl Changes {
    /// Attach the stored response of a creating request, so it commits with the change itself.
    pub fn with_idempotency(mut self, record: Option<IdempotencyRecord>) -> Self {
        if let Some(r) = record {
            self.puts.push(Item::Idempotency(r));
        }
        self
    }
}

impl CertificationAggregate {
    /// Issue a new certification (version 1) and record it in the history.
    pub fn issue(mut certification: Certification, actor: Actor, now: DateTime<Utc>) -> Changes {
        certification.version = 1;
        certification.created_at = now;
        certification.updated_at = now;
        let event = HistoryEvent {
            seq: 1,
            at: now,
            actor,
            kind: HistoryKind::CertificationIssued {
                credential: certification.credential,
                expires_on: certification.expires_on,
            },
        };
        Changes {
            expected_version: 0,
            certification,
            puts: vec![Item::History(event)],
            deletes: vec![],
        }
    }

    pub fn entry(&self, id: EntryId) -> Result<&CeEntry, DomainError> {
        self.entries
            .iter()
            .find(|e| e.id == id)
            .ok_or(DomainError::NotFound("entry"))
    }

    /// The live (unexpired) idempotency record stored under `key`.
    pub fn idempotency_record(&self, key: &str, now: DateTime<Utc>) -> Option<&IdempotencyRecord> {
        self.idempotency
            .iter()
            .find(|r| r.key == key && r.expires_at > now)
    }

    /// A renewal submitted for the current cycle that still stands (not returned).
    pub fn current_submission(&self) -> Option<&Renewal> {
        let c = &self.certification;
        self.renewals
            .iter()
            .find(|r| r.cycle_expires_on == c.expires_on && r.status != RenewalStatus::Returned)
    }

    /// Entries may change only while the cycle is open for logging: not lapsed, not submitted.
    fn ensure_transcript_open(&self) -> Result<(), DomainError> {
        if self.certification.status == CertificationStatus::Lapsed {
            return Err(DomainError::conflict(
                "certification_lapsed",
                "this certification has lapsed; its transcript can no longer change",
            ));
        }
        if let Some(r) = self.current_submission() {
            return Err(DomainError::conflict(
                "cycle_submitted",
                format!(
                    "a renewal for the cycle ending {} was submitted on {}; its entries are locked",
                    r.cycle_expires_on,
                    r.submitted_at.date_naive()
                ),
            ));
        }
        Ok(())
    }

    fn ensure_self_reported(entry: &CeEntry) -> Result<(), DomainError> {
        if entry.source == EntrySource::ProviderReported {
            return Err(DomainError::conflict(
                "provider_reported",
                "this entry was posted by its provider; only the provider can change or void it",
            ));
        }
        Ok(())
    }

    fn next(
        &self,
        actor: Actor,
        now: DateTime<Utc>,
        kind: HistoryKind,
    ) -> (Certification, HistoryEvent) {
        let mut certification = self.certification.clone();
        certification.version += 1;
        certification.updated_at = now;
        let event = HistoryEvent {
            seq: certification.version,
            at: now,
            actor,
            kind,
        };
        (certification, event)
    }

    pub fn add_entry(
        &self,
        id: EntryId,
        activity: Activity,
        source: EntrySource,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(CeEntry, Changes), DomainError> {
        self.ensure_transcript_open()?;
        if self.entries.iter().any(|e| e.id == id) {
            return Err(DomainError::conflict(
                "entry_exists",
                "an entry with this id already exists",
            ));
        }
        let entry = CeEntry {
            id,
            activity,
            source,
            created_at: now,
            updated_at: now,
        };
        let (certification, event) =
            self.next(actor, now, HistoryKind::EntryAdded { entry_id: id });
        let changes = Changes {
            expected_version: self.certification.version,
            certification,
            puts: vec![Item::Entry(entry.clone()), Item::History(event)],
            deletes: vec![],
        };
        Ok((entry, changes))
    }

    pub fn update_entry(
        &self,
        id: EntryId,
        activity: Activity,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(CeEntry, Changes), DomainError> {
        let existing = self.entry(id)?;
        self.ensure_transcript_open()?;
        Self::ensure_self_reported(existing)?;
        let entry = CeEntry {
            activity,
            updated_at: now,
            ..existing.clone()
        };
        let (certification, event) =
            self.next(actor, now, HistoryKind::EntryUpdated { entry_id: id });
        let changes = Changes {
            expected_version: self.certification.version,
            certification,
            puts: vec![Item::Entry(entry.clone()), Item::History(event)],
            deletes: vec![],
        };
        Ok((entry, changes))
    }

    pub fn remove_entry(
        &self,
        id: EntryId,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Changes, DomainError> {
        let existing = self.entry(id)?;
        self.ensure_transcript_open()?;
        Self::ensure_self_reported(existing)?;
        let (certification, event) =
            self.next(actor, now, HistoryKind::EntryRemoved { entry_id: id });
        Ok(Changes {
            expected_version: self.certification.version,
            certification,
            puts: vec![Item::History(event)],
            deletes: vec![ItemKey::Entry(id)],
        })
    }

    /// The aggregate as it is after `changes` commit (what a store would load next).
    pub fn apply(mut self, changes: &Changes) -> Self {
        self.certification = changes.certification.clone();
        for key in &changes.deletes {
            match key {
                ItemKey::Entry(id) => self.entries.retain(|e| e.id != *id),
                ItemKey::Renewal(id) => self.renewals.retain(|r| r.id != *id),
                ItemKey::History(seq) => self.history.retain(|h| h.seq != *seq),
                ItemKey::Idempotency(k) => self.idempotency.retain(|r| r.key != *k),
            }
        }
        for item in &changes.puts {
            match item {
                Item::Entry(e) => match self.entries.iter_mut().find(|x| x.id == e.id) {
                    Some(slot) => *slot = e.clone(),
                    None => self.entries.push(e.clone()),
                },
                Item::Renewal(r) => match self.renewals.iter_mut().find(|x| x.id == r.id) {
                    Some(slot) => *slot = r.clone(),
                    None => self.renewals.push(r.clone()),
                },
                Item::History(h) => self.history.push(h.clone()),
                Item::Idempotency(i) => {
                    self.idempotency.retain(|r| r.key != i.key);
                    self.idempotency.push(i.clone());
                }
            }
        }
        self
    }
}
