//! Certificants, certifications and the certification aggregate.
//!
//! The aggregate is one certification with its current cycle's working set (CE entries of the
//! cycle, renewals, live idempotency records; later audits and waiver requests). Its history is
//! append-only and read a page at a time, never with the aggregate, so a command's cost does not
//! grow with the certification's age. A command loads the aggregate once, decides with the pure
//! methods here, and commits the returned [`Changes`] in one atomic write guarded by the version
//! it loaded. [`Changes`] can only be made by [`ChangeBuilder`] (or [`Changes::issue`] for a new
//! certification), which always bumps the version and records one history event: no command can
//! forget either.
//!
//! Files: this one (the aggregate and what every use case asks of it), [`item`], [`changes`], and
//! `decide.rs`: [`Decide`], the one context every command decides with (the rules, the actor, the
//! time, the id of the message it may queue), so no command takes more than a few arguments.

use crate::eligibility::Eligibility;
use crate::eligibility::EntryFacts;
use crate::eligibility::Waived;
use crate::eligibility::evaluate;
use crate::model::certification::Certification;
use crate::model::deadline::Deadline;
use crate::model::deadline::DueKind;
use crate::model::entry::CeEntry;
use crate::model::entry::EntrySource;
use crate::model::history::HistoryKind;
use crate::model::idempotency::IdempotencyRecord;
use crate::model::submission::Submission;
use crate::model::submission::SubmissionStatus;
use crate::model::waiver::Relief;
use crate::rules::RuleSet;
use crate::vocabulary::actor::Actor;
use crate::vocabulary::error::ConflictCode;
use crate::vocabulary::error::DomainError;
use crate::vocabulary::ids::EntryId;
use std::collections::BTreeMap;
pub mod changes;
mod decide;
pub mod item;
pub use changes::{ChangeBuilder, Changes};
use chrono::{DateTime, Utc};
pub use decide::Decide;
pub use item::{Item, ItemKey};

/// The certification with its current cycle's working set, as loaded in one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationAggregate {
    pub certification: Certification,
    /// The entries of the current cycle (by completion date, then id).
    pub entries: Vec<CeEntry>,
    /// The renewals of the current cycle.
    pub renewals: Vec<Submission>,
    /// Idempotency records (expired ones may be included; see [`Self::idempotency_record`]).
    pub idempotency: Vec<IdempotencyRecord>,
    /// The current cycle's deadlines (dates a job acts on once).
    pub deadlines: Vec<Deadline>,
    /// The audits of the current cycle's submissions that were selected.
    pub audits: Vec<crate::audit::Audit>,
    /// The current cycle's waiver and extension requests.
    pub waiver_requests: Vec<crate::model::waiver::WaiverRequest>,
}

impl CertificationAggregate {
    /// A certification with nothing in its working set yet.
    pub fn new(certification: Certification) -> Self {
        CertificationAggregate {
            certification,
            entries: Vec::new(),
            renewals: Vec::new(),
            idempotency: Vec::new(),
            deadlines: Vec::new(),
            audits: Vec::new(),
            waiver_requests: Vec::new(),
        }
    }

    /// The current cycle's deadline of `kind` that is still to do.
    pub fn open_deadline(&self, kind: DueKind) -> Option<&Deadline> {
        self.deadlines.iter().find(|d| {
            d.kind == kind
                && d.cycle_starts_on == self.certification.cycle_starts_on
                && d.done_at.is_none()
        })
    }

