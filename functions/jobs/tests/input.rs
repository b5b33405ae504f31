//! The jobs function as EventBridge Scheduler invokes it: the schedule's input (as the template
//! writes it) names a job and carries the scheduled time; the job runs for that UTC date.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use recert_app::App;
use recert_domain::{FixedClock, RuleBook};
use recert_store::sqlite::SqliteStore;
use std::sync::Arc;

fn app() -> App {
    App::new(
        Arc::new(SqliteStore::in_memory().unwrap()),
        RuleBook::default_rules(),
        Arc::new(FixedClock::on(
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap(),
        )),
    )
}

#[tokio::test]
async fn a_scheduled_input_runs_its_job_for_the_scheduled_date() {
    let input: jobs::JobInput = serde_json::from_str(
        r#"{"job": "window-opens", "scheduled_time": "2026-02-28T06:15:00Z"}"#,
    )
    .unwrap();
    let out = jobs::run(&app(), input).await.unwrap();
    assert_eq!(out.job, "window-opens");
    assert_eq!(out.date, NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
    assert_eq!(
        (out.due, out.acted),
        (0, 0),
        "an empty store has nothing due"
    );
}

#[tokio::test]
async fn an_unknown_job_or_an_unexpected_field_fails_the_invocation() {
    let input: jobs::JobInput = serde_json::from_str(
        r#"{"job": "lapse-everyone", "scheduled_time": "2026-02-28T06:15:00Z"}"#,
    )
    .unwrap();
    assert!(matches!(
        jobs::run(&app(), input).await,
        Err(jobs::JobError::UnknownJob(..))
    ));
    assert!(
        serde_json::from_str::<jobs::JobInput>(
            r#"{"job": "window-opens", "scheduled_time": "2026-02-28T06:15:00Z", "extra": 1}"#
        )
        .is_err()
    );
}
