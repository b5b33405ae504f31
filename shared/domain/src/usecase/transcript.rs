//! The certificant's transcript: add, replace and remove CE entries of the current cycle, and
//! confirm that a self-reported entry is not a provider's posting.

use crate::certification::CertificationAggregate;
use crate::certification::Decide;
use crate::certification::changes::Changes;
use crate::certification::item::Item;
use crate::model::entry::Activity;
use crate::model::entry::CeEntry;
use crate::model::entry::EntrySource;
use crate::model::history::HistoryKind;
use crate::model::posting::ProbableDuplicate;
use crate::rules::DuplicateMatch;
use crate::vocabulary::error::ConflictCode;
use crate::vocabulary::error::DomainError;
use crate::vocabulary::ids::EntryId;

impl CertificationAggregate {
    /// Log an entry on the current cycle's transcript.
    pub fn add_entry(
        &self,
        ctx: &Decide<'_>,
        id: EntryId,
        activity: Activity,
        source: EntrySource,
    ) -> Result<(CeEntry, Changes), DomainError> {
        // During an audit's extra time, replacement hours may be logged (never changed).
        if !self.in_audit_extra_time() {
            self.ensure_transcript_open()?;
        }
        if self.entries.iter().any(|e| e.id == id) {
            return Err(DomainError::conflict(
                ConflictCode::EntryExists,
                "an entry with this id already exists",
            ));
        }
        let entry = CeEntry {
            id,
            cycle_starts_on: self.certification.cycle_starts_on,
            activity,
            source,
            posting: None,
            distinct_confirmed: false,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        let changes = self
            .change(ctx.actor, ctx.now, HistoryKind::EntryAdded { entry_id: id })
            .put(Item::Entry(entry.clone()))
            .build();
        Ok((entry, changes))
    }

    pub fn update_entry(
        &self,
        ctx: &Decide<'_>,
        id: EntryId,
        activity: Activity,
    ) -> Result<(CeEntry, Changes), DomainError> {
        let existing = self.entry(id)?;
        self.ensure_transcript_open()?;
        Self::ensure_self_reported(existing)?;
        let entry = CeEntry {
            activity,
            updated_at: ctx.now,
            ..existing.clone()
        };
        let changes = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::EntryUpdated { entry_id: id },
            )
            .put(Item::Entry(entry.clone()))
            .build();
        Ok((entry, changes))
    }

    pub fn remove_entry(&self, ctx: &Decide<'_>, id: EntryId) -> Result<Changes, DomainError> {
        let existing = self.entry(id)?;
        self.ensure_transcript_open()?;
        Self::ensure_self_reported(existing)?;
        Ok(self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::EntryRemoved { entry_id: id },
            )
            .delete(Item::Entry(existing.clone()).key())
            .build())
    }
}

impl CertificationAggregate {
    /// The current cycle's self-reported entries that probably duplicate a provider-reported
    /// one (each provider entry absorbs at most one), unless the certificant confirmed them
    /// distinct.
    pub fn probable_duplicates(&self, rule: &DuplicateMatch) -> Vec<ProbableDuplicate> {
        let mut found: Vec<ProbableDuplicate> = Vec::new();
        let posted = self
            .entries
            .iter()
            .filter(|e| e.source == EntrySource::ProviderReported);
        for p in posted {
            let own = self.entries.iter().find(|e| {
                e.source == EntrySource::SelfReported
                    && !e.distinct_confirmed
                    && !found.iter().any(|d| d.entry_id == e.id)
                    && rule.matches(e, p)
            });
            if let Some(own) = own {
                found.push(ProbableDuplicate {
                    entry_id: own.id,
                    provider_entry_id: p.id,
                });
            }
        }
        found
    }

    /// The certificant confirms their self-reported entry `id` is not a duplicate of a
    /// provider's: it counts again.
    pub fn confirm_distinct(
        &self,
        ctx: &Decide<'_>,
        id: EntryId,
    ) -> Result<(CeEntry, Changes), DomainError> {
        let existing = self.entry(id)?;
        self.ensure_transcript_open()?;
        if existing.source != EntrySource::SelfReported {
            return Err(DomainError::conflict(
                ConflictCode::ProviderReported,
                "only a self-reported entry can be confirmed distinct",
            ));
        }
        let entry = CeEntry {
            distinct_confirmed: true,
            updated_at: ctx.now,
            ..existing.clone()
        };
        let changes = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::EntryUpdated { entry_id: id },
            )
            .put(Item::Entry(entry.clone()))
            .build();
        Ok((entry, changes))
    }
}

/// Lowercase letters and digits only: "Digital Health Canada, Inc." and "digital health canada
/// inc" compare equal.
pub(crate) fn folded(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl DuplicateMatch {
    pub(crate) fn matches(&self, own: &CeEntry, posted: &CeEntry) -> bool {
        let (a, b) = (&own.activity, &posted.activity);
        let days = (a.completed_on - b.completed_on).num_days().unsigned_abs();
        days <= u64::from(self.date_tolerance_days)
            && folded(&a.provider_name) == folded(&b.provider_name)
            && (!self.match_title || folded(&a.title) == folded(&b.title))
    }
}
