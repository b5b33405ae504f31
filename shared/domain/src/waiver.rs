//! Waiver and extension requests, and the closing of a cycle (reminders and lapse).
//!
//! A certificant asks, with a reason, for an extension (a later closing date) or a waiver (lower
//! minimums for named requirements), no later than the waiver cutoff, one open request per cycle;
//! they may withdraw it while it is open. The committee approves (granting a date or reductions
//! within the rules' bounds) or denies, with a note, and the certificant is emailed. A granted
//! extension moves the closing date and the last counting day (the root's `extended_to`), never
//! the hours required; a granted waiver lowers the named minimums for every verdict on the cycle
//! ([`CertificationAggregate::eligibility`]), which reports each as waived.
//!
//! The daily lifecycle job tells a certificant where they stand on the reminder days before the
//! closing date, and lapses a certification whose closing date passed without a paid submission.

use crate::actor::{ActedBy, Actor};
use crate::calendar::add_months;
use crate::certification::{
    CertificationAggregate, CertificationStatus, Changes, Deadline, DueKind, HistoryKind, Item,
    RenewalStatus,
};
use crate::credential::Credential;
use crate::eligibility::{Eligibility, EntryFacts, Waived, evaluate};
use crate::error::ConflictCode;
use crate::error::{DomainError, FieldErrors};
use crate::hours::Hours;
use crate::ids::CertificationId;
use crate::notice::{HoursLine, Notice, OutboxMessage, Recipient, missing_lines};
use crate::rules::RuleSet;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest reason or note, in characters.
pub const MAX_REASON_CHARS: usize = 2000;

/// What a request asks for, or what the committee granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Relief {
    /// A later closing date: the renewal window and the counting of hours end on `until`.
    Extension { until: NaiveDate },
    /// Lower minimums for the named requirements.
    Waiver {
        #[schema(min_items = 1)]
        reductions: Vec<Reduction>,
    },
}

impl Relief {
    pub fn kind(&self) -> &'static str {
        match self {
            Relief::Extension { .. } => "extension",
            Relief::Waiver { .. } => "waiver",
        }
    }
}

/// One requirement's lowered minimum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reduction {
    /// The requirement set's key (as the eligibility report names it, e.g. `core`).
    pub set: String,
    /// The requirement's key in that set (e.g. `ethics`).
    pub requirement: String,
    /// The minimum asked for or granted, in hundredths of an hour (below the rule's).
    #[serde(rename = "min_hundredths")]
    #[schema(value_type = u32)]
    pub min: Hours,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaiverStatus {
    /// Waiting for the committee (the certificant may withdraw it).
    Open,
    Withdrawn,
    Approved,
    Denied,
}

/// How the committee decided a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WaiverDecision {
    pub approved: bool,
    /// What was granted (approved only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted: Option<Relief>,
    pub note: String,
    pub by: ActedBy,
    pub at: DateTime<Utc>,
}

/// A waiver or extension request (kept with its cycle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WaiverRequest {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    /// The first day of the cycle it is for.
    pub cycle_starts_on: NaiveDate,
    pub requested: Relief,
    pub reason: String,
    pub status: WaiverStatus,
    pub requested_at: DateTime<Utc>,
    pub requested_by: ActedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Box<WaiverDecision>>,
}

/// A certificant's request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"relief": {"type": "extension", "until": "2027-06-30"}, "reason": "Parental leave, March to June"}))]
pub struct WaiverRequestInput {
    pub relief: Relief,
    /// Why (1 to 2000 characters).
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s\u00ad\u200b-\u200d\u2060\ufeff][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaiverOutcome {
    Approved,
    Denied,
}

/// The committee's decision on a request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverDecisionInput {
    pub outcome: WaiverOutcome,
    /// What to grant when approving (of the kind requested); omitted: what was requested.
    #[serde(default)]
    pub grant: Option<Relief>,
    /// The committee's note to the certificant (1 to 2000 characters).
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\s\u00ad\u200b-\u200d\u2060\ufeff][^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub note: String,
}