    /// Start a change of this certification by `actor` at `now`, recorded as `what`.
    pub fn change(&self, actor: &Actor, now: DateTime<Utc>, what: HistoryKind) -> ChangeBuilder {
        ChangeBuilder::new(&self.certification, actor, now, what)
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
    pub fn current_submission(&self) -> Option<&Submission> {
        let c = &self.certification;
        self.renewals.iter().find(|r| {
            r.cycle_expires_on == c.expires_on
                && !matches!(
                    r.status,
                    SubmissionStatus::Returned | SubmissionStatus::Withdrawn
                )
        })
    }

    /// Entries may change only while the cycle is open for logging: not lapsed, not submitted.
    pub(crate) fn ensure_transcript_open(&self) -> Result<(), DomainError> {
        if !self.certification.is_active() {
            return Err(DomainError::conflict(
                ConflictCode::CertificationLapsed,
                "this certification is no longer active (lapsed or revoked); its transcript can no longer change",
            ));
        }
        if let Some(r) = self.current_submission() {
            return Err(DomainError::conflict(
                ConflictCode::CycleSubmitted,
                format!(
                    "a renewal for the cycle ending {} was submitted on {}; its entries are locked",
                    r.cycle_expires_on,
                    r.submitted_at.date_naive()
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn ensure_self_reported(entry: &CeEntry) -> Result<(), DomainError> {
        if entry.source == EntrySource::ProviderReported {
            return Err(DomainError::conflict(
                ConflictCode::ProviderReported,
                "this entry was posted by its provider; only the provider can change or void it",
            ));
        }
        Ok(())
    }

    /// The aggregate as it is after `changes` commit (what a store would load next, items of
    /// other cycles aside).
    pub fn apply(mut self, changes: &Changes) -> Self {
        self.certification = changes.certification().clone();
        for key in changes.deletes() {
            match key {
                ItemKey::Entry { id, .. } => self.entries.retain(|e| e.id != *id),
                ItemKey::Submission { id, .. } => self.renewals.retain(|r| r.id != *id),
                ItemKey::Idempotency(k) => self.idempotency.retain(|r| r.key != *k),
                ItemKey::Deadline { cycle, kind } => self
                    .deadlines
                    .retain(|d| !(d.cycle_starts_on == *cycle && d.kind == *kind)),
                ItemKey::Audit { renewal, .. } => self.audits.retain(|a| a.renewal_id != *renewal),
                ItemKey::WaiverRequest { id, .. } => self.waiver_requests.retain(|r| r.id != *id),
                ItemKey::Outbox(_) => {}
            }
        }
        for item in changes.puts() {
            match item {
                Item::Entry(e) => match self.entries.iter_mut().find(|x| x.id == e.id) {
                    Some(slot) => *slot = e.clone(),
                    None => self.entries.push(e.clone()),
                },
                Item::Submission(r) => match self.renewals.iter_mut().find(|x| x.id == r.id) {
                    Some(slot) => *slot = r.clone(),
                    None => self.renewals.push(r.clone()),
                },
                Item::Idempotency(i) => {
                    self.idempotency.retain(|r| r.key != i.key);
                    self.idempotency.push(i.clone());
                }
                Item::Deadline(d) => {
                    self.deadlines
                        .retain(|x| !(x.cycle_starts_on == d.cycle_starts_on && x.kind == d.kind));
                    self.deadlines.push(d.clone());
                }
                Item::Audit(a) => match self
                    .audits
                    .iter_mut()
                    .find(|x| x.renewal_id == a.renewal_id)
                {
                    Some(slot) => *slot = a.clone(),
                    None => self.audits.push(a.clone()),
                },
                Item::WaiverRequest(w) => {
                    match self.waiver_requests.iter_mut().find(|x| x.id == w.id) {
                        Some(slot) => *slot = w.clone(),
                        None => self.waiver_requests.push(w.clone()),
                    }
                }
                // Not part of the loaded working set.
                Item::Outbox(_) => {}
            }
        }
        self
    }
}

impl CertificationAggregate {
    /// The facts of the current cycle's entries, for the eligibility engine: every entry but a
    /// self-reported one that probably duplicates a provider's (counted once, as the provider's,
    /// until the certificant resolves it).
    pub fn entry_facts(&self, rules: &RuleSet) -> Vec<EntryFacts> {
        let duplicates = self.probable_duplicates(&rules.duplicates);
        self.entries
            .iter()
            .filter(|e| !duplicates.iter().any(|d| d.entry_id == e.id))
            .map(|e| e.activity.facts(e.id))
            .collect()
    }

    /// The verdict on the current cycle under `rules` and every waiver granted for it.
    pub fn eligibility(&self, rules: &RuleSet) -> Eligibility {
        self.eligibility_of(rules, &self.entry_facts(rules))
    }

    /// The verdict on `entries` (the transcript, a part of it, or more) for the current cycle,
    /// with the minimums granted waivers lowered; each such requirement is reported as waived.
    pub fn eligibility_of(&self, rules: &RuleSet, entries: &[EntryFacts]) -> Eligibility {
        let c = &self.certification;
        let base = rules.credential(c.credential);
        let granted = self.granted_reductions(base);
        if granted.is_empty() {
            return evaluate(base, &c.cycle(), entries);
        }
        let mut lowered = base.clone();
        for set in &mut lowered.requirement_sets {
            for r in &mut set.requirements {
                if let Some(w) = granted.get(&(set.key.clone(), r.key.clone())) {
                    r.min = w.granted_min_hundredths;
                }
            }
        }
        let mut verdict = evaluate(&lowered, &c.cycle(), entries);
        for set in &mut verdict.sets {
            for r in &mut set.requirements {
                r.waived = granted.get(&(set.key.clone(), r.key.clone())).cloned();
            }
        }
        verdict
    }

    /// Every minimum of `base` lowered by an approved waiver of the current cycle (the lowest
    /// grant wins; a grant naming no requirement of `base` is ignored).
    pub(crate) fn granted_reductions(
        &self,
        base: &crate::rules::CredentialRules,
    ) -> BTreeMap<(String, String), Waived> {
        let mut granted: BTreeMap<(String, String), Waived> = BTreeMap::new();
        for request in self.current_waiver_requests() {
            let Some(decision) = request.decision.as_deref() else {
                continue;
            };
            let Some(Relief::Waiver { reductions }) = &decision.granted else {
                continue;
            };
            for r in reductions {
                let Some(rule) = base.requirement(&r.set, &r.requirement) else {
                    continue;
                };
                let key = (r.set.clone(), r.requirement.clone());
                if granted
                    .get(&key)
                    .is_some_and(|w| w.granted_min_hundredths <= r.min)
                {
                    continue;
                }
                granted.insert(
                    key,
                    Waived {
                        rule_min_hundredths: rule.min,
                        granted_min_hundredths: r.min.min(rule.min),
                        request_id: request.id,
                        granted_by: decision.by.clone(),
                        granted_at: decision.at,
                    },
                );
            }
        }
        granted
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::certification::CertificationStatus;
    use crate::model::deadline::DueSlot;
    use crate::model::deadline::Queue;
    use crate::model::deadline::QueueSlot;
    use crate::model::entry::Activity;
    use crate::model::idempotency::IDEMPOTENCY_BODY_CAP;
    use crate::vocabulary::credential::Credential;
    use crate::vocabulary::credential::ProviderCategory;
    use crate::vocabulary::hours::Hours;
    use crate::vocabulary::ids::CertificantId;
    use crate::vocabulary::ids::CertificationId;
    use chrono::NaiveDate;
    use uuid::Uuid;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(day: u32) -> DateTime<Utc> {
        date(2026, 1, day).and_hms_opt(12, 0, 0).unwrap().and_utc()
    }

    fn aggregate() -> CertificationAggregate {
        let certification = Certification {
            id: CertificationId(Uuid::from_u128(1)),
            certificant_id: CertificantId(Uuid::from_u128(2)),
            credential: Credential::Cphims,
            certificate_number: "CN-1".into(),
            cycle_starts_on: date(2025, 1, 1),
            expires_on: date(2027, 12, 31),
            extended_to: None,
            status: CertificationStatus::Active,
            created_at: at(1),
            updated_at: at(1),
            version: 0,
            renewed_by: None,
        };
        let issued = Changes::issue(
            certification,
            &Actor::System(crate::JobName("t".into())),
            at(1),
        );
        CertificationAggregate::new(issued.certification().clone())
    }

    fn activity() -> Activity {
        Activity {
            title: "t".into(),
            provider_name: "p".into(),
            provider_category: ProviderCategory::Society,
            canadian_content: false,
            completed_on: date(2025, 6, 1),
            hours: Hours(100),
            ethics_hours: Hours(0),
            evidence: vec![],
        }
    }

    #[test]
    fn every_change_bumps_the_version_and_records_who_when_what() {
        let agg = aggregate();
        let me = Actor::Certificant(agg.certification.certificant_id);
        let (_, changes) = agg
            .add_entry(
                &Decide::new(
                    &crate::RuleBook::default_rules().versions()[0],
                    &me,
                    at(2),
                    uuid::Uuid::now_v7(),
                ),
                EntryId(Uuid::from_u128(3)),
                activity(),
                EntrySource::SelfReported,
            )
            .unwrap();
        assert_eq!(changes.expected_version(), 1);
        assert_eq!(changes.certification().version, 2);
        assert_eq!(changes.certification().updated_at, at(2));
        let event = changes.event();
        assert_eq!(event.seq, 2);
        assert_eq!(event.at, at(2));
        assert_eq!(event.actor, me.acted_by());
        assert!(matches!(event.kind, HistoryKind::EntryAdded { .. }));
    }

    #[test]
    fn a_builder_change_with_no_items_still_bumps_and_records() {
        let agg = aggregate();
        let job = Actor::System(crate::JobName("lapse".into()));
        let changes = agg
            .change(
                &job,
                at(3),
                HistoryKind::RenewalSubmitted {
                    renewal_id: Uuid::nil(),
                },
            )
            .root(|c| c.status = CertificationStatus::Lapsed)
            .build();
        assert_eq!(changes.certification().version, 2);
        assert_eq!(changes.certification().status, CertificationStatus::Lapsed);
        assert_eq!(changes.event().actor.role, "system");
    }

    #[test]
    fn an_entry_is_kept_with_the_cycle_it_was_logged_in() {
        let agg = aggregate();
        let me = Actor::Certificant(agg.certification.certificant_id);
        let (entry, changes) = agg
            .add_entry(
                &Decide::new(
                    &crate::RuleBook::default_rules().versions()[0],
                    &me,
                    at(2),
                    uuid::Uuid::now_v7(),
                ),
                EntryId(Uuid::from_u128(3)),
                activity(),
                EntrySource::SelfReported,
            )
            .unwrap();
        assert_eq!(entry.cycle_starts_on, date(2025, 1, 1));
        assert_eq!(
            changes.puts()[0].key(),
            ItemKey::Entry {
                cycle: date(2025, 1, 1),
                id: entry.id
            }
        );
    }

    #[test]
    fn only_an_active_certification_falls_due_and_only_a_renewal_in_review_is_queued() {
        let mut agg = aggregate();
        assert_eq!(
            agg.certification.due_slot(),
            Some(DueSlot {
                kind: DueKind::CycleCloses,
                on: date(2027, 12, 31)
            })
        );
        agg.certification.status = CertificationStatus::Lapsed;
        assert_eq!(agg.certification.due_slot(), None);
        let mut renewal = Submission {
            id: Uuid::nil(),
            cycle_starts_on: date(2025, 1, 1),
            cycle_expires_on: date(2027, 12, 31),
            status: SubmissionStatus::AwaitingPayment,
            submitted_at: at(4),
            ..Submission::default()
        };
        assert_eq!(Item::Submission(renewal.clone()).queue_slot(), None);
        renewal.status = SubmissionStatus::InReview;
        assert_eq!(
            Item::Submission(renewal.clone()).queue_slot(),
            Some(QueueSlot {
                queue: Queue::AuditDraw,
                since: at(4)
            }),
            "paid: it waits for the audit draw first"
        );
        renewal.draw = Some(Box::new(crate::audit::DrawJudgement {
            period: "2026-01".parse().unwrap(),
            run_on: date(2026, 1, 5),
            seq: 1,
            candidate: "candidate".into(),
            ticket: crate::audit::Ticket::first("seed", "id"),
            selected: false,
        }));
        assert_eq!(
            Item::Submission(renewal.clone()).queue_slot(),
            Some(QueueSlot {
                queue: Queue::RenewalReview,
                since: at(4)
            })
        );
        renewal.status = SubmissionStatus::InAudit;
        assert_eq!(Item::Submission(renewal).queue_slot(), None);
    }

    #[test]
    fn an_oversized_response_is_not_kept_for_replay() {
        let big = "x".repeat(IDEMPOTENCY_BODY_CAP + 1);
        let r = IdempotencyRecord::of_response(
            "k".into(),
            "h".into(),
            201,
            Some("/x".into()),
            big,
            at(1),
            at(2),
        );
        assert_eq!(r.body, None);
        assert_eq!(r.location.as_deref(), Some("/x"));
        let r = IdempotencyRecord::of_response(
            "k".into(),
            "h".into(),
            201,
            None,
            "{}".into(),
            at(1),
            at(2),
        );
        assert_eq!(r.body.as_deref(), Some("{}"));
    }
}
