//! The random audit's scheduled work: the daily draw and the audit deadlines.
//!
//! **The draw** (daily, for one date): makes sure the date's period and the next one exist (each
//! with a fresh random seed, committed by its SHA-256 before its first draw), reveals the seed of
//! every ended period it knows of (the previous one), then judges the paid submissions waiting in
//! the `audit_draw` queue (the queue index, never a Scan). The day's [`DrawRecord`] is written
//! put-if-absent BEFORE any submission is judged: a rerun for the same date (after a crash, or a
//! retried schedule) reuses the stored record, so it judges the same candidates the same way and
//! selects nothing new; submissions paid after the record was written wait for the next day's
//! draw. Each submission is judged once ([`recert_domain::CertificationAggregate::judge_draw`]
//! re-checks on fresh state).
//!
//! **The deadlines** (daily): reminders a week and a day before an audit's documentation is due,
//! and the day after the due date the audit fails and the credential is revoked, each through the
//! due-date index and idempotent like every job.

use crate::jobs::{Job, JobReport, act_on, due_certifications};
use crate::{App, AppError};
use chrono::NaiveDate;
use rand::RngCore;
use recert_domain::audit::draw::draw;
use recert_domain::audit::{
    AUDIT_DEADLINES, AuditPeriod, DrawJudgement, DrawRecord, Period, Ticket,
};
use recert_domain::{Actor, CertificationId, Item, JobName, Queue};
use recert_store::{IndexCursor, IndexedItem};

/// Page size of queue reads.
const PAGE: usize = 100;

/// The period, created with a fresh random seed if it does not exist yet.
pub async fn ensure_period(app: &App, period: Period) -> Result<AuditPeriod, AppError> {
    if let Some(p) = app.store.audit_period(period).await? {
        return Ok(p);
    }
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let fresh = AuditPeriod::new(period, seed, app.clock.now());
    Ok(app.store.create_audit_period(&fresh).await?)
}

/// Every paid submission waiting for the draw: (certification, renewal id).
async fn draw_candidates(app: &App) -> Result<Vec<(CertificationId, uuid::Uuid)>, AppError> {
    let mut found = Vec::new();
    let mut cursor: Option<IndexCursor> = None;
    loop {
        let page = app
            .store
            .queued(Queue::AuditDraw, cursor.as_ref(), PAGE)
            .await?;
        for entry in &page.items {
            if let IndexedItem::Item(Item::Renewal(r)) = &entry.item {
                found.push((entry.certification_id, r.id));
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

/// The draw for `date` (see the module docs). The report counts the record's candidates as due,
/// the submissions judged by this run as acted, and those found judged already as unchanged.
pub async fn audit_draw(app: &App, date: NaiveDate) -> Result<(JobReport, DrawRecord), AppError> {
    let period = Period::of(date);
    let current = ensure_period(app, period).await?;
    ensure_period(app, period.next()).await?;
    let previous = Period::of(period.first_day().pred_opt().unwrap_or(date));
    if previous.ended_by(date)
        && let Some(p) = app.store.audit_period(previous).await?
        && p.revealed_at.is_none()
    {
        app.store
            .reveal_audit_period(previous, app.clock.now())
            .await?;
        tracing::info!(period = %previous, "audit seed revealed");
    }
    let waiting = draw_candidates(app).await?;
    let existing = app
        .store
        .draws(period)
        .await?
        .into_iter()
        .find(|r| r.run_on == date);
    let record = match existing {
        Some(record) => record,
        None => {
            let share = app
                .rules
                .for_cycle_starting(date)
                .deadlines
                .audit_sample_percent;
            let fresh = draw(
                &current,
                date,
                share,
                waiting.iter().map(|(_, id)| id.to_string()),
                app.clock.now(),
            );
            app.store.record_draw(&fresh).await?
        }
    };
    let actor = Actor::System(JobName(Job::AuditDraw.name().to_owned()));
    let mut report = JobReport::new(Job::AuditDraw, date, record.candidates.len());
    for (certification, renewal_id) in waiting {
        let id = renewal_id.to_string();
        if record.candidates.binary_search(&id).is_err() {
            continue; // paid after this day's record: tomorrow's draw
        }
        let selected = record.selects(&id);
        let judgement = DrawJudgement {
            period,
            run_on: date,
            ticket: selected
                .map_or_else(|| Ticket::first(&current.seed, &id), |s| s.ticket.clone()),
            selected: selected.is_some(),
        };
        let acted = act_on(app, &actor, certification, |ctx, to, message_id| {
            ctx.aggregate.judge_draw(
                renewal_id,
                judgement.clone(),
                ctx.rules,
                to,
                message_id,
                ctx.actor,
                ctx.now,
            )
        })
        .await?;
        report.count(acted);
    }
    tracing::info!(
        job = report.job,
        date = %report.date,
        period = %period,
        candidates = record.candidates.len(),
        selected = record.selected.len(),
        acted = report.acted,
        unchanged = report.unchanged,
        "audit draw"
    );
    Ok((report, record))
}

/// The audit deadlines falling due on `date`: reminders, and failing audits left undocumented.
pub async fn audit_deadlines(app: &App, date: NaiveDate) -> Result<JobReport, AppError> {
    let actor = Actor::System(JobName(Job::AuditDeadlines.name().to_owned()));
    let mut report = JobReport::new(Job::AuditDeadlines, date, 0);
    for kind in AUDIT_DEADLINES {
        let due = due_certifications(app.store.as_ref(), date, kind).await?;
        report.due += due.len();
        for id in due {
            let acted = act_on(app, &actor, id, |ctx, to, message_id| {
                ctx.aggregate
                    .act_on_audit_deadline(kind, to, message_id, ctx.actor, ctx.now)
            })
            .await?;
            report.count(acted);
        }
    }
    report.log();
    Ok(report)
}

/// Why a period does not verify, or the number of draws that did.
pub async fn verify_period(app: &App, period: Period) -> Result<VerifiedPeriod, AppError> {
    let Some(p) = app.store.audit_period(period).await? else {
        return Err(AppError::NotFound("audit period"));
    };
    let public = p.public();
    let draws = app.store.draws(period).await?;
    let mut outcome = VerifiedPeriod {
        period,
        draws: draws.len(),
        candidates: 0,
        selected: 0,
        failures: Vec::new(),
    };
    for record in &draws {
        outcome.candidates += record.candidates.len();
        outcome.selected += record.selected.len();
        if let Err(e) = recert_domain::audit::draw::verify(&public, record) {
            outcome.failures.push(e.to_string());
        }
    }
    Ok(outcome)
}

/// What [`verify_period`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPeriod {
    pub period: Period,
    pub draws: usize,
    pub candidates: usize,
    pub selected: usize,
    /// One line per draw that did not verify (empty: every draw re-ran to the same selection).
    pub failures: Vec<String>,
}
