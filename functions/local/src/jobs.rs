//! `recert-local job <name> [--date YYYY-MM-DD]`: run a scheduled job as its Lambda would, on the
//! local store (or DynamoDB Local with `TABLE_NAME`); then deliver the outbox into the local
//! mailbox, so what the job queued can be read at once (`GET /dev/mailbox`).
//!
//! `--date` is a rehearsal: the job runs with the clock set to that day (noon UTC), so the audit
//! draw's checks of the date against the clock pass for any day you choose. The Lambdas never do
//! this: their clock is the real one, and a draw for any other day than the scheduler's is refused.

use crate::{clock, local_courier, local_store, seed_key};
use recert_app::App;
use recert_app::config::load_rules;
use recert_app::jobs::Job;
use std::io::Write;
use std::path::Path;

/// Run job `name` for `date` (default: today) and print its report and the delivery's.
pub async fn run(
    name: &str,
    date: Option<chrono::NaiveDate>,
    db: &Path,
    rules: Option<&Path>,
) -> Result<(), String> {
    let job = Job::parse(name).ok_or_else(|| {
        let known: Vec<_> = Job::ALL.iter().map(|j| j.name()).collect();
        format!("unknown job {name:?}; one of {}", known.join(", "))
    })?;
    let mut out = std::io::stdout().lock();
    if let Some(day) = date {
        let _ = writeln!(
            out,
            "rehearsal: the clock is set to {day} (the Lambdas always run on the real clock)"
        );
    }
    let date = date.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let app = App::new(
        local_store(db).await?,
        load_rules(rules).map_err(|e| e.to_string())?,
        clock(Some(date)),
    )
    .with_sealer(seed_key().await?);
    let report = job.run(&app, date).await.map_err(|e| e.to_string())?;
    let sweep = local_courier(&app)
        .sweep()
        .await
        .map_err(|e| e.to_string())?;
    let _ = writeln!(
        out,
        "{} {}: {} due, {} acted, {} unchanged; mailbox: {} sent",
        report.job, report.date, report.due, report.acted, report.unchanged, sweep.sent
    );
    Ok(())
}
