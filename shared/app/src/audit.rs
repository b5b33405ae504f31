//! The random audit's scheduled work: the daily draw, the reveals, the deadlines, the rotation of
//! periods committed under the old scheme, and the verification of a period's log.
//!
//! **The draw for a day** ([`audit_draw`]) is decided by the clock, not by its caller: a date in
//! the future, or more than `LATE_RUN_DAYS` (1) behind the clock, is refused. A run then
//!
//! 1. reveals every period whose reveal is due by the clock ([`reveal_due_periods`]: the
//!    period ended more than `LATE_RUN_DAYS` ago), each seed opened with the sealing key and
//!    checked against its commitment before it is published;
//! 2. makes sure the day's period and the next one are committed (a fresh random seed, sealed;
//!    the next period is committed a month ahead). A period committed only now, after it started
//!    (the programme's very first period), says so, and its first draw waits until the day after;
//! 3. refuses to draw in a period that is revealed, of the old scheme, or whose log already holds
//!    a later day;
//! 4. appends the day's [`DrawRecord`] to the period's log (atomically with the period's head)
//!    BEFORE any submission is judged. A rerun for the same day (a retried schedule, a crash
//!    half-way) reuses the stored record; a candidate already drawn in this or the previous
//!    period's log is judged by that record, never drawn again;
//! 5. judges each paid submission the record drew ([`recert_domain::CertificationAggregate::judge_draw`]
//!    re-checks on fresh state).
//!
//! The seed is sealed with the [`Sealer`] the [`App`] holds (KMS in the Lambdas, a key file
//! locally): reading the table is not enough to read an unrevealed seed.
//!
//! **The deadlines** (daily): reminders a week and a day before an audit's documentation is due,
//! and the day after the due date the audit fails and the credential is revoked, each through the
//! due-date index and idempotent like every job.

use crate::jobs::{Job, JobReport, act_on, due_certifications};
use crate::{App, AppError};
use chrono::NaiveDate;
use recert_domain::audit::draw::draw;
use recert_domain::audit::period::{LEGACY_SCHEME, check_run_date, to_the_second};
use recert_domain::audit::{
    AUDIT_DEADLINES, AuditPeriod, DrawJudgement, DrawRecord, DrawRefusal, Period, PeriodLog,
    Recorded, SealedSeed, Seed, Ticket, Verification, candidate_id,
};
use recert_domain::{Actor, CertificationId, Item, JobName, Queue, Submission};
use recert_keys::{Sealed, Sealer};
use recert_store::{IndexCursor, IndexedItem};
use std::collections::HashMap;

/// Page size of queue reads.
const PAGE: usize = 100;
/// Appends tried when another run moves the log's head meanwhile.
const APPEND_ATTEMPTS: usize = 3;

/// The context a period's seed is sealed for: opening it as another period's fails.
fn seal_context(period: Period) -> String {
    format!("recert-audit-seed:{period}")
}

fn sealer(app: &App) -> Result<&dyn Sealer, AppError> {
    app.sealer.as_deref().ok_or(AppError::NoSealingKey)
}

/// The period, committed now to a fresh random seed (sealed) if it does not exist yet. A period
/// committed on or after its first day says so (`late_commitment`).
pub async fn ensure_period(app: &App, period: Period) -> Result<AuditPeriod, AppError> {
    if let Some(p) = app.store.audit_period(period).await? {
        return Ok(p);
    }
    let seed = Seed::from_bytes(recert_keys::random_bytes());
    let sealed = sealer(app)?
        .seal(&seal_context(period), seed.expose().as_bytes())
        .await?;
    let now = app.clock.now();
    let late = to_the_second(now).date_naive() >= period.first_day();
    let sealed = SealedSeed {
        key: sealed.key,
        ciphertext: sealed.ciphertext,
    };
    let fresh = AuditPeriod::commit(period, &seed, sealed, now, late);
    let stored = app.store.create_audit_period(&fresh).await?;
    if stored == fresh {
        tracing::info!(period = %period, late, "audit period committed");
    }
    Ok(stored)
}

