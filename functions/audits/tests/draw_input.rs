//! The `audit-jobs` function as EventBridge Scheduler invokes it, on the real clock: the draw runs
//! for the schedule's day (or a day late, a retried run), and an input naming any other day fails
//! the invocation without committing or drawing anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use recert_app::{App, AppError};
use recert_domain::audit::{DrawRefusal, Period};
use recert_domain::{RuleBook, SystemClock};
use recert_keys::FileKey;
use recert_store::Store;
use recert_store::sqlite::SqliteStore;
use std::sync::Arc;

fn app(store: Arc<dyn Store>) -> App {
    App::new(store, RuleBook::default_rules(), Arc::new(SystemClock))
        .with_sealer(Arc::new(FileKey::ephemeral()))
}

fn input(days_from_now: i64) -> audits::JobInput {
    let at = (Utc::now() + Duration::days(days_from_now)).to_rfc3339();
    serde_json::from_str(&format!(
        r#"{{"job": "audit-draw", "scheduled_time": "{at}"}}"#
    ))
    .unwrap()
}

#[tokio::test]
async fn a_draw_for_another_day_than_the_clocks_is_refused() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let app = app(store.clone());
    for (days, why) in [(2, "in the future"), (-3, "too late")] {
        let refused = audits::run_job(&app, input(days)).await;
        assert!(
            matches!(
                refused,
                Err(audits::JobError::Failed(AppError::DrawRefused(
                    DrawRefusal::Future { .. } | DrawRefusal::TooLate { .. }
                )))
            ),
            "{why}: {refused:?}"
        );
    }
    let this_month = Period::of(Utc::now().date_naive());
    assert!(
        store.audit_period(this_month).await.unwrap().is_none(),
        "a refused run commits nothing"
    );
    // Today's run is taken (on a fresh ledger it commits the periods and waits a day).
    let today = audits::run_job(&app, input(0)).await.unwrap();
    assert_eq!(today.job, "audit-draw");
    assert!(store.audit_period(this_month).await.unwrap().is_some());
    assert!(
        store
            .audit_period(this_month.next())
            .await
            .unwrap()
            .is_some()
    );
}
