//! The command runner on the real embedded store: lost races on commuting commands are retried
//! on fresh state, a changed target is a real conflict, jobs and webhooks act without HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, NaiveDate, Utc};
use recert_app::runner::Context;
use recert_app::{Actor, App, AppError, Concurrency, Decision, JobName, RetryPolicy};
use recert_domain::Decide;
use recert_domain::model::entry::Activity;
use recert_domain::{
    CertificantId, Certification, CertificationId, CertificationStatus, Changes, Credential,
    EntryId, EntrySource, FixedClock, HistoryKind, Hours, ProviderCategory, RuleBook,
};
use recert_store::Store;
use recert_store::sqlite::SqliteStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use uuid::Uuid;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn now() -> DateTime<Utc> {
    d(2026, 5, 1).and_hms_opt(12, 0, 0).unwrap().and_utc()
}

fn app(store: Arc<dyn Store>) -> App {
    App::new(
        store,
        RuleBook::default_rules(),
        Arc::new(FixedClock(now())),
    )
}

fn activity(title: &str) -> Activity {
    Activity {
        title: title.into(),
        provider_name: "The Society".into(),
        provider_category: ProviderCategory::Society,
        canadian_content: false,
        completed_on: d(2025, 6, 1),
        hours: Hours(100),
        ethics_hours: Hours(0),
        evidence: vec![],
    }
}

async fn issued(store: &dyn Store) -> (CertificationId, Actor) {
    let holder = CertificantId(Uuid::now_v7());
    let certification = Certification {
        id: CertificationId(Uuid::now_v7()),
        certificant_id: holder,
        credential: Credential::Cphims,
        certificate_number: format!("CN-{}", Uuid::now_v7().simple()),
        cycle_starts_on: d(2024, 4, 1),
        expires_on: d(2027, 3, 31),
        extended_to: None,
        status: CertificationStatus::Active,
        created_at: now(),
        updated_at: now(),
        version: 0,
        renewed_by: None,
    };
    let id = certification.id;
    let admin = Actor::Staff {
        subject: "admin-1".into(),
        role: recert_app::Role::Admin,
    };
    store
        .commit(&Changes::issue(certification, &admin, now()))
        .await
        .unwrap();
    (id, Actor::Certificant(holder))
}

/// Log an entry through the store directly.
async fn logged(store: &dyn Store, id: CertificationId, actor: &Actor, title: &str) -> EntryId {
    let aggregate = store.load(id).await.unwrap().unwrap();
    let entry_id = EntryId(Uuid::now_v7());
    let (_, changes) = aggregate
        .add_entry(
            &Decide::new(
                &recert_domain::RuleBook::default_rules().versions()[0],
                actor,
                now(),
                uuid::Uuid::now_v7(),
            ),
            entry_id,
            activity(title),
            EntrySource::SelfReported,
        )
        .unwrap();
    store.commit(&changes).await.unwrap();
    entry_id
}

/// Commit `changes` from another thread and runtime, as a concurrent request would.
fn commit_elsewhere(store: &Arc<dyn Store>, changes: Changes) {
    let store = store.clone();
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(store.commit(&changes))
            .unwrap();
    })
    .join()
    .unwrap();
}

#[tokio::test]
async fn a_commuting_command_that_loses_a_race_is_retried_and_nothing_is_lost() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let app = app(store.clone());
    let (id, me) = issued(store.as_ref()).await;
    let attempts = AtomicU32::new(0);
    let mine = EntryId(Uuid::now_v7());
    let theirs = EntryId(Uuid::now_v7());
    app.command(&me, id)
        .run(|ctx: &Context<'_>| {
            if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                // Another writer commits between this attempt's load and its commit.
                let (_, other) = ctx.aggregate.add_entry(
                    &Decide::new(
                        &recert_domain::RuleBook::default_rules().versions()[0],
                        ctx.actor,
                        ctx.now,
                        uuid::Uuid::now_v7(),
                    ),
                    theirs,
                    activity("the other writer"),
                    EntrySource::SelfReported,
                )?;
                commit_elsewhere(&store, other);
            }
            let (_, changes) = ctx.aggregate.add_entry(
                &Decide::new(
                    &recert_domain::RuleBook::default_rules().versions()[0],
                    ctx.actor,
                    ctx.now,
                    uuid::Uuid::now_v7(),
                ),
                mine,
                activity("mine"),
                EntrySource::SelfReported,
            )?;
            Ok(Decision::commit(changes, ()))
        })
        .await
        .expect("the lost race is retried, not surfaced");
    assert_eq!(attempts.load(Ordering::SeqCst), 2, "it lost the first race");
    let after = store.load(id).await.unwrap().unwrap();
    let ids: Vec<EntryId> = after.entries.iter().map(|e| e.id).collect();
    assert!(ids.contains(&mine) && ids.contains(&theirs), "{ids:?}");
    assert_eq!(after.certification.version, 3);
    assert_eq!(store.history(id, None, 10).await.unwrap().len(), 3);
}