/// The seed of `p`: in clear once revealed (or of the old scheme), else opened with the sealing
/// key; always checked against the commitment.
async fn open_seed(app: &App, p: &AuditPeriod) -> Result<Seed, AppError> {
    let text = match (&p.seed, &p.sealed_seed) {
        (Some(seed), _) => seed.clone(),
        (None, Some(sealed)) => {
            let sealed = Sealed {
                key: sealed.key.clone(),
                ciphertext: sealed.ciphertext.clone(),
            };
            let bytes = sealer(app)?.open(&seal_context(p.period), &sealed).await?;
            String::from_utf8(bytes).unwrap_or_default()
        }
        (None, None) => return Err(AppError::SeedUnusable(p.period)),
    };
    Seed::parse(&text)
        .filter(|seed| p.is_committed_seed(seed.expose()))
        .ok_or(AppError::SeedUnusable(p.period))
}

/// Reveal every period whose reveal is due by the clock (see [`AuditPeriod::reveal_due`]): all of
/// them, not only the last. Returns the periods this run revealed.
pub async fn reveal_due_periods(app: &App) -> Result<Vec<Period>, AppError> {
    let today = app.clock.today();
    let mut revealed = Vec::new();
    for listed in app.store.audit_periods().await? {
        if !listed.reveal_due(today) {
            continue;
        }
        // The listing may lag: act on the period as stored now.
        let Some(current) = app.store.audit_period(listed.period).await? else {
            continue;
        };
        if !current.reveal_due(today) {
            continue;
        }
        let seed = open_seed(app, &current).await?;
        let next = current
            .revealed(&seed, app.clock.now())
            .ok_or(AppError::SeedUnusable(current.period))?;
        if app.store.swap_audit_period(&current, &next).await? {
            tracing::info!(period = %current.period, "audit seed revealed");
            revealed.push(current.period);
        }
    }
    Ok(revealed)
}

