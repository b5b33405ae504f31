//! Scheduled jobs, written against the application layer only (no HTTP, no JWT). Each job acts
//! on one day: it reads what falls due that day through the due-date index (never a Scan), page
//! by page, and runs one command per certification as [`Actor::System`]. A job run twice for the
//! same day changes nothing the second time: each command re-checks, on fresh state, that its
//! deadline is still to do, and marks it done in the same commit as its effect.
//!
//! Jobs log what they did as counts, never personal data.

use crate::runner::Context;
use crate::{App, AppError, Decision};
use chrono::NaiveDate;
use recert_domain::{Actor, CertificationId, DueKind, JobName, Recipient};
use recert_store::{IndexCursor, Store};
use std::collections::BTreeSet;

/// The jobs there are, by the name schedules and `recert-local job` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Email each certificant whose renewal window opens that day, with their current gap.
    WindowOpens,
    /// The random audit draw of that day (see [`crate::audit`]).
    AuditDraw,
    /// Audit reminders, and audits failed for want of documentation (see [`crate::audit`]).
    AuditDeadlines,
    /// Closing-date reminders, and certifications lapsed the day after their closing date
    /// without a paid submission.
    Lifecycle,
}

impl Job {
    pub const ALL: [Job; 4] = [
        Job::WindowOpens,
        Job::AuditDraw,
        Job::AuditDeadlines,
        Job::Lifecycle,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::WindowOpens => "window-opens",
            Job::AuditDraw => "audit-draw",
            Job::AuditDeadlines => "audit-deadlines",
            Job::Lifecycle => "lifecycle",
        }
    }

    pub fn parse(name: &str) -> Option<Job> {
        Self::ALL.into_iter().find(|j| j.name() == name)
    }
}

/// What one run did: how many certifications it found due, acted on, and found already done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobReport {
    pub job: &'static str,
    pub date: NaiveDate,
    pub due: usize,
    pub acted: usize,
    pub unchanged: usize,
}

/// Page size of due-date index reads.
const PAGE: usize = 100;

/// Every certification with a `kind` item due on `date` (paged through the index).
pub(crate) async fn due_certifications(
    store: &dyn Store,
    date: NaiveDate,
    kind: DueKind,
) -> Result<BTreeSet<CertificationId>, AppError> {
    let mut ids = BTreeSet::new();
    let mut cursor: Option<IndexCursor> = None;
    loop {
        let page = store.due(date, kind, cursor.as_ref(), PAGE).await?;
        ids.extend(page.items.iter().map(|i| i.certification_id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(ids),
        }
    }
}

/// The certificant of a certification, as a notice's recipient.
pub(crate) async fn recipient(
    app: &App,
    id: CertificationId,
) -> Result<Option<Recipient>, AppError> {
    let Some(certification) = app.store.certification(id).await? else {
        return Ok(None);
    };
    Ok(app
        .store
        .certificant(certification.certificant_id)
        .await?
        .as_ref()
        .map(Recipient::from))
}

impl JobReport {
    /// A report of `job` for `date` that found `due` certifications, before acting on any.
    pub(crate) fn new(job: Job, date: NaiveDate, due: usize) -> Self {
        JobReport {
            job: job.name(),
            date,
            due,
            acted: 0,
            unchanged: 0,
        }
    }

    /// Log what the run did (counts only).
    pub(crate) fn log(&self) {
        tracing::info!(
            job = self.job,
            date = %self.date,
            due = self.due,
            acted = self.acted,
            unchanged = self.unchanged,
            "job run"
        );
    }

    /// Count one certification: acted on, or found with nothing to do.
    pub(crate) fn count(&mut self, acted: bool) {
        if acted {
            self.acted += 1;
        } else {
            self.unchanged += 1;
        }
    }
}

/// One job command on certification `id` that may email its certificant: `decide` gets the
/// context (its `decide()` for the domain) and the certificant as recipient, and returns the changes to
/// commit (`None`: nothing to do). Whether it committed; `false` too when the certificant is gone.
pub(crate) async fn act_on(
    app: &App,
    actor: &Actor,
    id: CertificationId,
    decide: impl Fn(&Context<'_>, Recipient) -> Option<recert_domain::Changes>,
) -> Result<bool, AppError> {
    let Some(to) = recipient(app, id).await? else {
        return Ok(false);
    };
    app.command(actor, id)
        .run(|ctx: &Context<'_>| {
            Ok(match decide(ctx, to.clone()) {
                Some(changes) => Decision::commit(changes, true),
                None => Decision::Unchanged(false),
            })
        })
        .await
}

/// Everything of `kind` due on `date`: one [`act_on`] command per certification, counted in
/// `report`.
async fn act_on_due(
    app: &App,
    actor: &Actor,
    date: NaiveDate,
    kind: DueKind,
    report: &mut JobReport,
    decide: impl Fn(&Context<'_>, Recipient) -> Option<recert_domain::Changes>,
) -> Result<(), AppError> {
    let due = due_certifications(app.store.as_ref(), date, kind).await?;
    report.due += due.len();
    for id in due {
        let acted = act_on(app, actor, id, &decide).await?;
        report.count(acted);
    }
    Ok(())
}

/// The window-opening reminder for `date` (see [`Job::WindowOpens`]).
pub async fn window_opens(app: &App, date: NaiveDate) -> Result<JobReport, AppError> {
    let job = Job::WindowOpens;
    let actor = Actor::System(JobName(job.name().to_owned()));
    let mut report = JobReport::new(job, date, 0);
    act_on_due(
        app,
        &actor,
        date,
        DueKind::WindowOpens,
        &mut report,
        |ctx, to| ctx.aggregate.remind_window_opens(&ctx.decide(), to),
    )
    .await?;
    report.log();
    Ok(report)
}

/// The lifecycle job for `date` (see [`Job::Lifecycle`]): certifications whose closing date was
/// the day before lapse unless a paid submission is in review or audit; those closing on one of
/// the rules' reminder days from `date` are told where they stand. Both lists come from the
/// roots' `cycle_closes` due dates, which follow a granted extension.
pub async fn lifecycle(app: &App, date: NaiveDate) -> Result<JobReport, AppError> {
    let job = Job::Lifecycle;
    let actor = Actor::System(JobName(job.name().to_owned()));
    let mut report = JobReport::new(job, date, 0);
    if let Some(yesterday) = date.pred_opt() {
        act_on_due(
            app,
            &actor,
            yesterday,
            DueKind::CycleCloses,
            &mut report,
            |ctx, to| ctx.aggregate.lapse_if_unrenewed(&ctx.decide(), to),
        )
        .await?;
    }
    // Every rules version's reminder days: each certification then checks its own.
    let days: BTreeSet<u32> = app
        .rules
        .versions()
        .iter()
        .flat_map(|v| v.lifecycle.closing_reminder_days.iter().copied())
        .collect();
    for days_left in days {
        let Some(closes_on) = date.checked_add_days(chrono::Days::new(days_left.into())) else {
            continue;
        };
        act_on_due(
            app,
            &actor,
            closes_on,
            DueKind::CycleCloses,
            &mut report,
            |ctx, to| ctx.aggregate.remind_closing(&ctx.decide(), to),
        )
        .await?;
    }
    report.log();
    Ok(report)
}