#[tokio::test]
async fn editing_an_entry_that_changed_meanwhile_is_a_real_conflict() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let app = app(store.clone());
    let (id, me) = issued(store.as_ref()).await;
    let target = logged(store.as_ref(), id, &me, "original").await;
    let attempts = AtomicU32::new(0);
    let result = app
        .command(&me, id)
        .concurrency(Concurrency::Entry(target))
        .run(|ctx: &Context<'_>| {
            if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                // Another writer edits the same entry between this load and this commit.
                let (_, theirs) = ctx.aggregate.update_entry(
                    &Decide::new(
                        &recert_domain::RuleBook::default_rules().versions()[0],
                        ctx.actor,
                        ctx.now,
                        uuid::Uuid::now_v7(),
                    ),
                    target,
                    activity("their edit"),
                )?;
                commit_elsewhere(&store, theirs);
            }
            let (_, changes) = ctx.aggregate.update_entry(
                &Decide::new(
                    &recert_domain::RuleBook::default_rules().versions()[0],
                    ctx.actor,
                    ctx.now,
                    uuid::Uuid::now_v7(),
                ),
                target,
                activity("my edit"),
            )?;
            Ok(Decision::commit(changes, ()))
        })
        .await;
    assert!(
        matches!(result, Err(AppError::Changed { .. })),
        "{result:?}"
    );
    let after = store.load(id).await.unwrap().unwrap();
    assert_eq!(after.entry(target).unwrap().activity.title, "their edit");
}

#[tokio::test]
async fn contention_beyond_the_budget_is_a_conflict_not_a_hang() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let mut app = app(store.clone());
    app.retry = RetryPolicy::none();
    let (id, me) = issued(store.as_ref()).await;
    let result = app
        .command(&me, id)
        .run(|ctx: &Context<'_>| {
            let (_, theirs) = ctx.aggregate.add_entry(
                &Decide::new(
                    &recert_domain::RuleBook::default_rules().versions()[0],
                    ctx.actor,
                    ctx.now,
                    uuid::Uuid::now_v7(),
                ),
                EntryId(Uuid::now_v7()),
                activity("x"),
                EntrySource::SelfReported,
            )?;
            commit_elsewhere(&store, theirs);
            let (_, changes) = ctx.aggregate.add_entry(
                &Decide::new(
                    &recert_domain::RuleBook::default_rules().versions()[0],
                    ctx.actor,
                    ctx.now,
                    uuid::Uuid::now_v7(),
                ),
                EntryId(Uuid::now_v7()),
                activity("y"),
                EntrySource::SelfReported,
            )?;
            Ok(Decision::commit(changes, ()))
        })
        .await;
    assert!(
        matches!(result, Err(AppError::Changed { .. })),
        "{result:?}"
    );
}

/// A job is written against the application layer alone: no HTTP, no JWT keys.
#[tokio::test]
async fn a_scheduled_job_changes_a_certification_and_is_recorded_as_the_system() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let app = app(store.clone());
    let (id, _) = issued(store.as_ref()).await;
    let job = Actor::System(JobName("lapse".into()));
    app.command(&job, id)
        .run(|ctx: &Context<'_>| {
            if ctx.aggregate.certification.status == CertificationStatus::Lapsed {
                return Ok(Decision::Unchanged(()));
            }
            let changes = ctx
                .aggregate
                .change(
                    ctx.actor,
                    ctx.now,
                    HistoryKind::CertificationLapsed {
                        closed_on: ctx.aggregate.certification.expires_on,
                    },
                )
                .root(|c| c.status = CertificationStatus::Lapsed)
                .build();
            Ok(Decision::commit(changes, ()))
        })
        .await
        .unwrap();
    let after = store.load(id).await.unwrap().unwrap();
    assert_eq!(after.certification.status, CertificationStatus::Lapsed);
    let history = store.history(id, None, 10).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (last.actor.subject.as_str(), last.actor.role.as_str()),
        ("lapse", "system")
    );
}

#[tokio::test]
async fn another_certificants_certification_does_not_exist_for_a_command() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let app = app(store.clone());
    let (id, _) = issued(store.as_ref()).await;
    let stranger = Actor::Certificant(CertificantId(Uuid::now_v7()));
    let result = app
        .command(&stranger, id)
        .run(|_ctx: &Context<'_>| -> Result<Decision<()>, AppError> {
            panic!("decide must not run for an actor who cannot see the certification")
        })
        .await;
    assert!(matches!(result, Err(AppError::NotFound("certification"))));
}
