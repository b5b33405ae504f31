//! Renewal and reinstatement by exam: staff record that the certificant passed the certification
//! exam again (the day and the exam's reference), and the certification moves on.
//!
//! Two paths, decided by the certification's standing on the day of the pass:
//!
//! - **Reinstated** — the certification is `Lapsed` (not renewed by its closing date) or `Revoked`
//!   (its renewal failed an audit): both are reinstated by exam alike. So is a certification still
//!   marked `Active` whose pass is dated after its closing date: it lapsed on that date whether or
//!   not a job has recorded it yet. The certification is active again and a NEW cycle starts on
//!   the pass date. It lasts exactly one cycle: it expires the day before the pass date's
//!   anniversary `cycle_years` later (`add_months(passed_on, 12 · cycle_years)` − 1 day), except
//!   that a pass on 29 February has no anniversary in a common year: its cycle ends on 28 February
//!   (the end of the month, as every other month-end date here), never a day short of a full
//!   cycle.
//! - **Renewed** — the certification is `Active` and the pass falls inside its renewal window
//!   (from the window's opening day through its closing date): renewed as the CE path renews, the
//!   new expiration one cycle from the OLD one (month ends clamped, [`Cycle::next_expiration`])
//!   and the next cycle starting the day after the old expiration. A pass before the window opens
//!   is refused (`window_not_open`), as a CE submission would be. While a submission of the
//!   current cycle stands the CE path is deciding: a paid one (in review or in audit) is refused
//!   (`renewal_in_progress`), an unpaid one too (`submission_unpaid`: have it withdrawn first).
//!
//! Either way the pass may not be dated in the future, nor on or before the current cycle's first
//! day (a pass that old belongs to an earlier cycle; the new cycle must start after the one it
//! replaces). The reference is free text (1–64 characters, [`crate::text`]). The new cycle gets its
//! deadlines ([`Deadline::of_cycle`]), the old cycle's open deadlines are closed (no job acts on a
//! cycle that is over), the extension and the renewing submission are cleared, the history
//! records [`HistoryKind::ExamPassed`], and the certificant's email ([`Notice::ExamRecorded`]) is
//! queued in the same commit. The cycle length and the new cycle's deadlines come from the rules
//! the caller passes (the application passes the version in force for the current cycle, as for
//! an approval).
//!
//! [`Cycle::next_expiration`]: crate::calendar::Cycle::next_expiration

use crate::certification::CertificationAggregate;
use crate::certification::Decide;
use crate::certification::changes::Changes;
use crate::certification::item::Item;
use crate::model::certification::CertificationStatus;
use crate::model::deadline::Deadline;
use crate::model::history::HistoryKind;
use crate::model::notice::ExamRecorded;
use crate::model::notice::Notice;
use crate::model::notice::OutboxMessage;
use crate::model::notice::Recipient;
use crate::model::submission::SubmissionStatus;
use crate::vocabulary::dates::add_months;
use crate::vocabulary::error::ConflictCode;
use crate::vocabulary::error::DomainError;
use crate::vocabulary::error::FieldErrors;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// The most characters an exam reference may have.
pub const MAX_EXAM_REFERENCE_CHARS: usize = 64;

/// What an exam pass did to the certification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExamOutcome {
    /// It was active: renewed, the new expiration one cycle from the old one.
    Renewed,
    /// It had lapsed or was revoked: active again, a new cycle from the pass date.
    Reinstated,
}

/// The last day of a cycle that starts on `starts_on` and lasts `cycle_years`: the day before its
/// anniversary, or 28 February when it starts on 29 February and the anniversary year has none.
pub fn cycle_expiring(starts_on: NaiveDate, cycle_years: u32) -> NaiveDate {
    let months = i32::try_from(cycle_years.saturating_mul(12)).unwrap_or(i32::MAX);
    let anniversary = add_months(starts_on, months);
    if anniversary.day() != starts_on.day() {
        // Clamped to the end of a shorter month: the anniversary itself is the day after it.
        anniversary
    } else {
        anniversary.pred_opt().unwrap_or(anniversary)
    }
}