/// Every paid submission waiting for the draw: (certification, renewal).
async fn draw_candidates(app: &App) -> Result<Vec<(CertificationId, Submission)>, AppError> {
    let mut found = Vec::new();
    let mut cursor: Option<IndexCursor> = None;
    loop {
        let page = app
            .store
            .queued(Queue::AuditDraw, cursor.as_ref(), PAGE)
            .await?;
        for entry in page.items {
            if let IndexedItem::Item(Item::Submission(r)) = entry.item {
                found.push((entry.certification_id, r));
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

/// What one run of the draw did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrawOutcome {
    /// The day's record (appended by this run, or found from an earlier run of the same day).
    Drawn(Box<DrawRecord>),
    /// The period's commitment is from today: the first draw waits until tomorrow.
    Waiting(DrawRefusal),
}

/// The draw for `date` (see the module docs). The report counts the day's record's candidates
/// (and any waiting candidate an earlier record drew) as due, the submissions this run judged as
/// acted, and those found judged already as unchanged.
pub async fn audit_draw(app: &App, date: NaiveDate) -> Result<(JobReport, DrawOutcome), AppError> {
    check_run_date(date, app.clock.today())?;
    reveal_due_periods(app).await?;
    let period = Period::of(date);
    let mut current = ensure_period(app, period).await?;
    ensure_period(app, period.next()).await?;
    let mut report = JobReport::new(Job::AuditDraw, date, 0);
    match current.check_draw(date) {
        Ok(()) => {}
        Err(wait) if wait.is_wait() => {
            tracing::info!(period = %period, date = %date, "audit draw waits for its commitment to be a day old");
            report.log();
            return Ok((report, DrawOutcome::Waiting(wait)));
        }
        Err(refused) => return Err(refused.into()),
    }
    let waiting = draw_candidates(app).await?;
    let ids: Vec<String> = waiting
        .iter()
        .map(|(c, r)| candidate_id(*c, r.cycle_starts_on))
        .collect();
    let mut seeds = Seeds::default();
    let mut attempts = 0;
    let (record, earlier) = loop {
        let log = EarlierDraws::read(app, period, date).await?;
        if let Some(record) = log.today.clone() {
            break (record, log);
        }
        attempts += 1;
        if attempts > APPEND_ATTEMPTS {
            return Err(AppError::Changed {
                what: "the audit log",
            });
        }
        let share = app
            .rules
            .for_cycle_starting(date)
            .deadlines
            .audit_sample_percent;
        let fresh = ids.iter().filter(|id| log.judging(id).is_none()).cloned();
        let seed = seeds.open(app, &current).await?;
        let record = draw(&current, &seed, date, share, fresh, app.clock.now());
        let next = current.appended(&record);
        if app.store.append_draw(&current, &next, &record).await? {
            break (record, log);
        }
        // Another run moved the log on (maybe it drew this very day): read it all again.
        current = app
            .store
            .audit_period(period)
            .await?
            .ok_or(AppError::NotFound("audit period"))?;
        current.check_draw(date)?;
    };
    report.due = record.candidates.len();
    let actor = Actor::System(JobName(Job::AuditDraw.name().to_owned()));
    for ((certification, renewal), id) in waiting.iter().zip(&ids) {
        let judged_by = if record.drew(id) {
            &record
        } else if let Some(earlier) = earlier.judging(id) {
            report.due += 1;
            earlier
        } else {
            continue; // paid after this day's record was written: tomorrow's draw
        };
        let seed = seeds.of(app, judged_by.period).await?;
        let selected = judged_by.selects(id);
        let judgement = DrawJudgement {
            period: judged_by.period,
            run_on: judged_by.run_on,
            seq: judged_by.seq,
            candidate: id.clone(),
            ticket: selected.map_or_else(|| Ticket::first(seed.expose(), id), |s| s.ticket.clone()),
            selected: selected.is_some(),
        };
        let renewal_id = renewal.id;
        let acted = act_on(app, &actor, *certification, |ctx, to| {
            ctx.aggregate
                .judge_draw(&ctx.decide(), renewal_id, judgement.clone(), to)
        })
        .await?;
        report.count(acted);
    }
    tracing::info!(
        job = report.job,
        date = %report.date,
        period = %period,
        seq = record.seq,
        candidates = record.candidates.len(),
        selected = record.selected.len(),
        judged = report.due,
        acted = report.acted,
        unchanged = report.unchanged,
        "audit draw"
    );
    Ok((report, DrawOutcome::Drawn(Box::new(record))))
}

/// The logs a draw consults: the day's record if it exists, and every other record of the
/// period's log and of the previous period's (a candidate they drew is judged by them, never
/// drawn again).
struct EarlierDraws {
    today: Option<DrawRecord>,
    others: Vec<DrawRecord>,
}

impl EarlierDraws {
    /// Read both logs; refuse when the period's log has no record of `date` but one of a later
    /// day (a day's record is only ever appended after the days before it).
    async fn read(app: &App, period: Period, date: NaiveDate) -> Result<Self, AppError> {
        let mut others = match app.store.audit_period(period.previous()).await? {
            Some(p) if p.scheme != LEGACY_SCHEME => app.store.draws(p.period).await?,
            _ => Vec::new(),
        };
        let mut today = None;
        let mut last = None;
        for record in app.store.draws(period).await? {
            last = Some(record.run_on);
            if record.run_on == date {
                today = Some(record);
            } else {
                others.push(record);
            }
        }
        if let Some(last) = last.filter(|last| today.is_none() && *last > date) {
            return Err(DrawRefusal::LaterDayDrawn { period, date, last }.into());
        }
        Ok(EarlierDraws { today, others })
    }

    /// The earlier record that drew `id`, if any.
    fn judging(&self, id: &str) -> Option<&DrawRecord> {
        self.others.iter().find(|r| r.drew(id))
    }
}

/// The seeds a run opened, by period (each opened once per run).
#[derive(Default)]
struct Seeds(HashMap<Period, Seed>);

impl Seeds {
    async fn open(&mut self, app: &App, p: &AuditPeriod) -> Result<Seed, AppError> {
        if let Some(seed) = self.0.get(&p.period) {
            return Ok(seed.clone());
        }
        let seed = open_seed(app, p).await?;
        self.0.insert(p.period, seed.clone());
        Ok(seed)
    }

    async fn of(&mut self, app: &App, period: Period) -> Result<Seed, AppError> {
        if let Some(seed) = self.0.get(&period) {
            return Ok(seed.clone());
        }
        let p = app
            .store
            .audit_period(period)
            .await?
            .ok_or(AppError::NotFound("audit period"))?;
        self.open(app, &p).await
    }
}

/// The audit deadlines falling due on `date`: reminders, and failing audits left undocumented.
pub async fn audit_deadlines(app: &App, date: NaiveDate) -> Result<JobReport, AppError> {
    let actor = Actor::System(JobName(Job::AuditDeadlines.name().to_owned()));
    let mut report = JobReport::new(Job::AuditDeadlines, date, 0);
    for kind in AUDIT_DEADLINES {
        let due = due_certifications(app.store.as_ref(), date, kind).await?;
        report.due += due.len();
        for id in due {
            let acted = act_on(app, &actor, id, |ctx, to| {
                ctx.aggregate.act_on_audit_deadline(&ctx.decide(), kind, to)
            })
            .await?;
            report.count(acted);
        }
    }
    report.log();
    Ok(report)
}

/// A period's whole public log, as `GET /audit-periods/{period}` publishes it page by page.
pub async fn period_log(app: &App, period: Period) -> Result<PeriodLog, AppError> {
    let p = app
        .store
        .audit_period(period)
        .await?
        .ok_or(AppError::NotFound("audit period"))?;
    Ok(PeriodLog {
        period: p.public(),
        draws: app.store.draws(period).await?,
    })
}

/// Check `log` as an outsider would (see [`recert_domain::audit::verify`]), with the shares of
/// this application's rules.
pub fn verify_log(app: &App, log: &PeriodLog, recorded: &Recorded<'_>) -> Verification {
    let share = |day: NaiveDate| {
        app.rules
            .for_cycle_starting(day)
            .deadlines
            .audit_sample_percent
    };
    recert_domain::audit::verify::verify(log, recorded, &share)
}

/// What [`rotate_legacy_periods`] did to each period of the old scheme it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotated {
    /// Revealed at once (it had draws, or had ended): its draws stay checkable, no new draw is
    /// made with it.
    Retired(Period),
    /// Not drawn in yet: committed again to a fresh, sealed seed.
    Recommitted(Period),
}

/// Rotate every period of the old scheme (its commitment was the sampler's key) from `from`
/// through the next period (the old scheme's periods were never listed, so they are looked up
/// month by month). A period with draws, or ended, is retired (revealed now); one not drawn in
/// yet is committed again under the current scheme (late if it already started, so its first
/// draw waits a day). Idempotent: a second run finds nothing of the old scheme left.
pub async fn rotate_legacy_periods(app: &App, from: Period) -> Result<Vec<Rotated>, AppError> {
    let last = Period::of(app.clock.today()).next();
    let mut rotated = Vec::new();
    let mut period = from;
    while period <= last {
        if let Some(current) = app.store.audit_period(period).await?
            && current.scheme == LEGACY_SCHEME
            && current.rotated_at.is_none()
        {
            let has_draws = !app.store.draws(period).await?.is_empty();
            let ended = app.clock.today() > period.last_day();
            let (next, done) = if has_draws || ended || current.revealed_at.is_some() {
                (current.retired(app.clock.now()), Rotated::Retired(period))
            } else {
                let seed = Seed::from_bytes(recert_keys::random_bytes());
                let sealed = sealer(app)?
                    .seal(&seal_context(period), seed.expose().as_bytes())
                    .await?;
                let now = app.clock.now();
                let late = to_the_second(now).date_naive() >= period.first_day();
                let sealed = SealedSeed {
                    key: sealed.key,
                    ciphertext: sealed.ciphertext,
                };
                (
                    AuditPeriod::commit(period, &seed, sealed, now, late),
                    Rotated::Recommitted(period),
                )
            };
            if app.store.swap_audit_period(&current, &next).await? {
                tracing::info!(period = %period, outcome = ?done, "audit period rotated");
                rotated.push(done);
            }
        }
        period = period.next();
    }
    Ok(rotated)
}

/// How far back [`rotate_legacy_periods`] looks by default: three years (the old scheme ran from
/// the first audit draw, in 2026).
pub fn rotation_start(app: &App) -> Period {
    Period::of(recert_domain::add_months(app.clock.today(), -36))
}
