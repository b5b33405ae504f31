//! A certification's life: issued with its welcome, told when the window opens and as the
//! closing date nears, lapsed when not renewed by it.

use crate::certification::CertificationAggregate;
use crate::certification::Changes;
use crate::certification::Decide;
use crate::certification::Item;
use crate::model::certification::CertificationStatus;
use crate::model::deadline::{Deadline, DueKind};
use crate::model::history::HistoryKind;
use crate::model::notice::ClosingReminder;
use crate::model::notice::Lapsed;
use crate::model::notice::Notice;
use crate::model::notice::OutboxMessage;
use crate::model::notice::Recipient;
use crate::model::notice::Welcome;
use crate::model::notice::WindowOpens;
use crate::model::notice::missing_lines;
use crate::model::notice::requirement_lines;
use crate::model::submission::SubmissionStatus;
use chrono::{DateTime, Utc};

/// Issue `certification` under `rules`: version 1, its cycle's deadlines, and the welcome notice
/// to `recipient` in the outbox — all in the one commit that creates it.
pub fn issue_with_welcome(
    certification: crate::model::certification::Certification,
    rules: &crate::rules::RuleSet,
    recipient: Recipient,
    message_id: uuid::Uuid,
    actor: &crate::vocabulary::actor::Actor,
    now: DateTime<Utc>,
) -> crate::certification::Changes {
    let notice = welcome(&certification, rules);
    let deadlines = Deadline::of_cycle(&certification, &rules.deadlines);
    let message = OutboxMessage::new(message_id, certification.id, recipient, notice, now);
    let mut change = Changes::issuing(certification, actor, now);
    for deadline in deadlines {
        change = change.put(Item::Deadline(deadline));
    }
    change.put(Item::Outbox(message)).build()
}

/// The welcome notice of a certification being issued under `rules`.
pub fn welcome(
    certification: &crate::model::certification::Certification,
    rules: &crate::rules::RuleSet,
) -> Notice {
    let window = certification.cycle().window(&rules.deadlines);
    Notice::Welcome(Welcome {
        certification_id: certification.id,
        credential: certification.credential,
        certificate_number: certification.certificate_number.clone(),
        cycle_starts_on: certification.cycle_starts_on,
        expires_on: certification.expires_on,
        window_opens_on: window.opens_on,
        window_closes_on: window.closes_on,
        requirements: requirement_lines(rules.credential(certification.credential)),
    })
}

impl CertificationAggregate {
    /// The window-opening reminder, once per cycle: if the current cycle's `WindowOpens` deadline
    /// is still to do, queue a [`WindowOpens`] notice with today's gap and mark the deadline done
    /// (it leaves the due-date index in the same commit). `None` when there is nothing to do —
    /// already reminded, lapsed, or the deadline is not yet due.
    pub fn remind_window_opens(
        &self,
        ctx: &Decide<'_>,
        recipient: Recipient,
    ) -> Option<crate::certification::Changes> {
        use crate::certification::item::Item;
        use crate::model::certification::CertificationStatus;
        use crate::model::deadline::DueKind;
        use crate::model::history::HistoryKind;
        let c = &self.certification;
        let deadline = self.open_deadline(DueKind::WindowOpens)?;
        if c.status != CertificationStatus::Active || deadline.on > ctx.now.date_naive() {
            return None;
        }
        let eligibility = self.eligibility(ctx.rules);
        let window = c.cycle().window(&ctx.rules.deadlines);
        let notice = Notice::WindowOpens(WindowOpens {
            certification_id: c.id,
            credential: c.credential,
            window_opens_on: window.opens_on,
            window_closes_on: window.closes_on,
            met: eligibility.met,
            missing: missing_lines(&eligibility),
        });
        let done = crate::model::deadline::Deadline {
            done_at: Some(ctx.now),
            ..deadline.clone()
        };
        let message = OutboxMessage::new(ctx.message_id, c.id, recipient, notice, ctx.now);
        Some(
            self.change(
                ctx.actor,
                ctx.now,
                HistoryKind::NoticeQueued {
                    template: message.notice.template().to_owned(),
                },
            )
            .put(Item::Deadline(done))
            .put(Item::Outbox(message))
            .build(),
        )
    }
}

impl CertificationAggregate {
    /// On a reminder day (`days_left` before the closing date, one of the rules' reminder days),
    /// tell the certificant what is still missing, or that only the submission remains. Once per
    /// reminder day (a marker deadline records the last one sent); nothing once submitted.
    pub fn remind_closing(&self, ctx: &Decide<'_>, recipient: Recipient) -> Option<Changes> {
        let c = &self.certification;
        let today = ctx.now.date_naive();
        let closes_on = c.cycle().counting_ends_on();
        let days_left = u32::try_from((closes_on - today).num_days()).ok()?;
        if !c.is_active()
            || !ctx
                .rules
                .lifecycle
                .closing_reminder_days
                .contains(&days_left)
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
        let eligibility = self.eligibility(ctx.rules);
        let notice = Notice::ClosingReminder(ClosingReminder {
            certification_id: c.id,
            credential: c.credential,
            closes_on,
            days_left,
            met: eligibility.met,
            missing: missing_lines(&eligibility),
        });
        let message = OutboxMessage::new(ctx.message_id, c.id, recipient, notice, ctx.now);
        Some(
            self.change(
                ctx.actor,
                ctx.now,
                HistoryKind::NoticeQueued {
                    template: message.notice.template().to_owned(),
                },
            )
            .put(Item::Deadline(Deadline {
                kind: DueKind::ClosingReminder,
                cycle_starts_on: c.cycle_starts_on,
                on: today,
                done_at: Some(ctx.now),
            }))
            .put(Item::Outbox(message))
            .build(),
        )
    }

    /// After the closing date, a certification with no paid submission lapses (revoked; an
    /// unpaid submission is withdrawn) and the certificant is told. One whose submission is in
    /// review or in audit does not: that decision ends the cycle.
    pub fn lapse_if_unrenewed(&self, ctx: &Decide<'_>, recipient: Recipient) -> Option<Changes> {
        let c = &self.certification;
        let closed_on = c.cycle().counting_ends_on();
        if !c.is_active() || ctx.now.date_naive() <= closed_on {
            return None;
        }
        let pending = self.current_submission();
        if pending.is_some_and(|r| {
            matches!(
                r.status,
                SubmissionStatus::InReview | SubmissionStatus::InAudit
            )
        }) {
            return None;
        }
        let notice = Notice::Lapsed(Lapsed {
            certification_id: c.id,
            credential: c.credential,
            certificate_number: c.certificate_number.clone(),
            closed_on,
        });
        let mut change = self
            .change(
                ctx.actor,
                ctx.now,
                HistoryKind::CertificationLapsed { closed_on },
            )
            .root(|root| root.status = CertificationStatus::Lapsed)
            .put(Item::Outbox(OutboxMessage::new(
                ctx.message_id,
                c.id,
                recipient,
                notice,
                ctx.now,
            )));
        if let Some(unpaid) = pending.filter(|r| r.status == SubmissionStatus::AwaitingPayment) {
            let mut withdrawn = unpaid.clone();
            withdrawn.status = SubmissionStatus::Withdrawn;
            change = change.put(Item::Submission(withdrawn));
        }
        Some(change.build())
    }
}