/// Sent when the committee decides: what was granted (or that it was denied), the note, and the
/// closing date that now applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverDecided {
    pub certification_id: CertificationId,
    pub credential: Credential,
    /// `extension` or `waiver`.
    pub kind: String,
    pub approved: bool,
    pub note: String,
    /// The closing date after the decision.
    pub closes_on: NaiveDate,
    /// The lowered minimums granted (a waiver), as message lines.
    pub reduced: Vec<HoursLine>,
}

/// Sent on each reminder day before the closing date: what is missing, or that everything is met
/// and only the submission remains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosingReminder {
    pub certification_id: CertificationId,
    pub credential: Credential,
    pub closes_on: NaiveDate,
    pub days_left: u32,
    pub met: bool,
    pub missing: Vec<HoursLine>,
}

/// Sent when a certification lapses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lapsed {
    pub certification_id: CertificationId,
    pub credential: Credential,
    pub certificate_number: String,
    pub closed_on: NaiveDate,
}

fn conflict(code: ConflictCode, message: impl Into<String>) -> DomainError {
    DomainError::conflict(code, message)
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
    fn granted_reductions(
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
                let Some(rule) = requirement(base, &r.set, &r.requirement) else {
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

    /// The waiver and extension requests of the current cycle, oldest first.
    pub fn current_waiver_requests(&self) -> impl Iterator<Item = &WaiverRequest> {
        let cycle = self.certification.cycle_starts_on;
        self.waiver_requests
            .iter()
            .filter(move |r| r.cycle_starts_on == cycle)
    }

    pub fn waiver_request(&self, id: uuid::Uuid) -> Result<&WaiverRequest, DomainError> {
        self.current_waiver_requests()
            .find(|r| r.id == id)
            .ok_or(DomainError::NotFound("waiver request"))
    }

    /// Ask for an extension or a waiver: active, by the cutoff, before submitting, one open
    /// request at a time, and within what the committee could grant.
    pub fn request_waiver(
        &self,
        id: uuid::Uuid,
        input: WaiverRequestInput,
        rules: &RuleSet,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(WaiverRequest, Changes), DomainError> {
        let c = &self.certification;
        if !c.is_active() {
            return Err(conflict(
                ConflictCode::CertificationLapsed,
                "this certification is no longer active (lapsed or revoked); only passing the exam again reinstates it",
            ));
        }
        let cutoff = c.cycle().waiver_request_cutoff(&rules.deadlines);
        if now.date_naive() > cutoff {
            return Err(conflict(
                ConflictCode::RequestCutoffPassed,
                format!(
                    "waiver and extension requests for the cycle expiring {} had to arrive by {cutoff}",
                    c.expires_on
                ),
            ));
        }
        if let Some(open) = self
            .current_waiver_requests()
            .find(|r| r.status == WaiverStatus::Open)
        {
            return Err(conflict(
                ConflictCode::RequestOpen,
                format!(
                    "a {} request made on {} is still open; withdraw it or wait for the committee",
                    open.requested.kind(),
                    open.requested_at.date_naive()
                ),
            ));
        }
        if let Some(r) = self.current_submission() {
            return Err(conflict(
                ConflictCode::CycleSubmitted,
                format!(
                    "a renewal for this cycle was submitted on {}; there is nothing left to extend or waive",
                    r.submitted_at.date_naive()
                ),
            ));
        }
        let mut errors = FieldErrors::default();
        let reason = crate::text::check(&mut errors, "reason", &input.reason, MAX_REASON_CHARS);
        self.check_relief(&input.relief, rules, "relief", &mut errors);
        errors.into_result().map_err(DomainError::Invalid)?;
        let request = WaiverRequest {
            id,
            cycle_starts_on: c.cycle_starts_on,
            requested: input.relief,
            reason,
            status: WaiverStatus::Open,
            requested_at: now,
            requested_by: actor.acted_by(),
            withdrawn_at: None,
            decision: None,
        };
        let changes = self
            .change(actor, now, HistoryKind::WaiverRequested { request_id: id })
            .put(Item::WaiverRequest(request.clone()))
            .build();
        Ok((request, changes))
    }

    /// Withdraw an open request.
    pub fn withdraw_waiver_request(
        &self,
        id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(WaiverRequest, Changes), DomainError> {
        let request = self.open_waiver_request(id)?;
        let withdrawn = WaiverRequest {
            status: WaiverStatus::Withdrawn,
            withdrawn_at: Some(now),
            ..request.clone()
        };
        let changes = self
            .change(actor, now, HistoryKind::WaiverWithdrawn { request_id: id })
            .put(Item::WaiverRequest(withdrawn.clone()))
            .build();
        Ok((withdrawn, changes))
    }

    /// The committee's decision: approve (granting what was asked, or `grant`, within the rules'
    /// bounds) or deny, with a note; the certificant is emailed. An approved extension moves the
    /// closing date at once; an approved waiver lowers the minimums of every later verdict.
    #[allow(clippy::too_many_arguments)]
    pub fn decide_waiver_request(
        &self,
        id: uuid::Uuid,
        input: WaiverDecisionInput,
        rules: &RuleSet,
        recipient: Recipient,
        message_id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(WaiverRequest, Changes), DomainError> {
        let request = self.open_waiver_request(id)?;
        let c = &self.certification;
        let mut errors = FieldErrors::default();
        let note = crate::text::check(&mut errors, "note", &input.note, MAX_REASON_CHARS);
        let approved = input.outcome == WaiverOutcome::Approved;
        let granted = match (input.outcome, input.grant) {
            (WaiverOutcome::Denied, Some(_)) => {
                errors.add("grant", "a denial grants nothing; leave it out");
                None
            }
            (WaiverOutcome::Denied, None) => None,
            (WaiverOutcome::Approved, grant) => {
                let grant = grant.unwrap_or_else(|| request.requested.clone());
                if grant.kind() != request.requested.kind() {
                    errors.add(
                        "grant/type",
                        format!(
                            "the request asks for {} {}; grant that kind or deny it",
                            if request.requested.kind() == "extension" {
                                "an"
                            } else {
                                "a"
                            },
                            request.requested.kind()
                        ),
                    );
                } else {
                    self.check_relief(&grant, rules, "grant", &mut errors);
                }
                Some(grant)
            }
        };
        errors.into_result().map_err(DomainError::Invalid)?;
        if approved && !c.is_active() {
            return Err(conflict(
                ConflictCode::CertificationLapsed,
                "this certification is no longer active; deny the request instead",
            ));
        }
        let decided = WaiverRequest {
            status: if approved {
                WaiverStatus::Approved
            } else {
                WaiverStatus::Denied
            },
            decision: Some(Box::new(WaiverDecision {
                approved,
                granted: granted.clone(),
                note: note.clone(),
                by: actor.acted_by(),
                at: now,
            })),
            ..request.clone()
        };
        let extended_to = match &granted {
            Some(Relief::Extension { until }) => Some(*until),
            _ => c.extended_to,
        };
        let mut closing = c.cycle();
        closing.extended_to = extended_to;
        let reduced = match &granted {
            Some(Relief::Waiver { reductions }) => reduction_lines(rules, c.credential, reductions),
            _ => Vec::new(),
        };
        let notice = Notice::WaiverDecided(WaiverDecided {
            certification_id: c.id,
            credential: c.credential,
            kind: request.requested.kind().to_owned(),
            approved,
            note,
            closes_on: closing.counting_ends_on(),
            reduced,
        });
        let changes = self
            .change(
                actor,
                now,
                HistoryKind::WaiverDecided {
                    request_id: id,
                    approved,
                },
            )
            .root(|root| root.extended_to = extended_to)
            .put(Item::WaiverRequest(decided.clone()))
            .put(Item::Outbox(OutboxMessage::new(
                message_id, c.id, recipient, notice, now,
            )))
            .build();
        Ok((decided, changes))
    }

    fn open_waiver_request(&self, id: uuid::Uuid) -> Result<&WaiverRequest, DomainError> {
        let request = self.waiver_request(id)?;
        if request.status != WaiverStatus::Open {
            return Err(conflict(
                ConflictCode::RequestNotOpen,
                format!(
                    "this request is {}; only an open request can be withdrawn or decided",
                    status_name(request.status)
                ),
            ));
        }
        Ok(request)
    }

    /// Whether `relief` is within what the rules let the committee grant for this cycle.
    fn check_relief(
        &self,
        relief: &Relief,
        rules: &RuleSet,
        field: &str,
        errors: &mut FieldErrors,
    ) {
        let c = &self.certification;
        let bounds = &rules.lifecycle;
        match relief {
            Relief::Extension { until } => {
                let latest = add_months(c.expires_on, bounds.extension_max_months as i32);
                let closes_on = c.cycle().counting_ends_on();
                if *until <= closes_on {
                    errors.add(
                        format!("{field}/until"),
                        format!("must be after the current closing date, {closes_on}"),
                    );
                } else if *until > latest {
                    errors.add(
                        format!("{field}/until"),
                        format!(
                            "an extension may reach {latest} at the latest ({} months after the expiration date)",
                            bounds.extension_max_months
                        ),
                    );
                }
            }
            Relief::Waiver { reductions } => {
                let credential = rules.credential(c.credential);
                if reductions.is_empty() {
                    errors.add(
                        format!("{field}/reductions"),
                        "name at least one requirement to lower",
                    );
                }
                for (i, r) in reductions.iter().enumerate() {
                    let at = format!("{field}/reductions/{i}");
                    if reductions[..i]
                        .iter()
                        .any(|o| o.set == r.set && o.requirement == r.requirement)
                    {
                        errors.add(at.clone(), "names the same requirement twice");
                        continue;
                    }
                    let Some(rule) = requirement(credential, &r.set, &r.requirement) else {
                        errors.add(
                            at,
                            format!(
                                "{} has no requirement {:?} in a set {:?}",
                                c.credential, r.requirement, r.set
                            ),
                        );
                        continue;
                    };
                    let floor = lowest_min(rule.min, bounds.waiver_max_reduction_percent);
                    if r.min >= rule.min {
                        errors.add(
                            format!("{at}/min_hundredths"),
                            format!("must be below the rule's {}", rule.min),
                        );
                    } else if r.min < floor {
                        errors.add(
                            format!("{at}/min_hundredths"),
                            format!(
                                "may be lowered to {floor} at most ({}% off the rule's {})",
                                bounds.waiver_max_reduction_percent, rule.min
                            ),
                        );
                    }
                }
            }
        }
    }

    /// On a reminder day (`days_left` before the closing date, one of the rules' reminder days),
    /// tell the certificant what is still missing, or that only the submission remains. Once per
    /// reminder day (a marker deadline records the last one sent); nothing once submitted.
    pub fn remind_closing(
        &self,
        rules: &RuleSet,
        recipient: Recipient,
        message_id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Option<Changes> {
        let c = &self.certification;
        let today = now.date_naive();
        let closes_on = c.cycle().counting_ends_on();
        let days_left = u32::try_from((closes_on - today).num_days()).ok()?;
        if !c.is_active()
            || !rules.lifecycle.closing_reminder_days.contains(&days_left)
            || self.current_submission().is_some()
        {
            return None;
        }
        let marker = self
            .deadlines
            .iter()
            .find(|d| d.kind == DueKind::ClosingReminder && d.cycle_starts_on == c.cycle_starts_on);
        if marker.is_some_and(|m| m.on >= today) {
            return None;
        }
        let eligibility = self.eligibility(rules);
        let notice = Notice::ClosingReminder(ClosingReminder {
            certification_id: c.id,
            credential: c.credential,
            closes_on,
            days_left,
            met: eligibility.met,
            missing: missing_lines(&eligibility),
        });
        let message = OutboxMessage::new(message_id, c.id, recipient, notice, now);
        Some(
            self.change(
                actor,
                now,
                HistoryKind::NoticeQueued {
                    template: message.notice.template().to_owned(),
                },
            )
            .put(Item::Deadline(Deadline {
                kind: DueKind::ClosingReminder,
                cycle_starts_on: c.cycle_starts_on,
                on: today,
                done_at: Some(now),
            }))
            .put(Item::Outbox(message))
            .build(),
        )
    }

    /// After the closing date, a certification with no paid submission lapses (revoked; an
    /// unpaid submission is withdrawn) and the certificant is told. One whose submission is in
    /// review or in audit does not: that decision ends the cycle.
    pub fn lapse_if_unrenewed(
        &self,
        recipient: Recipient,
        message_id: uuid::Uuid,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Option<Changes> {
        let c = &self.certification;
        let closed_on = c.cycle().counting_ends_on();
        if !c.is_active() || now.date_naive() <= closed_on {
            return None;
        }
        let pending = self.current_submission();
        if pending
            .is_some_and(|r| matches!(r.status, RenewalStatus::InReview | RenewalStatus::InAudit))
        {
            return None;
        }
        let notice = Notice::Lapsed(Lapsed {
            certification_id: c.id,
            credential: c.credential,
            certificate_number: c.certificate_number.clone(),
            closed_on,
        });
        let mut change = self
            .change(actor, now, HistoryKind::CertificationLapsed { closed_on })
            .root(|root| root.status = CertificationStatus::Lapsed)
            .put(Item::Outbox(OutboxMessage::new(
                message_id, c.id, recipient, notice, now,
            )));
        if let Some(unpaid) = pending.filter(|r| r.status == RenewalStatus::AwaitingPayment) {
            let mut withdrawn = unpaid.clone();
            withdrawn.status = RenewalStatus::Withdrawn;
            change = change.put(Item::Renewal(withdrawn));
        }
        Some(change.build())
    }
}

/// The requirement `requirement` of set `set` in `credential`'s rules.
fn requirement<'a>(
    credential: &'a crate::rules::CredentialRules,
    set: &str,
    requirement: &str,
) -> Option<&'a crate::rules::Requirement> {
    credential
        .requirement_sets
        .iter()
        .find(|s| s.key == set)?
        .requirements
        .iter()
        .find(|r| r.key == requirement)
}

/// The lowest minimum a waiver may grant for a rule of `min`, lowered by at most `percent`
/// (rounded up to a whole hundredth: never more than the bound).
fn lowest_min(min: Hours, percent: u32) -> Hours {
    let kept = u64::from(min.0) * u64::from(100 - percent.min(100));
    Hours(u32::try_from(kept.div_ceil(100)).unwrap_or(min.0))
}

/// The granted reductions as message lines ("<set>: <requirement>" and the new minimum).
fn reduction_lines(
    rules: &RuleSet,
    credential: Credential,
    reductions: &[Reduction],
) -> Vec<HoursLine> {
    let rules = rules.credential(credential);
    reductions
        .iter()
        .filter_map(|r| {
            let set = rules.requirement_sets.iter().find(|s| s.key == r.set)?;
            let rule = set.requirements.iter().find(|q| q.key == r.requirement)?;
            Some(HoursLine {
                label: format!("{}: {}", set.label, rule.label),
                hours: r.min,
            })
        })
        .collect()
}

pub fn status_name(status: WaiverStatus) -> &'static str {
    match status {
        WaiverStatus::Open => "open",
        WaiverStatus::Withdrawn => "withdrawn",
        WaiverStatus::Approved => "approved",
        WaiverStatus::Denied => "denied",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::certification::{Certification, Renewal};
    use crate::ids::CertificantId;
    use crate::rules::RuleBook;
    use uuid::Uuid;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(day: &str) -> DateTime<Utc> {
        d(day).and_hms_opt(12, 0, 0).unwrap().and_utc()
    }

    fn rules() -> RuleSet {
        RuleBook::default_rules()
            .for_cycle_starting(d("2024-09-01"))
            .clone()
    }

    /// A CPDHTS certification (30 h total, 15 h approved) expiring 31 Aug 2026.
    fn aggregate() -> CertificationAggregate {
        let c = Certification {
            id: CertificationId(Uuid::from_u128(1)),
            certificant_id: CertificantId(Uuid::from_u128(2)),
            credential: Credential::Cpdhts,
            certificate_number: "CN-1".into(),
            cycle_starts_on: d("2024-09-01"),
            expires_on: d("2026-08-31"),
            extended_to: None,
            status: CertificationStatus::Active,
            created_at: at("2024-09-01"),
            updated_at: at("2024-09-01"),
            version: 1,
            renewed_by: None,
        };
        CertificationAggregate::new(c)
    }

    fn me(agg: &CertificationAggregate) -> Actor {
        Actor::Certificant(agg.certification.certificant_id)
    }

    fn committee() -> Actor {
        Actor::Staff {
            subject: "c-1".into(),
            role: crate::actor::Role::Committee,
        }
    }

    fn recipient() -> Recipient {
        Recipient {
            certificant_id: CertificantId(Uuid::from_u128(2)),
            email: crate::Email::parse("a@example.org").unwrap(),
            full_name: "A".into(),
        }
    }

    fn waiver(min: u32) -> Relief {
        Relief::Waiver {
            reductions: vec![Reduction {
                set: "technology".into(),
                requirement: "approved".into(),
                min: Hours(min),
            }],
        }
    }

    fn ask(
        agg: &CertificationAggregate,
        relief: Relief,
        day: &str,
    ) -> Result<CertificationAggregate, DomainError> {
        let input = WaiverRequestInput {
            relief,
            reason: "leave".into(),
        };
        let (_, changes) =
            agg.request_waiver(Uuid::from_u128(9), input, &rules(), &me(agg), at(day))?;
        Ok(agg.clone().apply(&changes))
    }

    fn decide(
        agg: &CertificationAggregate,
        outcome: WaiverOutcome,
        grant: Option<Relief>,
    ) -> Result<CertificationAggregate, DomainError> {
        let input = WaiverDecisionInput {
            outcome,
            grant,
            note: "decided".into(),
        };
        let (_, changes) = agg.decide_waiver_request(
            Uuid::from_u128(9),
            input,
            &rules(),
            recipient(),
            Uuid::from_u128(10),
            &committee(),
            at("2026-04-01"),
        )?;
        Ok(agg.clone().apply(&changes))
    }

    fn invalid_fields(e: DomainError) -> Vec<String> {
        match e {
            DomainError::Invalid(f) => f.0.into_keys().collect(),
            other => panic!("expected invalid fields, got {other:?}"),
        }
    }

    #[test]
    fn a_waiver_floor_is_rounded_up_never_past_the_bound() {
        assert_eq!(lowest_min(Hours(1500), 50), Hours(750));
        assert_eq!(lowest_min(Hours(333), 50), Hours(167));
        assert_eq!(lowest_min(Hours(200), 100), Hours(0));
        assert_eq!(lowest_min(Hours(200), 0), Hours(200));
    }

    #[test]
    fn an_extension_reaches_six_months_after_expiration_clamped_to_the_month_end() {
        let agg = aggregate();
        // 31 Aug + 6 months = 28 Feb.
        let too_late = ask(
            &agg,
            Relief::Extension {
                until: d("2027-03-01"),
            },
            "2026-05-31",
        );
        assert_eq!(invalid_fields(too_late.unwrap_err()), ["relief/until"]);
        let not_later = ask(
            &agg,
            Relief::Extension {
                until: d("2026-08-31"),
            },
            "2026-05-31",
        );
        assert_eq!(invalid_fields(not_later.unwrap_err()), ["relief/until"]);
        let asked = ask(
            &agg,
            Relief::Extension {
                until: d("2027-02-28"),
            },
            "2026-05-31",
        )
        .unwrap();
        let granted = decide(&asked, WaiverOutcome::Approved, None).unwrap();
        assert_eq!(granted.certification.extended_to, Some(d("2027-02-28")));
        assert_eq!(
            granted.certification.due_slot().unwrap().on,
            d("2027-02-28")
        );
        let r = &granted.waiver_requests[0];
        assert_eq!(r.status, WaiverStatus::Approved);
        assert_eq!(r.decision.as_ref().unwrap().by.role, "committee");
    }

    #[test]
    fn a_request_after_the_cutoff_names_the_cutoff() {
        let agg = aggregate();
        match ask(&agg, waiver(1000), "2026-06-01") {
            Err(DomainError::Conflict { code, message }) => {
                assert_eq!(code, ConflictCode::RequestCutoffPassed);
                assert!(message.contains("2026-05-31"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_grant_of_another_kind_or_a_denial_with_a_grant_is_refused() {
        let asked = ask(&aggregate(), waiver(1000), "2026-05-01").unwrap();
        let other_kind = decide(
            &asked,
            WaiverOutcome::Approved,
            Some(Relief::Extension {
                until: d("2026-10-31"),
            }),
        );
        assert_eq!(invalid_fields(other_kind.unwrap_err()), ["grant/type"]);
        let denial = decide(&asked, WaiverOutcome::Denied, Some(waiver(1000)));
        assert_eq!(invalid_fields(denial.unwrap_err()), ["grant"]);
        let duplicate = Relief::Waiver {
            reductions: vec![
                Reduction {
                    set: "technology".into(),
                    requirement: "approved".into(),
                    min: Hours(1000),
                },
                Reduction {
                    set: "technology".into(),
                    requirement: "approved".into(),
                    min: Hours(900),
                },
            ],
        };
        let twice = decide(&asked, WaiverOutcome::Approved, Some(duplicate));
        assert_eq!(invalid_fields(twice.unwrap_err()), ["grant/reductions/1"]);
    }

    #[test]
    fn a_granted_waiver_lowers_only_the_named_minimum_for_every_verdict() {
        let asked = ask(&aggregate(), waiver(1000), "2026-05-01").unwrap();
        let before = asked.eligibility(&rules());
        let granted = decide(&asked, WaiverOutcome::Approved, None).unwrap();
        let after = granted.eligibility(&rules());
        let req = |e: &Eligibility, key: &str| {
            e.sets[0]
                .requirements
                .iter()
                .find(|r| r.key == key)
                .unwrap()
                .clone()
        };
        assert_eq!(req(&before, "approved").required, Hours(1500));
        assert_eq!(req(&after, "approved").required, Hours(1000));
        let waived = req(&after, "approved").waived.unwrap();
        assert_eq!(waived.rule_min_hundredths, Hours(1500));
        assert_eq!(waived.request_id, Uuid::from_u128(9));
        assert_eq!(req(&after, "total").required, Hours(3000));
        assert!(req(&after, "total").waived.is_none());
    }

    #[test]
    fn lapse_spares_a_paid_submission_and_withdraws_an_unpaid_one() {
        let agg = aggregate();
        let job = Actor::System(crate::JobName("lifecycle".into()));
        let lapse = |a: &CertificationAggregate, day: &str| {
            a.lapse_if_unrenewed(recipient(), Uuid::from_u128(11), &job, at(day))
        };
        assert!(
            lapse(&agg, "2026-08-31").is_none(),
            "not on the closing day"
        );
        let lapsed = agg.clone().apply(&lapse(&agg, "2026-09-01").unwrap());
        assert_eq!(lapsed.certification.status, CertificationStatus::Lapsed);
        assert!(lapse(&lapsed, "2026-09-02").is_none(), "once");

        let with = |status| {
            let mut a = aggregate();
            a.renewals.push(Renewal {
                id: Uuid::from_u128(5),
                cycle_starts_on: d("2024-09-01"),
                cycle_expires_on: d("2026-08-31"),
                status,
                submitted_at: at("2026-08-01"),
                ..Renewal::default()
            });
            a
        };
        for status in [RenewalStatus::InReview, RenewalStatus::InAudit] {
            assert!(lapse(&with(status), "2026-09-01").is_none(), "{status:?}");
        }
        let unpaid = with(RenewalStatus::AwaitingPayment);
        let after = unpaid.clone().apply(&lapse(&unpaid, "2026-09-01").unwrap());
        assert_eq!(after.renewals[0].status, RenewalStatus::Withdrawn);
    }

    #[test]
    fn a_closing_reminder_goes_once_per_reminder_day_and_not_after_submitting() {
        let agg = aggregate();
        let job = Actor::System(crate::JobName("lifecycle".into()));
        let remind = |a: &CertificationAggregate, day: &str| {
            a.remind_closing(&rules(), recipient(), Uuid::from_u128(12), &job, at(day))
        };
        assert!(
            remind(&agg, "2026-06-03").is_none(),
            "89 days: not a reminder day"
        );
        let reminded = agg.clone().apply(&remind(&agg, "2026-06-02").unwrap());
        assert!(
            remind(&reminded, "2026-06-02").is_none(),
            "the same day again"
        );
        assert!(remind(&reminded, "2026-08-01").is_some(), "30 days before");
        let mut submitted = aggregate();
        submitted.renewals.push(Renewal {
            id: Uuid::from_u128(5),
            cycle_starts_on: d("2024-09-01"),
            cycle_expires_on: d("2026-08-31"),
            status: RenewalStatus::AwaitingPayment,
            submitted_at: at("2026-05-01"),
            ..Renewal::default()
        });
        assert!(remind(&submitted, "2026-06-02").is_none());
    }
}
