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
}

impl Job {
    pub const ALL: [Job; 1] = [Job::WindowOpens];

    pub fn name(self) -> &'static str {
        match self {
            Job::WindowOpens => "window-opens",
        }
    }

    pub fn parse(name: &str) -> Option<Job> {
        Self::ALL.into_iter().find(|j| j.name() == name)
    }

    /// Run this job for `date`.
    pub async fn run(self, app: &App, date: NaiveDate) -> Result<JobReport, AppError> {
        match self {
            Job::WindowOpens => window_opens(app, date).await,
        }
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
async fn due_certifications(
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
async fn recipient(app: &App, id: CertificationId) -> Result<Option<Recipient>, AppError> {
    let Some(certification) = app.store.certification(id).await? else {
        return Ok(None);
    };
    Ok(app
        .store
        .certificant(certification.certificant_id)
        .await?
        .map(|c| Recipient {
            certificant_id: c.id,
            email: c.email,
            full_name: c.full_name,
        }))
}

/// The window-opening reminder for `date` (see [`Job::WindowOpens`]).
pub async fn window_opens(app: &App, date: NaiveDate) -> Result<JobReport, AppError> {
    let job = Job::WindowOpens;
    let actor = Actor::System(JobName(job.name().to_owned()));
    let due = due_certifications(app.store.as_ref(), date, DueKind::WindowOpens).await?;
    let mut report = JobReport {
        job: job.name(),
        date,
        due: due.len(),
        acted: 0,
        unchanged: 0,
    };
    for id in due {
        let Some(to) = recipient(app, id).await? else {
            report.unchanged += 1;
            continue;
        };
        let message_id = uuid::Uuid::now_v7();
        let acted = app
            .command(&actor, id)
            .run(|ctx: &Context<'_>| {
                Ok(
                    match ctx.aggregate.remind_window_opens(
                        ctx.rules,
                        to.clone(),
                        message_id,
                        ctx.actor,
                        ctx.now,
                    ) {
                        Some(changes) => Decision::commit(changes, true),
                        None => Decision::Unchanged(false),
                    },
                )
            })
            .await?;
        if acted {
            report.acted += 1;
        } else {
            report.unchanged += 1;
        }
    }
    tracing::info!(
        job = report.job,
        date = %report.date,
        due = report.due,
        acted = report.acted,
        unchanged = report.unchanged,
        "job run"
    );
    Ok(report)
}
