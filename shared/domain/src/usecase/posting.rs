//! Partner providers' completions on a transcript: posted in batches (each row exactly once),
//! linked by staff, voided.

use crate::certification::CertificationAggregate;
use crate::certification::Decide;
use crate::certification::changes::Changes;
use crate::certification::item::Item;
use crate::model::entry::Activity;
use crate::model::entry::CeEntry;
use crate::model::entry::EntrySource;
use crate::model::entry::PostingRef;
use crate::model::history::HistoryKind;
use crate::model::posting::Completion;
use crate::model::posting::Posting;
use crate::model::posting::PostingStatus;
use crate::model::posting::PostingWrite;
use crate::model::posting::RejectionCode;
use crate::model::posting::RowOutcome;
use crate::model::posting::RowRejection;
use crate::model::posting::checked_reason;
use crate::model::posting::not_waiting;
use crate::model::posting::posted_entry_id;
use crate::provider::Provider;
use crate::vocabulary::error::ConflictCode;
use crate::vocabulary::error::DomainError;
use chrono::{DateTime, Utc};

impl CertificationAggregate {
    /// The entry `completion` makes for `provider`: the provider's registered name and category.
    pub(crate) fn posted_entry(
        &self,
        provider: &Provider,
        completion: &Completion,
        now: DateTime<Utc>,
    ) -> CeEntry {
        CeEntry {
            id: posted_entry_id(&provider.id, &completion.completion_id),
            cycle_starts_on: self.certification.cycle_starts_on,
            activity: Activity {
                title: completion.title.clone(),
                provider_name: provider.name.clone(),
                provider_category: provider.category,
                canadian_content: completion.canadian_content,
                completed_on: completion.completed_on,
                hours: completion.hours,
                ethics_hours: completion.ethics_hours,
                evidence: vec![],
            },
            source: EntrySource::ProviderReported,
            posting: Some(PostingRef {
                provider_id: provider.id.clone(),
                completion_id: completion.completion_id.clone(),
                activity_id: completion.activity_id.clone(),
            }),
            distinct_confirmed: false,
            created_at: now,
            updated_at: now,
        }
    }

    /// Why `completion` cannot go on this certification's current transcript, if it cannot.
    pub(crate) fn posting_refusal(&self, completion: &Completion) -> Option<RowRejection> {
        if let Err(DomainError::Conflict { message, .. }) = self.ensure_transcript_open() {
            return Some(RowRejection::new(RejectionCode::TranscriptLocked, message));
        }
        let cycle = self.certification.cycle();
        if !cycle.counts(completion.completed_on) {
            return Some(RowRejection::new(
                RejectionCode::OutsideCycle,
                format!(
                    "completed on {}, outside the current cycle ({} to {})",
                    completion.completed_on,
                    cycle.starts_on,
                    cycle.counting_ends_on()
                ),
            ));
        }
        None
    }

    /// Post `completions` (rows of one batch matched to this certification, by row number) for
    /// `provider`: each becomes an entry and a posting in one commit, or is reported a duplicate
    /// (its entry exists) or rejected. `None` when nothing is to be written.
    pub fn post_completions(
        &self,
        ctx: &Decide<'_>,
        provider: &Provider,
        completions: &[(usize, Completion)],
    ) -> (Vec<(usize, RowOutcome)>, Option<Changes>) {
        let mut outcomes = Vec::with_capacity(completions.len());
        let mut created = Vec::new();
        let mut writes = Vec::new();
        for (row, completion) in completions {
            let entry = self.posted_entry(provider, completion, ctx.now);
            let id = entry.id;
            if let Some(existing) = self.entries.iter().find(|e| e.id == id) {
                outcomes.push((
                    *row,
                    RowOutcome::Duplicate {
                        posting: PostingStatus::Posted {
                            certification_id: self.certification.id,
                            entry_id: existing.id,
                            cycle_starts_on: existing.cycle_starts_on,
                            linked_by: None,
                        },
                    },
                ));
                continue;
            }
            if let Some(rejection) = self.posting_refusal(completion) {
                outcomes.push((*row, RowOutcome::Rejected { rejection }));
                continue;
            }
            let posting = Posting {
                provider_id: provider.id.clone(),
                completion: completion.clone(),
                posted_at: ctx.now,
                updated_at: ctx.now,
                status: PostingStatus::Posted {
                    certification_id: self.certification.id,
                    entry_id: id,
                    cycle_starts_on: self.certification.cycle_starts_on,
                    linked_by: None,
                },
            };
            outcomes.push((
                *row,
                RowOutcome::Created {
                    certification_id: self.certification.id,
                    entry_id: id,
                },
            ));
            created.push(id);
            writes.push((entry, posting));
        }
        if writes.is_empty() {
            return (outcomes, None);
        }
        let mut change = self.change(
            ctx.actor,
            ctx.now,
            HistoryKind::CompletionsPosted {
                provider_id: provider.id.0.clone(),
                entry_ids: created,
            },
        );
        for (entry, posting) in writes {
            change = change
                .put(Item::Entry(entry))
                .post(PostingWrite::Create(Box::new(posting)));
        }
        (outcomes, Some(change.build()))
    }