impl CertificationAggregate {
    /// Record an exam pass on `passed_on` (see the module docs): renew an active certification
    /// from its old expiration, or reinstate a lapsed or revoked one with a new cycle from the
    /// pass date. The certificant is told through the outbox (`recipient`, `message_id`).
    pub fn record_exam_pass(
        &self,
        ctx: &Decide<'_>,
        passed_on: NaiveDate,
        reference: &str,
        recipient: Recipient,
    ) -> Result<(ExamOutcome, Changes), DomainError> {
        let c = &self.certification;
        let mut errors = FieldErrors::default();
        let reference = crate::vocabulary::text::check(
            &mut errors,
            "reference",
            reference,
            MAX_EXAM_REFERENCE_CHARS,
        );
        let today = ctx.now.date_naive();
        if passed_on > today {
            errors.add(
                "passed_on",
                format!("must not be in the future (today is {today})"),
            );
        } else if passed_on <= c.cycle_starts_on {
            errors.add(
                "passed_on",
                format!(
                    "must be after the current cycle's first day ({}): an older pass belongs to an earlier cycle",
                    c.cycle_starts_on
                ),
            );
        }
        errors.into_result().map_err(DomainError::Invalid)?;

        let cycle = c.cycle();
        let cycle_years = ctx.rules.credential(c.credential).cycle_years;
        let (outcome, starts_on, expires_on) = if !c.is_active()
            || passed_on > cycle.counting_ends_on()
        {
            (
                ExamOutcome::Reinstated,
                passed_on,
                cycle_expiring(passed_on, cycle_years),
            )
        } else {
            self.ensure_no_submission_deciding()?;
            let window = cycle.window(&ctx.rules.deadlines);
            if passed_on < window.opens_on {
                return Err(DomainError::conflict(
                    ConflictCode::WindowNotOpen,
                    format!(
                        "an exam renews this certification only when passed inside the renewal window, which opens on {}; this pass on {passed_on} is earlier",
                        window.opens_on
                    ),
                ));
            }
            (
                ExamOutcome::Renewed,
                c.expires_on.succ_opt().unwrap_or(c.expires_on),
                cycle.next_expiration(cycle_years),
            )
        };
        let reinstated = outcome == ExamOutcome::Reinstated;

        let mut moved = c.clone();
        moved.status = CertificationStatus::Active;
        moved.cycle_starts_on = starts_on;
        moved.expires_on = expires_on;
        moved.extended_to = None;
        moved.renewed_by = None;
        let notice = Notice::ExamRecorded(ExamRecorded {
            certification_id: c.id,
            credential: c.credential,
            certificate_number: c.certificate_number.clone(),
            reinstated,
            passed_on,
            valid_until: expires_on,
            cycle_starts_on: starts_on,
        });
        let mut change = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::ExamPassed {
                    passed_on,
                    reference,
                    reinstated,
                    new_expires_on: expires_on,
                },
            )
            .root(|root| {
                root.status = CertificationStatus::Active;
                root.cycle_starts_on = starts_on;
                root.expires_on = expires_on;
                root.extended_to = None;
                root.renewed_by = None;
            })
            .put(Item::Outbox(OutboxMessage::new(
                ctx.message_id,
                c.id,
                recipient,
                notice,
                ctx.now,
            )));
        // The old cycle is over: nothing of it is left for a job to act on.
        for open in self
            .deadlines
            .iter()
            .filter(|d| d.cycle_starts_on == c.cycle_starts_on && d.done_at.is_none())
        {
            change = change.put(Item::Deadline(Deadline {
                done_at: Some(ctx.now),
                ..open.clone()
            }));
        }
        for deadline in Deadline::of_cycle(&moved, &ctx.rules.deadlines) {
            change = change.put(Item::Deadline(deadline));
        }
        Ok((outcome, change.build()))
    }

    /// An active certification renews by exam only while no submission of the current cycle
    /// stands: the CE path would be deciding the same cycle.
    fn ensure_no_submission_deciding(&self) -> Result<(), DomainError> {
        let Some(r) = self.current_submission() else {
            return Ok(());
        };
        let submitted_on = r.submitted_at.date_naive();
        match r.status {
            SubmissionStatus::AwaitingPayment => Err(DomainError::conflict(
                ConflictCode::SubmissionUnpaid,
                format!(
                    "a renewal submission for this cycle (submitted on {submitted_on}, order {}) awaits payment: have it withdrawn before recording the exam",
                    r.order_number
                ),
            )),
            status => Err(DomainError::conflict(
                ConflictCode::RenewalInProgress,
                format!(
                    "a paid renewal submission for this cycle (submitted on {submitted_on}) is {}: the CE renewal is being decided; record the exam only if it is returned",
                    crate::model::submission::status_name(status)
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::certification::Certification;
    use crate::model::deadline::DueKind;
    use crate::model::submission::Submission;
    use crate::rules::RuleBook;
    use crate::rules::RuleSet;
    use crate::vocabulary::actor::Actor;
    use crate::vocabulary::actor::Role;
    use crate::vocabulary::credential::Credential;
    use crate::vocabulary::ids::CertificantId;
    use crate::vocabulary::ids::CertificationId;
    use chrono::DateTime;
    use chrono::Utc;
    use uuid::Uuid;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        d(s).and_hms_opt(12, 0, 0).unwrap().and_utc()
    }

    fn admin() -> Actor {
        Actor::Staff {
            subject: "admin-1".into(),
            role: Role::Admin,
        }
    }

    fn recipient() -> Recipient {
        Recipient {
            certificant_id: CertificantId(Uuid::from_u128(7)),
            email: crate::Email::parse("ada@example.org").unwrap(),
            full_name: "Ada Lovelace".into(),
        }
    }

    /// A CPHIMS (3-year) cycle 1 Sep 2023 – 31 Aug 2026 (window from 28 Feb 2026), version 5,
    /// with its window deadline still to do.
    fn aggregate(status: CertificationStatus) -> CertificationAggregate {
        let certification = Certification {
            id: CertificationId(Uuid::from_u128(1)),
            certificant_id: CertificantId(Uuid::from_u128(7)),
            credential: Credential::Cphims,
            certificate_number: "CPHIMS-1".into(),
            cycle_starts_on: d("2023-09-01"),
            expires_on: d("2026-08-31"),
            extended_to: None,
            status,
            created_at: at("2023-09-01"),
            updated_at: at("2023-09-01"),
            version: 5,
            renewed_by: None,
        };
        let mut agg = CertificationAggregate::new(certification);
        agg.deadlines = Deadline::of_cycle(&agg.certification, &rules().deadlines);
        agg
    }

    fn rules() -> RuleSet {
        RuleBook::default_rules()
            .for_cycle_starting(d("2023-09-01"))
            .clone()
    }

    fn record(
        agg: &CertificationAggregate,
        passed_on: &str,
        reference: &str,
        today: &str,
    ) -> Result<(ExamOutcome, Changes), DomainError> {
        agg.record_exam_pass(
            &Decide::new(&rules(), &admin(), at(today), Uuid::from_u128(99)),
            d(passed_on),
            reference,
            recipient(),
        )
    }

    fn conflict_code(e: DomainError) -> &'static str {
        match e {
            DomainError::Conflict { code, .. } => code.as_str(),
            other => panic!("not a conflict: {other:?}"),
        }
    }

    fn field_errors(e: DomainError) -> Vec<String> {
        match e {
            DomainError::Invalid(f) => f.0.keys().cloned().collect(),
            other => panic!("not invalid fields: {other:?}"),
        }
    }

    fn exam_recorded(changes: &Changes) -> &ExamRecorded {
        changes
            .puts()
            .iter()
            .find_map(|i| match i {
                Item::Outbox(m) => match &m.notice {
                    Notice::ExamRecorded(n) => Some(n),
                    _ => None,
                },
                _ => None,
            })
            .expect("the email is queued")
    }

    fn renewal(status: SubmissionStatus) -> Submission {
        Submission {
            id: Uuid::from_u128(3),
            cycle_starts_on: d("2023-09-01"),
            cycle_expires_on: d("2026-08-31"),
            status,
            submitted_at: at("2026-03-01"),
            order_number: "R-1-0003".into(),
            ..Submission::default()
        }
    }

    #[test]
    fn an_active_certification_is_renewed_from_its_old_expiration() {
        let agg = aggregate(CertificationStatus::Active);
        let (outcome, changes) =
            record(&agg, "2026-04-15", "EXAM-2026-0415", "2026-04-20").unwrap();
        assert_eq!(outcome, ExamOutcome::Renewed);
        let root = changes.certification();
        assert_eq!(root.status, CertificationStatus::Active);
        assert_eq!(root.expires_on, d("2029-08-31"));
        assert_eq!(root.cycle_starts_on, d("2026-09-01"));
        assert_eq!(root.renewed_by, None);
        // The version moves on and the history records the pass.
        assert_eq!(changes.expected_version(), 5);
        assert_eq!(root.version, 6);
        assert_eq!(changes.event().seq, 6);
        assert_eq!(changes.event().actor, admin().acted_by());
        assert_eq!(
            changes.event().kind,
            HistoryKind::ExamPassed {
                passed_on: d("2026-04-15"),
                reference: "EXAM-2026-0415".into(),
                reinstated: false,
                new_expires_on: d("2029-08-31"),
            }
        );
        // The new cycle's window deadline; the old one's is closed.
        let deadlines: Vec<&Deadline> = changes
            .puts()
            .iter()
            .filter_map(|i| match i {
                Item::Deadline(dl) => Some(dl),
                _ => None,
            })
            .collect();
        assert!(deadlines.iter().any(|dl| dl.kind == DueKind::WindowOpens
            && dl.cycle_starts_on == d("2026-09-01")
            && dl.on == d("2029-02-28")
            && dl.done_at.is_none()));
        assert!(deadlines.iter().any(
            |dl| dl.cycle_starts_on == d("2023-09-01") && dl.done_at == Some(at("2026-04-20"))
        ));
        let email = exam_recorded(&changes);
        assert!(!email.reinstated);
        assert_eq!(email.valid_until, d("2029-08-31"));
        assert_eq!(email.cycle_starts_on, d("2026-09-01"));
        assert_eq!(email.passed_on, d("2026-04-15"));
    }

    #[test]
    fn an_active_renewal_keeps_the_month_end_rule() {
        let mut agg = aggregate(CertificationStatus::Active);
        agg.certification.cycle_starts_on = d("2025-03-01");
        agg.certification.expires_on = d("2028-02-29");
        agg.deadlines.clear();
        // The window opened on 29 Aug 2027 (six months before, clamped).
        let (outcome, changes) = record(&agg, "2027-08-29", "E-1", "2027-09-01").unwrap();
        assert_eq!(outcome, ExamOutcome::Renewed);
        assert_eq!(changes.certification().expires_on, d("2031-02-28"));
        assert_eq!(changes.certification().cycle_starts_on, d("2028-03-01"));
    }

    #[test]
    fn a_lapsed_certification_is_reinstated_with_a_new_cycle_from_the_pass_date() {
        let mut agg = aggregate(CertificationStatus::Lapsed);
        agg.certification.extended_to = Some(d("2026-11-30"));
        agg.certification.renewed_by = Some(Uuid::from_u128(42));
        let (outcome, changes) = record(&agg, "2027-05-10", " EXAM-77 ", "2027-05-12").unwrap();
        assert_eq!(outcome, ExamOutcome::Reinstated);
        let root = changes.certification();
        assert_eq!(root.status, CertificationStatus::Active);
        assert_eq!(root.cycle_starts_on, d("2027-05-10"));
        assert_eq!(root.expires_on, d("2030-05-09"));
        assert_eq!(root.extended_to, None);
        assert_eq!(root.renewed_by, None);
        assert_eq!(root.version, 6);
        assert_eq!(
            changes.event().kind,
            HistoryKind::ExamPassed {
                passed_on: d("2027-05-10"),
                reference: "EXAM-77".into(),
                reinstated: true,
                new_expires_on: d("2030-05-09"),
            }
        );
        assert!(changes.puts().iter().any(|i| matches!(i, Item::Deadline(dl)
            if dl.kind == DueKind::WindowOpens
                && dl.cycle_starts_on == d("2027-05-10")
                && dl.on == d("2029-11-09"))));
        let email = exam_recorded(&changes);
        assert!(email.reinstated);
        assert_eq!(email.valid_until, d("2030-05-09"));
        assert_eq!(email.cycle_starts_on, d("2027-05-10"));
        // What the store loads next: the new cycle, active, nothing of the old one to decide.
        let after = agg.apply(&changes);
        assert!(after.certification.is_active());
        assert!(after.open_deadline(DueKind::WindowOpens).is_some());
    }

    #[test]
    fn a_revoked_certification_is_reinstated_too() {
        let mut agg = aggregate(CertificationStatus::Revoked);
        agg.renewals.push(renewal(SubmissionStatus::Rejected));
        let (outcome, changes) = record(&agg, "2026-06-01", "E-2", "2026-06-01").unwrap();
        assert_eq!(outcome, ExamOutcome::Reinstated);
        assert_eq!(changes.certification().cycle_starts_on, d("2026-06-01"));
        assert_eq!(changes.certification().expires_on, d("2029-05-31"));
        assert_eq!(changes.certification().status, CertificationStatus::Active);
    }

    #[test]
    fn a_pass_on_29_february_lasts_a_full_cycle_to_the_end_of_february() {
        let mut agg = aggregate(CertificationStatus::Lapsed);
        agg.certification.cycle_starts_on = d("2024-01-01");
        agg.certification.expires_on = d("2026-12-31");
        let (_, changes) = record(&agg, "2028-02-29", "E-3", "2028-03-01").unwrap();
        assert_eq!(changes.certification().cycle_starts_on, d("2028-02-29"));
        assert_eq!(changes.certification().expires_on, d("2031-02-28"));
        // The rule itself: the day before the anniversary, 28 Feb when there is no 29 Feb.
        assert_eq!(cycle_expiring(d("2028-02-29"), 3), d("2031-02-28"));
        assert_eq!(cycle_expiring(d("2028-02-29"), 4), d("2032-02-28"));
        assert_eq!(cycle_expiring(d("2025-03-01"), 3), d("2028-02-29"));
        assert_eq!(cycle_expiring(d("2027-03-31"), 2), d("2029-03-30"));
        assert_eq!(cycle_expiring(d("2027-01-01"), 3), d("2029-12-31"));
    }

    #[test]
    fn an_active_pass_after_the_closing_date_reinstates_as_the_lapse_would() {
        let agg = aggregate(CertificationStatus::Active);
        let (outcome, changes) = record(&agg, "2026-09-01", "E-4", "2026-09-01").unwrap();
        assert_eq!(outcome, ExamOutcome::Reinstated);
        assert_eq!(changes.certification().cycle_starts_on, d("2026-09-01"));
        assert_eq!(changes.certification().expires_on, d("2029-08-31"));
        // An extension moves the closing date: a pass inside it still renews.
        let mut extended = aggregate(CertificationStatus::Active);
        extended.certification.extended_to = Some(d("2026-11-30"));
        let (outcome, changes) = record(&extended, "2026-10-15", "E-5", "2026-10-15").unwrap();
        assert_eq!(outcome, ExamOutcome::Renewed);
        assert_eq!(changes.certification().expires_on, d("2029-08-31"));
        assert_eq!(changes.certification().extended_to, None);
    }

    #[test]
    fn an_active_renewal_waits_for_the_window() {
        let agg = aggregate(CertificationStatus::Active);
        let e = record(&agg, "2026-02-27", "E-6", "2026-03-10").unwrap_err();
        assert_eq!(conflict_code(e.clone()), "window_not_open");
        assert!(e.to_string().contains("2026-02-28"), "{e}");
        // From the window's first day.
        assert!(record(&agg, "2026-02-28", "E-6", "2026-03-10").is_ok());
    }

    #[test]
    fn a_submission_of_the_cycle_blocks_an_active_renewal() {
        for (status, code) in [
            (SubmissionStatus::InReview, "renewal_in_progress"),
            (SubmissionStatus::InAudit, "renewal_in_progress"),
            (SubmissionStatus::AwaitingPayment, "submission_unpaid"),
        ] {
            let mut agg = aggregate(CertificationStatus::Active);
            agg.renewals.push(renewal(status));
            let e = record(&agg, "2026-04-15", "E-7", "2026-04-20").unwrap_err();
            assert_eq!(conflict_code(e.clone()), code, "{status:?}");
            if status == SubmissionStatus::AwaitingPayment {
                assert!(e.to_string().contains("withdrawn"), "{e}");
            }
        }
        // A returned or withdrawn one does not stand.
        for status in [SubmissionStatus::Returned, SubmissionStatus::Withdrawn] {
            let mut agg = aggregate(CertificationStatus::Active);
            agg.renewals.push(renewal(status));
            assert!(record(&agg, "2026-04-15", "E-7", "2026-04-20").is_ok());
        }
        // A lapsed certification's unpaid submission does not stop its reinstatement.
        let mut lapsed = aggregate(CertificationStatus::Lapsed);
        lapsed
            .renewals
            .push(renewal(SubmissionStatus::AwaitingPayment));
        assert!(record(&lapsed, "2026-10-01", "E-8", "2026-10-01").is_ok());
    }

    #[test]
    fn the_date_and_the_reference_are_checked() {
        let agg = aggregate(CertificationStatus::Lapsed);
        let future = record(&agg, "2026-10-02", "E-9", "2026-10-01").unwrap_err();
        assert_eq!(field_errors(future), ["passed_on"]);
        for early in ["2023-09-01", "2023-01-01"] {
            let e = record(&agg, early, "E-9", "2026-10-01").unwrap_err();
            assert_eq!(field_errors(e), ["passed_on"], "{early}");
        }
        for bad in [
            "",
            "   ",
            "\u{200B}",
            "E\u{202E}1",
            "line\nbreak",
            &"x".repeat(65),
        ] {
            let e = record(&agg, "2026-10-01", bad, "2026-10-01").unwrap_err();
            assert_eq!(field_errors(e), ["reference"], "{bad:?}");
        }
        assert!(record(&agg, "2026-10-01", &"x".repeat(64), "2026-10-01").is_ok());
        // Both at once.
        let both = record(&agg, "2030-01-01", "", "2026-10-01").unwrap_err();
        assert_eq!(field_errors(both), ["passed_on", "reference"]);
    }

    #[test]
    fn recorded_twice_the_second_pass_is_refused() {
        let agg = aggregate(CertificationStatus::Lapsed);
        let (_, changes) = record(&agg, "2027-05-10", "E-10", "2027-05-12").unwrap();
        let after = agg.apply(&changes);
        // The same pass again: on the new cycle's first day, so it belongs to no later cycle.
        let e = record(&after, "2027-05-10", "E-10", "2027-05-12").unwrap_err();
        assert_eq!(field_errors(e), ["passed_on"]);
    }
}