    /// Staff link an unmatched `posting` to this certification: its entry is added (with the
    /// provider's registered category) and the posting records where it went, in one commit.
    pub fn link_posting(
        &self,
        ctx: &Decide<'_>,
        posting: &Posting,
        provider: &Provider,
    ) -> Result<(Posting, Changes), DomainError> {
        if !matches!(posting.status, PostingStatus::Unmatched { .. }) {
            return Err(not_waiting());
        }
        if let Some(r) = self.posting_refusal(&posting.completion) {
            return Err(DomainError::conflict(
                match r.code {
                    RejectionCode::OutsideCycle => ConflictCode::OutsideCycle,
                    _ => ConflictCode::TranscriptLocked,
                },
                r.message,
            ));
        }
        let entry = self.posted_entry(provider, &posting.completion, ctx.now);
        if self.entries.iter().any(|e| e.id == entry.id) {
            return Err(DomainError::conflict(
                ConflictCode::EntryExists,
                "this completion's entry is already on the transcript",
            ));
        }
        let next = Posting {
            updated_at: ctx.now,
            status: PostingStatus::Posted {
                certification_id: self.certification.id,
                entry_id: entry.id,
                cycle_starts_on: self.certification.cycle_starts_on,
                linked_by: ctx.actor.role().map(|r| r.as_str().to_string()),
            },
            ..posting.clone()
        };
        let changes = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::EntryAdded { entry_id: entry.id },
            )
            .put(Item::Entry(entry))
            .post(PostingWrite::Replace {
                current: Box::new(posting.clone()),
                next: Box::new(next.clone()),
            })
            .build();
        Ok((next, changes))
    }

    /// The provider voids a `posting` whose entry is on this certification: the entry leaves the
    /// transcript while it is open; when the cycle is locked (submitted, lapsed, or the entry is
    /// in an older cycle) the void waits for staff.
    pub fn void_posting(
        &self,
        ctx: &Decide<'_>,
        posting: &Posting,
        reason: &str,
    ) -> Result<(Posting, Changes), DomainError> {
        let PostingStatus::Posted {
            certification_id,
            entry_id,
            cycle_starts_on,
            ..
        } = posting.status
        else {
            return Err(not_waiting());
        };
        let reason = checked_reason(reason)?;
        let open =
            self.entries.iter().any(|e| e.id == entry_id) && self.ensure_transcript_open().is_ok();
        let status = if open {
            PostingStatus::Voided {
                reason,
                at: ctx.now,
                entry_removed: true,
            }
        } else {
            PostingStatus::VoidRequested {
                reason,
                at: ctx.now,
                certification_id,
                entry_id,
                cycle_starts_on,
            }
        };
        let next = Posting {
            updated_at: ctx.now,
            status,
            ..posting.clone()
        };
        let write = PostingWrite::Replace {
            current: Box::new(posting.clone()),
            next: Box::new(next.clone()),
        };
        let changes = if open {
            self.change(ctx.actor, ctx.now, HistoryKind::EntryRemoved { entry_id })
                .delete(crate::certification::ItemKey::Entry {
                    cycle: cycle_starts_on,
                    id: entry_id,
                })
                .post(write)
                .build()
        } else {
            self.change(
                ctx.actor,
                ctx.now,
                HistoryKind::PostingVoidRequested { entry_id },
            )
            .post(write)
            .build()
        };
        Ok((next, changes))
    }

    /// Staff decide a void request: remove the entry (`remove`, even from a locked cycle) or keep
    /// it; either way the posting is voided.
    pub fn decide_void(
        &self,
        ctx: &Decide<'_>,
        posting: &Posting,
        remove: bool,
    ) -> Result<(Posting, Changes), DomainError> {
        let PostingStatus::VoidRequested {
            reason,
            entry_id,
            cycle_starts_on,
            ..
        } = &posting.status
        else {
            return Err(not_waiting());
        };
        let next = Posting {
            updated_at: ctx.now,
            status: PostingStatus::Voided {
                reason: reason.clone(),
                at: ctx.now,
                entry_removed: remove,
            },
            ..posting.clone()
        };
        let write = PostingWrite::Replace {
            current: Box::new(posting.clone()),
            next: Box::new(next.clone()),
        };
        let mut change = self.change(
            ctx.actor,
            ctx.now,
            HistoryKind::PostingVoidDecided {
                entry_id: *entry_id,
                removed: remove,
            },
        );
        if remove {
            change = change.delete(crate::certification::ItemKey::Entry {
                cycle: *cycle_starts_on,
                id: *entry_id,
            });
        }
        Ok((next, change.post(write).build()))
    }
}
